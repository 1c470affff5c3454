package lookback

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Caller makes look-back calls on a source: sums over [source now − windowSecs, source now].
type Caller interface {
	// Protocols is the per-protocol sums (Key: the protocol's name); never cut by a limit.
	Protocols(ctx context.Context, windowSecs int64) ([]Row, error)
	// Talkers is the ranked list of a dimension (src, dst, pair), at most limit rows (a server
	// may return fewer).
	Talkers(ctx context.Context, windowSecs int64, dim, by string, limit int) ([]Row, error)
}

// Ask is what each look-back asks for: the protocol sums always (they give the exact total),
// and a talker list when Dim is set.
type Ask struct {
	Dim, By string
	Limit   int
}

// Point is the answer at one window end: cumulative sums from that end to the source's now.
type Point struct {
	End       int64
	Protocols *Cum // rows by protocol; complete
	Talkers   *Cum // rows by Ask.Dim; nil without one
}

// ErrMoving is returned when new windows kept arriving while a plan ran, so that its
// look-backs never all saw the same windows.
var ErrMoving = errors.New("new windows were indexed during every attempt")

// Run asks for the cumulative sums at each window end at the source's now (sourceNow, our clock
// plus the estimated offset, read at each call so that edges stay mid-window however long the
// plan runs). All look-backs share their newest windows only if none was indexed while they ran:
// the first call is repeated at the end and, when the answers differ, the plan runs again (at
// most attempts times). It returns the points and the number of requests made.
func Run(ctx context.Context, c Caller, sourceNow func() int64, ends []int64, ask Ask, parallel, attempts int) ([]Point, int, error) {
	var requests atomic.Int64
	for range max(attempts, 1) {
		points, err := runOnce(ctx, c, sourceNow, ends, ask, parallel, &requests)
		if err != nil {
			return nil, int(requests.Load()), err
		}
		// The repeat: the first non-empty look-back again.
		first := -1
		for i, p := range points {
			if p.Protocols.Total != (Row{}) || Secs(sourceNow(), p.End) > 0 {
				first = i
				break
			}
		}
		if first < 0 {
			return points, int(requests.Load()), nil
		}
		again, err := cumAt(ctx, c, sourceNow, ends[first], Ask{}, &requests)
		if err != nil {
			return nil, int(requests.Load()), err
		}
		// Edges cannot drift however long the plan runs: each call's window_secs is computed
		// from the clock at that call. Only a newly indexed window changes the repeat.
		if again.Protocols.Total == points[first].Protocols.Total {
			return points, int(requests.Load()), nil
		}
	}
	return nil, int(requests.Load()), ErrMoving
}

func runOnce(ctx context.Context, c Caller, sourceNow func() int64, ends []int64, ask Ask, parallel int, requests *atomic.Int64) ([]Point, error) {
	points := make([]Point, len(ends))
	errs := make([]error, len(ends))
	// The call that Run repeats must be answered before every other call of the plan, or a
	// window indexed while the calls run concurrently could reach it and its repeat alike and
	// go unnoticed. So it runs alone, first; the rest run in parallel after it.
	lead := -1
	for i, end := range ends {
		if Secs(sourceNow(), end) > 0 {
			lead = i
			break
		}
	}
	if lead >= 0 {
		p, err := cumAt(ctx, c, sourceNow, ends[lead], ask, requests)
		if err != nil {
			return nil, err
		}
		points[lead] = p
	}
	slots := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, end := range ends {
		if i == lead {
			continue
		}
		wg.Go(func() {
			slots <- struct{}{}
			defer func() { <-slots }()
			if ctx.Err() != nil {
				errs[i] = ctx.Err()
				return
			}
			p, err := cumAt(ctx, c, sourceNow, end, ask, requests)
			points[i], errs[i] = p, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return points, nil
}

func cumAt(ctx context.Context, c Caller, sourceNow func() int64, end int64, ask Ask, requests *atomic.Int64) (Point, error) {
	p := Point{End: end}
	secs := Secs(sourceNow(), end)
	if secs == 0 {
		p.Protocols = EmptyCum()
		if ask.Dim != "" {
			p.Talkers = EmptyCum()
		}
		return p, nil
	}
	protos, err := c.Protocols(ctx, secs)
	requests.Add(1)
	if err != nil {
		return p, err
	}
	var total Row
	for _, r := range protos {
		total.Bytes += r.Bytes
		total.Packets += r.Packets
		total.Flows += r.Flows
	}
	p.Protocols = NewCum(protos, total, "bytes")
	if ask.Dim != "" {
		rows, err := c.Talkers(ctx, secs, ask.Dim, ask.By, ask.Limit)
		requests.Add(1)
		if err != nil {
			return p, err
		}
		p.Talkers = NewCum(rows, total, ask.By)
	}
	return p, nil
}

// Interval is the traffic of the windows ending in [From, To): per key the value of each
// metric, exact or bounded, and the exact total.
type Interval struct {
	From, To int64
	Lo, Hi   map[string]Row
	Total    Row
}

// Exact reports whether every key's value is known exactly.
func (iv *Interval) Exact() bool {
	for k, lo := range iv.Lo {
		if iv.Hi[k] != lo {
			return false
		}
	}
	return true
}

// Between computes the interval between two points (a earlier than b) from their talker
// lists, or from their protocol rows when talkers is false.
func Between(a, b Point, talkers bool) *Interval {
	ca, cb := a.Protocols, b.Protocols
	if talkers {
		ca, cb = a.Talkers, b.Talkers
	}
	iv := &Interval{From: a.End, To: b.End, Lo: map[string]Row{}, Hi: map[string]Row{}}
	iv.Total = Row{
		Bytes:   TotalDiff(a.Protocols, b.Protocols, "bytes"),
		Packets: TotalDiff(a.Protocols, b.Protocols, "packets"),
		Flows:   TotalDiff(a.Protocols, b.Protocols, "flows"),
	}
	keys := map[string]bool{}
	for k := range ca.Rows {
		keys[k] = true
	}
	for k := range cb.Rows {
		keys[k] = true
	}
	for k := range keys {
		var lo, hi Row
		lo.Key, hi.Key = k, k
		for _, m := range []string{"bytes", "packets", "flows"} {
			v := Diff(ca, cb, k, m)
			setMetric(&lo, m, v.Lo)
			setMetric(&hi, m, v.Hi)
		}
		if hi == (Row{Key: k}) && (!talkers || ca.Complete) {
			// Nothing in this interval. With a cut list the zero is kept: a key absent from
			// the maps is then one no list showed, worth up to Unlisted.
			continue
		}
		iv.Lo[k], iv.Hi[k] = lo, hi
	}
	return iv
}

// Unlisted is the most any key absent from the interval's maps can hold of metric: 0 when both
// lists were complete.
func Unlisted(a, b Point, talkers bool, metric string) int64 {
	if !talkers {
		return 0
	}
	return a.Talkers.upper(metric)
}

func setMetric(r *Row, metric string, v int64) {
	switch metric {
	case "packets":
		r.Packets = v
	case "flows":
		r.Flows = v
	default:
		r.Bytes = v
	}
}

// Describe says what a look-back plan asks, for ExecutedQueryString and the request preview.
func Describe(ends []int64, sourceNow int64, ask Ask) string {
	calls := 0
	for _, e := range ends {
		if Secs(sourceNow, e) > 0 {
			calls++
		}
	}
	per := "/protocols"
	if ask.Dim != "" {
		per = fmt.Sprintf("/protocols + /top-talkers?dim=%s&by=%s&limit=%d", ask.Dim, ask.By, ask.Limit)
	}
	n := calls
	if ask.Dim != "" {
		n *= 2
	}
	return fmt.Sprintf("look-back differences: %s at %d window boundaries, plus one repeat to detect windows indexed meanwhile (%d requests)", per, calls, n+1)
}
