package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/flowlens/flows-datasource/pkg/engine/lookback"
)

// ClockSampler is implemented by sources with look-back aggregates, so that the planner can
// place look-back edges mid-window on the source's clock and skip what left its retention.
type ClockSampler interface {
	// SampleClock makes one cheap request and reports the source's clock (Date header, newest
	// window end) with our clock around it.
	SampleClock(ctx context.Context) (lookback.ClockSample, error)
	// OldestWindowEnd is the end of the oldest window the source still holds (0: none).
	OldestWindowEnd(ctx context.Context) (int64, error)
}

// lookbackSource adapts a source to the planner.
type lookbackSource struct {
	lb LookbackAggregator
	cs ClockSampler
}

func (s lookbackSource) Protocols(ctx context.Context, secs int64) ([]lookback.Row, error) {
	rows, _, err := s.lb.LookbackProtocols(ctx, secs)
	out := make([]lookback.Row, len(rows))
	for i, r := range rows {
		out[i] = lookback.Row{Key: r.Protocol, Bytes: r.Bytes, Packets: r.Packets, Flows: r.Flows}
	}
	return out, err
}

func (s lookbackSource) Talkers(ctx context.Context, secs int64, dim, by string, limit int) ([]lookback.Row, error) {
	rows, _, err := s.lb.LookbackTopTalkers(ctx, LookbackTalkersRequest{WindowSecs: secs, Dim: dim, By: by, Limit: limit})
	out := make([]lookback.Row, len(rows))
	for i, r := range rows {
		out[i] = lookback.Row{Key: r.Key, Bytes: r.Bytes, Packets: r.Packets, Flows: r.Flows}
	}
	return out, err
}

func (s lookbackSource) Clock(ctx context.Context) (lookback.ClockSample, error) {
	return s.cs.SampleClock(ctx)
}

func (s lookbackSource) OldestEnd(ctx context.Context) (int64, error) {
	return s.cs.OldestWindowEnd(ctx)
}

// UsePlanner turns on exact answers from look-back differences (pkg/engine/lookback) for a
// source with look-back aggregates and a clock sample; now is the plugin's clock and
// maxRequests the request budget of one query (0: the default).
func (e *Engine) UsePlanner(now func() time.Time, maxRequests int) {
	lb, ok1 := e.src.(LookbackAggregator)
	cs, ok2 := e.src.(ClockSampler)
	if !ok1 || !ok2 {
		return
	}
	e.planner = lookback.NewPlanner(lookbackSource{lb, cs}, lookback.Config{Now: now, MaxRequests: maxRequests})
}

// talkerLimit is the list length asked of each look-back: long lists make more keys exact.
func (e *Engine) talkerLimit() int { return cmp.Or(e.caps.MaxTopN, 1000) }

// countFits reports whether the range's records fit the row cap, so that reading them is exact;
// it costs one request (the count). Without a Counter it says no.
// A range of the same length counted a little earlier with twice the row cap or more is not
// counted again: a refresh of "last 24 h" must not pay for it every minute.
func (e *Engine) countFits(ctx context.Context, from, to time.Time) (bool, int) {
	c, ok := e.src.(Counter)
	if !ok {
		return false, -1
	}
	span := to.Sub(from)
	e.countMu.Lock()
	known, seen := e.counts[span]
	e.countMu.Unlock()
	if seen && time.Since(known.at) < 10*time.Minute && known.n >= 2*e.rowCap {
		return false, known.n
	}
	n, _, err := c.Count(ctx, from, to, Filter{})
	if err != nil {
		return false, -1
	}
	e.countMu.Lock()
	if e.counts == nil || len(e.counts) > 64 {
		e.counts = map[time.Duration]countSeen{}
	}
	e.counts[span] = countSeen{n: n, at: time.Now()}
	e.countMu.Unlock()
	return n <= e.rowCap, n
}

type countSeen struct {
	n  int
	at time.Time
}

// plannedTotals answers a past or filtered range's talkers (dim) or protocols (dim "") when
// reading and holding its records would not be exact (more records than the row cap): by two
// look-backs or by paging through every record streamed, whichever costs less and fits the
// request budget (see cost.go). It returns nil when the records should be read instead; reason
// is why no single look-back answers (for the notice of a streamed answer).
func (e *Engine) plannedTotals(ctx context.Context, from, to time.Time, f Filters, dim, by string, limit int, reason string) (*Aggregation, error) {
	lb := e.planner != nil && f.IsEmpty()
	st := e.streams()
	if dim == "" {
		_, server := e.src.(ProtocolsAggregator)
		st = st && !server
	} else {
		_, server := e.src.(TalkersAggregator)
		st = st && !server
	}
	if !lb && !st {
		return nil, nil
	}
	rc := e.countRange(ctx, from, to, f)
	if rc.known && rc.n <= e.rowCap {
		return nil, nil
	}
	choice := e.newCostChoice(rc, st)
	if lb && rc.known {
		choice.hasLookback = true
		choice.lookback = e.planner.Cost(lookback.TotalsQuery(from, to, dim, by, e.talkerLimit()), recordsPerWindow(rc.n, from, to))
	}
	if choice.page() {
		return e.streamedTotals(ctx, from, to, f, dim, by, limit, reason, choice)
	}
	if !lb {
		return nil, nil
	}
	count := -1
	if rc.known {
		count = rc.n
	}
	var refined string
	refine := func(sp *lookback.SeriesPlan) {
		if dim != "" {
			refined = e.refineCutKeys(ctx, sp, SeriesSpec{From: from, To: to, GroupBy: dim, TopN: max(limit, 1), Metric: by})
		}
	}
	tot, err := e.planner.RangeTotals(ctx, from, to, dim, by, max(limit, 1), e.talkerLimit(), refine)
	if errors.Is(err, lookback.ErrClockUnknown) {
		if choice.pagingFits {
			choice.hasLookback = false // no look-back plan after all: the clock cannot be placed
			return e.streamedTotals(ctx, from, to, f, dim, by, limit, reason, choice)
		}
		return nil, nil // the records path: what the row cap holds, and a notice saying so
	}
	if err != nil {
		return nil, e.planError(err)
	}
	for _, iv := range tot.Plan.Intervals {
		if iv == nil {
			// Ranking what could be read as if it were the whole range would be wrong.
			return nil, Downstream(http.StatusNotFound, fmt.Errorf("%s – %s cannot be totalled: %s; choose a range inside what the %s server holds",
				from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), tot.Plan.Reason, e.src.Name()))
		}
	}
	agg := &Aggregation{Executed: planExecuted(tot.Plan, count, choice)}
	if refined != "" {
		agg.Executed += "; " + refined
	}
	if dim == "" {
		for _, r := range tot.Rows {
			agg.Protocols = append(agg.Protocols, ProtocolRow{Protocol: r.Key, Bytes: r.Bytes, Packets: r.Packets, Flows: r.Flows})
		}
		slices.SortFunc(agg.Protocols, func(a, b ProtocolRow) int {
			if c := cmp.Compare(b.Bytes, a.Bytes); c != 0 {
				return c
			}
			return strings.Compare(a.Protocol, b.Protocol)
		})
	} else {
		for _, r := range tot.Rows {
			agg.Talkers = append(agg.Talkers, Talker{Key: r.Key, Bytes: r.Bytes, Packets: r.Packets, Flows: r.Flows})
		}
	}
	if !tot.Exact {
		var approx []string
		for i, r := range tot.Rows {
			if h := tot.Hi[i]; h != r {
				approx = append(approx, fmt.Sprintf("%s (%s up to %d more)", r.Key, by, h.Metric(by)-r.Metric(by)))
			}
		}
		msg := "Approximate: the look-back lists were cut by their limit, so "
		if len(approx) > 0 {
			msg += "these rows are lower bounds: " + strings.Join(approx, ", ")
		} else {
			msg += "a talker outside the lists could still rank among these rows"
		}
		if tot.Reason != "" {
			msg += "; " + tot.Reason
		}
		agg.Approximate = msg + "."
	}
	return agg, nil
}

// planError says what a plan's failure means for the user. New windows indexed during every
// attempt are the server's doing (it kept moving), and retrying later usually succeeds.
func (e *Engine) planError(err error) error {
	if errors.Is(err, lookback.ErrMoving) {
		return Downstream(http.StatusServiceUnavailable, fmt.Errorf("the %s server indexed new windows while the look-backs of this query were read, in each of 3 attempts, so their differences would not be exact; retry the query (%w)", e.src.Name(), err))
	}
	return err
}

func planExecuted(sp *lookback.SeriesPlan, count int, c costChoice) string {
	s := fmt.Sprintf("plan: %d requests", sp.Requests)
	if count >= 0 {
		s += fmt.Sprintf("; the range holds %d records (more than the row cap)", count)
	}
	if c.hasLookback {
		s += "; " + c.why()
	}
	if sp.Executed != "" {
		s += "; " + sp.Executed
	} else {
		s += "; every bucket from the cache of closed windows"
	}
	return s
}

// plannedSeries answers traffic over time when the range holds more records than the row cap:
// from look-backs at the bucket boundaries (by protocol or in total, or by a talker dimension)
// or by paging through every record streamed, whichever costs less and fits the request budget
// (see cost.go). It returns nil when the records should be read instead.
func (e *Engine) plannedSeries(ctx context.Context, spec SeriesSpec, f Filters) (*SeriesAnswer, error) {
	lb := e.plannerApplies(spec.GroupBy, f)
	_, server := e.src.(SeriesAggregator)
	st := e.streams() && !server
	if !lb && !st {
		return nil, nil
	}
	sq, ok := e.plannerSeriesQuery(spec)
	if !ok {
		return nil, nil
	}
	rc := e.countRange(ctx, spec.From, spec.To, f)
	if rc.known && rc.n <= e.rowCap {
		return nil, nil
	}
	asked := spec.Width
	choice := e.newCostChoice(rc, st)
	if lb && rc.known {
		choice.hasLookback = true
		choice.lookback = e.planner.Cost(sq, recordsPerWindow(rc.n, spec.From, spec.To))
	}
	if choice.page() {
		spec.Width = sq.Width
		return e.streamedSeries(ctx, spec, asked, f, choice)
	}
	if !lb {
		return nil, nil
	}
	count := -1
	if rc.known {
		count = rc.n
	}
	sp, err := e.planner.Series(ctx, sq)
	if errors.Is(err, lookback.ErrClockUnknown) {
		if choice.pagingFits {
			choice.hasLookback = false // no look-back plan after all: the clock cannot be placed
			spec.Width = sq.Width
			return e.streamedSeries(ctx, spec, asked, f, choice)
		}
		return nil, nil // the records path: what the row cap holds, and a notice saying so
	}
	if err != nil {
		return nil, e.planError(err)
	}
	capWidth := sq.Width // widened for the point cap, before the planner widened it for its budget
	spec.Width = sq.Width
	refined := e.refineCutKeys(ctx, sp, spec)
	res := seriesFromPlan(sp, spec)
	if res.Width != asked {
		res.WidenedFrom = asked
	}
	if sp.WidenedFrom > 0 {
		// The notice must give the reason that applied: the series fit the point cap at
		// capWidth, but their look-backs did not fit the request budget.
		res.WidenedWhy = fmt.Sprintf("at %s the look-backs would take %d requests, more than the %d a query may make",
			FormatWidth(capWidth), sp.WidenedNeed, sp.Budget)
	}
	executed := planExecuted(sp, count, choice)
	if refined != "" {
		executed += "; " + refined
	}
	return &SeriesAnswer{Result: res, Executed: executed}, nil
}

// plannerSeriesQuery is the look-back query for a series: the width widened for the point cap
// as on the records path (series estimated as top N + 1), and the wider widths the planner may
// fall back to for its request budget. It says false when even day-wide buckets exceed the
// point cap (a range of decades): the records path widens without limit and says so.
func (e *Engine) plannerSeriesQuery(spec SeriesSpec) (lookback.SeriesQuery, bool) {
	var widths []time.Duration
	for _, w := range widerWidths(spec.Width) {
		if w <= 24*time.Hour {
			widths = append(widths, w)
		}
	}
	series := 1
	if spec.GroupBy != GroupNone {
		series = spec.TopN + 1
	}
	// Bucket counts in int64 milliseconds: time.Duration saturates at ~292 years, which would
	// hide an absurd range from this check and hand the planner billions of boundaries.
	rangeMs := spec.To.UnixMilli() - spec.From.UnixMilli()
	buckets := func(w time.Duration) int64 { return rangeMs / max(w.Milliseconds(), 1) }
	for len(widths) > 0 && spec.MaxPoints > 0 && int64(series)*buckets(spec.Width) > int64(spec.MaxPoints) {
		spec.Width, widths = widths[0], widths[1:]
	}
	if spec.MaxPoints > 0 && int64(series)*buckets(spec.Width) > int64(spec.MaxPoints) {
		return lookback.SeriesQuery{}, false
	}
	by := spec.Metric
	if by != MetricPackets {
		by = MetricBytes
	}
	return lookback.SeriesQuery{From: spec.From, To: spec.To, Width: spec.Width, GroupBy: spec.GroupBy, Widths: widths, By: by, Limit: e.talkerLimit()}, true
}

// plannerApplies reports whether a series query may be answered by look-back differences
// (when its range holds more records than the row cap).
func (e *Engine) plannerApplies(groupBy string, f Filters) bool {
	if e.planner == nil || !f.IsEmpty() {
		return false
	}
	switch groupBy {
	case GroupNone, GroupProtocol:
		return true
	case GroupSrc, GroupDst, GroupPair:
		return slices.Contains(e.caps.TalkerDims, groupBy)
	}
	return false
}

// seriesFromPlan lays a plan's intervals out as series: ranked over the whole range, top N plus
// Other, rates per second of the range's windows in each bucket, unread buckets marked.
func seriesFromPlan(sp *lookback.SeriesPlan, spec SeriesSpec) SeriesResult {
	n := len(sp.Intervals)
	res := SeriesResult{Start: time.UnixMilli(sp.Start).UTC(), Width: sp.Width, Buckets: n, WidenedFrom: sp.WidenedFrom}
	totals := map[string]float64{}
	for _, iv := range sp.Intervals {
		if iv == nil {
			continue
		}
		for k, r := range iv.Lo {
			totals[k] += float64(r.Metric(spec.Metric))
		}
	}
	keys := make([]string, 0, len(totals))
	for k := range totals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(totals[b], totals[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	keep := len(keys)
	if spec.GroupBy != GroupNone {
		keep = min(keep, spec.TopN)
	}
	kept := slices.Clone(keys[:keep])
	slices.Sort(kept)
	value := func(r lookback.Row) float64 { return float64(r.Metric(spec.Metric)) }
	if spec.GroupBy == GroupNone {
		s := Series{Values: make([]float64, n)}
		for b, iv := range sp.Intervals {
			if iv != nil {
				s.Values[b] = value(iv.Total)
			}
		}
		res.Series = []Series{s}
	} else {
		bounds := planBounds(sp, spec.Metric)
		var approxCells int
		var approxMax float64
		for _, k := range kept {
			gk := groupKey{a: k, n: -1}
			if spec.GroupBy == GroupPair {
				gk.a, gk.b = SplitPair(k)
			}
			labels, display := labelsOf(gk, &spec)
			s := Series{Labels: labels, Display: display, Values: make([]float64, n)}
			for b, iv := range sp.Intervals {
				if iv != nil {
					s.Values[b] = value(iv.Lo[k])
					if d := bounds.hiAt(b, k) - s.Values[b]; d > 0 {
						approxCells++
						approxMax = max(approxMax, d)
					}
				}
			}
			res.Series = append(res.Series, s)
		}
		// A key below the cut whose upper bound beats the last kept key's lower bound, or a
		// key no list showed whose traffic could add up to more, could change the ranking.
		rankingSure := true
		if keep > 0 && !bounds.exact {
			last := totals[keys[keep-1]]
			rankingSure = bounds.unlisted <= last
			for _, k := range keys[keep:] {
				if bounds.hiTotal(k) > last {
					rankingSure = false
				}
			}
		}
		if approxCells > 0 || !rankingSure {
			res.Approximate = "Approximate: the look-back lists were cut by their limit"
			if approxCells > 0 {
				res.Approximate += fmt.Sprintf("; %d values are lower bounds, each at most %s low", approxCells, formatMetric(approxMax, spec.Metric))
				if spec.Other {
					res.Approximate += ", and Other is at most as much too high as the series are too low"
				}
			} else {
				res.Approximate += "; the values shown are exact"
			}
			if !rankingSure {
				res.Approximate += "; a talker outside the top could outrank the last one shown"
			}
			res.Approximate += "."
		}
		if spec.Other {
			// Everything but the kept series: the keys below the top N and, with cut lists,
			// the traffic of keys no list showed (which would otherwise vanish from the graph).
			s := Series{Labels: otherLabels(&spec), Display: OtherLabel, Values: make([]float64, n)}
			rest := false
			for b, iv := range sp.Intervals {
				if iv == nil {
					continue
				}
				s.Values[b] = value(iv.Total)
				for _, k := range kept {
					s.Values[b] -= value(iv.Lo[k])
				}
				rest = rest || s.Values[b] != 0
			}
			if rest || len(keys) > keep {
				res.Series = append(res.Series, s)
			}
		}
		if len(res.Series) == 0 {
			res.Series = []Series{{Labels: otherLabels(&spec), Display: OtherLabel, Values: make([]float64, n)}}
		}
	}
	for b, iv := range sp.Intervals {
		if iv == nil {
			if res.Unread == nil {
				res.Unread = make([]bool, n)
			}
			res.Unread[b] = true
		}
	}
	if spec.Unit == "rate" {
		bits := 1.0
		if spec.Metric == MetricBytes {
			bits = 8
		}
		wm, win := sp.Width.Milliseconds(), lookback.WindowMs
		first := lookback.FirstEnd(spec.From.UnixMilli()) - win
		last := lookback.LastEnd(spec.To.UnixMilli()) - win
		for b := range n {
			lo := max(sp.Start+int64(b)*wm, first)
			hi := min(sp.Start+int64(b+1)*wm-win, last)
			scale := bits / (float64((hi-lo)/win+1) * float64(win) / 1000)
			for _, s := range res.Series {
				s.Values[b] *= scale
			}
		}
	}
	if res.Unread != nil {
		res.Partial = fmt.Sprintf("covers %s – %s of %s – %s: %s; narrow the time range or widen the interval to see the rest",
			fmtMs(sp.CoveredFrom-lookback.WindowMs), fmtMs(sp.CoveredTo-lookback.WindowMs),
			spec.From.UTC().Format(time.RFC3339), spec.To.UTC().Format(time.RFC3339), sp.Reason)
	}
	return res
}

func fmtMs(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.RFC3339) }

func formatMetric(v float64, metric string) string {
	return fmt.Sprintf("%.0f %s", v, metric)
}

// seriesBounds are a plan's upper bounds per key: in a bucket, a key's Hi where a list showed
// it, otherwise the most any unlisted key can hold there (Unlisted: 0 with complete lists).
type seriesBounds struct {
	sp     *lookback.SeriesPlan
	metric string
	// unlisted is the most a key that no list showed can hold over the whole range.
	unlisted float64
	// exact is true when every bucket read is exact (complete lists): no key has a bound.
	exact bool
}

func planBounds(sp *lookback.SeriesPlan, metric string) seriesBounds {
	b := seriesBounds{sp: sp, metric: metric, exact: true}
	for i, iv := range sp.Intervals {
		if iv != nil && i < len(sp.Unlisted) {
			b.unlisted += float64(sp.Unlisted[i].Metric(metric))
			b.exact = b.exact && sp.Unlisted[i] == (lookback.Row{}) && iv.Exact()
		}
	}
	if sp.Head != nil {
		b.unlisted = min(b.unlisted, float64(sp.Head.UnlistedUpper(metric)))
	}
	return b
}

// hiAt is key's upper bound in read bucket i.
func (b seriesBounds) hiAt(i int, key string) float64 {
	iv := b.sp.Intervals[i]
	if r, ok := iv.Hi[key]; ok {
		return float64(r.Metric(b.metric))
	}
	if i < len(b.sp.Unlisted) {
		return float64(b.sp.Unlisted[i].Metric(b.metric))
	}
	return 0
}

// hiTotal is key's upper bound over the read buckets.
func (b seriesBounds) hiTotal(key string) float64 {
	var t float64
	for i, iv := range b.sp.Intervals {
		if iv != nil {
			t += b.hiAt(i, key)
		}
	}
	if b.sp.Head != nil {
		t = min(t, float64(b.sp.Head.Upper(key, b.metric)))
	}
	return t
}
