package simulator

import (
	"cmp"
	"container/list"
	"slices"
	"sync"
)

// The Flows API endpoints never hold a whole history in memory: at 4000 flows/min eight days
// are 46 M records. A window's records are a pure function of (seed, window), so the server
// keeps only what is expensive to redo, within fixed budgets:
//   - whole windows (Flow values with ids), for the pages actually asked for, in an LRU of at
//     most maxCachedRecords records;
//   - per window, its record count and per-protocol sums (a few hundred bytes);
//   - per 10 minutes, hour and UTC day, the sums per source, destination or pair (each dimension
//     on its own, as /top-talkers asks for one), in an LRU of at most maxCachedSummaryKeys keys,
//     so that a look-back over days adds up a few dozen summaries instead of generating millions
//     of records again, and its partial hour at most nine windows (a look-back's edge moves a
//     window at a time; at 4000 flows/min summing partial hours record by record was most of
//     the cost of a series by source).
// Everything else is regenerated on demand from the generator's light pass (traffic only, no
// strings), which is several times cheaper than building Flow values.

const (
	maxCachedRecords     = 400_000   // ≈ 100 MB of Flow values
	maxCachedSummaryKeys = 4_000_000 // ≈ 100 MB of per-key sums
	tenWindows           = 10
	hourWindows          = 60
	dayWindows           = 1440
)

// Talker dimensions of spanSums.
const (
	dimSrc = 1 << iota
	dimDst
	dimPair
)

// keySum is the traffic of one key (a host index, or src<<16|dst for a pair) over a span.
type keySum struct {
	key            uint32
	count          int64
	bytes, packets int64
}

// protoSum is the traffic of one protocol number over a span.
type protoSum struct {
	proto          int32
	count          int64
	bytes, packets int64
}

// spanSums is the aggregated traffic of a span of windows: what /top-talkers and /protocols
// add up. Slices are sorted by key.
type spanSums struct {
	n              int64
	protos         []protoSum
	src, dst, pair []keySum
}

func (s *spanSums) keys() int { return len(s.src) + len(s.dst) + len(s.pair) + len(s.protos) }

// windowInfo is what is kept for every window once seen: its record count and protocol sums.
type windowInfo struct {
	protos []protoSum
	n      int64
}

// index is the server's memory of generated traffic.
type index struct {
	gen *generator

	mu      sync.Mutex
	fill    sync.Mutex // one request fills missing window infos at a time; the others reuse them
	info    map[int64]*windowInfo
	full    lru[int64, *window]
	summary lru[[3]int64, *spanSums] // key: first minute, number of windows, dimension
}

func newIndex(g *generator) *index {
	return &index{
		gen:     g,
		info:    map[int64]*windowInfo{},
		full:    newLRU[int64, *window](maxCachedRecords, func(w *window) int { return len(w.recs) + 1 }),
		summary: newLRU[[3]int64, *spanSums](maxCachedSummaryKeys, func(s *spanSums) int { return s.keys() + 1 }),
	}
}

// window returns the full records of a window, sorted by id.
func (ix *index) window(m int64) *window {
	ix.mu.Lock()
	w, ok := ix.full.get(m)
	ix.mu.Unlock()
	if ok {
		return w
	}
	w = ix.gen.window(m)
	ix.mu.Lock()
	ix.full.put(m, w)
	ix.mu.Unlock()
	return w
}

// count is the number of records of a window, without generating them.
func (ix *index) count(m int64) int64 {
	ix.mu.Lock()
	in := ix.info[m]
	ix.mu.Unlock()
	if in != nil {
		return in.n
	}
	return int64(ix.gen.windowCount(m))
}

// windowInfo returns the protocol sums of a window, computing them (and remembering them) when
// first asked.
func (ix *index) windowInfo(m int64) *windowInfo {
	ix.mu.Lock()
	in := ix.info[m]
	ix.mu.Unlock()
	if in != nil {
		return in
	}
	s := ix.sumWindows(m, 1, 0)
	return ix.remember(m, s)
}

func (ix *index) remember(m int64, s *spanSums) *windowInfo {
	in := &windowInfo{protos: s.protos, n: s.n}
	ix.mu.Lock()
	if old := ix.info[m]; old != nil {
		in = old
	} else {
		ix.info[m] = in
	}
	ix.mu.Unlock()
	return in
}

// forget drops what is kept of windows before minute m (they left the retention).
func (ix *index) forget(m int64) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for k := range ix.info {
		if k < m {
			delete(ix.info, k)
		}
	}
}

// sumWindows aggregates n windows from m by a light pass; the talker dimensions in dims only
// (0: none).
func (ix *index) sumWindows(m int64, n int64, dims int) *spanSums {
	var protos [256]protoSum
	var src, dst map[uint32]*keySum
	var pair map[uint32]*keySum
	if dims&dimSrc != 0 {
		src = map[uint32]*keySum{}
	}
	if dims&dimDst != 0 {
		dst = map[uint32]*keySum{}
	}
	if dims&dimPair != 0 {
		pair = map[uint32]*keySum{}
	}
	add := func(set map[uint32]*keySum, k uint32, c *core) {
		s := set[k]
		if s == nil {
			s = &keySum{key: k}
			set[k] = s
		}
		s.count++
		s.bytes += c.bytes
		s.packets += c.packets
	}
	out := &spanSums{}
	for w := m; w < m+n; w++ {
		var wp [256]protoSum
		var wn int64
		ix.gen.each(w, func(_ int, c *core) {
			p := &wp[c.proto]
			p.count++
			p.bytes += c.bytes
			p.packets += c.packets
			wn++
			if src != nil {
				add(src, uint32(c.src), c)
			}
			if dst != nil {
				add(dst, uint32(c.dst), c)
			}
			if pair != nil {
				add(pair, uint32(c.src)<<16|uint32(c.dst), c)
			}
		})
		ws := &spanSums{n: wn, protos: protoList(&wp)}
		ix.remember(w, ws)
		for i := range wp {
			protos[i].count += wp[i].count
			protos[i].bytes += wp[i].bytes
			protos[i].packets += wp[i].packets
		}
		out.n += wn
	}
	out.protos = protoList(&protos)
	if src != nil {
		out.src = keyList(src)
	}
	if dst != nil {
		out.dst = keyList(dst)
	}
	if pair != nil {
		out.pair = keyList(pair)
	}
	return out
}

func protoList(a *[256]protoSum) []protoSum {
	var out []protoSum
	for i := range a {
		if a[i].count > 0 {
			p := a[i]
			p.proto = int32(i)
			out = append(out, p)
		}
	}
	return out
}

func keyList(set map[uint32]*keySum) []keySum {
	out := make([]keySum, 0, len(set))
	for _, s := range set {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b keySum) int { return cmp.Compare(a.key, b.key) })
	return out
}

// chunk returns the sums of one talker dimension over an aligned 10 minutes, hour or day,
// cached. A day adds up its hours; the others are generated.
func (ix *index) chunk(m, n int64, dim int) *spanSums {
	key := [3]int64{m, n, int64(dim)}
	ix.mu.Lock()
	s, ok := ix.summary.get(key)
	ix.mu.Unlock()
	if ok {
		return s
	}
	if n == dayWindows {
		var parts []*spanSums
		for h := m; h < m+n; h += hourWindows {
			parts = append(parts, ix.chunk(h, hourWindows, dim))
		}
		s = mergeSums(parts)
	} else {
		s = ix.sumWindows(m, n, dim)
	}
	ix.mu.Lock()
	ix.summary.put(key, s)
	ix.mu.Unlock()
	return s
}

// talkers returns the sums of one talker dimension (dimSrc, dimDst or dimPair) over the windows
// [lo, hi] (minutes, inclusive): whole UTC days, hours and 10 minutes from the cache, the rest
// (at most nine windows at each end) by a light pass.
func (ix *index) talkers(lo, hi int64, dim int) *spanSums {
	// One at a time: concurrent look-backs share the summaries instead of each generating them.
	ix.fill.Lock()
	defer ix.fill.Unlock()
	var parts []*spanSums
	m := lo
	for m <= hi {
		switch {
		case m%dayWindows == 0 && m+dayWindows-1 <= hi:
			parts = append(parts, ix.chunk(m, dayWindows, dim))
			m += dayWindows
		case m%hourWindows == 0 && m+hourWindows-1 <= hi:
			parts = append(parts, ix.chunk(m, hourWindows, dim))
			m += hourWindows
		case m%tenWindows == 0 && m+tenWindows-1 <= hi:
			parts = append(parts, ix.chunk(m, tenWindows, dim))
			m += tenWindows
		default:
			// Single windows up to the next 10 minutes or the end.
			end := min(hi, (floorDiv(m, tenWindows)+1)*tenWindows-1)
			parts = append(parts, ix.sumWindows(m, end-m+1, dim))
			m = end + 1
		}
	}
	return mergeSums(parts)
}

// protocols returns the protocol sums and record count of the windows [lo, hi].
func (ix *index) protocols(lo, hi int64) ([256]protoSum, int64) {
	var out [256]protoSum
	var n int64
	ix.mu.Lock()
	missing := false
	for m := lo; m <= hi && !missing; m++ {
		missing = ix.info[m] == nil
	}
	ix.mu.Unlock()
	if missing {
		ix.fill.Lock()
		defer ix.fill.Unlock()
	}
	for m := lo; m <= hi; m++ {
		in := ix.windowInfo(m)
		n += in.n
		for _, p := range in.protos {
			o := &out[p.proto]
			o.count += p.count
			o.bytes += p.bytes
			o.packets += p.packets
		}
	}
	return out, n
}

func mergeSums(parts []*spanSums) *spanSums {
	if len(parts) == 1 {
		return parts[0]
	}
	out := &spanSums{}
	var protos [256]protoSum
	merge := func(get func(*spanSums) []keySum) []keySum {
		set := map[uint32]*keySum{}
		for _, p := range parts {
			for _, k := range get(p) {
				s := set[k.key]
				if s == nil {
					s = &keySum{key: k.key}
					set[k.key] = s
				}
				s.count += k.count
				s.bytes += k.bytes
				s.packets += k.packets
			}
		}
		return keyList(set)
	}
	for _, p := range parts {
		out.n += p.n
		for _, q := range p.protos {
			o := &protos[q.proto]
			o.count += q.count
			o.bytes += q.bytes
			o.packets += q.packets
		}
	}
	out.protos = protoList(&protos)
	if parts[0].src != nil {
		out.src = merge(func(s *spanSums) []keySum { return s.src })
	}
	if parts[0].dst != nil {
		out.dst = merge(func(s *spanSums) []keySum { return s.dst })
	}
	if parts[0].pair != nil {
		out.pair = merge(func(s *spanSums) []keySum { return s.pair })
	}
	return out
}

// lru is a least-recently-used cache bounded by a total weight.
type lru[K comparable, V any] struct {
	max, used int
	weight    func(V) int
	order     *list.List // front: most recent
	items     map[K]*list.Element
}

type lruEntry[K comparable, V any] struct {
	key K
	val V
	w   int
}

func newLRU[K comparable, V any](max int, weight func(V) int) lru[K, V] {
	return lru[K, V]{max: max, weight: weight, order: list.New(), items: map[K]*list.Element{}}
}

func (c *lru[K, V]) get(k K) (V, bool) {
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*lruEntry[K, V]).val, true
	}
	var zero V
	return zero, false
}

func (c *lru[K, V]) put(k K, v V) {
	if e, ok := c.items[k]; ok {
		c.order.MoveToFront(e)
		return
	}
	w := c.weight(v)
	c.items[k] = c.order.PushFront(&lruEntry[K, V]{key: k, val: v, w: w})
	c.used += w
	for c.used > c.max && c.order.Len() > 1 {
		e := c.order.Back()
		ent := e.Value.(*lruEntry[K, V])
		c.order.Remove(e)
		delete(c.items, ent.key)
		c.used -= ent.w
	}
}
