// Package simref computes exact answers from every record the simulator generates for a
// range, record by record, independently of the plugin's code and of the simulator's server
// (its caches and aggregate endpoints). Tests and the scale benchmark compare the plugin's
// answers with it cell by cell.
package simref

import (
	"cmp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// Sum is the traffic of a group.
type Sum struct{ Bytes, Packets, Flows int64 }

func (s *Sum) add(r *simulator.Record) {
	s.Bytes += r.Bytes
	s.Packets += r.Packets
	s.Flows++
}

func (s *Sum) merge(o Sum) {
	s.Bytes += o.Bytes
	s.Packets += o.Packets
	s.Flows += o.Flows
}

// Metric is the value of bytes, packets or flows.
func (s Sum) Metric(metric string) int64 {
	switch metric {
	case "packets":
		return s.Packets
	case "flows":
		return s.Flows
	default:
		return s.Bytes
	}
}

// Key names a record's group.
type Key func(*simulator.Record) string

// The groups the Flows API and the plugin use.
var (
	BySrc      Key = func(r *simulator.Record) string { return r.SrcIP }
	ByDst      Key = func(r *simulator.Record) string { return r.DstIP }
	ByPair     Key = func(r *simulator.Record) string { return r.SrcIP + " → " + r.DstIP }
	ByProtocol Key = func(r *simulator.Record) string { return r.ProtocolLabel }
	All        Key = func(*simulator.Record) string { return "" }
)

// KeyFor returns the key of a dimension name: src, dst, pair, protocol, or none.
func KeyFor(dim string) Key {
	switch dim {
	case "src":
		return BySrc
	case "dst":
		return ByDst
	case "pair":
		return ByPair
	case "protocol":
		return ByProtocol
	default:
		return All
	}
}

const windowMs = int64(simulator.WindowSize / time.Millisecond)

// windows lists the window starts whose records the Flows API returns for [from, to]: those
// whose end (the timestamp) lies in the range.
func windows(from, to time.Time) []int64 {
	var out []int64
	first := ceilTo(from.UnixMilli(), windowMs) - windowMs
	for ws := first; ws+windowMs <= to.UnixMilli(); ws += windowMs {
		out = append(out, ws)
	}
	return out
}

func ceilTo(ms, step int64) int64 {
	q := ms / step
	if ms%step != 0 && ms > 0 {
		q++
	}
	return q * step
}

func floorTo(ms, step int64) int64 {
	q := ms / step
	if ms%step != 0 && ms < 0 {
		q--
	}
	return q * step
}

// scan runs fn over the windows in parallel stripes, one state per stripe.
func scan[S any](t *simulator.Traffic, wins []int64, newState func() S, fn func(S, *simulator.Record)) []S {
	n := max(1, min(runtime.GOMAXPROCS(0), len(wins)))
	states := make([]S, n)
	var wg sync.WaitGroup
	for i := range n {
		states[i] = newState()
		wg.Go(func() {
			for j := i; j < len(wins); j += n {
				t.Window(wins[j], func(r *simulator.Record) { fn(states[i], r) })
			}
		})
	}
	wg.Wait()
	return states
}

// Totals sums every record of [from, to] by key.
func Totals(t *simulator.Traffic, from, to time.Time, key Key) map[string]Sum {
	parts := scan(t, windows(from, to), func() map[string]*Sum { return map[string]*Sum{} },
		func(m map[string]*Sum, r *simulator.Record) {
			k := key(r)
			s := m[k]
			if s == nil {
				s = &Sum{}
				m[k] = s
			}
			s.add(r)
		})
	out := map[string]Sum{}
	for _, p := range parts {
		for k, s := range p {
			o := out[k]
			o.merge(*s)
			out[k] = o
		}
	}
	return out
}

// Ranked orders keys by the metric descending, ties by key ascending, as the API ranks.
func Ranked(totals map[string]Sum, metric string) []string {
	keys := make([]string, 0, len(totals))
	for k := range totals {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(totals[b].Metric(metric), totals[a].Metric(metric)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return keys
}

// Series is traffic per bucket: a record counts in the bucket of its window start; buckets are
// aligned to multiples of Width since the epoch and cover the windows of the range.
type Series struct {
	Start   time.Time
	Width   time.Duration
	Buckets int
	ByKey   map[string][]Sum
	Total   []Sum
	// Windows is how many windows of the range each bucket holds (for rates).
	Windows []int
}

// BucketSeries sums every record of [from, to] per bucket and key.
func BucketSeries(t *simulator.Traffic, from, to time.Time, width time.Duration, key Key) *Series {
	wins := windows(from, to)
	wm := width.Milliseconds()
	s := &Series{Width: width, ByKey: map[string][]Sum{}}
	if len(wins) == 0 {
		return s
	}
	first := floorTo(wins[0], wm)
	s.Start = time.UnixMilli(first).UTC()
	s.Buckets = int((floorTo(wins[len(wins)-1], wm)-first)/wm) + 1
	s.Total = make([]Sum, s.Buckets)
	s.Windows = make([]int, s.Buckets)
	for _, ws := range wins {
		s.Windows[(floorTo(ws, wm)-first)/wm]++
	}
	type state map[string][]Sum
	parts := scan(t, wins, func() state { return state{} }, func(st state, r *simulator.Record) {
		k := key(r)
		v := st[k]
		if v == nil {
			v = make([]Sum, s.Buckets)
			st[k] = v
		}
		v[(floorTo(r.WindowStart, wm)-first)/wm].add(r)
	})
	for _, p := range parts {
		for k, v := range p {
			o := s.ByKey[k]
			if o == nil {
				o = make([]Sum, s.Buckets)
				s.ByKey[k] = o
			}
			for b := range v {
				o[b].merge(v[b])
				s.Total[b].merge(v[b])
			}
		}
	}
	return s
}

// Rate is a bucket's value as the plugin shows a rate: bits (bytes × 8) or packets or flows per
// second of the range's windows in the bucket.
func (s *Series) Rate(sum Sum, metric string, bucket int) float64 {
	v := float64(sum.Metric(metric))
	if metric == "bytes" {
		v *= 8
	}
	return v / (float64(s.Windows[bucket]) * simulator.WindowSize.Seconds())
}

// TotalsBy sums every record of [from, to] by several keys in one pass over the records.
func TotalsBy(t *simulator.Traffic, from, to time.Time, keys ...Key) []map[string]Sum {
	parts := scan(t, windows(from, to), func() []map[string]*Sum {
		m := make([]map[string]*Sum, len(keys))
		for i := range m {
			m[i] = map[string]*Sum{}
		}
		return m
	}, func(ms []map[string]*Sum, r *simulator.Record) {
		for i, key := range keys {
			k := key(r)
			s := ms[i][k]
			if s == nil {
				s = &Sum{}
				ms[i][k] = s
			}
			s.add(r)
		}
	})
	out := make([]map[string]Sum, len(keys))
	for i := range out {
		out[i] = map[string]Sum{}
		for _, p := range parts {
			for k, s := range p[i] {
				o := out[i][k]
				o.merge(*s)
				out[i][k] = o
			}
		}
	}
	return out
}
