package engine

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/flowlens/flows-datasource/pkg/engine/lookback"
)

// When a range holds more records than the row cap, reading and holding them cannot be exact.
// Two plans can be: look-back differences (pkg/engine/lookback; no filter, Flows API only) and
// paging through every record while aggregating each page as it arrives (streamed: memory is
// bounded by the aggregate, MaxAggregateCells, not by the records). The engine prices both
// with the range's count (lookback.Costs: issue 8, pitfall 3) and takes the cheaper one that
// fits the request budget. See docs/time-ranges.md ("Choosing by cost").

// requestBudget is the most requests one query's plan may make: the planner's MaxRequests.
// A streamed read may page through at most that many pages (the read budget).
func (e *Engine) requestBudget() int {
	if e.planner != nil {
		return e.planner.MaxRequests()
	}
	return lookback.DefaultMaxRequests
}

// streams reports whether the engine can page through a range and aggregate page by page for
// this source: it must count a range cheaply (to price the read before making it) and read
// page by page.
func (e *Engine) streams() bool {
	_, counts := e.src.(Counter)
	_, pages := e.src.(PageReader)
	return counts && pages
}

// ReadBudgeter is a source that bounds what one query may read in all (the Flows API: its
// query byte budget, queryBudgetMB), said as records. A streamed read that would pass it is not
// planned: it would fail part-way.
type ReadBudgeter interface {
	ReadBudgetRecords() int
}

// readBudgetRows is the most records a streamed read may page through (the read budget): the
// request budget's pages, and what the source's own budget allows.
func (e *Engine) readBudgetRows() int {
	n := e.requestBudget() * max(e.pageSize, 1)
	if b, ok := e.src.(ReadBudgeter); ok && b.ReadBudgetRecords() > 0 {
		n = min(n, b.ReadBudgetRecords())
	}
	return n
}

// rangeCount is what counting a range said: its records (summed over the filter combinations,
// an upper bound when combinations overlap) and the pages reading them takes.
type rangeCount struct {
	n, pages int
	known    bool
	// combos is the number of filter combinations: several are merged by holding their records
	// (ReadEach), so only one may be streamed.
	combos int
}

// countRange counts the records of a range and filters: without filters by countFits (one
// request, reused for a range of the same length as countFits says), with filters one count
// per filter combination.
func (e *Engine) countRange(ctx context.Context, from, to time.Time, f Filters) rangeCount {
	page := max(e.pageSize, 1)
	if f.IsEmpty() {
		_, n := e.countFits(ctx, from, to)
		if n < 0 {
			return rangeCount{}
		}
		return rangeCount{n: n, pages: max(1, (n+page-1)/page), known: true, combos: 1}
	}
	c, ok := e.src.(Counter)
	if !ok {
		return rangeCount{}
	}
	combos, err := e.Combinations(f)
	if err != nil || len(combos) > 1 {
		// Several combinations are merged by holding their records: none is streamed, so
		// counting them would only cost requests.
		return rangeCount{}
	}
	var rc rangeCount
	for _, combo := range combos {
		n, _, err := c.Count(ctx, from, to, combo)
		if err != nil || n < 0 {
			return rangeCount{}
		}
		rc.n += n
		rc.pages += max(1, (n+page-1)/page)
	}
	rc.known, rc.combos = true, len(combos)
	return rc
}

// recordsPerWindow is the range's records per 60 s window, what a look-back scans per window.
func recordsPerWindow(n int, from, to time.Time) float64 {
	windows := (lookback.LastEnd(to.UnixMilli())-lookback.FirstEnd(from.UnixMilli()))/lookback.WindowMs + 1
	return float64(n) / float64(max(windows, 1))
}

// costChoice compares the two plans for a range above the row cap.
type costChoice struct {
	count       rangeCount
	paging      lookback.Estimate
	pagingFits  bool
	hasLookback bool
	lookback    lookback.PlanCost
	budget      int
	readBudget  int // records
	streams     bool
}

func (e *Engine) newCostChoice(rc rangeCount, streams bool) costChoice {
	c := costChoice{count: rc, budget: e.requestBudget(), readBudget: e.readBudgetRows(), streams: streams}
	c.paging = lookback.PagingEstimate(int64(rc.n), max(e.pageSize, 1))
	c.paging.Requests = rc.pages
	c.pagingFits = streams && rc.known && rc.combos == 1 && rc.pages <= c.budget && rc.n <= e.readBudgetRows()
	return c
}

// page reports whether paging is the plan: it fits the budget and costs less than look-backs,
// or look-backs are not possible or would not cover the range.
func (c costChoice) page() bool {
	if !c.pagingFits {
		return false
	}
	if !c.hasLookback || !c.lookback.Fits {
		return true
	}
	return lookback.DefaultCosts.Of(c.paging) < lookback.DefaultCosts.Of(c.lookback.Estimate)
}

// why says how the plan was chosen, for ExecutedQueryString.
func (c costChoice) why() string {
	pg := fmt.Sprintf("paging ≈ %s (%s)", costOf(c.paging), plural(c.paging.Requests, "page"))
	switch {
	case c.pagingFits:
	case !c.streams:
		pg = "paging without holding is not available from this source"
	case c.count.combos > 1:
		pg = fmt.Sprintf("paging %d filter combinations would hold their records to merge them", c.count.combos)
	case c.paging.Requests > c.budget:
		pg = fmt.Sprintf("paging would take %s, more than the %d requests a query may make", plural(c.paging.Requests, "page"), c.budget)
	default:
		pg = fmt.Sprintf("paging %d records would pass the %d a query may read", c.count.n, c.readBudget)
	}
	if !c.hasLookback {
		return pg
	}
	lb := fmt.Sprintf("look-backs ≈ %s (%s)", costOf(c.lookback.Estimate), plural(c.lookback.Requests, "request"))
	if !c.lookback.Fits {
		lb = fmt.Sprintf("look-backs would not cover the range within %d requests", c.budget)
	}
	if c.page() {
		return "chosen by cost: " + pg + " against " + lb
	}
	return "chosen by cost: " + lb + " against " + pg
}

func costOf(est lookback.Estimate) string {
	d := lookback.DefaultCosts.Of(est)
	if d >= time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// streamedExecuted is ExecutedQueryString of a streamed plan.
func (e *Engine) streamedExecuted(c costChoice, set *RecordSet, pages, asks int) string {
	s := fmt.Sprintf("plan: %s; the range holds %d records (more than the row cap, %d): every record read from %s, %s aggregated as each arrives (none held); %s",
		plural(pages+asks, "request"), c.count.n, e.rowCap, e.recordsFrom(), plural(pages, "page"), c.why())
	if asks > 0 {
		s += "; the oldest window the source holds asked once (retention)"
	}
	if len(set.Requests) > 0 {
		s += "\n" + strings.Join(set.Requests, "\n")
	}
	return s
}

// readStreamed pages through the range, handing each page to add, and checks that the read was
// whole: a read stopped by the read budget (the range grew past it since it was counted) would
// leave the aggregate partial, so it fails instead.
func (e *Engine) readStreamed(ctx context.Context, from, to time.Time, f Filters, add func([]Record) error) (*RecordSet, int, error) {
	pages := 0
	set, err := e.ReadEach(ctx, from, to, f, SortTime, OrderDesc, e.readBudgetRows(), func(p []Record) error {
		pages++
		return add(p)
	})
	if err != nil {
		return nil, pages, err
	}
	if set.Pages > 0 {
		// The requests the read made: an open range's first page, read again with its part,
		// is a request that handed nothing on.
		pages = set.Pages
	}
	if set.Capped {
		return nil, pages, Downstream(http.StatusServiceUnavailable, fmt.Errorf(
			"the range %s – %s grew past %d records (the %d pages a query may read) while it was read page by page; retry the query, or narrow the time range or the filters",
			from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), e.readBudgetRows(), e.requestBudget()))
	}
	return set, pages, nil
}

// oldestHeld is the end of the oldest window the source holds (0: unknown, or all of them), and
// the requests asking took: windows before it left the source's retention, so a streamed read
// finds no records there, which is not zero traffic.
func (e *Engine) oldestHeld(ctx context.Context) (int64, int, error) {
	if e.planner == nil {
		return 0, 0, nil
	}
	return e.planner.Oldest(ctx)
}

// streamedSeries answers a series by paging through its records (spec.Width already widened
// for the point cap). Buckets before the source's retention are unread (null), as on the
// look-back path, never 0.
func (e *Engine) streamedSeries(ctx context.Context, spec SeriesSpec, asked time.Duration, f Filters, c costChoice) (*SeriesAnswer, error) {
	oldest, asks, err := e.oldestHeld(ctx)
	if err != nil {
		return nil, err
	}
	acc := newSeriesAccumulator(spec)
	set, pages, err := e.readStreamed(ctx, spec.From, spec.To, f, acc.page)
	if err != nil {
		return nil, err
	}
	res := acc.result()
	if res.Width != asked {
		res.WidenedFrom = asked
	}
	markRetention(&res, spec, oldest)
	return &SeriesAnswer{Result: res, Executed: e.streamedExecuted(c, set, pages, asks), Set: set}, nil
}

// markRetention marks the buckets whose first window ended before oldest as unread, and says
// what the series covers.
func markRetention(res *SeriesResult, spec SeriesSpec, oldest int64) {
	if oldest <= 0 || res.Buckets == 0 {
		return
	}
	wm, win := res.Width.Milliseconds(), lookback.WindowMs
	first := lookback.FirstEnd(spec.From.UnixMilli()) - win
	start := res.Start.UnixMilli()
	covered := -1
	for b := range res.Buckets {
		if max(start+int64(b)*wm, first)+win >= oldest {
			covered = b
			break
		}
		if res.Unread == nil {
			res.Unread = make([]bool, res.Buckets)
		}
		res.Unread[b] = true
		for _, s := range res.Series {
			s.Values[b] = 0
		}
	}
	if res.Unread == nil {
		return
	}
	from := spec.To.UTC()
	if covered >= 0 {
		from = time.UnixMilli(max(start+int64(covered)*wm, first)).UTC()
	}
	res.Partial = fmt.Sprintf("covers %s – %s of %s – %s: the source no longer holds windows before %s (its retention); narrow the time range to see the rest",
		from.Format(time.RFC3339), spec.To.UTC().Format(time.RFC3339), spec.From.UTC().Format(time.RFC3339), spec.To.UTC().Format(time.RFC3339),
		time.UnixMilli(oldest-win).UTC().Format(time.RFC3339))
}

// streamedTotals answers talkers (dim) or protocols (dim "") by paging through the range. A
// range reaching before the source's retention fails, as on the look-back path: ranking what
// is left as if it were the whole range would be wrong.
func (e *Engine) streamedTotals(ctx context.Context, from, to time.Time, f Filters, dim, by string, limit int, reason string, c costChoice) (*Aggregation, error) {
	oldest, asks, err := e.oldestHeld(ctx)
	if err != nil {
		return nil, err
	}
	if oldest > 0 && lookback.FirstEnd(from.UnixMilli()) < oldest {
		return nil, Downstream(http.StatusNotFound, fmt.Errorf("%s – %s cannot be totalled: the source no longer holds windows before %s (its retention); choose a range inside what the %s server holds",
			from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), time.UnixMilli(oldest-lookback.WindowMs).UTC().Format(time.RFC3339), e.src.Name()))
	}
	acc := newTotalsAccumulator(dim)
	set, pages, err := e.readStreamed(ctx, from, to, f, acc.page)
	if err != nil {
		return nil, err
	}
	agg := &Aggregation{Executed: e.streamedExecuted(c, set, pages, asks), ComputedBecause: reason, Set: set}
	if dim == "" {
		agg.Protocols = acc.protocols()
	} else {
		agg.Talkers = acc.talkers(by, limit)
	}
	return agg, nil
}
