package engine

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/flowlens/flows-datasource/pkg/engine/lookback"
)

// A series by talker from look-backs is exact only for keys that every list showed. When a
// server cuts its lists (a limit below the distinct talkers), the keys that matter (those shown,
// and those that could still outrank the last one shown) are read on their own: a filtered read
// of one talker's records is far smaller than everyone's, and with it the key's value in every
// bucket is exact. Other stays the exact total minus the series shown.

// maxRefinedKeys bounds the filtered reads one series makes, as a multiple of its top N.
const maxRefinedKeys = 2

// refineCutKeys makes the values of the talkers that decide the answer exact where the plan has
// only bounds, by reading each such talker's records of the range. It changes sp's intervals
// (copies of them: closed intervals are shared with the planner's cache) and says what it did
// for ExecutedQueryString; "" when nothing needed it.
func (e *Engine) refineCutKeys(ctx context.Context, sp *lookback.SeriesPlan, spec SeriesSpec) string {
	if spec.GroupBy != GroupSrc && spec.GroupBy != GroupDst && spec.GroupBy != GroupPair {
		return ""
	}
	budget := maxRefinedKeys * max(spec.TopN, 1)
	tried := map[string]bool{}
	refined, pages := 0, 0
	var stopped string
	for len(tried) < budget && stopped == "" {
		keys := decidingKeys(sp, spec)
		var todo []string
		for _, k := range keys {
			if !tried[k] {
				todo = append(todo, k)
			}
		}
		if len(todo) == 0 {
			break
		}
		for _, k := range todo[:min(len(todo), budget-len(tried))] {
			tried[k] = true
			n, err := e.refineKey(ctx, sp, spec, k)
			if err != nil {
				stopped = err.Error()
				break
			}
			if n >= 0 {
				refined++
				pages += max(1, (n+e.pageSize-1)/max(e.pageSize, 1))
			}
		}
	}
	if len(tried) == 0 {
		return ""
	}
	s := fmt.Sprintf("%d of %d talkers with bounded values read on their own (filtered reads, about %d requests)", refined, len(tried), pages)
	if stopped != "" {
		s += "; stopped: " + stopped
	}
	return s
}

// decidingKeys are the keys whose bounds can change what the series show: among the top N by
// lower bound, those with a bounded value in some bucket; below it, those whose upper bound
// beats the N-th.
func decidingKeys(sp *lookback.SeriesPlan, spec SeriesSpec) []string {
	bounds := planBounds(sp, spec.Metric)
	if bounds.exact {
		return nil
	}
	lo := map[string]float64{}
	for _, iv := range sp.Intervals {
		if iv != nil {
			for k, r := range iv.Lo {
				lo[k] += float64(r.Metric(spec.Metric))
			}
		}
	}
	keys := slices.Collect(maps.Keys(lo))
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(lo[b], lo[a]); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	n := min(len(keys), max(spec.TopN, 1))
	var out []string
	for _, k := range keys[:n] {
		for i, iv := range sp.Intervals {
			if iv != nil && bounds.hiAt(i, k) > float64(iv.Lo[k].Metric(spec.Metric)) {
				out = append(out, k)
				break
			}
		}
	}
	if n > 0 {
		last := lo[keys[n-1]]
		for _, k := range keys[n:] {
			if bounds.hiTotal(k) > last {
				out = append(out, k)
			}
		}
	}
	return out
}

// refineKey reads key's records of the plan's read buckets and sets its value in each to the
// exact sum. It returns how many records it read, or -1 when they did not fit the row cap (the
// bounds stay); an error when the read failed.
func (e *Engine) refineKey(ctx context.Context, sp *lookback.SeriesPlan, spec SeriesSpec, key string) (int, error) {
	var f Filters
	switch spec.GroupBy {
	case GroupSrc:
		f.SrcIP = []string{key}
	case GroupDst:
		f.DstIP = []string{key}
	case GroupPair:
		a, b := SplitPair(key)
		f.SrcIP, f.DstIP = []string{a}, []string{b}
	}
	set, err := e.Read(ctx, spec.From, spec.To, f, SortTime, OrderDesc, e.rowCap)
	if err != nil {
		return 0, err
	}
	if set.Capped {
		return -1, nil
	}
	sums := make([]lookback.Row, len(sp.Intervals))
	for i := range set.Records {
		r := &set.Records[i]
		b, ok := slices.BinarySearchFunc(sp.Intervals, r.TimeMs, func(iv *lookback.Interval, t int64) int {
			switch {
			case iv == nil:
				return -1 // unread buckets are the oldest: search on past them
			case iv.To <= t:
				return -1
			case iv.From > t:
				return 1
			}
			return 0
		})
		if !ok {
			continue // outside the buckets read (before the retention, or the range's edges)
		}
		sums[b].Bytes += r.Bytes
		sums[b].Packets += r.Packets
		sums[b].Flows += r.FlowCount()
	}
	for b, iv := range sp.Intervals {
		if iv == nil {
			continue
		}
		c := *iv
		c.Lo, c.Hi = maps.Clone(iv.Lo), maps.Clone(iv.Hi)
		sums[b].Key = key
		c.Lo[key], c.Hi[key] = sums[b], sums[b]
		sp.Intervals[b] = &c
	}
	return len(set.Records), nil
}
