package calico_test

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// The ground truth: computed from the generated documents, flow by flow, without the
// source's query rule. A flow is the set of its reports (one document per reporting end, ids
// "<flow id>-src" / "<flow id>-dst"); its bytes and packets are what either report says in
// both directions (they agree), and it is denied when any report denies it.

type flow struct {
	id      string
	reports []*simulator.CalicoDoc
	denied  bool
}

func (f *flow) any() *simulator.CalicoDoc { return f.reports[0] }
func (f *flow) bytes() int64              { d := f.any(); return d.BytesIn + d.BytesOut }
func (f *flow) packets() int64            { d := f.any(); return d.PacketsIn + d.PacketsOut }
func (f *flow) flows() int64              { return f.any().NumFlows }
func (f *flow) action() string {
	if f.denied {
		return "deny"
	}
	return "allow"
}

func (f *flow) metric(m string) int64 {
	switch m {
	case "packets":
		return f.packets()
	case "flows":
		return f.flows()
	}
	return f.bytes()
}

// flowsOf groups documents whose end_time lies in [fromS, toS] (epoch seconds) by flow.
func flowsOf(docs []simulator.CalicoDoc, fromS, toS int64) []*flow {
	byID := map[string]*flow{}
	var out []*flow
	for i := range docs {
		d := &docs[i]
		if d.EndTime < fromS || d.EndTime > toS {
			continue
		}
		id := d.ID[:strings.LastIndexByte(d.ID, '-')]
		f := byID[id]
		if f == nil {
			f = &flow{id: id}
			byID[id] = f
			out = append(out, f)
		}
		f.reports = append(f.reports, d)
		if d.Action == "deny" {
			f.denied = true
		}
	}
	return out
}

// endpoint is how the truth names one end of a flow: the address, or where aggregation hid it,
// namespace/name_aggr (name_aggr alone for "-").
func endpoint(ip *string, nameAggr, namespace string) string {
	if ip != nil {
		return *ip
	}
	if namespace == "-" {
		return nameAggr
	}
	return namespace + "/" + nameAggr
}

func (f *flow) key(groupBy string) string {
	d := f.any()
	switch groupBy {
	case "none":
		return ""
	case "src":
		return endpoint(d.SourceIP, d.SourceNameAggr, d.SourceNamespace)
	case "dst":
		return endpoint(d.DestIP, d.DestNameAggr, d.DestNamespace)
	case "pair":
		return f.key("src") + " → " + f.key("dst")
	case "action":
		return f.action()
	case "protocol":
		return strings.ToUpper(d.Proto)
	case "dstNamespace":
		return d.DestNamespace
	case "srcNamespace":
		return d.SourceNamespace
	}
	panic("truth: no key for " + groupBy)
}

type row struct {
	key                   string
	bytes, packets, flows int64
}

func (r row) metric(m string) int64 {
	switch m {
	case "packets":
		return r.packets
	case "flows":
		return r.flows
	}
	return r.bytes
}

// totals sums flows by key, ranked by the metric descending, ties by key.
func totals(fs []*flow, groupBy, metric string) []row {
	idx := map[string]int{}
	var rows []row
	for _, f := range fs {
		k := f.key(groupBy)
		i, ok := idx[k]
		if !ok {
			i = len(rows)
			idx[k] = i
			rows = append(rows, row{key: k})
		}
		rows[i].bytes += f.bytes()
		rows[i].packets += f.packets()
		rows[i].flows += f.flows()
	}
	slices.SortFunc(rows, func(a, b row) int {
		if c := cmp.Compare(b.metric(metric), a.metric(metric)); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	return rows
}

// bucketTotals sums flows per bucket (by the start of the interval a document reports,
// end_time − flush) and key: the top N keys by name and "Other" for the rest.
func bucketTotals(fs []*flow, groupBy, metric string, topN int, widthS, flushS int64) map[string]map[int64]int64 {
	ranked := totals(fs, groupBy, metric)
	top := map[string]bool{}
	for i, r := range ranked {
		if i < topN {
			top[r.key] = true
		}
	}
	out := map[string]map[int64]int64{}
	for _, f := range fs {
		k := f.key(groupBy)
		if !top[k] {
			k = "Other"
		}
		start := f.any().EndTime - flushS
		b := (start / widthS) * widthS * 1000
		if out[k] == nil {
			out[k] = map[int64]int64{}
		}
		out[k][b] += f.metric(metric)
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
