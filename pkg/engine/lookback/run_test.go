package lookback

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/simulator/simref"
)

// simCaller calls the simulator; after the call numbered tick (and every tickEvery calls
// after it, when set) the caller's clock moves a minute on, so a new window is indexed in the
// middle of a plan, deterministically.
type simCaller struct {
	s         *sim
	calls     int
	tick      int
	tickEvery int
}

// after counts a call; it runs under the simulator's lock (see sim.onCall).
func (c *simCaller) after() {
	c.calls++
	if c.calls == c.tick || (c.tickEvery > 0 && c.calls > c.tick && (c.calls-c.tick)%c.tickEvery == 0) {
		c.s.advance(time.Minute)
	}
}

func newCaller(s *sim, tick, every int) *simCaller {
	c := &simCaller{s: s, tick: tick, tickEvery: every}
	s.onCall = c.after
	return c
}

func (c *simCaller) Protocols(_ context.Context, secs int64) ([]Row, error) {
	var rows []simulator.ProtocolStat
	c.s.get(fmt.Sprintf("%s?window_secs=%d", simulator.PathProtocols, secs), &rows)
	out := make([]Row, len(rows))
	for i, r := range rows {
		out[i] = Row{Key: r.Protocol, Bytes: r.Bytes, Packets: r.Packets, Flows: r.FlowCount}
	}
	return out, nil
}

func (c *simCaller) Talkers(_ context.Context, secs int64, dim, by string, limit int) ([]Row, error) {
	var rows []simulator.TopTalker
	c.s.get(fmt.Sprintf("%s?window_secs=%d&dim=%s&by=%s&limit=%d", simulator.PathTopTalkers, secs, dim, by, limit), &rows)
	out := make([]Row, len(rows))
	for i, r := range rows {
		out[i] = Row{Key: r.Key, Bytes: r.Bytes, Packets: r.Packets, Flows: r.FlowCount}
	}
	return out, nil
}

// A window indexed between the calls of one plan shifts every difference taken across it. The
// repeat of the first call catches it; the plan runs again and is exact.
func TestWindowIndexedDuringPlan(t *testing.T) {
	local := time.Date(2026, 4, 16, 10, 0, 10, 0, time.UTC)
	from, to := local.Add(-2*time.Hour), local.Add(-20*time.Minute)
	tr := simulator.NewTraffic(1, 100, nil)
	s := newSim(t, simulator.Config{FlowsPerMinute: 100, History: 3 * time.Hour}, local)
	c := newCaller(s, 5, 0) // the clock moves after the 5th call
	ends, _ := Boundaries(from.UnixMilli(), to.UnixMilli(), 10*time.Minute)
	now := func() int64 { return s.clock().UnixMilli() }
	points, requests, err := Run(context.Background(), c, now, ends, Ask{Dim: "src", By: "bytes", Limit: 1000}, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if requests <= 2*len(ends)+1 {
		t.Errorf("%d requests: the plan should have run twice", requests)
	}
	ref := simref.BucketSeries(tr, from, to, 10*time.Minute, simref.BySrc)
	for i := range len(points) - 1 {
		iv := Between(points[i], points[i+1], true)
		if !iv.Exact() {
			t.Fatalf("bucket %d not exact with complete src lists", i)
		}
		for k, v := range ref.ByKey {
			if iv.Lo[k].Bytes != v[i].Bytes {
				t.Fatalf("bucket %d %s: %d, reference %d", i, k, iv.Lo[k].Bytes, v[i].Bytes)
			}
		}
		if iv.Total.Flows != ref.Total[i].Flows {
			t.Fatalf("bucket %d total %d, reference %d", i, iv.Total.Flows, ref.Total[i].Flows)
		}
	}

	// Without the repeat the same plan is wrong: the pitfall is real.
	var wrong int
	s.now = local
	c3 := newCaller(s, 5, 0)
	var once []Point
	var n atomicCounter
	once, err = runOnce(context.Background(), c3, now, ends, Ask{Dim: "src", By: "bytes", Limit: 1000}, 1, &n.v)
	if err != nil {
		t.Fatal(err)
	}
	for i := range len(once) - 1 {
		if Between(once[i], once[i+1], true).Total.Flows != ref.Total[i].Flows {
			wrong++
		}
	}
	if wrong == 0 {
		t.Error("a window indexed mid-plan should have made a single pass wrong")
	}

	// A source where windows keep arriving: the plan gives up instead of answering wrong.
	s.now = local
	moving := newCaller(s, 3, 5)
	if _, _, err := Run(context.Background(), moving, now, ends, Ask{}, 1, 3); !errors.Is(err, ErrMoving) {
		t.Errorf("always moving: err %v, want ErrMoving", err)
	}
}

type atomicCounter struct{ v atomic.Int64 }
