package calico

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/sources/calico/elastic"
)

// maxGroups is how many keys one terms level returns. The exact ranking (bytes in + out) is
// made here over them; when a level leaves keys out (sum_other_doc_count > 0), the ranking
// could miss a key, and the answer says so.
const maxGroups = 1000

// sums are a group's totals.
type sums struct{ bytes, packets, flows int64 }

func sumsOf(a elastic.Aggs) (sums, error) {
	var v [5]int64
	for i, name := range []string{"bytes_in", "bytes_out", "packets_in", "packets_out", "flows"} {
		n, err := a.Value(name)
		if err != nil {
			return sums{}, err
		}
		v[i] = n
	}
	return sums{bytes: v[0] + v[1], packets: v[2] + v[3], flows: v[4]}, nil
}

func (s sums) metric(m string) int64 {
	switch m {
	case "packets":
		return s.packets
	case "flows":
		return s.flows
	}
	return s.bytes
}

// group is one key found by the terms aggregations, with its leaf bucket.
type group struct {
	parts []string // as the engine labels them (rendered)
	leaf  elastic.Aggs
	sums  sums
}

// flatten walks each branch's nested terms to its leaves. complete is false when some level
// left keys out.
func flatten(aggs elastic.Aggs, branches []branch) (groups []group, complete bool, err error) {
	complete = true
	merged := map[string]int{}
	for i, b := range branches {
		ba, err := aggs.Sub("b" + strconv.Itoa(i))
		if err != nil {
			return nil, false, err
		}
		var walk func(a elastic.Aggs, depth int, parts []string) error
		walk = func(a elastic.Aggs, depth int, parts []string) error {
			buckets, other, err := a.Buckets("k")
			if err != nil {
				return err
			}
			if other > 0 {
				complete = false
			}
			for _, bk := range buckets {
				p := append(append([]string{}, parts...), bk.KeyString())
				if depth+1 < len(b.fields) {
					if err := walk(bk.Aggs, depth+1, p); err != nil {
						return err
					}
					continue
				}
				sm, err := sumsOf(bk.Aggs)
				if err != nil {
					return err
				}
				rendered := b.render(p)
				key := strings.Join(rendered, "\x00")
				if j, dup := merged[key]; dup {
					// Two raw keys that render alike (never for Calico's fields, but be exact).
					groups[j].sums.bytes += sm.bytes
					groups[j].sums.packets += sm.packets
					groups[j].sums.flows += sm.flows
					groups[j].leaf = nil
					continue
				}
				merged[key] = len(groups)
				groups = append(groups, group{parts: rendered, leaf: bk.Aggs, sums: sm})
			}
			return nil
		}
		if err := walk(ba, 0, nil); err != nil {
			return nil, false, err
		}
	}
	return groups, complete, nil
}

// rank sorts groups by the metric, descending, ties by key.
func rank(groups []group, metric string) {
	slices.SortFunc(groups, func(a, b group) int {
		if c := cmp.Compare(b.sums.metric(metric), a.sums.metric(metric)); c != 0 {
			return c
		}
		return slices.Compare(a.parts, b.parts)
	})
}

func incompleteNotice(n int, what string) string {
	return fmt.Sprintf("Ranked among the first %d %s the cluster returned (ordered by traffic one way): there are more, and one of them could rank higher by bytes in both directions.", n, what)
}

// maxSeriesBuckets keeps a series search under the clusters' default search.max_buckets
// (65,535), counting every terms key and its histogram buckets.
const maxSeriesBuckets = 40_000

// TopTalkers implements engine.TalkersAggregator: one search, terms on the talker's address
// or, where aggregation masked it, on its aggregated name and namespace.
func (s *Source) TopTalkers(ctx context.Context, r engine.TalkersRequest) (*engine.Aggregate, error) {
	branches, err := groupBranches(r.Dim)
	if err != nil || r.Dim == engine.GroupNone {
		return nil, &engine.UnsupportedError{Source: s.Name(), Field: "dim", Value: r.Dim, Missing: "talker dimension " + r.Dim, Choices: []string{engine.GroupSrc, engine.GroupDst, engine.GroupPair}}
	}
	q, err := s.query(r.From, r.To, r.Filters, "")
	if err != nil {
		return nil, err
	}
	body := obj{"size": 0, "query": q, "aggs": branchAggs(branches, maxGroups, r.By, nil)}
	res, desc, err := s.search(ctx, body)
	if err != nil {
		return nil, err
	}
	aggs, err := elastic.ParseAggs(res.Aggregations)
	if err != nil {
		return nil, downstream(err)
	}
	groups, complete, err := flatten(aggs, branches)
	if err != nil {
		return nil, downstream(err)
	}
	rank(groups, r.By)
	out := &engine.Aggregate{Requests: []string{desc}}
	for i, g := range groups {
		if r.Limit > 0 && i >= r.Limit {
			break
		}
		out.Talkers = append(out.Talkers, engine.Talker{Key: strings.Join(g.parts, engine.PairSeparator),
			Bytes: g.sums.bytes, Packets: g.sums.packets, Flows: g.sums.flows})
	}
	if !complete {
		out.Requests = append(out.Requests, "Notice: "+incompleteNotice(maxGroups, "talkers"))
	}
	return out, nil
}

// Protocols implements engine.ProtocolsAggregator: one search, terms on proto.
func (s *Source) Protocols(ctx context.Context, r engine.ProtocolsRequest) (*engine.Aggregate, error) {
	branches, _ := groupBranches(engine.GroupProtocol)
	q, err := s.query(r.From, r.To, r.Filters, "")
	if err != nil {
		return nil, err
	}
	res, desc, err := s.search(ctx, obj{"size": 0, "query": q, "aggs": branchAggs(branches, 256, "bytes", nil)})
	if err != nil {
		return nil, err
	}
	aggs, err := elastic.ParseAggs(res.Aggregations)
	if err != nil {
		return nil, downstream(err)
	}
	groups, _, err := flatten(aggs, branches)
	if err != nil {
		return nil, downstream(err)
	}
	rank(groups, "bytes")
	out := &engine.Aggregate{Requests: []string{desc}}
	for _, g := range groups {
		out.Protocols = append(out.Protocols, engine.ProtocolRow{Protocol: g.parts[0], Bytes: g.sums.bytes, Packets: g.sums.packets, Flows: g.sums.flows})
	}
	return out, nil
}

// Values implements engine.ValueLister: one search, terms on the variable's field, busiest
// (most documents) first.
func (s *Source) Values(ctx context.Context, r engine.ValuesRequest) ([]engine.Option, []string, error) {
	limit := r.Limit
	if limit <= 0 {
		limit = 1000
	}
	terms := func(field string) obj {
		return obj{"terms": obj{"field": field, "size": limit, "order": []any{obj{"_count": "desc"}, obj{"_key": "asc"}}}}
	}
	var agg obj
	nested := ""
	switch r.Variable {
	case engine.VariableSrcIP:
		agg = obj{"filter": unmasked(srcSide), "aggs": obj{"v": terms(srcSide.ip)}}
	case engine.VariableDstIP:
		agg = obj{"filter": unmasked(dstSide), "aggs": obj{"v": terms(dstSide.ip)}}
	case engine.VariableProtocol:
		agg = terms(fProto)
	case engine.VariableExporter:
		agg = terms(fHost)
	case engine.VariablePort:
		agg = terms(dstSide.port)
	case engine.VariableAction:
		agg = terms(fAction)
	default:
		d, ok := dimensionOf(r.Variable)
		if !ok {
			return nil, nil, &engine.UnsupportedError{Source: s.Name(), Field: "variable", Value: r.Variable, Missing: "variable " + r.Variable}
		}
		agg = terms(d.field)
		if d.nested != "" {
			nested = d.nested
			agg = obj{"nested": obj{"path": d.nested}, "aggs": obj{"v": agg}}
		}
	}
	q, err := s.query(r.From, r.To, r.Filters, "")
	if err != nil {
		return nil, nil, err
	}
	res, desc, err := s.search(ctx, obj{"size": 0, "query": q, "aggs": obj{"v": agg}})
	if err != nil {
		return nil, nil, err
	}
	aggs, err := elastic.ParseAggs(res.Aggregations)
	if err != nil {
		return nil, nil, downstream(err)
	}
	if _, isObj := agg["filter"]; isObj || nested != "" {
		if aggs, err = aggs.Sub("v"); err != nil {
			return nil, nil, downstream(err)
		}
	}
	buckets, _, err := aggs.Buckets("v")
	if err != nil {
		return nil, nil, downstream(err)
	}
	var out []engine.Option
	for _, b := range buckets {
		v := b.KeyString()
		text := v
		switch r.Variable {
		case engine.VariableProtocol:
			n, name := protoNumber(v)
			v = strconv.Itoa(int(n))
			text = cmp.Or(name, v)
		case DimPolicy:
			text = policyName(v)
			v = text
		}
		if r.Variable == DimPolicy && slices.ContainsFunc(out, func(o engine.Option) bool { return o.Value == v }) {
			continue
		}
		out = append(out, engine.Option{Text: text, Value: v})
	}
	return out, []string{desc}, nil
}

// policyName is the name part of Calico's "order|tier|name|action|rule".
func policyName(p string) string {
	parts := strings.Split(p, "|")
	if len(parts) >= 3 {
		return parts[2]
	}
	return p
}

// ---------------------------------------------------------------------------------------------
// Traffic over time

// Series implements engine.SeriesAggregator in one search: each group's date_histogram under
// terms (every group's total ranks it exactly over the whole range) and the total's
// date_histogram, so Other is the total minus the top N, bucket by bucket.
//
// Buckets hold a document by its time field minus one flush interval, the start of the
// interval it reports (a date_histogram offset), so that they mean what the engine's buckets
// mean: a bucket holds the windows that start in it, and the range selects windows by end.
func (s *Source) Series(ctx context.Context, spec engine.SeriesSpec, f engine.Filters) (*engine.SeriesResult, []string, error) {
	branches, err := groupBranches(spec.GroupBy)
	if err != nil {
		return nil, nil, &engine.UnsupportedError{Source: s.Name(), Field: "groupBy", Value: spec.GroupBy, Missing: "group-by " + spec.GroupBy}
	}
	window := s.settings.FlushInterval
	g := newGrid(spec, window)
	maxSeries := 1
	if spec.GroupBy != engine.GroupNone {
		maxSeries = spec.TopN + 1
	}
	g.fit(maxSeries, spec.MaxPoints)
	wm := g.width.Milliseconds()
	hist := obj{"date_histogram": obj{
		"field":          s.settings.TimeField,
		"fixed_interval": strconv.FormatInt(wm, 10) + "ms",
		"offset":         strconv.FormatInt(window.Milliseconds()%wm, 10) + "ms",
		"min_doc_count":  1,
	}, "aggs": metricAggs()}
	q, err := s.query(spec.From, spec.To, f, spec.GroupBy)
	if err != nil {
		return nil, nil, err
	}
	aggs := obj{"total": hist}
	_, nBuckets := g.buckets()
	size := maxGroups
	if len(branches) > 0 {
		size = min(maxGroups, max(spec.TopN, 1, maxSeriesBuckets/((nBuckets+1)*len(branches))))
		for k, v := range branchAggs(branches, size, spec.Metric, obj{"t": hist}) {
			aggs[k] = v
		}
	}
	res, desc, err := s.search(ctx, obj{"size": 0, "query": q, "aggs": aggs})
	if err != nil {
		return nil, nil, err
	}
	reqs := []string{desc}
	top, err := elastic.ParseAggs(res.Aggregations)
	if err != nil {
		return nil, nil, downstream(err)
	}
	startOf := func(b elastic.Bucket) (int64, error) {
		k, err := b.KeyInt()
		return k - window.Milliseconds(), err
	}
	valuesOf := func(a elastic.Aggs, name string) (map[int64]int64, error) {
		buckets, _, err := a.Buckets(name)
		if err != nil {
			return nil, err
		}
		out := map[int64]int64{}
		for _, b := range buckets {
			start, err := startOf(b)
			if err != nil {
				return nil, err
			}
			sm, err := sumsOf(b.Aggs)
			if err != nil {
				return nil, err
			}
			out[start] += sm.metric(spec.Metric)
			g.reach(start)
		}
		return out, nil
	}
	total, err := valuesOf(top, "total")
	if err != nil {
		return nil, nil, downstream(err)
	}
	var out engine.SeriesResult
	var kept []map[int64]int64
	other := false
	if spec.GroupBy == engine.GroupNone {
		out.Series = []engine.Series{{}}
		kept = []map[int64]int64{total}
	} else {
		groups, complete, err := flatten(top, branches)
		if err != nil {
			return nil, nil, downstream(err)
		}
		if !complete {
			reqs = append(reqs, "Notice: "+incompleteNotice(size, "groups"))
		}
		rank(groups, spec.Metric)
		n := min(len(groups), spec.TopN)
		chosen := groups[:n]
		// Series are ordered by label, as the engine orders them.
		slices.SortFunc(chosen, func(a, b group) int { return slices.Compare(a.parts, b.parts) })
		for _, gr := range chosen {
			if gr.leaf == nil {
				return nil, nil, fmt.Errorf("group %v merged from several keys", gr.parts)
			}
			vals, err := valuesOf(gr.leaf, "t")
			if err != nil {
				return nil, nil, downstream(err)
			}
			labels, display := s.seriesLabels(spec.GroupBy, gr.parts)
			out.Series = append(out.Series, engine.Series{Labels: labels, Display: display})
			kept = append(kept, vals)
		}
		other = spec.Other && (len(groups) > n || !complete)
		if other || len(out.Series) == 0 {
			out.Series = append(out.Series, engine.Series{Labels: s.otherLabels(spec.GroupBy), Display: engine.OtherLabel})
		}
	}

	first, count := g.buckets()
	out.Start, out.Width, out.Buckets = time.UnixMilli(first).UTC(), g.width, count
	if g.width != spec.Width {
		out.WidenedFrom = spec.Width
	}
	for i := range out.Series {
		out.Series[i].Values = make([]float64, count)
	}
	for b := range count {
		start := first + int64(b)*wm
		var topSum int64
		for i, vals := range kept {
			out.Series[i].Values[b] = float64(vals[start])
			topSum += vals[start]
		}
		if other {
			out.Series[len(out.Series)-1].Values[b] = float64(total[start] - topSum)
		}
	}
	if spec.Unit == "rate" {
		g.toRates(out.Series, spec.Metric)
	}
	return &out, reqs, nil
}

// seriesLabels names a series as the engine names its own (src_ip=…, protocol=…), and a
// Calico dimension by its field name (dest_namespace=…).
func (s *Source) seriesLabels(groupBy string, parts []string) (data.Labels, string) {
	switch groupBy {
	case engine.GroupSrc:
		return data.Labels{engine.LabelSrcIP: parts[0]}, parts[0]
	case engine.GroupDst:
		return data.Labels{engine.LabelDstIP: parts[0]}, parts[0]
	case engine.GroupPair:
		return data.Labels{engine.LabelSrcIP: parts[0], engine.LabelDstIP: parts[1]}, parts[0] + engine.PairSeparator + parts[1]
	case engine.GroupProtocol:
		return data.Labels{engine.LabelProtocol: parts[0]}, parts[0]
	case engine.GroupDstPort:
		return data.Labels{engine.LabelDstPort: parts[0]}, parts[0]
	case engine.GroupExporter:
		return data.Labels{engine.LabelExporter: parts[0]}, parts[0]
	case engine.GroupAction:
		return data.Labels{engine.LabelAction: parts[0]}, parts[0]
	}
	d, _ := dimensionOf(groupBy)
	return data.Labels{d.Label: parts[0]}, parts[0]
}

func (s *Source) otherLabels(groupBy string) data.Labels {
	if groupBy == engine.GroupPair {
		return data.Labels{engine.LabelSrcIP: engine.OtherLabel, engine.LabelDstIP: engine.OtherLabel}
	}
	l, _ := s.seriesLabels(groupBy, []string{engine.OtherLabel})
	return l
}

// grid is the bucket grid of a series answer, by the engine's rules (docs/time-ranges.md):
// aligned to multiples of the width, covering the windows that end in [from, to] and any
// bucket the answer reaches beyond them; rates divide by the seconds of windows inside.
type grid struct {
	window             time.Duration
	width              time.Duration
	minStart, maxStart int64 // first and last window start inside the range (ms)
	lo, hi             int64 // window starts reached, range and data together
}

func newGrid(spec engine.SeriesSpec, window time.Duration) *grid {
	wm := window.Milliseconds()
	g := &grid{window: window, width: max(spec.Width, window)}
	g.width = (g.width + window - 1) / window * window
	g.minStart = -floorTo(-(spec.From.UnixMilli() - wm), wm)
	g.maxStart = floorTo(spec.To.UnixMilli()-wm, wm)
	g.lo, g.hi = g.minStart, g.maxStart
	return g
}

func (g *grid) reach(start int64) { g.lo, g.hi = min(g.lo, start), max(g.hi, start) }

func (g *grid) buckets() (first int64, n int) {
	wm := g.width.Milliseconds()
	first = floorTo(g.lo, wm)
	if g.hi < g.lo {
		return first, 0
	}
	return first, int((floorTo(g.hi, wm)-first)/wm) + 1
}

// fit widens the buckets, before the search, until series × buckets fits maxPoints, counting
// the most series the answer can have: the engine's nice widths, then whole days.
func (g *grid) fit(series, maxPoints int) {
	if maxPoints <= 0 {
		return
	}
	if _, n := g.buckets(); series*n <= maxPoints {
		return
	}
	var wider []time.Duration
	for _, w := range engine.NiceWidths {
		if w > g.width && w%g.window == 0 {
			wider = append(wider, w)
		}
	}
	day := 24 * time.Hour
	for d := max(2*day, (g.width/day+1)*day); d <= 366*day; d += day {
		wider = append(wider, d)
	}
	for _, w := range wider {
		g.width = w
		if _, n := g.buckets(); series*n <= maxPoints {
			return
		}
	}
}

func (g *grid) toRates(series []engine.Series, metric string) {
	bits := 1.0
	if metric == "bytes" {
		bits = 8
	}
	first, n := g.buckets()
	wm, winMs := g.width.Milliseconds(), g.window.Milliseconds()
	for b := range n {
		lo := max(first+int64(b)*wm, g.minStart)
		hi := min(first+int64(b+1)*wm-winMs, g.maxStart)
		windows := (hi-lo)/winMs + 1
		if windows < 1 {
			windows = 1
		}
		scale := bits / (float64(windows) * g.window.Seconds())
		for _, s := range series {
			s.Values[b] *= scale
		}
	}
}

func floorTo(ms, step int64) int64 {
	q := ms / step
	if ms%step != 0 && ms < 0 {
		q--
	}
	return q * step
}
