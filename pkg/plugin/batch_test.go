package plugin

import (
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/internal/gauge"
	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// The queries of a batch run at once, whatever their types: a dashboard's top talkers,
// protocols and series do not wait for each other.
func TestBatchQueriesOfDifferentTypesRunAtOnce(t *testing.T) {
	c := newClock(testNow)
	sim := simulator.New(simulator.Config{Token: testToken, Seed: 42, Now: c.Now, Log: io.Discard, Latency: 400 * time.Millisecond})
	g := &gauge.Gauge{}
	srv := httptest.NewServer(g.Wrap(sim))
	defer srv.Close()
	ds := newTestDatasource(t, srv.URL, testToken, nil, c.Now)
	res := query(t, ds, lastHour(), nil,
		`{"refId":"talkers","queryType":"topTalkers"}`,
		`{"refId":"protocols","queryType":"protocols"}`,
		`{"refId":"pairs","queryType":"topTalkers","dim":"pair"}`)
	for ref, r := range res {
		if r.Error != nil || len(r.Frames) == 0 {
			t.Fatalf("%s: %v", ref, r.Error)
		}
	}
	if len(res) != 3 || g.Peak.Load() != 3 {
		t.Fatalf("%d responses; at most %d requests in flight, want 3", len(res), g.Peak.Load())
	}
}
