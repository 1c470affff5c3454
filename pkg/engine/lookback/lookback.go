// Package lookback is the arithmetic of exact answers from look-back aggregates: endpoints that
// sum traffic over [source now − window, source now] and take no filter (the Flows API's
// /top-talkers and /protocols). Any past interval is a difference of two look-backs,
// cum(now − a) − cum(now − b); a series is the differences at its bucket boundaries.
//
// The package is pure: it says which look-backs to ask for, how to turn their answers into
// exact values (or bounds, when a list was cut by its limit), how far the source's clock is from
// ours, and what a plan costs. The engine's planner makes the calls.
package lookback

import (
	"time"
)

// WindowMs is the granularity of records: 60 s windows, selected by their end.
const WindowMs = int64(60_000)

// Secs is the window_secs of a look-back from the source's now that covers exactly the windows
// ending at or after windowEnd (a multiple of WindowMs). Its lower edge lands mid-window, 30 s
// before windowEnd: a look-back that ends exactly on a window boundary flips that window in
// or out with sub-second clock differences, while mid-window tolerates up to ±29 s of error in
// the source's now. It returns 0 when windowEnd is after the source's now (nothing to cover).
func Secs(sourceNow, windowEnd int64) int64 {
	edge := windowEnd - WindowMs/2
	if edge >= sourceNow {
		return 0
	}
	return ceilDiv(sourceNow-edge, 1000)
}

// Tolerance is how far the source's clock may be from our estimate for Secs to stay exact.
const Tolerance = 29 * time.Second

// FirstEnd is the first window end a range [from, to] holds (records are selected by their
// timestamp, the window end); LastEnd the last. The range holds no window when LastEnd < FirstEnd.
func FirstEnd(from int64) int64 { return ceilDiv(from, WindowMs) * WindowMs }

// LastEnd: see FirstEnd.
func LastEnd(to int64) int64 { return floorDiv(to, WindowMs) * WindowMs }

// Boundaries are the window ends at which a series of buckets of width (a multiple of WindowMs)
// over [from, to] needs cumulative values: the first window end of each bucket, then the end
// after the last window. Bucket i holds the windows ending in [b[i], b[i+1]); buckets are aligned
// to multiples of width by window start, as the plugin's series are. start is the first bucket's
// start (the window start the grid begins at).
func Boundaries(from, to int64, width time.Duration) (b []int64, start int64) {
	wm := width.Milliseconds()
	first, last := FirstEnd(from), LastEnd(to)
	if last < first {
		return nil, 0
	}
	// A window ending at e starts at e − WindowMs and belongs to the bucket of that start.
	start = floorDiv(first-WindowMs, wm) * wm
	b = append(b, first)
	for s := start + wm; s+WindowMs <= last; s += wm {
		b = append(b, s+WindowMs)
	}
	return append(b, last+WindowMs), start
}

// ---------------------------------------------------------------------------------------------
// The source's clock

// ClockSample is what one response says about the source's clock.
type ClockSample struct {
	Sent, Received time.Time // our clock around the request
	Date           time.Time // the response's Date header (whole seconds); zero when absent
	NewestEnd      int64     // the newest window end the source holds (epoch ms); 0 when unknown
}

// Offset estimates the source's now minus ours, and how uncertain that is. The Date header
// (whole seconds) gives the source's now to about a second plus half the round trip. Without
// it, the newest indexed window brackets the source's now in [NewestEnd, NewestEnd + 60 s)
// and the bracket's middle is taken: ± 30 s, more than Tolerance, so a caller must not rely on
// look-back edges then (the planner reads records instead).
func Offset(s ClockSample) (offset, uncertainty time.Duration) {
	mid := s.Sent.Add(s.Received.Sub(s.Sent) / 2)
	half := s.Received.Sub(s.Sent) / 2
	if !s.Date.IsZero() {
		serverMid := s.Date.Add(500 * time.Millisecond)
		off := serverMid.Sub(mid).Round(time.Millisecond)
		unc := 500*time.Millisecond + half
		if s.NewestEnd > 0 {
			// A Date that contradicts the index (a proxy's clock) loses to the index.
			if n := time.UnixMilli(s.NewestEnd); serverMid.Before(n) || !serverMid.Before(n.Add(time.Minute+unc)) {
				return n.Add(30 * time.Second).Sub(mid).Round(time.Millisecond), 30*time.Second + half
			}
		}
		return off, unc
	}
	if s.NewestEnd <= 0 {
		return 0, 0
	}
	n := time.UnixMilli(s.NewestEnd)
	return n.Add(30 * time.Second).Sub(mid).Round(time.Millisecond), 30*time.Second + half
}

// ---------------------------------------------------------------------------------------------
// Differences

// Row is one key of an aggregate list: the sums over the look-back.
type Row struct {
	Key                   string
	Bytes, Packets, Flows int64
}

// Metric is the value of bytes, packets or flows.
func (r Row) Metric(metric string) int64 {
	switch metric {
	case "packets":
		return r.Packets
	case "flows":
		return r.Flows
	default:
		return r.Bytes
	}
}

// Cum is one look-back's answer: the listed rows and the exact total of the look-back (from
// /protocols, whose rows are never cut). A list asked with a limit, or cut by a server's cap,
// may miss keys; it is Complete when its rows add up to the total, since every record has
// exactly one key. A missing key's value is then 0; otherwise at most Residual, and, for the
// metric the list was ranked by, at most its last row.
type Cum struct {
	Rows     map[string]Row
	Total    Row
	RankedBy string // bytes | packets
	Last     Row    // the last (smallest) listed row
	Complete bool
}

// NewCum builds a Cum from a ranked list (as the endpoint returned it) and the look-back's total.
func NewCum(rows []Row, total Row, rankedBy string) *Cum {
	c := &Cum{Rows: make(map[string]Row, len(rows)), Total: total, RankedBy: rankedBy}
	var sum Row
	for _, r := range rows {
		c.Rows[r.Key] = r
		sum.Bytes += r.Bytes
		sum.Packets += r.Packets
		sum.Flows += r.Flows
	}
	if len(rows) > 0 {
		c.Last = rows[len(rows)-1]
	}
	c.Complete = sum.Bytes == total.Bytes && sum.Packets == total.Packets && sum.Flows == total.Flows
	return c
}

// EmptyCum is the look-back that covers no window.
func EmptyCum() *Cum { return &Cum{Rows: map[string]Row{}, Complete: true} }

// Upper is the most key can hold of metric over the look-back: its row when listed, else
// UnlistedUpper.
func (c *Cum) Upper(key, metric string) int64 {
	if r, ok := c.Rows[key]; ok {
		return r.Metric(metric)
	}
	return c.upper(metric)
}

// UnlistedUpper is the most a key missing from the list can hold of metric (0: complete).
func (c *Cum) UnlistedUpper(metric string) int64 { return c.upper(metric) }

// upper is the most a key missing from the list can hold of metric.
func (c *Cum) upper(metric string) int64 {
	if c.Complete {
		return 0
	}
	var listed int64
	for _, r := range c.Rows {
		listed += r.Metric(metric)
	}
	u := c.Total.Metric(metric) - listed
	if metric == c.RankedBy && c.Last.Metric(metric) < u {
		u = c.Last.Metric(metric)
	}
	return max(u, 0)
}

// Value is an exact value (Lo == Hi) or the interval the true value lies in.
type Value struct{ Lo, Hi int64 }

// Exact reports whether the value is known exactly.
func (v Value) Exact() bool { return v.Lo == v.Hi }

// Diff is key's value over the windows in a but not in b, where a is the longer look-back
// (an earlier boundary) and b the shorter, both answered at the same source now.
func Diff(a, b *Cum, key, metric string) Value {
	ra, inA := a.Rows[key]
	rb, inB := b.Rows[key]
	switch {
	case inA && inB:
		v := ra.Metric(metric) - rb.Metric(metric)
		return Value{v, v}
	case inA:
		hi := ra.Metric(metric)
		return Value{max(0, hi-b.upper(metric)), hi}
	case inB:
		// In the shorter look-back but not the longer: a's list was cut.
		return Value{0, max(0, a.upper(metric)-rb.Metric(metric))}
	default:
		return Value{0, a.upper(metric)}
	}
}

// TotalDiff is the exact total over the windows in a but not in b.
func TotalDiff(a, b *Cum, metric string) int64 {
	return a.Total.Metric(metric) - b.Total.Metric(metric)
}

// ---------------------------------------------------------------------------------------------
// Cost

// Costs are what a plan's parts cost, as time on a typical Flows API. Aggregates scan their
// whole look-back on the server, which is cheap per record but grows with calls × look-back;
// paging moves every record over the network and through JSON.
type Costs struct {
	Request       time.Duration // fixed cost of one request
	PagedRecord   time.Duration // one record read from /flows
	ScannedRecord time.Duration // one record an aggregate scans on the server
}

// DefaultCosts are fitted to what issue 8 measured against the simulator: the cumulative way
// over 7 d at 40 flows/min (≈ 68 M records scanned) took 18.8 s against 7.3 s for paging its
// 400,000 records; over 1 h at 4000 flows/min (≈ 15 M scanned) 3.6 s against 15.5 s. That is
// about 250 ns per scanned record and 20–60 µs per paged one (JSON both ways).
var DefaultCosts = Costs{Request: 2 * time.Millisecond, PagedRecord: 20 * time.Microsecond, ScannedRecord: 250 * time.Nanosecond}

// Estimate is what a plan would ask for.
type Estimate struct {
	Requests int
	Paged    int64 // records read from /flows
	Scanned  int64 // records scanned by aggregates on the server
}

// Of is the cost of an estimate.
func (c Costs) Of(e Estimate) time.Duration {
	return time.Duration(e.Requests)*c.Request + time.Duration(e.Paged)*c.PagedRecord + time.Duration(e.Scanned)*c.ScannedRecord
}

// Add sums two estimates.
func (e Estimate) Add(o Estimate) Estimate {
	return Estimate{e.Requests + o.Requests, e.Paged + o.Paged, e.Scanned + o.Scanned}
}

// LookbackEstimate is the cost of look-backs at the given window ends from the source's now,
// with the source holding rate records per window: calls per end, each scanning its look-back.
func LookbackEstimate(ends []int64, sourceNow int64, callsPerEnd int, rate float64) Estimate {
	var e Estimate
	for _, end := range ends {
		if s := Secs(sourceNow, end); s > 0 {
			e.Requests += callsPerEnd
			e.Scanned += int64(float64(callsPerEnd) * rate * float64(s*1000) / float64(WindowMs))
		}
	}
	return e
}

// PagingEstimate is the cost of reading n records in pages of pageSize.
func PagingEstimate(n int64, pageSize int) Estimate {
	return Estimate{Requests: int(max(1, ceilDiv(n, int64(max(pageSize, 1))))), Paged: n}
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
