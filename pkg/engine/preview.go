package engine

import (
	"fmt"
	"time"
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
		reads(SortTime, OrderDesc, e.rowCap)
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
			reads(SortTime, OrderDesc, e.rowCap)
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
