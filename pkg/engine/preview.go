package engine

import (
	"fmt"
	"slices"
	"time"

	"github.com/flowlens/flows-datasource/pkg/engine/lookback"
)

// Preview is what the editor shows before a query runs: the requests it will make first, and
// notes on how the answer is obtained.
type Preview struct {
	Requests []string `json:"requests"`
	Notes    []string `json:"notes"`
}

// PreviewQuery is the part of a query that decides its requests.
type PreviewQuery struct {
	QueryType     string
	Format        string
	From, To, Now time.Time
	Interval      time.Duration
	Filters       Filters
	Sort, Order   string
	Limit         int
	Dim, By       string
	Variable      string
	// GroupBy, TopN and Metric shape a traffic-over-time query (format timeseries).
	GroupBy string
	TopN    int
	Metric  string
}

// Preview says which requests a query will make for a range, by the same rules the engine
// follows, without making them. A source that is no RequestDescriber gets notes only.
func (e *Engine) Preview(q PreviewQuery) (*Preview, error) {
	combos, err := e.Combinations(q.Filters)
	if err != nil {
		return nil, err
	}
	p := &Preview{Requests: []string{}, Notes: []string{}}
	describer, _ := e.src.(RequestDescriber)
	_, hasLookback := e.src.(LookbackAggregator)
	reads := func(sortBy, order string, rows int) {
		for _, c := range combos {
			r := ReadRequest{From: q.From, To: q.To, Filter: c, Sort: sortBy, Order: order, MaxRows: min(e.pageSize, rows)}
			if describer != nil {
				p.Requests = append(p.Requests, describer.DescribeRead(r))
			}
		}
		p.Notes = append(p.Notes, fmt.Sprintf("Pages until %d records or the last one.", rows))
	}
	aggregate := func(serverSide bool, endpoint func(secs int64) string) {
		reason := e.noServerAggregation()
		if hasLookback {
			var secs int64
			if secs, reason = e.LookbackWindow(q.From, q.To, q.Now, q.Filters); secs > 0 {
				if describer != nil {
					p.Requests = append(p.Requests, endpoint(secs))
				}
				return
			}
		}
		if serverSide {
			p.Notes = append(p.Notes, fmt.Sprintf("Aggregated by the %s server.", e.src.Name()))
			return
		}
		totals := q.QueryType == QueryTypeTopTalkers || q.QueryType == QueryTypeProtocols
		rows := e.rowCap
		if totals && hasLookback && e.plannerApplies(GroupNone, q.Filters) {
			tq := lookback.TotalsQuery(q.From, q.To, q.Dim, q.By, e.talkerLimit())
			if q.QueryType == QueryTypeProtocols {
				tq = lookback.TotalsQuery(q.From, q.To, "", MetricBytes, e.talkerLimit())
			}
			note, paging := e.lookbackNote(q.From, q.To, "two look-backs at the range's edges (their difference is the range)", func(rate float64) lookback.PlanCost { return e.planner.Cost(tq, rate) })
			p.Notes = append(p.Notes, note)
			if paging {
				rows = e.readBudgetRows()
			}
		} else if totals && e.streams() {
			p.Notes = append(p.Notes, e.streamNote(q.Filters))
		}
		reads(SortTime, OrderDesc, rows)
		p.Notes = append(p.Notes, e.ComputedNotice(q.From, q.To, reason))
	}
	talkers := func(dim string, limit int) {
		_, server := e.src.(TalkersAggregator)
		aggregate(server, func(secs int64) string {
			return describer.DescribeLookbackTopTalkers(LookbackTalkersRequest{WindowSecs: secs, By: q.By, Dim: dim, Limit: limit})
		})
	}
	protocols := func() {
		_, server := e.src.(ProtocolsAggregator)
		aggregate(server, func(secs int64) string { return describer.DescribeLookbackProtocols(secs) })
	}
	switch {
	case q.QueryType == QueryTypeTopTalkers:
		talkers(q.Dim, q.Limit)
	case q.QueryType == QueryTypeProtocols:
		protocols()
	case q.QueryType == QueryTypeFlows && q.Format == "timeseries":
		if _, server := e.src.(SeriesAggregator); server {
			p.Notes = append(p.Notes, fmt.Sprintf("Aggregated by the %s server.", e.src.Name()))
		} else {
			rows := e.rowCap
			if slices.Contains(e.caps.GroupBys, q.GroupBy) && e.plannerApplies(q.GroupBy, q.Filters) {
				spec := SeriesSpec{From: q.From, To: q.To, Width: BucketWidth(q.Interval, e.caps.WindowSize), GroupBy: q.GroupBy, TopN: q.TopN, Metric: q.Metric, MaxPoints: MaxSeriesPoints}
				if sq, ok := e.plannerSeriesQuery(spec); ok {
					w := e.planner.Cost(sq, 0).Width
					per := "/protocols"
					if q.GroupBy == GroupSrc || q.GroupBy == GroupDst || q.GroupBy == GroupPair {
						per = "/protocols and /top-talkers"
					}
					note, paging := e.lookbackNote(q.From, q.To, fmt.Sprintf("%s at each boundary of its %s buckets", per, FormatWidth(w)), func(rate float64) lookback.PlanCost { return e.planner.Cost(sq, rate) })
					p.Notes = append(p.Notes, note)
					if paging {
						rows = e.readBudgetRows()
					}
				}
			} else if e.streams() {
				p.Notes = append(p.Notes, e.streamNote(q.Filters))
			}
			reads(SortTime, OrderDesc, rows)
		}
		p.Notes = append(p.Notes, fmt.Sprintf("Buckets of %s (wider if the answer would exceed %d points).",
			FormatWidth(BucketWidth(q.Interval, e.caps.WindowSize)), MaxSeriesPoints))
	case q.QueryType == QueryTypeFlows:
		reads(q.Sort, q.Order, min(q.Limit, e.rowCap))
	case q.Variable == VariableSrcIP || q.Variable == VariableDstIP:
		if _, ok := e.src.(ValueLister); ok {
			p.Notes = append(p.Notes, fmt.Sprintf("Listed by the %s server.", e.src.Name()))
			break
		}
		talkers(map[string]string{VariableSrcIP: GroupSrc, VariableDstIP: GroupDst}[q.Variable], q.Limit)
		if secs, _ := e.LookbackWindow(q.From, q.To, q.Now, q.Filters); hasLookback && secs > 0 && describer != nil {
			p.Requests = append(p.Requests, describer.DescribeRead(e.hostnameRead(q.From, q.To)))
			p.Notes = append(p.Notes, "The page of largest records names the addresses (host names).")
		}
	case q.Variable == VariableProtocol:
		if _, ok := e.src.(ValueLister); ok {
			p.Notes = append(p.Notes, fmt.Sprintf("Listed by the %s server.", e.src.Name()))
			break
		}
		protocols()
	default:
		if _, ok := e.src.(ValueLister); ok {
			p.Notes = append(p.Notes, fmt.Sprintf("Listed by the %s server.", e.src.Name()))
			break
		}
		reads(SortBytes, OrderDesc, min(variableScanRows, e.rowCap))
	}
	return p, nil
}

// lookbackNote says how a query without filters is answered when its range holds more records
// than the row cap: from look-back aggregates or by paging through every record streamed,
// whichever costs less (cost.go), and about how many requests that takes. Whether the range
// holds more records than the row cap, and how many, is known only once counted (one cheap
// request the query makes first); a count made in the last minutes for a range of the same
// length is reused, as the query reuses it. cost prices the look-back plan at a rate of records
// per window.
func (e *Engine) lookbackNote(from, to time.Time, how string, cost func(rate float64) lookback.PlanCost) (note string, paging bool) {
	e.countMu.Lock()
	known, seen := e.counts[to.Sub(from)]
	e.countMu.Unlock()
	seen = seen && time.Since(known.at) < 10*time.Minute
	count := 0
	if !seen || known.n < 2*e.rowCap {
		count = 1 // the count (see countFits)
	}
	rate := 0.0
	if seen {
		rate = recordsPerWindow(known.n, from, to)
	}
	lb := cost(rate)
	requests := lb.Requests + count
	plan := fmt.Sprintf("from look-back aggregates, exact at any volume: %s, about %s in all", how, plural(requests, "request"))
	if requests == 0 {
		plan = "from look-back aggregates read earlier: every bucket is closed and kept, about 0 requests in all"
	}
	switch {
	case seen && known.n > e.rowCap:
		page := max(e.pageSize, 1)
		c := e.newCostChoice(rangeCount{n: known.n, pages: max(1, (known.n+page-1)/page), known: true, combos: 1}, e.streams())
		c.hasLookback, c.lookback = true, lb
		if c.page() {
			return fmt.Sprintf("Paging plan: a range this long held %d records when last counted, more than the row cap (%d), so every record is read from %s page by page and aggregated as it arrives (none held), about %s in all; %s (the look-back aggregates: %s).",
				known.n, e.rowCap, e.recordsFrom(), plural(c.paging.Requests+count+e.oldestAsk(), "request"), c.why(), how), true
		}
		return fmt.Sprintf("Look-back plan: a range this long held %d records when last counted, more than the row cap (%d), so the answer comes %s; %s. The records are not read.", known.n, e.rowCap, plan, c.why()), false
	case seen:
		return fmt.Sprintf("A range this long held %d records when last counted, within the row cap (%d): its records are read. With more, the answer would come %s, or by paging through every record, whichever costs less.", known.n, e.rowCap, plan), false
	}
	orPaging := ""
	if e.streams() {
		orPaging = fmt.Sprintf(", or, when that costs less (few records a minute over a long range), by reading every record page by page (one request per page of %d, at most %d pages) and aggregating each as it arrives", max(e.pageSize, 1), e.requestBudget())
	}
	return fmt.Sprintf("Look-back plan: the query first counts the range's records (one request); when they are more than the row cap (%d), the answer comes %s%s, instead of the reads below.", e.rowCap, plan, orPaging), false
}

// oldestAsk is the request a streamed plan makes for the source's oldest window (retention),
// when it is not known yet.
func (e *Engine) oldestAsk() int {
	if e.planner == nil || e.planner.OldestKnown() {
		return 0
	}
	return 1
}

// streamNote says how a query with filters (no look-back) is answered above the row cap.
func (e *Engine) streamNote(f Filters) string {
	if combos, err := e.Combinations(f); err == nil && len(combos) > 1 {
		return fmt.Sprintf("Several filter values make %d combinations, read and merged by holding their records: at most the row cap (%d) is read, with a warning when there are more.", len(combos), e.rowCap)
	}
	return fmt.Sprintf("The query first counts the range's records (one request); when they are more than the row cap (%d) and within the read budget (%d records: %d pages of %d, and the source's own budget), every record is read page by page and aggregated as it arrives (none held), exact; beyond that only the row cap's records are read, with a warning.",
		e.rowCap, e.readBudgetRows(), e.requestBudget(), max(e.pageSize, 1))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
