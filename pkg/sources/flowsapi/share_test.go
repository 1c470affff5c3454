package flowsapi_test

import (
	"context"
	"io"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/internal/gauge"
	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
)

// countingSim serves the simulator and counts the requests that reach it.
func countingSim(t *testing.T, latency time.Duration) (*flowsapi.Client, *atomic.Int64) {
	t.Helper()
	sim := simulator.New(simulator.Config{Token: "tok", Log: io.Discard, Latency: latency, Now: func() time.Time { return now }})
	g := &gauge.Gauge{}
	srv := httptest.NewServer(g.Wrap(sim))
	t.Cleanup(srv.Close)
	c, err := flowsapi.New(srv.URL, "tok", srv.Client(), 8)
	if err != nil {
		t.Fatal(err)
	}
	c.SetClock(func() time.Time { return now })
	return c, &g.Total
}

// Identical requests made at once by several panels reach the API once, and each caller gets
// its own copy of the answer.
func TestIdenticalConcurrentRequestsAreMadeOnce(t *testing.T) {
	c, n := countingSim(t, 200*time.Millisecond)
	p := flowsapi.FlowsParams{From: now.Add(-time.Hour), To: now, Limit: 20}
	var wg sync.WaitGroup
	pages := make([]*flowsapi.FlowPage, 6)
	for i := range pages {
		wg.Go(func() {
			var err error
			if pages[i], err = c.Flows(context.Background(), p); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := n.Load(); got != 1 {
		t.Fatalf("%d requests reached the API, want 1", got)
	}
	pages[0].Flows[0].ID = "changed"
	if pages[1].Flows[0].ID == "changed" || len(pages[5].Flows) != 20 {
		t.Fatal("callers share one decoded answer")
	}
}

// A range whose windows are all closed never changes: asking again costs no request.
func TestClosedRangesAreCached(t *testing.T) {
	c, n := countingSim(t, 0)
	closed := flowsapi.FlowsParams{From: now.Add(-3 * time.Hour), To: now.Add(-2 * time.Hour), Limit: 50}
	first, err := c.Flows(context.Background(), closed)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Flows(context.Background(), closed)
	if err != nil || n.Load() != 1 || second.Total != first.Total || second.Flows[7].ID != first.Flows[7].ID {
		t.Fatalf("second read: %d requests, err %v", n.Load(), err)
	}
}

// A caller that joined a request whose first caller went away still gets its answer.
func TestJoinedRequestSurvivesTheFirstCallersCancel(t *testing.T) {
	c, _ := countingSim(t, 300*time.Millisecond)
	p := flowsapi.FlowsParams{From: now.Add(-time.Hour), To: now, Limit: 5}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _, _ = c.Flows(ctx, p) }()
	time.Sleep(50 * time.Millisecond)
	done := make(chan error)
	go func() {
		_, err := c.Flows(context.Background(), p)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("joined caller failed with the first caller's cancel: %v", err)
	}
}
