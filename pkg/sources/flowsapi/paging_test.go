package flowsapi_test

import (
	"context"
	"io"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/internal/gauge"
	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
)

// gaugedSim serves the simulator with latency and records the most requests in flight at once.
func gaugedSim(t testing.TB, latency time.Duration, maxLimit int) (*flowsapi.Client, *atomic.Int64) {
	t.Helper()
	sim := simulator.New(simulator.Config{Token: "tok", Log: io.Discard, Latency: latency, MaxLimit: maxLimit, Now: func() time.Time { return now }})
	g := &gauge.Gauge{}
	srv := httptest.NewServer(g.Wrap(sim))
	t.Cleanup(srv.Close)
	c, err := flowsapi.New(srv.URL, "tok", srv.Client(), 4)
	if err != nil {
		t.Fatal(err)
	}
	return c, &g.Peak
}

func ids(p *flowsapi.PagedFlows) []string {
	out := make([]string, len(p.Flows))
	for i, f := range p.Flows {
		out[i] = f.ID
	}
	return out
}

// A closed range is read with several pages in flight and gives exactly the rows, in the same
// order, that reading page after page gives; an open range is read page after page.
func TestClosedRangesArePagedInParallel(t *testing.T) {
	p := flowsapi.FlowsParams{From: now.Add(-3 * time.Hour), To: now.Add(-time.Hour), Sort: "bytes", Order: "desc"}
	for _, maxRows := range []int{1_000_000, 2_345} {
		closedClient, closedPeak := gaugedSim(t, 20*time.Millisecond, 250)
		closedClient.SetClock(func() time.Time { return now })
		openClient, openPeak := gaugedSim(t, 20*time.Millisecond, 250)
		// To this clock the range has not ended yet.
		openClient.SetClock(func() time.Time { return p.To.Add(-time.Minute) })

		parallel, err := closedClient.PageFlows(context.Background(), p, 1000, maxRows)
		if err != nil {
			t.Fatal(err)
		}
		sequential, err := openClient.PageFlows(context.Background(), p, 1000, maxRows)
		if err != nil {
			t.Fatal(err)
		}
		if closedPeak.Load() < 2 || closedPeak.Load() > 4 || openPeak.Load() != 1 {
			t.Fatalf("peak in flight: closed %d (want 2–4), open %d (want 1)", closedPeak.Load(), openPeak.Load())
		}
		if !slices.Equal(ids(parallel), ids(sequential)) || parallel.Total != sequential.Total || parallel.Capped != sequential.Capped {
			t.Fatalf("maxRows %d: parallel read %d rows (capped %v), sequential %d (capped %v)",
				maxRows, len(parallel.Flows), parallel.Capped, len(sequential.Flows), sequential.Capped)
		}
		if want := min(parallel.Total, maxRows); len(parallel.Flows) != want || parallel.PageSize != 250 {
			t.Fatalf("maxRows %d: %d rows, want %d; page size %d", maxRows, len(parallel.Flows), want, parallel.PageSize)
		}
	}
}

// BenchmarkPageFlows reads 2 h of records (≈4,800, 20 pages of 250 at 10 ms server latency)
// as an open range page after page (sorted by bytes: never split), as an open range sorted by
// time (split at the closed boundary: the closed part in parallel, the newest windows page
// after page), and as a closed range (in parallel). docs/performance.md.
func BenchmarkPageFlows(b *testing.B) {
	p := flowsapi.FlowsParams{From: now.Add(-3 * time.Hour), To: now.Add(-time.Hour), Order: "desc"}
	for _, c := range []struct {
		name, sort string
		clock      time.Time
	}{
		{"open_sequential", "bytes", p.To.Add(-time.Minute)},
		{"open_split", "timestamp", p.To},
		{"closed_parallel", "timestamp", now},
	} {
		b.Run(c.name, func(b *testing.B) {
			q := p
			q.Sort = c.sort
			for b.Loop() {
				b.StopTimer()
				client, _ := gaugedSim(b, 10*time.Millisecond, 250)
				client.SetClock(func() time.Time { return c.clock })
				b.StartTimer()
				got, err := client.PageFlows(context.Background(), q, 1000, 1_000_000)
				if err != nil || len(got.Flows) == 0 {
					b.Fatal(err)
				}
			}
		})
	}
}
