package plugin

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
)

// maxSeriesPoints caps series × buckets in one query's answer. Above it, buckets are widened
// (field note 5: bucket explosions). 30,000 points still draw smoothly in a browser.
const maxSeriesPoints = 30_000

// otherLabel is the label value of the series holding everything outside the top N.
const otherLabel = "Other"

// niceWidths are the bucket widths chosen when a query must be coarsened: multiples of 60 s
// that divide an hour or a day, so buckets line up with clock times.
var niceWidths = []time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
}

// seriesSpec is what a traffic-over-time query asks for.
type seriesSpec struct {
	metric  string // bytes | packets | flows
	unit    string // rate | total
	groupBy string // none | protocol | src | dst | pair | dstPort | exporter
	topN    int
	other   bool
	from    time.Time
	to      time.Time
	// width is the bucket width wanted; it is widened when the answer would exceed maxPoints.
	width     time.Duration
	maxPoints int
}

// series is one line of the answer.
type series struct {
	labels  data.Labels
	display string
	values  []float64
}

// seriesResult is the answer: every series has one value per bucket starting at start.
type seriesResult struct {
	start   time.Time
	width   time.Duration
	buckets int
	series  []series
	// widenedFrom is the width asked for when it had to be widened, else 0.
	widenedFrom time.Duration
}

// bucketWidth is the width for a panel interval: at least one API window, and a whole number of
// windows, because a record is a whole 60 s window and cannot be split between buckets.
func bucketWidth(interval time.Duration) time.Duration {
	w := (interval + flowsapi.WindowSize - 1) / flowsapi.WindowSize * flowsapi.WindowSize
	return max(w, flowsapi.WindowSize)
}

// groupKey identifies a series without building a string per record.
type groupKey struct {
	a, b string
	n    int32
}

func keyOf(f *flowsapi.Flow, groupBy string) groupKey {
	switch groupBy {
	case "protocol":
		return groupKey{a: protocolLabel(f), n: -1}
	case "src":
		return groupKey{a: f.SrcIP, n: -1}
	case "dst":
		return groupKey{a: f.DstIP, n: -1}
	case "pair":
		return groupKey{a: f.SrcIP, b: f.DstIP, n: -1}
	case "dstPort":
		return groupKey{n: int32(f.DstPort)}
	case "exporter":
		return groupKey{a: f.ExporterIP, n: -1}
	default:
		return groupKey{n: -1}
	}
}

// labelsOf names a series with the same label names as the aggregate frames, so an alert
// instance reads src_ip=…, dst_ip=…, protocol=…; the display name is what a legend shows.
func labelsOf(k groupKey, groupBy string) (data.Labels, string) {
	switch groupBy {
	case "protocol":
		return data.Labels{labelProtocol: k.a}, k.a
	case "src":
		return data.Labels{labelSrcIP: k.a}, k.a
	case "dst":
		return data.Labels{labelDstIP: k.a}, k.a
	case "pair":
		return data.Labels{labelSrcIP: k.a, labelDstIP: k.b}, k.a + flowsapi.PairSeparator + k.b
	case "dstPort":
		p := strconv.Itoa(int(k.n))
		return data.Labels{"dst_port": p}, p
	case "exporter":
		return data.Labels{"exporter": k.a}, k.a
	default:
		return nil, ""
	}
}

func otherLabels(groupBy string) data.Labels {
	switch groupBy {
	case "pair":
		return data.Labels{labelSrcIP: otherLabel, labelDstIP: otherLabel}
	case "dstPort":
		return data.Labels{"dst_port": otherLabel}
	case "exporter":
		return data.Labels{"exporter": otherLabel}
	default:
		l, _ := labelsOf(groupKey{a: otherLabel}, groupBy)
		return l
	}
}

func metricOf(f *flowsapi.Flow, metric string) float64 {
	switch metric {
	case "packets":
		return float64(f.Packets)
	case "flows":
		return 1
	default:
		return float64(f.Bytes)
	}
}

// buildSeries buckets records by window_start into series: the top N groups ranked over the
// whole range, plus "Other" with the rest of each bucket, so that they add up to the total.
// Buckets inside the range with no records are 0. The grid is aligned to multiples of the
// width and reaches every record given, so nothing read is dropped.
func buildSeries(flows []flowsapi.Flow, spec seriesSpec) seriesResult {
	// Pass 1: totals per group for the ranking, and each record's group.
	type group struct {
		key   groupKey
		total float64
		slot  int // series index, or -1 for Other / dropped
	}
	index := make(map[groupKey]int32)
	var groups []group
	recGroup := make([]int32, len(flows))
	// The API selects records by their end (timestamp), so the windows of [from, to] are those
	// ending inside it; the grid starts from theirs, and reaches any record a server sends
	// beyond them.
	windowMs := flowsapi.WindowSize.Milliseconds()
	minStart := -floorTo(-(spec.from.UnixMilli() - windowMs), windowMs)
	maxStart := floorTo(spec.to.UnixMilli()-windowMs, windowMs)
	for i := range flows {
		f := &flows[i]
		k := keyOf(f, spec.groupBy)
		g, ok := index[k]
		if !ok {
			g = int32(len(groups))
			index[k] = g
			groups = append(groups, group{key: k})
		}
		groups[g].total += metricOf(f, spec.metric)
		recGroup[i] = g
		minStart, maxStart = min(minStart, f.WindowStart), max(maxStart, f.WindowStart)
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
	if spec.groupBy != "none" {
		keep = min(keep, spec.topN)
	}
	kept := ranked[:keep]
	// Series are ordered by label, not by rank, so that colours, which Grafana gives by
	// position, stay with a talker when its rank changes between refreshes.
	slices.SortFunc(kept, func(a, b int) int { return compareKeys(groups[a].key, groups[b].key) })
	for i := range groups {
		groups[i].slot = -1
	}
	var out seriesResult
	for slot, g := range kept {
		groups[g].slot = slot
		labels, display := labelsOf(groups[g].key, spec.groupBy)
		out.series = append(out.series, series{labels: labels, display: display})
	}
	otherSlot := -1
	if spec.other && len(ranked) > keep {
		otherSlot = len(out.series)
		out.series = append(out.series, series{labels: otherLabels(spec.groupBy), display: otherLabel})
	}
	if len(out.series) == 0 {
		// No records: one series of zeros still tells the panel the traffic was nil.
		labels, display := nilSeriesLabels(spec.groupBy)
		out.series = append(out.series, series{labels: labels, display: display})
	}

	// The grid, widened until it fits the point cap.
	width := spec.width
	grid := func(w time.Duration) (int64, int) {
		wm := w.Milliseconds()
		first := floorTo(minStart, wm)
		if maxStart < minStart { // the range holds no whole window
			return first, 0
		}
		return first, int((floorTo(maxStart, wm)-first)/wm) + 1
	}
	first, n := grid(width)
	if spec.maxPoints > 0 && len(out.series)*n > spec.maxPoints {
		out.widenedFrom = width
		for _, w := range widerWidths(width) {
			width = w
			if first, n = grid(w); len(out.series)*n <= spec.maxPoints {
				break
			}
		}
	}
	out.start, out.width, out.buckets = time.UnixMilli(first).UTC(), width, n
	for i := range out.series {
		out.series[i].values = make([]float64, n)
	}

	// Pass 2: sums per bucket, then rates.
	wm := width.Milliseconds()
	for i := range flows {
		f := &flows[i]
		slot := groups[recGroup[i]].slot
		if slot < 0 {
			if otherSlot < 0 {
				continue
			}
			slot = otherSlot
		}
		b := (floorTo(f.WindowStart, wm) - first) / wm
		out.series[slot].values[b] += metricOf(f, spec.metric)
	}
	if spec.unit == "rate" {
		bits := 1.0
		if spec.metric == "bytes" {
			bits = 8
		}
		for b := range n {
			// A rate is per second of traffic covered: an edge bucket that holds only some of
			// its windows inside the range divides by those, so the line does not dip at the edges.
			lo := max(first+int64(b)*wm, minStart)
			hi := min(first+int64(b+1)*wm-windowMs, maxStart)
			scale := bits / (float64((hi-lo)/windowMs+1) * flowsapi.WindowSize.Seconds())
			for _, s := range out.series {
				s.values[b] *= scale
			}
		}
	}
	return out
}

func nilSeriesLabels(groupBy string) (data.Labels, string) {
	if groupBy == "none" {
		return nil, ""
	}
	return otherLabels(groupBy), otherLabel
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
	for _, n := range niceWidths {
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

func formatWidth(w time.Duration) string {
	s := w.String()
	s = strings.TrimSuffix(s, "0s")
	s = strings.TrimSuffix(s, "0m")
	if s == "" {
		return fmt.Sprint(w)
	}
	return s
}
