package plugin

import (
	"fmt"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
	"github.com/flowlens/flows-datasource/pkg/models"
)

// aggregateWindow decides whether /top-talkers and /protocols can answer a query. They take
// only a look-back from the server's now and no filters, so they fit only a range that ends at
// now (within one window) with no filter set. It returns the look-back in seconds, or 0 and
// the reason the answer must be computed from /flows instead.
func aggregateWindow(tr backend.TimeRange, now time.Time, f models.Filters) (int64, string) {
	if !f.IsEmpty() {
		return 0, "filters are set and the aggregate endpoints take none"
	}
	if d := now.Sub(tr.To); d >= flowsapi.WindowSize || d <= -flowsapi.WindowSize {
		return 0, "the time range does not end now and the aggregate endpoints only look back from now"
	}
	ms := now.Sub(tr.From).Milliseconds()
	secs := (ms + 999) / 1000
	return max(secs, int64(flowsapi.WindowSize/time.Second)), ""
}

// computedNotice says that an aggregation was computed from raw records, and why.
func computedNotice(tr backend.TimeRange, reason string) string {
	return fmt.Sprintf("Computed from %s over %s – %s because %s.", flowsapi.FlowsPath,
		tr.From.UTC().Format(time.RFC3339), tr.To.UTC().Format(time.RFC3339), reason)
}
