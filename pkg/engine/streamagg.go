package engine

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flowlens/flows-datasource/pkg/internal/intconv"
)

// MaxAggregateCells bounds what a query aggregated page by page holds: the cells of its series
// (one per key and bucket that holds traffic) or the keys of its totals. A cell is 16 bytes and
// a key about 100 (its strings and map entry), so the bound is about 16–120 MB whatever the
// number of records read. A query that needs more fails, saying so, instead of answering from
// part of its records. Tests lower it.
var MaxAggregateCells = 1_000_000

// AggregateBudgetError is a query whose aggregate would hold more than MaxAggregateCells.
func aggregateBudgetError(field, value, what string, records int) error {
	return &QueryError{Field: field, Value: value, Msg: fmt.Sprintf(
		"makes more than %d %s after %d records read page by page, the most one query may hold: choose a wider interval, a group-by with fewer values, or filters",
		MaxAggregateCells, what, records)}
}

// pageDedup drops records a page repeats from the previous one. In a read sorted by time, newest
// first, a window indexed while the range is read pushes rows to later pages (issue 8): the next
// page repeats up to a page of rows. Keeping the ids of the last two pages is enough for that,
// and bounded. Records without an id cannot be told apart and are all kept.
type pageDedup struct {
	prev, cur map[string]struct{}
}

func (d *pageDedup) page(recs []Record, keep func(*Record)) {
	d.prev, d.cur = d.cur, make(map[string]struct{}, len(recs))
	for i := range recs {
		r := &recs[i]
		if r.ID != "" {
			if _, ok := d.prev[r.ID]; ok {
				continue
			}
			if _, ok := d.cur[r.ID]; ok {
				continue
			}
			d.cur[r.ID] = struct{}{}
		}
		keep(r)
	}
}

// cell is one bucket's sum of one group, by bucket index on the accumulator's grid.
type cell struct {
	b int32
	v float64
}

// seriesAccumulator computes what BuildSeries computes from all the records of a range, page
// by page: per group its total (for the ranking) and its sums per bucket, holding only the cells
// that hold traffic (records come newest first, so a group's cells are appended in order and
// consecutive records of one bucket add up in place). The width is fixed before reading (the
// engine widens it for the point cap first); when the series found exceed the point cap anyway
// the buckets merge k at a time.
type seriesAccumulator struct {
	spec               SeriesSpec
	wm, windowMs       int64
	origin             int64 // the start of bucket 0
	lowest, highest    int64 // records starting outside are dropped, as BuildSeries does
	minStart, maxStart int64
	index              map[groupKey]int32
	groups             []accGroup
	cells, records     int
	dropped            int
	dedup              pageDedup
	err                error
}

type accGroup struct {
	key   groupKey
	total float64
	cells []cell
}

func newSeriesAccumulator(spec SeriesSpec) *seriesAccumulator {
	if spec.Window <= 0 {
		spec.Window = time.Minute
	}
	if spec.MaxPoints <= 0 {
		spec.MaxPoints = MaxSeriesPoints
	}
	a := &seriesAccumulator{spec: spec, wm: spec.Width.Milliseconds(), windowMs: spec.Window.Milliseconds(), index: map[groupKey]int32{}}
	fromMs, toMs := clampMs(spec.From.UnixMilli()), clampMs(spec.To.UnixMilli())
	a.minStart = -floorTo(-(fromMs - a.windowMs), a.windowMs)
	a.maxStart = floorTo(toMs-a.windowMs, a.windowMs)
	a.lowest, a.highest = a.minStart-a.windowMs, a.maxStart+a.windowMs
	a.origin = floorTo(a.lowest, a.wm)
	return a
}

// page adds one page of records.
func (a *seriesAccumulator) page(recs []Record) error {
	if a.err != nil {
		return a.err
	}
	a.dedup.page(recs, a.add)
	return a.err
}

func (a *seriesAccumulator) add(r *Record) {
	if a.err != nil {
		return
	}
	a.records++
	if r.StartMs < a.lowest || r.StartMs > a.highest {
		a.dropped++
		return
	}
	k := keyOf(r, a.spec.GroupBy)
	g, ok := a.index[k]
	if !ok {
		if g, ok = intconv.Int32(len(a.groups)); !ok {
			a.dropped++
			return
		}
		a.index[k] = g
		a.groups = append(a.groups, accGroup{key: k})
	}
	v := metricOf(r, a.spec.Metric)
	// The bucket index fits: the record lies in [lowest, highest], whose buckets the point cap
	// bounds; checked all the same (gosec G115), and counted as dropped were it ever not to.
	b, fits := intconv.Int32(int((floorTo(r.StartMs, a.wm) - a.origin) / a.wm))
	if !fits {
		a.dropped++
		return
	}
	gr := &a.groups[g]
	gr.total += v
	if n := len(gr.cells); n > 0 && gr.cells[n-1].b == b {
		gr.cells[n-1].v += v
	} else {
		if a.cells >= MaxAggregateCells {
			a.err = aggregateBudgetError("groupBy", a.spec.GroupBy, "(series, bucket) cells", a.records)
			return
		}
		a.cells++
		gr.cells = append(gr.cells, cell{b, v})
	}
	a.minStart, a.maxStart = min(a.minStart, r.StartMs), max(a.maxStart, r.StartMs)
}

// result lays the sums out as BuildSeries does: the top N groups ranked over the whole range
// (ties by key), ordered by label, Other with the rest of each bucket, rates per second of the
// windows covered.
func (a *seriesAccumulator) result() SeriesResult {
	spec := a.spec
	out := SeriesResult{Dropped: a.dropped}
	ranked := make([]int, len(a.groups))
	for i := range ranked {
		ranked[i] = i
	}
	slices.SortFunc(ranked, func(x, y int) int {
		if c := cmp.Compare(a.groups[y].total, a.groups[x].total); c != 0 {
			return c
		}
		return compareKeys(a.groups[x].key, a.groups[y].key)
	})
	keep := len(ranked)
	if spec.GroupBy != GroupNone {
		keep = min(keep, spec.TopN)
	}
	kept := ranked[:keep]
	slices.SortFunc(kept, func(x, y int) int { return compareKeys(a.groups[x].key, a.groups[y].key) })
	slot := make([]int, len(a.groups))
	for i := range slot {
		slot[i] = -1
	}
	for s, g := range kept {
		slot[g] = s
		labels, display := labelsOf(a.groups[g].key, &spec)
		out.Series = append(out.Series, Series{Labels: labels, Display: display})
	}
	otherSlot := -1
	if spec.Other && len(ranked) > keep {
		otherSlot = len(out.Series)
		out.Series = append(out.Series, Series{Labels: otherLabels(&spec), Display: OtherLabel})
	}
	// The grid at the width read, or k widths merged when the series found exceed the point cap.
	wm := a.wm
	grid := func(w int64) (int64, int) {
		first := floorTo(a.minStart, w)
		if a.maxStart < a.minStart {
			return first, 0
		}
		return first, int((floorTo(a.maxStart, w)-first)/w) + 1
	}
	first, n := grid(wm)
	if len(out.Series)*n > spec.MaxPoints {
		out.WidenedFrom = spec.Width
		for k := int64(2); len(out.Series)*n > spec.MaxPoints; k++ {
			wm = a.wm * k
			first, n = grid(wm)
		}
	}
	if len(out.Series) == 0 {
		n = 0
	}
	out.Start, out.Width, out.Buckets = time.UnixMilli(first).UTC(), time.Duration(wm)*time.Millisecond, n
	for i := range out.Series {
		out.Series[i].Values = make([]float64, n)
	}
	for g := range a.groups {
		s := slot[g]
		if s < 0 {
			if otherSlot < 0 {
				continue
			}
			s = otherSlot
		}
		vals := out.Series[s].Values
		for _, c := range a.groups[g].cells {
			start := a.origin + int64(c.b)*a.wm
			vals[(floorTo(start, wm)-first)/wm] += c.v
		}
	}
	if spec.Unit == "rate" {
		bits := 1.0
		if spec.Metric == MetricBytes {
			bits = 8
		}
		for b := range n {
			lo := max(first+int64(b)*wm, a.minStart)
			hi := min(first+int64(b+1)*wm-a.windowMs, a.maxStart)
			scale := bits / (float64((hi-lo)/a.windowMs+1) * spec.Window.Seconds())
			for _, s := range out.Series {
				s.Values[b] *= scale
			}
		}
	}
	return out
}

// totalsAccumulator sums records per talker key (dim) or per protocol (dim ""), page by page,
// holding one row per key.
type totalsAccumulator struct {
	dim     string
	sums    map[string]*Talker
	records int
	dedup   pageDedup
	err     error
}

func newTotalsAccumulator(dim string) *totalsAccumulator {
	return &totalsAccumulator{dim: dim, sums: map[string]*Talker{}}
}

func (t *totalsAccumulator) page(recs []Record) error {
	if t.err != nil {
		return t.err
	}
	t.dedup.page(recs, t.add)
	return t.err
}

func (t *totalsAccumulator) add(r *Record) {
	if t.err != nil {
		return
	}
	t.records++
	key := r.ProtocolLabel()
	if t.dim != "" {
		key = TalkerKey(r, t.dim)
	}
	s := t.sums[key]
	if s == nil {
		if len(t.sums) >= MaxAggregateCells {
			field, value := "dim", t.dim
			if t.dim == "" {
				field, value = "queryType", QueryTypeProtocols
			}
			t.err = aggregateBudgetError(field, value, "distinct keys", t.records)
			return
		}
		s = &Talker{Key: key}
		t.sums[key] = s
	}
	s.Bytes += r.Bytes
	s.Packets += r.Packets
	s.Flows += r.FlowCount()
}

// talkers ranks the sums as TalkersFromRecords does.
func (t *totalsAccumulator) talkers(by string, limit int) []Talker {
	return rankTalkers(t.sums, by, limit)
}

// protocols ranks the sums as ProtocolsFromRecords does.
func (t *totalsAccumulator) protocols() []ProtocolRow {
	rows := make([]ProtocolRow, 0, len(t.sums))
	for _, s := range t.sums {
		rows = append(rows, ProtocolRow{Protocol: s.Key, Bytes: s.Bytes, Packets: s.Packets, Flows: s.Flows})
	}
	slices.SortFunc(rows, func(x, y ProtocolRow) int {
		if c := cmp.Compare(y.Bytes, x.Bytes); c != 0 {
			return c
		}
		return strings.Compare(x.Protocol, y.Protocol)
	})
	return rows
}
