package engine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/internal/intconv"
)

// MaxSeriesPoints caps series × buckets in one query's answer. Above it, buckets are widened
// (field note 5: bucket explosions). 30,000 points still draw smoothly in a browser.
const MaxSeriesPoints = 30_000

// OtherLabel is the label value of the series holding everything outside the top N.
const OtherLabel = "Other"

// Label names on frames. Labels on data-plane frames are what alert instances are named by.
const (
	LabelSrcIP    = "src_ip"
	LabelDstIP    = "dst_ip"
	LabelProtocol = "protocol"
	LabelDstPort  = "dst_port"
	LabelExporter = "exporter"
	LabelAction   = "action"
)

// NiceWidths are the bucket widths chosen when a query must be coarsened: multiples of 60 s
// that divide an hour or a day, so buckets line up with clock times.
var NiceWidths = []time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// SeriesSpec is what a traffic-over-time query asks for.
type SeriesSpec struct {
	Metric  string // bytes | packets | flows
	Unit    string // rate | total
	GroupBy string // none | protocol | src | dst | pair | dstPort | exporter | action | a dimension key
	TopN    int
	Other   bool
	From    time.Time
	To      time.Time
	// Width is the bucket width wanted; it is widened when the answer would exceed MaxPoints.
	Width     time.Duration
	MaxPoints int
	// Window is the records' granularity (Capabilities.WindowSize); the engine sets it.
	Window time.Duration
	// labels names the label of a dimension group-by; the engine sets it.
	dimLabel string
}

// Series is one line of the answer.
type Series struct {
	Labels  data.Labels
	Display string
	Values  []float64
}

// SeriesResult is the answer: every series has one value per bucket starting at Start.
type SeriesResult struct {
	Start   time.Time
	Width   time.Duration
	Buckets int
	Series  []Series
	// WidenedFrom is the width asked for when it had to be widened, else 0. WidenedWhy says
	// why when it was not the point cap (MaxSeriesPoints), e.g. the request budget.
	WidenedFrom time.Duration
	WidenedWhy  string
	// Dropped counts the records left out because their window lies outside the range.
	Dropped int
	// Unread marks buckets that were not read (drawn as no data, never 0); nil when all were.
	Unread []bool
	// Partial says what was covered and why not the rest, when some buckets are unread.
	Partial string
	// Approximate says which values are bounds and by how much at most (a warning).
	Approximate string
}

// SeriesAnswer is a series result with how it was obtained.
type SeriesAnswer struct {
	Result   SeriesResult
	Executed string
	// Set holds the records read, when the series were computed from records.
	Set *RecordSet
}

// BucketWidth is the width for a panel interval: at least one window, and a whole number of
// windows, because a record is a whole window and cannot be split between buckets.
func BucketWidth(interval, window time.Duration) time.Duration {
	w := (interval + window - 1) / window * window
	return max(w, window)
}

// Series answers traffic over time: from the source's own aggregation when it has one,
// otherwise by reading the range's records and bucketing them.
func (e *Engine) Series(ctx context.Context, spec SeriesSpec, f Filters) (*SeriesAnswer, error) {
	if !slices.Contains(e.caps.GroupBys, spec.GroupBy) {
		return nil, &UnsupportedError{Source: e.src.Name(), Field: "groupBy", Value: spec.GroupBy, Missing: "group-by " + spec.GroupBy, Choices: e.caps.GroupBys}
	}
	if err := e.needMetric("metric", spec.Metric); err != nil {
		return nil, err
	}
	spec.Window = e.caps.WindowSize
	for _, d := range e.caps.Dimensions {
		if d.Key == spec.GroupBy {
			spec.dimLabel = d.Label
		}
	}
	if ans, err := e.plannedSeries(ctx, spec, f); ans != nil || err != nil {
		return ans, err
	}
	if sa, ok := e.src.(SeriesAggregator); ok {
		res, reqs, err := sa.Series(ctx, spec, f)
		if err != nil {
			return nil, err
		}
		return &SeriesAnswer{Result: *res, Executed: strings.Join(reqs, "\n")}, nil
	}
	set, err := e.Read(ctx, spec.From, spec.To, f, SortTime, OrderDesc, e.rowCap)
	if err != nil {
		return nil, err
	}
	return &SeriesAnswer{Result: BuildSeries(set.Records, spec), Executed: strings.Join(set.Requests, "\n"), Set: set}, nil
}

// groupKey identifies a series without building a string per record.
type groupKey struct {
	a, b string
	n    int32
}

func keyOf(r *Record, groupBy string) groupKey {
	switch groupBy {
	case GroupNone:
		return groupKey{n: -1}
	case GroupProtocol:
		return groupKey{a: r.ProtocolLabel(), n: -1}
	case GroupSrc:
		return groupKey{a: r.SrcIP, n: -1}
	case GroupDst:
		return groupKey{a: r.DstIP, n: -1}
	case GroupPair:
		return groupKey{a: r.SrcIP, b: r.DstIP, n: -1}
	case GroupDstPort:
		return groupKey{n: int32(r.DstPort)}
	case GroupExporter:
		return groupKey{a: r.Exporter, n: -1}
	case GroupAction:
		return groupKey{a: r.Action, n: -1}
	default: // a source's dimension
		return groupKey{a: r.Labels[groupBy], n: -1}
	}
}

// labelsOf names a series with the same label names as the aggregate frames, so an alert
// instance reads src_ip=…, dst_ip=…, protocol=…; the display name is what a legend shows.
func labelsOf(k groupKey, spec *SeriesSpec) (data.Labels, string) {
	switch spec.GroupBy {
	case GroupNone:
		return nil, ""
	case GroupProtocol:
		return data.Labels{LabelProtocol: k.a}, k.a
	case GroupSrc:
		return data.Labels{LabelSrcIP: k.a}, k.a
	case GroupDst:
		return data.Labels{LabelDstIP: k.a}, k.a
	case GroupPair:
		return data.Labels{LabelSrcIP: k.a, LabelDstIP: k.b}, k.a + PairSeparator + k.b
	case GroupDstPort:
		p := strconv.Itoa(int(k.n))
		return data.Labels{LabelDstPort: p}, p
	case GroupExporter:
		return data.Labels{LabelExporter: k.a}, k.a
	case GroupAction:
		return data.Labels{LabelAction: k.a}, k.a
	default:
		return data.Labels{cmp.Or(spec.dimLabel, spec.GroupBy): k.a}, k.a
	}
}

func otherLabels(spec *SeriesSpec) data.Labels {
	switch spec.GroupBy {
	case GroupPair:
		return data.Labels{LabelSrcIP: OtherLabel, LabelDstIP: OtherLabel}
	case GroupDstPort:
		return data.Labels{LabelDstPort: OtherLabel}
	default:
		l, _ := labelsOf(groupKey{a: OtherLabel}, spec)
		return l
	}
}

func metricOf(r *Record, metric string) float64 {
	switch metric {
	case "packets":
		return float64(r.Packets)
	case "flows":
		return float64(r.FlowCount())
	default:
		return float64(r.Bytes)
	}
}

// BuildSeries buckets records by StartMs into series: the top N groups ranked over the whole
// range, plus "Other" with the rest of each bucket, so that they add up to the total. Buckets
// inside the range with no records are 0. The grid is aligned to multiples of the width and
// covers the range's windows and one window either side (sources differ in how they select
// records at the edges); a record outside that is left out and counted in Dropped, never
// stretched over (a server's absurd window_start once made a 1 h query 57 M points). The grid
// never has more than MaxPoints points (MaxSeriesPoints when 0), whatever the range.
func BuildSeries(recs []Record, spec SeriesSpec) SeriesResult {
	if spec.Window <= 0 {
		spec.Window = time.Minute
	}
	if spec.MaxPoints <= 0 {
		spec.MaxPoints = MaxSeriesPoints
	}
	// Pass 1: totals per group for the ranking, and each record's group.
	type group struct {
		key   groupKey
		total float64
		slot  int // series index, or -1 for Other / dropped
	}
	index := make(map[groupKey]int32)
	var groups []group
	recGroup := make([]int32, len(recs))
	// Sources select records by their end, so the windows of [from, to] are those ending
	// inside it; the grid starts from theirs, and reaches any record a source sends beyond them.
	windowMs := spec.Window.Milliseconds()
	fromMs, toMs := clampMs(spec.From.UnixMilli()), clampMs(spec.To.UnixMilli())
	minStart := -floorTo(-(fromMs - windowMs), windowMs)
	maxStart := floorTo(toMs-windowMs, windowMs)
	lowest, highest := minStart-windowMs, maxStart+windowMs
	var out SeriesResult
	for i := range recs {
		r := &recs[i]
		if r.StartMs < lowest || r.StartMs > highest {
			out.Dropped++
			recGroup[i] = -1
			continue
		}
		k := keyOf(r, spec.GroupBy)
		g, ok := index[k]
		if !ok {
			if g, ok = intconv.Int32(len(groups)); !ok {
				// Groups are counted in int32 to halve recGroup; 2^31 groups would take 2^31
				// records, far past any row cap, but if it happens they are counted, not wrapped.
				out.Dropped++
				recGroup[i] = -1
				continue
			}
			index[k] = g
			groups = append(groups, group{key: k})
		}
		groups[g].total += metricOf(r, spec.Metric)
		recGroup[i] = g
		minStart, maxStart = min(minStart, r.StartMs), max(maxStart, r.StartMs)
	}

	ranked := make([]int, len(groups))
	for i := range ranked {
		ranked[i] = i
	}
	slices.SortFunc(ranked, func(a, b int) int {
		if c := cmp.Compare(groups[b].total, groups[a].total); c != 0 {
			return c
		}
		return compareKeys(groups[a].key, groups[b].key)
	})
	keep := len(ranked)
	if spec.GroupBy != GroupNone {
		keep = min(keep, spec.TopN)
	}
	kept := ranked[:keep]
	// Series are ordered by label, not by rank, so that colours, which Grafana gives by
	// position, stay with a talker when its rank changes between refreshes.
	slices.SortFunc(kept, func(a, b int) int { return compareKeys(groups[a].key, groups[b].key) })
	for i := range groups {
		groups[i].slot = -1
	}
	for slot, g := range kept {
		groups[g].slot = slot
		labels, display := labelsOf(groups[g].key, &spec)
		out.Series = append(out.Series, Series{Labels: labels, Display: display})
	}
	otherSlot := -1
	if spec.Other && len(ranked) > keep {
		otherSlot = len(out.Series)
		out.Series = append(out.Series, Series{Labels: otherLabels(&spec), Display: OtherLabel})
	}
	// No records: no series. An empty range is no data (an alert rule goes to No Data), not a
	// line of zeros, and never an "Other" nobody asked for (issue 9, item 16).

	// The grid, widened until it fits the point cap.
	width := spec.Width
	grid := func(w time.Duration) (int64, int) {
		wm := w.Milliseconds()
		first := floorTo(minStart, wm)
		if maxStart < minStart { // the range holds no whole window
			return first, 0
		}
		return first, int((floorTo(maxStart, wm)-first)/wm) + 1
	}
	first, n := grid(width)
	if len(out.Series)*n > spec.MaxPoints {
		out.WidenedFrom = width
		for _, w := range widerWidths(width) {
			width = w
			if first, n = grid(w); len(out.Series)*n <= spec.MaxPoints {
				break
			}
		}
		if len(out.Series)*n > spec.MaxPoints {
			// Longer than a year of whole days can fit: as many windows per bucket as it takes.
			perSeries := int64(max(spec.MaxPoints/max(len(out.Series), 1), 1))
			span := maxStart - minStart + windowMs
			buckets := (span+perSeries-1)/perSeries + windowMs - 1
			width = time.Duration(buckets/windowMs*windowMs) * time.Millisecond
			if first, n = grid(width); len(out.Series)*n > spec.MaxPoints {
				width *= 2
				first, n = grid(width)
			}
		}
	}
	if len(out.Series) == 0 {
		n = 0
	}
	out.Start, out.Width, out.Buckets = time.UnixMilli(first).UTC(), width, n
	for i := range out.Series {
		out.Series[i].Values = make([]float64, n)
	}

	// Pass 2: sums per bucket, then rates.
	wm := width.Milliseconds()
	for i := range recs {
		r := &recs[i]
		if recGroup[i] < 0 {
			continue
		}
		slot := groups[recGroup[i]].slot
		if slot < 0 {
			if otherSlot < 0 {
				continue
			}
			slot = otherSlot
		}
		b := (floorTo(r.StartMs, wm) - first) / wm
		out.Series[slot].Values[b] += metricOf(r, spec.Metric)
	}
	if spec.Unit == "rate" {
		bits := 1.0
		if spec.Metric == "bytes" {
			bits = 8
		}
		for b := range n {
			// A rate is per second of traffic covered: an edge bucket that holds only some of
			// its windows inside the range divides by those, so the line does not dip at the edges.
			lo := max(first+int64(b)*wm, minStart)
			hi := min(first+int64(b+1)*wm-windowMs, maxStart)
			scale := bits / (float64((hi-lo)/windowMs+1) * spec.Window.Seconds())
			for _, s := range out.Series {
				s.Values[b] *= scale
			}
		}
	}
	return out
}

func compareKeys(a, b groupKey) int {
	if c := cmp.Compare(a.n, b.n); c != 0 {
		return c
	}
	if c := strings.Compare(a.a, b.a); c != 0 {
		return c
	}
	return strings.Compare(a.b, b.b)
}

// MaxRangeMs bounds the time ranges a series covers: about 1,000 years either side of 1970
// (a range beyond is cut to it), so that bucket widths stay within time.Duration.
const MaxRangeMs = 1_000 * 366 * 24 * 3600 * 1000

// clampMs keeps a time inside ±MaxRangeMs.
func clampMs(ms int64) int64 { return min(max(ms, -MaxRangeMs), MaxRangeMs) }

// floorTo rounds ms down to a multiple of step, also for times before 1970.
func floorTo(ms, step int64) int64 {
	q := ms / step
	if ms%step != 0 && ms < 0 {
		q--
	}
	return q * step
}

// widerWidths lists, in order, the widths to try above w: the nice ones, then whole days.
func widerWidths(w time.Duration) []time.Duration {
	var out []time.Duration
	for _, n := range NiceWidths {
		if n > w {
			out = append(out, n)
		}
	}
	day := 24 * time.Hour
	for d := max(2*day, (w/day+1)*day); d <= 366*day; d += day {
		out = append(out, d)
	}
	return out
}

// FormatWidth writes a bucket width as 2m, 1h, 1h30m.
func FormatWidth(w time.Duration) string {
	s := w.String()
	// "30m0s" is 30m and "2h0m0s" 2h; trimming a bare "0m" would make 30m "3".
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	if s == "" {
		return fmt.Sprint(w)
	}
	return s
}
