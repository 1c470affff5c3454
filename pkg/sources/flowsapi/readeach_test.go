package flowsapi_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/internal/gauge"
	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/simulator/simref"
	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// readEachRate is the simulator's rate in these tests: enough records for many pages.
const readEachRate = 60

// pagedSource is the Flows API source on a simulator serving pages of at most 250 records
// (asked for 100 a page), reading up to 4 pages at once, with requests counted.
func pagedSource(t *testing.T, clock time.Time) (engine.Source, *gauge.Gauge) {
	t.Helper()
	sim := simulator.New(simulator.Config{Token: "tok", Log: io.Discard, FlowsPerMinute: readEachRate, MaxLimit: 250,
		Latency: time.Millisecond, Now: func() time.Time { return clock }})
	g := &gauge.Gauge{}
	srv := httptest.NewServer(g.Wrap(sim))
	t.Cleanup(srv.Close)
	src, err := flowsapi.NewSource(context.Background(), engine.Config{
		Instance:   backend.DataSourceInstanceSettings{URL: srv.URL, DecryptedSecureJSONData: map[string]string{"apiToken": "tok"}},
		HTTPClient: srv.Client(),
		Common:     engine.Common{PageSize: 100, RowCap: 50_000, MaxConcurrency: 4},
		Now:        func() time.Time { return clock },
	})
	if err != nil {
		t.Fatal(err)
	}
	return src, g
}

// withoutPages hides the source's PageReader: a source that only reads records whole.
type withoutPages struct{ engine.Source }

// readEach collects what ReadEach hands over, page by page.
func readEach(t *testing.T, e *engine.Engine, from, to time.Time, f engine.Filters, sortBy, order string, maxRows int) (*engine.RecordSet, [][]engine.Record) {
	t.Helper()
	var pages [][]engine.Record
	set, err := e.ReadEach(context.Background(), from, to, f, sortBy, order, maxRows, func(page []engine.Record) error {
		pages = append(pages, append([]engine.Record(nil), page...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return set, pages
}

// recordKey names a record by what the simulator generates for it.
func recordKey(windowStart int64, src, dst string, sport, dport, proto int, exporter string, bytes int64) string {
	return fmt.Sprintf("%d|%s|%s|%d|%d|%d|%s|%d", windowStart, src, dst, sport, dport, proto, exporter, bytes)
}

// ReadEach hands over exactly the records Read returns, in Read's order, with the same total,
// cap and requests: for one filter combination and several, open and closed ranges, capped or
// not, from the Flows API (page by page) and from a source without pages (whole).
func TestReadEachYieldsWhatReadYields(t *testing.T) {
	clock := now
	// Each engine has its own server and client, so that no read is answered from another's
	// cached pages.
	newEngine := func(hide bool) *engine.Engine {
		src, _ := pagedSource(t, clock)
		if hide {
			src = withoutPages{src}
		}
		return engine.New(src, engine.Common{PageSize: 100, RowCap: 50_000})
	}
	tcp := uint8(6)
	cases := []struct {
		name        string
		from, to    time.Time
		filters     engine.Filters
		sort, order string
		maxRows     int
	}{
		{"open range by time", clock.Add(-20 * time.Minute), clock, engine.Filters{}, engine.SortTime, engine.OrderDesc, 50_000},
		{"closed range by bytes", clock.Add(-3 * time.Hour), clock.Add(-150 * time.Minute), engine.Filters{}, engine.SortBytes, engine.OrderDesc, 50_000},
		{"closed range capped", clock.Add(-3 * time.Hour), clock.Add(-2 * time.Hour), engine.Filters{}, engine.SortPackets, engine.OrderAsc, 1_234},
		{"open range capped", clock.Add(-30 * time.Minute), clock, engine.Filters{Protocol: []uint8{tcp}}, engine.SortTime, engine.OrderDesc, 777},
		// The cap is reached in the newest windows: the closed part is not read.
		{"open range capped early", clock.Add(-30 * time.Minute), clock, engine.Filters{}, engine.SortTime, engine.OrderDesc, 150},
		{"open range ascending", clock.Add(-20 * time.Minute), clock, engine.Filters{}, engine.SortTime, engine.OrderAsc, 50_000},
		{"two ports", clock.Add(-3 * time.Hour), clock.Add(-2 * time.Hour), engine.Filters{Port: []uint16{443, 53}}, engine.SortBytes, engine.OrderDesc, 50_000},
		{"two ports capped", clock.Add(-3 * time.Hour), clock.Add(-2 * time.Hour), engine.Filters{Port: []uint16{443, 53}}, engine.SortTime, engine.OrderAsc, 300},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want, err := newEngine(false).Read(context.Background(), c.from, c.to, c.filters, c.sort, c.order, c.maxRows)
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Records) < min(200, c.maxRows) {
				t.Fatalf("only %d records: the case needs several pages", len(want.Records))
			}
			for _, name := range []string{"paged", "whole"} {
				e := newEngine(name == "whole")
				set, pages := readEach(t, e, c.from, c.to, c.filters, c.sort, c.order, c.maxRows)
				var got []engine.Record
				for _, p := range pages {
					got = append(got, p...)
				}
				if !reflect.DeepEqual(got, want.Records) {
					t.Fatalf("%s: ReadEach handed over %d records, Read returned %d (or in another order)", name, len(got), len(want.Records))
				}
				if set.Records != nil || set.Total != want.Total || set.Capped != want.Capped || !reflect.DeepEqual(set.Requests, want.Requests) {
					t.Fatalf("%s: ReadEach total %d capped %v requests %q; Read total %d capped %v requests %q", name,
						set.Total, set.Capped, set.Requests, want.Total, want.Capped, want.Requests)
				}
				if name == "paged" && len(c.filters.Port) == 0 {
					// One combination streams: page by page, none larger than the server's page.
					for _, p := range pages {
						if len(p) > 250 {
							t.Fatalf("a page of %d records handed over", len(p))
						}
					}
					if len(pages) < 2 {
						t.Fatalf("%d records handed over in %d pages", len(got), len(pages))
					}
				}
			}
		})
	}
}

// The records ReadEach hands over for a range are those the simulator generated, each once,
// in the order asked (reference: the generator's records, counted independently of the client
// and the server). An open range ordered by time is split at the closed boundary: no record is
// lost or read twice at the split.
func TestReadEachHandsOverEveryRecordOnce(t *testing.T) {
	clock := now
	traffic := simulator.NewTraffic(0, readEachRate, nil)
	for _, r := range []struct {
		from, to time.Time
		order    string
		split    bool
	}{
		{clock.Add(-3 * time.Hour), clock.Add(-2 * time.Hour), engine.OrderDesc, false}, // closed: pages in parallel
		{clock.Add(-30 * time.Minute), clock, engine.OrderDesc, true},                   // open: split
		{clock.Add(-30 * time.Minute), clock, engine.OrderAsc, true},
		{clock.Add(-3 * time.Minute), clock, engine.OrderDesc, false}, // open, one page: read whole
	} {
		src, _ := pagedSource(t, clock)
		e := engine.New(src, engine.Common{PageSize: 100, RowCap: 50_000})
		key := func(r *simulator.Record) string {
			return recordKey(r.WindowStart, r.SrcIP, r.DstIP, r.SrcPort, r.DstPort, r.Protocol, r.Exporter, r.Bytes)
		}
		want := simref.Totals(traffic, r.from, r.to, key)
		got := map[string]int64{}
		var last int64
		set, err := e.ReadEach(context.Background(), r.from, r.to, engine.Filters{}, engine.SortTime, r.order, 50_000, func(page []engine.Record) error {
			for _, rec := range page {
				got[recordKey(rec.StartMs, rec.SrcIP, rec.DstIP, int(rec.SrcPort), int(rec.DstPort), int(rec.Protocol), rec.Exporter, rec.Bytes)]++
				if last != 0 && (r.order == engine.OrderDesc && rec.TimeMs > last || r.order == engine.OrderAsc && rec.TimeMs < last) {
					t.Fatalf("%v–%v %s: a record at %d after one at %d", r.from, r.to, r.order, rec.TimeMs, last)
				}
				last = rec.TimeMs
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		n := int64(0)
		for k, s := range want {
			n += s.Flows
			if got[k] != s.Flows {
				t.Fatalf("%v–%v: record %s handed over %d times, generated %d times", r.from, r.to, k, got[k], s.Flows)
			}
		}
		if len(got) != len(want) || int64(set.Total) != n || set.Capped {
			t.Fatalf("%v–%v: %d distinct records handed over, %d generated; total %d of %d, capped %v", r.from, r.to, len(got), len(want), set.Total, n, set.Capped)
		}
		if split := len(set.Requests) == 3 && strings.Contains(set.Requests[0], "two parts"); split != r.split {
			t.Fatalf("%v–%v %s: split %v, want %v: %q", r.from, r.to, r.order, split, r.split, set.Requests)
		}
	}
}

// An error from each stops the read: it comes back as is, and no request is made after it
// (requests of a parallel wave already in flight are canceled and waited for: at most the
// wave's other 3 reach the server).
func TestReadEachStopsAtEachsError(t *testing.T) {
	clock := now
	stop := errors.New("enough")
	for _, c := range []struct {
		name     string
		from, to time.Time
		at       int   // the page whose each fails
		inFlight int64 // requests that may reach the server after the failing page was handed
	}{
		{"open range, first page", clock.Add(-30 * time.Minute), clock, 1, 0},
		// The newest windows page after page (2 pages), then the closed part's first page.
		{"open range, third page", clock.Add(-30 * time.Minute), clock, 3, 0},
		{"open range, fifth page", clock.Add(-30 * time.Minute), clock, 5, 3},
		{"closed range, first page", clock.Add(-2 * time.Hour), clock.Add(-90 * time.Minute), 1, 0},
		// The first page alone, then a wave of 4: the read stops inside the wave.
		{"closed range, third page", clock.Add(-2 * time.Hour), clock.Add(-90 * time.Minute), 3, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, name := range []string{"paged", "whole"} {
				src, g := pagedSource(t, clock)
				if name == "whole" {
					src = withoutPages{src}
				}
				e := engine.New(src, engine.Common{PageSize: 100, RowCap: 50_000})
				calls := 0
				var atError int64
				_, err := e.ReadEach(context.Background(), c.from, c.to, engine.Filters{}, engine.SortTime, engine.OrderDesc, 50_000, func([]engine.Record) error {
					calls++
					if calls == c.at || name == "whole" {
						atError = g.Total.Load()
						return stop
					}
					return nil
				})
				if err != stop {
					t.Fatalf("%s: error %v, want each's own", name, err)
				}
				if after := g.Total.Load() - atError; after < 0 || after > c.inFlight {
					t.Fatalf("%s: %d requests reached the server after each failed, want at most %d", name, after, c.inFlight)
				}
				if name == "paged" && calls != c.at {
					t.Fatalf("each called %d times, want %d", calls, c.at)
				}
			}
		})
	}
}
