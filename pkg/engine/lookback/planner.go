package lookback

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Source is what the planner calls: look-backs, and the two cheap facts it needs before
// planning: the source's clock and the oldest window it still holds.
type Source interface {
	Caller
	// Clock makes one cheap request and reports what it said about the source's clock.
	Clock(ctx context.Context) (ClockSample, error)
	// OldestEnd is the end of the oldest window the source still holds (0: none).
	OldestEnd(ctx context.Context) (int64, error)
}

// Config bounds what one query may cost.
type Config struct {
	// MaxRequests is the most requests one query's plan may make (the request budget).
	MaxRequests int
	// Parallel is how many look-backs run at once.
	Parallel int
	// CacheIntervals bounds the closed intervals kept (each a few KB: one row per key).
	CacheIntervals int
	// Settle is how long after its end a window is taken as closed (indexed for good).
	Settle time.Duration
	// ClockTTL is how long a clock estimate is reused.
	ClockTTL time.Duration
	// Now is our clock.
	Now func() time.Time
}

// Defaults.
const (
	DefaultMaxRequests    = 1500
	DefaultParallel       = 4
	DefaultCacheIntervals = 20_000
	DefaultSettle         = 2 * time.Minute
	DefaultClockTTL       = 10 * time.Minute
	// MaxBuckets bounds the grid a plan lays out before reading, whatever the range.
	MaxBuckets = 1_000_000
)

// ErrClockUnknown is the planner's error when the source's clock cannot be placed within
// Tolerance (no Date header): look-back edges would land on window boundaries, so the caller
// reads records instead.
var ErrClockUnknown = errors.New("the source's clock is unknown")

// Planner answers series and totals from look-backs, keeps closed intervals and the source's
// clock. It is safe for concurrent use; one per data source.
type Planner struct {
	src Source
	cfg Config

	mu      sync.Mutex
	offset  time.Duration
	clockAt time.Time
	// clockUnknown is the error of a clock sample that could not place the source's clock
	// (kept like the offset, for ClockTTL); nil when the offset is good.
	clockUnknown error
	oldest       int64
	oldestAt     time.Time
	cache        map[cacheKey]*list.Element
	order        *list.List
}

type cacheKey struct {
	ask      Ask
	from, to int64
}

// NewPlanner returns a planner over src.
func NewPlanner(src Source, cfg Config) *Planner {
	if cfg.MaxRequests <= 0 {
		cfg.MaxRequests = DefaultMaxRequests
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = DefaultParallel
	}
	if cfg.CacheIntervals <= 0 {
		cfg.CacheIntervals = DefaultCacheIntervals
	}
	if cfg.Settle <= 0 {
		cfg.Settle = DefaultSettle
	}
	if cfg.ClockTTL <= 0 {
		cfg.ClockTTL = DefaultClockTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Planner{src: src, cfg: cfg, cache: map[cacheKey]*list.Element{}, order: list.New()}
}

// sourceNow is our clock plus the estimated offset, refreshed when older than ClockTTL.
// It returns how many requests the estimate cost (0 or 1).
func (p *Planner) sourceNow(ctx context.Context) (func() int64, int, error) {
	p.mu.Lock()
	fresh := !p.clockAt.IsZero() && p.cfg.Now().Sub(p.clockAt) < p.cfg.ClockTTL
	off, unknown := p.offset, p.clockUnknown
	p.mu.Unlock()
	if fresh && unknown != nil {
		// Asked within ClockTTL and not placeable: do not pay a request per query to learn it again.
		return nil, 0, unknown
	}
	requests := 0
	if !fresh {
		s, err := p.src.Clock(ctx)
		requests++
		if err != nil {
			return nil, requests, err
		}
		var unc time.Duration
		off, unc = Offset(s)
		unknown = nil
		if unc > Tolerance {
			unknown = fmt.Errorf("the source's clock is known only to ±%v (no Date header), too loosely to place look-back edges: %w", unc.Round(time.Second), ErrClockUnknown)
		}
		p.mu.Lock()
		p.offset, p.clockAt, p.clockUnknown = off, p.cfg.Now(), unknown
		p.mu.Unlock()
		if unknown != nil {
			return nil, requests, unknown
		}
	}
	return func() int64 { return p.cfg.Now().Add(off).UnixMilli() }, requests, nil
}

// oldestEnd is the oldest window end the source holds, asked at most once a ClockTTL and
// moved on by the time since (retention drops a window a minute).
func (p *Planner) oldestEnd(ctx context.Context, now int64) (int64, int, error) {
	p.mu.Lock()
	at, o := p.oldestAt, p.oldest
	p.mu.Unlock()
	if !at.IsZero() && p.cfg.Now().Sub(at) < p.cfg.ClockTTL {
		// Retention moves the oldest window on by as much as time passed; be conservative.
		return o + FirstEnd(p.cfg.Now().Sub(at).Milliseconds()), 0, nil
	}
	o, err := p.src.OldestEnd(ctx)
	if err != nil {
		return 0, 1, err
	}
	p.mu.Lock()
	p.oldest, p.oldestAt = o, p.cfg.Now()
	p.mu.Unlock()
	return o, 1, nil
}

// Oldest is the end of the oldest window the source holds, as plans see it (asked at most once
// a ClockTTL), and how many requests that took (0 or 1).
func (p *Planner) Oldest(ctx context.Context) (int64, int, error) {
	return p.oldestEnd(ctx, 0)
}

// OldestKnown reports whether Oldest would answer without a request.
func (p *Planner) OldestKnown() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return !p.oldestAt.IsZero() && p.cfg.Now().Sub(p.oldestAt) < p.cfg.ClockTTL
}

func (p *Planner) cached(k cacheKey) *Interval {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.cache[k]; ok {
		p.order.MoveToFront(e)
		return e.Value.(*cacheEntry).iv
	}
	return nil
}

type cacheEntry struct {
	key cacheKey
	iv  *Interval
}

func (p *Planner) keep(k cacheKey, iv *Interval) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.cache[k]; ok {
		return
	}
	p.cache[k] = p.order.PushFront(&cacheEntry{k, iv})
	for p.order.Len() > p.cfg.CacheIntervals {
		e := p.order.Back()
		p.order.Remove(e)
		delete(p.cache, e.Value.(*cacheEntry).key)
	}
}

// SeriesQuery asks for traffic over time, grouped by protocol ("protocol"), by a talker
// dimension ("src", "dst", "pair"), or not at all ("none").
type SeriesQuery struct {
	From, To time.Time
	Width    time.Duration
	GroupBy  string
	By       string // the ranking metric of talker lists: bytes | packets
	Limit    int    // talker list length asked per look-back
	// Widths are the widths to try, in order, when the plan does not fit the budget.
	Widths []time.Duration
	// Single makes one bucket of the whole range (totals), whatever the width.
	Single bool
}

// SeriesPlan is the answer: per bucket the interval (nil: not read), and how it was read.
type SeriesPlan struct {
	Start     int64 // the first bucket's start (epoch ms)
	Width     time.Duration
	Intervals []*Interval // one per bucket; nil where the bucket was not read
	// Unlisted is, per bucket, the most a key absent from the bucket's maps can hold (0: exact).
	Unlisted []Row
	// WidenedFrom is the width asked for when the budget made it wider; WidenedNeed is how
	// many requests that width would have taken, and Budget what the query could spend.
	WidenedFrom         time.Duration
	WidenedNeed, Budget int
	// Head is the talker list of the look-back at the first bucket read, when it was asked:
	// it covers every bucket read, so it bounds a key's total over them at once (much tighter
	// than the sum of per-bucket bounds when lists are cut).
	Head *Cum
	// Covered is the span read [CoveredFrom, CoveredTo) as window ends; the rest is null.
	CoveredFrom, CoveredTo int64
	// Reason says why part of the range was not read, for the notice.
	Reason   string
	Requests int
	Executed string
}

// Series plans and runs a series. It widens the buckets until the look-backs fit the request
// budget; when even the widest does not fit, it reads the newest buckets it can afford and
// leaves the older ones unread (nil).
func (p *Planner) Series(ctx context.Context, q SeriesQuery) (*SeriesPlan, error) {
	now, requests, err := p.sourceNow(ctx)
	if err != nil {
		return nil, err
	}
	sn := now()
	oldest, r, err := p.oldestEnd(ctx, sn)
	requests += r
	if err != nil {
		return nil, err
	}
	ask := Ask{}
	if q.GroupBy == "src" || q.GroupBy == "dst" || q.GroupBy == "pair" {
		ask = Ask{Dim: q.GroupBy, By: q.By, Limit: q.Limit}
	}
	perEnd := 1
	if ask.Dim != "" {
		perEnd = 2
	}
	budget := p.cfg.MaxRequests - requests - 1 // one for the repeat
	out := &SeriesPlan{}
	widths := append([]time.Duration{q.Width}, q.Widths...)
	var ends []int64
	var need []int64
	askedNeed := 0
	for i, w := range widths {
		if n := (q.To.UnixMilli() - q.From.UnixMilli()) / max(w.Milliseconds(), 1); n > MaxBuckets {
			return nil, fmt.Errorf("%s from %s to %s in %v buckets is %d buckets, more than the %d a plan can lay out; choose a shorter range", "the time range", q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339), w, n, MaxBuckets)
		}
		ends, out.Start = Boundaries(q.From.UnixMilli(), q.To.UnixMilli(), w)
		out.Width = w
		if q.Single && len(ends) > 2 {
			ends = []int64{ends[0], ends[len(ends)-1]}
		}
		need = p.uncachedEnds(ask, ends, sn)
		if i == 0 {
			askedNeed = len(need)*perEnd + requests + 1
		}
		if len(need)*perEnd <= budget || i == len(widths)-1 {
			if i > 0 {
				out.WidenedFrom, out.WidenedNeed, out.Budget = q.Width, askedNeed, p.cfg.MaxRequests
			}
			break
		}
	}
	buckets := max(len(ends)-1, 0)
	out.Intervals = make([]*Interval, buckets)
	out.Unlisted = make([]Row, buckets)
	if buckets == 0 {
		out.Requests = requests
		return out, nil
	}
	// Retention: buckets whose first window the source no longer holds are not read.
	firstRead := 0
	for firstRead < buckets && ends[firstRead] < oldest {
		firstRead++
	}
	if firstRead > 0 {
		out.Reason = fmt.Sprintf("the source no longer holds windows before %s (its retention)", time.UnixMilli(oldest-WindowMs).UTC().Format(time.RFC3339))
	}
	// Budget: the newest buckets that fit, found newest first in one pass (the ends two
	// adjacent buckets share are counted once).
	if newest := p.newestAffordable(ask, ends, firstRead, budget/perEnd); newest > firstRead {
		firstRead = newest
		out.Reason = fmt.Sprintf("reading every bucket would take more than the %d requests a query may make", p.cfg.MaxRequests)
	}
	out.CoveredFrom, out.CoveredTo = ends[min(firstRead, buckets)], ends[buckets]
	if firstRead == buckets {
		out.Requests = requests
		return out, nil
	}
	need = p.uncachedEnds(ask, ends[firstRead:], sn)
	points, r, err := Run(ctx, p.src, now, need, ask, p.cfg.Parallel, 3)
	requests += r
	if err != nil {
		return nil, err
	}
	at := map[int64]Point{}
	for _, pt := range points {
		at[pt.End] = pt
	}
	if pt, ok := at[ends[firstRead]]; ok && pt.Talkers != nil {
		out.Head = pt.Talkers
	}
	closedBefore := LastEnd(sn-p.cfg.Settle.Milliseconds()) + WindowMs
	for b := firstRead; b < buckets; b++ {
		k := cacheKey{ask, ends[b], ends[b+1]}
		if iv := p.cached(k); iv != nil {
			out.Intervals[b] = iv
			continue
		}
		a, z := at[ends[b]], at[ends[b+1]]
		iv := Between(a, z, ask.Dim != "")
		if ask.Dim != "" {
			for _, m := range []string{"bytes", "packets", "flows"} {
				setMetric(&out.Unlisted[b], m, Unlisted(a, z, true, m))
			}
		}
		out.Intervals[b] = iv
		if ends[b+1] <= closedBefore && out.Unlisted[b] == (Row{}) {
			p.keep(k, iv)
		}
	}
	out.Requests = requests
	out.Executed = Describe(need, sn, ask)
	return out, nil
}

// Estimate says, without asking the source, the width a series query would be read at and
// about how many requests its plan would make at the source's now (our clock when the offset
// is unknown): the clock sample and the oldest window when they are not fresh, one look-back
// per uncached boundary (two with a talker list), and the repeat. It widens for the budget as
// Series does; a plan that fits no width reads only its newest buckets, so the estimate is
// then the budget.
func (p *Planner) Estimate(q SeriesQuery) (width time.Duration, requests int) {
	c := p.Cost(q, 0)
	return c.Width, c.Requests
}

// PlanCost is what a series plan would cost, estimated before it runs.
type PlanCost struct {
	Width time.Duration // the width the plan would read at (widened for the budget)
	Estimate
	// Fits is false when even the widest width needs more requests than the budget: the plan
	// would then read only its newest buckets (Requests is the budget).
	Fits bool
}

// MaxRequests is the request budget of one query.
func (p *Planner) MaxRequests() int { return p.cfg.MaxRequests }

// Cost estimates a series plan as Estimate does (same widths, boundaries, cache and budget),
// with the records each look-back scans on the source: rate records per 60 s window, each
// look-back scanning every window from its boundary to the source's now (issue 8, pitfall 3).
func (p *Planner) Cost(q SeriesQuery, rate float64) PlanCost {
	p.mu.Lock()
	fresh := !p.clockAt.IsZero() && p.cfg.Now().Sub(p.clockAt) < p.cfg.ClockTTL
	off := p.offset
	oldFresh := !p.oldestAt.IsZero() && p.cfg.Now().Sub(p.oldestAt) < p.cfg.ClockTTL
	p.mu.Unlock()
	fixed := 0
	if !fresh {
		fixed++
	}
	if !oldFresh {
		fixed++
	}
	sn := p.cfg.Now().Add(off).UnixMilli()
	ask, perEnd := Ask{}, 1
	if q.GroupBy == "src" || q.GroupBy == "dst" || q.GroupBy == "pair" {
		ask, perEnd = Ask{Dim: q.GroupBy, By: q.By, Limit: q.Limit}, 2
	}
	budget := p.cfg.MaxRequests - fixed - 1
	for i, w := range append([]time.Duration{q.Width}, q.Widths...) {
		if (q.To.UnixMilli()-q.From.UnixMilli())/max(w.Milliseconds(), 1) > MaxBuckets {
			return PlanCost{Width: w}
		}
		ends, _ := Boundaries(q.From.UnixMilli(), q.To.UnixMilli(), w)
		if q.Single && len(ends) > 2 {
			ends = []int64{ends[0], ends[len(ends)-1]}
		}
		need := p.uncachedEnds(ask, ends, sn)
		calls := 0
		for _, e := range need {
			if Secs(sn, e) > 0 {
				calls++
			}
		}
		if fits := calls*perEnd <= budget; fits || i == len(q.Widths) {
			est := LookbackEstimate(need, sn, perEnd, rate)
			est.Requests = fixed + min(calls*perEnd, budget)
			if calls > 0 {
				// The repeat of the first look-back (the longest).
				rep := LookbackEstimate(need[:1], sn, 1, rate)
				est.Requests++
				est.Scanned += rep.Scanned
			}
			if !fits {
				est.Scanned = est.Scanned * int64(budget) / int64(max(calls*perEnd, 1))
			}
			return PlanCost{Width: w, Estimate: est, Fits: fits}
		}
	}
	return PlanCost{Width: q.Width}
}

// newestAffordable is the first bucket of the longest run of newest buckets, from first on,
// whose uncached look-backs number at most afford.
func (p *Planner) newestAffordable(ask Ask, ends []int64, first, afford int) int {
	set := map[int64]bool{}
	b := len(ends) - 1
	for b > first {
		k := cacheKey{ask, ends[b-1], ends[b]}
		if p.cached(k) == nil {
			add := 0
			for _, e := range []int64{ends[b-1], ends[b]} {
				if !set[e] {
					add++
				}
			}
			if len(set)+add > afford {
				return b
			}
			set[ends[b-1]], set[ends[b]] = true, true
		}
		b--
	}
	return first
}

// uncachedEnds are the window ends whose look-backs the buckets not in the cache need.
func (p *Planner) uncachedEnds(ask Ask, ends []int64, sourceNow int64) []int64 {
	set := map[int64]bool{}
	for b := 0; b+1 < len(ends); b++ {
		if p.cached(cacheKey{ask, ends[b], ends[b+1]}) == nil {
			set[ends[b]] = true
			set[ends[b+1]] = true
		}
	}
	var out []int64
	for e := range set {
		out = append(out, e)
	}
	slices.Sort(out)
	return out
}

// Totals is a past range's talkers (or protocols, with dim ""): the ranked rows, exact, or
// with the rows whose value is only bounded.
type Totals struct {
	Rows   []Row // ranked by the metric, ties by key; Lo values
	Hi     []Row // the upper bounds of Rows (equal to Rows where exact)
	Exact  bool
	Total  Row
	Plan   *SeriesPlan
	Reason string
}

// TotalsQuery is the series query RangeTotals plans: one bucket spanning the range (its grid
// starts at the first window, whatever the width), two look-backs at its edges.
func TotalsQuery(from, to time.Time, dim, metric string, askLimit int) SeriesQuery {
	width := time.Duration(LastEnd(to.UnixMilli())+WindowMs-FirstEnd(from.UnixMilli())) * time.Millisecond
	group := dim
	if group == "" {
		group = "protocol"
	}
	by := metric
	if by == "flows" {
		by = "bytes"
	}
	return SeriesQuery{From: from, To: to, Width: max(width, time.Minute), GroupBy: group, By: by, Limit: askLimit, Single: true}
}

// RangeTotals answers a range's talkers by dim (or protocols when dim is "") from two
// look-backs, ranked by metric, the first limit rows. Exact when every listed row is exact and
// nothing unlisted could rank among them. refine, when not nil, may make bounded keys of the
// plan exact (the engine reads them on their own) before they are ranked.
func (p *Planner) RangeTotals(ctx context.Context, from, to time.Time, dim, metric string, limit, askLimit int, refine func(*SeriesPlan)) (*Totals, error) {
	sp, err := p.Series(ctx, TotalsQuery(from, to, dim, metric, askLimit))
	if err != nil {
		return nil, err
	}
	if refine != nil {
		refine(sp)
	}
	return TotalsOf(sp, metric, limit), nil
}

// TotalsOf ranks a plan's intervals (a single bucket, or several summed) by metric: the first
// limit rows, exact when every row is and nothing unlisted could rank among them.
func TotalsOf(sp *SeriesPlan, metric string, limit int) *Totals {
	t := &Totals{Plan: sp, Reason: sp.Reason, Exact: true}
	lo, hi := map[string]Row{}, map[string]Row{}
	var unlisted int64
	for b, iv := range sp.Intervals {
		if iv == nil {
			t.Exact = false
			continue
		}
		t.Total = add(t.Total, iv.Total)
		for k, r := range iv.Lo {
			lo[k] = add(lo[k], r)
			hi[k] = add(hi[k], iv.Hi[k])
		}
		unlisted += sp.Unlisted[b].Metric(metric)
	}
	keys := make([]string, 0, len(lo))
	for k := range lo {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if x, y := lo[a].Metric(metric), lo[b].Metric(metric); x != y {
			if x > y {
				return -1
			}
			return 1
		}
		return strings.Compare(a, b)
	})
	n := min(limit, len(keys))
	for i, k := range keys {
		r, h := lo[k], hi[k]
		r.Key, h.Key = k, k
		if i < n {
			t.Rows = append(t.Rows, r)
			t.Hi = append(t.Hi, h)
			if r != h {
				t.Exact = false
			}
			continue
		}
		// A key below the cut must not possibly outrank the last row kept.
		if n > 0 && h.Metric(metric) > lo[keys[n-1]].Metric(metric) {
			t.Exact = false
		}
	}
	if n > 0 && unlisted > lo[keys[n-1]].Metric(metric) {
		t.Exact = false
	}
	return t
}

func add(a, b Row) Row {
	return Row{Key: a.Key, Bytes: a.Bytes + b.Bytes, Packets: a.Packets + b.Packets, Flows: a.Flows + b.Flows}
}
