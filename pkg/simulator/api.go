package simulator

import (
	"cmp"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// FlowsResponse is the body of GET /api/v1/flows.
type FlowsResponse struct {
	Total  int    `json:"total"`
	Offset int64  `json:"offset"`
	Limit  int64  `json:"limit"`
	Flows  []Flow `json:"flows"`
}

// TopTalker is one row of GET /api/v1/flows/top-talkers.
type TopTalker struct {
	Key       string `json:"key"`
	Bytes     int64  `json:"bytes"`
	Packets   int64  `json:"packets"`
	FlowCount int64  `json:"flow_count"`
}

// ProtocolStat is one row of GET /api/v1/flows/protocols.
type ProtocolStat struct {
	Protocol  string `json:"protocol"`
	Bytes     int64  `json:"bytes"`
	Packets   int64  `json:"packets"`
	FlowCount int64  `json:"flow_count"`
}

// ---------------------------------------------------------------------------
// Published windows.

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// snapshot is the set of published windows for one clock minute.
type snapshot struct {
	first, last int64     // minutes, inclusive (last < first: empty)
	wins        []*window // ascending
	n           int       // records
}

// snapshot returns the published windows at now, generating missing ones and
// dropping the cached ones that left the history.
func (s *Server) snapshot(now time.Time) *snapshot {
	nowMs := now.UnixMilli()
	last := floorDiv(nowMs, windowMs) - 1
	first := -floorDiv(-(nowMs - s.cfg.History.Milliseconds()), windowMs) // ceil
	if last < first {
		last = first - 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sn := s.snap; sn != nil && sn.first == first && sn.last == last {
		return sn
	}
	sn := &snapshot{first: first, last: last, wins: make([]*window, 0, last-first+1)}
	cache := make(map[int64]*window, last-first+1)
	for m := first; m <= last; m++ {
		w := s.cache[m]
		if w == nil {
			w = s.gen.window(m)
		}
		cache[m] = w
		sn.wins = append(sn.wins, w)
		sn.n += len(w.recs)
	}
	s.cache, s.snap = cache, sn
	return sn
}

// winRange returns the indices [lo, hi) of the windows whose timestamp is in [from, to].
func (sn *snapshot) winRange(from, to int64) (int, int) {
	ts := func(i int) int64 { return (sn.wins[i].minute + 1) * windowMs }
	lo := sort.Search(len(sn.wins), func(i int) bool { return ts(i) >= from })
	hi := sort.Search(len(sn.wins), func(i int) bool { return ts(i) > to })
	return lo, max(lo, hi)
}

const (
	sortTimestamp = iota
	sortBytes
	sortPackets
)

// ---------------------------------------------------------------------------
// Parameters.

type params struct {
	q   url.Values
	err string
}

func (p *params) fail(name, format string, val string) {
	if p.err == "" {
		if len(val) > 64 {
			val = val[:64] + "…"
		}
		p.err = name + ": " + strings.ReplaceAll(format, "%v", "'"+val+"'")
	}
}

// raw returns the single value of name, if given.
func (p *params) raw(name string) (string, bool) {
	vals, ok := p.q[name]
	if !ok || p.err != "" {
		return "", false
	}
	if len(vals) > 1 {
		p.fail(name, "given more than once", "")
		return "", false
	}
	if vals[0] == "" {
		p.fail(name, "empty value", "")
		return "", false
	}
	return vals[0], true
}

func (p *params) int(name string, def, lo, hi int64, what string) int64 {
	v, ok := p.raw(name)
	if !ok {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		p.fail(name, "%v is not "+what, v)
		return def
	}
	return n
}

func (p *params) enum(name, def string, allowed ...string) string {
	v, ok := p.raw(name)
	if !ok {
		return def
	}
	if !slices.Contains(allowed, v) {
		p.fail(name, "%v is not one of "+strings.Join(allowed, ", "), v)
		return def
	}
	return v
}

// addr returns the table index of the address in name: -1 when absent,
// -2 when the address is valid but never occurs.
func (p *params) addr(name string, index map[netip.Addr]int) int {
	v, ok := p.raw(name)
	if !ok {
		return -1
	}
	a, err := netip.ParseAddr(v)
	if err != nil || a.Zone() != "" {
		p.fail(name, "%v is not an IP address", v)
		return -1
	}
	if i, ok := index[a.Unmap()]; ok {
		return i
	}
	return -2
}

func (p *params) windowFrom(nowMs int64) int64 {
	secs := p.int("window_secs", 3600, 1, math.MaxInt64, "a positive number of seconds")
	if secs > math.MaxInt64/1000 {
		return math.MinInt64
	}
	w := secs * 1000
	if nowMs < math.MinInt64+w {
		return math.MinInt64
	}
	return nowMs - w
}

func (s *Server) limit(p *params, def int64) int64 {
	return min(p.int("limit", def, 1, math.MaxInt64, "a positive integer"), int64(s.cfg.MaxLimit))
}

// ---------------------------------------------------------------------------
// GET /api/v1/flows

type filter struct {
	src, dst, exp int // table index; -1 any, -2 none
	port, proto   int // -1 any
}

func (f *filter) active() bool {
	return f.src != -1 || f.dst != -1 || f.exp != -1 || f.port != -1 || f.proto != -1
}

// matchCore is match for a record's traffic, before its Flow is built.
func (f *filter) matchCore(c *core) bool {
	return (f.src == -1 || int(c.src) == f.src) &&
		(f.dst == -1 || int(c.dst) == f.dst) &&
		(f.exp == -1 || int(c.exp) == f.exp) &&
		(f.port == -1 || int(c.srcPort) == f.port || int(c.dstPort) == f.port) &&
		(f.proto == -1 || int(c.proto) == f.proto)
}

func (f *filter) match(r *record) bool {
	return (f.src == -1 || r.src == f.src) &&
		(f.dst == -1 || r.dst == f.dst) &&
		(f.exp == -1 || r.exp == f.exp) &&
		(f.port == -1 || r.SrcPort == f.port || r.DstPort == f.port) &&
		(f.proto == -1 || r.Protocol == f.proto)
}

// published returns the windows (minutes, inclusive) indexed at now: ended by now, and not
// older than the history and the retention. last < first when there are none.
func (s *Server) published(now time.Time) (first, last int64) {
	nowMs := now.UnixMilli()
	last = floorDiv(nowMs, windowMs) - 1
	keep := s.cfg.History
	if r := s.cfg.Retention; r > 0 && r < keep {
		keep = r
	}
	first = -floorDiv(-(nowMs - keep.Milliseconds()), windowMs) // ceil
	s.mu.Lock()
	forget := first > s.oldest
	s.oldest = max(s.oldest, first)
	s.mu.Unlock()
	if forget {
		s.ix.forget(first)
	}
	return first, last
}

// windowsBetween returns the published windows (minutes) whose timestamp, the window end, is
// in [from, to].
func (s *Server) windowsBetween(now time.Time, from, to int64) (lo, hi int64) {
	first, last := s.published(now)
	lo, hi = first, last
	if from > math.MinInt64+windowMs {
		lo = max(lo, -floorDiv(-from, windowMs)-1)
	}
	if to < math.MaxInt64-windowMs {
		hi = min(hi, floorDiv(to, windowMs)-1)
	}
	return lo, hi
}

// maxSortDepth bounds offset+limit for /flows sorted by bytes or packets: the page is selected
// in one pass over the range, keeping the best offset+limit records.
const maxSortDepth = 2_000_000

func (s *Server) handleFlows(w http.ResponseWriter, q url.Values, now time.Time) {
	nowMs := now.UnixMilli()
	p := &params{q: q}
	from := p.int("from", math.MinInt64, math.MinInt64, math.MaxInt64, "an integer (epoch milliseconds)")
	to := p.int("to", nowMs, math.MinInt64, math.MaxInt64, "an integer (epoch milliseconds)")
	f := filter{
		src:   p.addr("src_ip", hostIndex),
		dst:   p.addr("dst_ip", hostIndex),
		port:  int(p.int("port", -1, 0, 65535, "a port number (0-65535)")),
		proto: int(p.int("protocol", -1, 0, 255, "an IANA protocol number (0-255)")),
		exp:   p.addr("exporter", expIndex),
	}
	sortBy := map[string]int{"timestamp": sortTimestamp, "bytes": sortBytes, "packets": sortPackets}[p.enum("sort", "timestamp", "bytes", "packets", "timestamp")]
	desc := p.enum("order", "desc", "asc", "desc") == "desc"
	offset := p.int("offset", 0, 0, math.MaxInt64, "a non-negative integer")
	limit := s.limit(p, 50)
	if p.err == "" && sortBy != sortTimestamp && offset > maxSortDepth-limit {
		p.fail("offset", fmt.Sprintf("%%v is too deep for sort by bytes or packets: this simulator selects at most %d records (offset+limit)", maxSortDepth), strconv.FormatInt(offset, 10))
	}
	if p.err != "" {
		writeError(w, http.StatusBadRequest, p.err)
		return
	}

	resp := FlowsResponse{Offset: offset, Limit: limit, Flows: []Flow{}}
	lo, hi := s.windowsBetween(now, from, to)
	if f.src == -2 || f.dst == -2 || f.exp == -2 || lo > hi {
		writeJSON(w, http.StatusOK, resp)
		return
	}
	if sortBy == sortTimestamp {
		resp.Total, resp.Flows = s.pageByTime(lo, hi, &f, desc, offset, limit)
	} else {
		resp.Total, resp.Flows = s.pageByMetric(lo, hi, &f, sortBy, desc, offset, limit)
	}
	writeJSON(w, http.StatusOK, resp)
}

// matchCount is the number of records of window m that match f, with as little generation as
// the filter allows.
func (s *Server) matchCount(m int64, f *filter) int64 {
	switch {
	case !f.active():
		return s.ix.count(m)
	case f.src == -1 && f.dst == -1 && f.exp == -1 && f.port == -1:
		for _, p := range s.ix.windowInfo(m).protos {
			if int(p.proto) == f.proto {
				return p.count
			}
		}
		return 0
	}
	var n int64
	s.gen.each(m, func(_ int, c *core) {
		if f.matchCore(c) {
			n++
		}
	})
	return n
}

// pageByTime pages through windows in time order; within a window records are by id.
func (s *Server) pageByTime(lo, hi int64, f *filter, desc bool, offset, limit int64) (int, []Flow) {
	flows := []Flow{}
	var idx int64 // index among matches
	for k := range hi - lo + 1 {
		m := lo + k
		if desc {
			m = hi - k
		}
		if idx >= offset+limit {
			idx += s.matchCount(m, f) // past the page: only the count matters
			continue
		}
		if n := s.matchCount(m, f); idx+n <= offset {
			idx += n // before the page
			continue
		}
		win := s.ix.window(m)
		for j := range win.recs {
			if r := &win.recs[j]; f.match(r) {
				if idx >= offset && idx-offset < limit {
					flows = append(flows, r.Flow)
				}
				idx++
			}
		}
	}
	return int(idx), flows
}

// ranked is a record's place in a by-metric order: the metric, then its id as a number (the
// id's hex digits order the same way).
type ranked struct {
	metric int64
	id     uint64
	minute int64
	index  int // in its window
}

// pageByMetric selects the page of records sorted by bytes or packets (ties by id ascending)
// in one light pass, keeping the best offset+limit.
func (s *Server) pageByMetric(lo, hi int64, f *filter, sortBy int, desc bool, offset, limit int64) (int, []Flow) {
	best, total := s.rankedRange(lo, hi, f, sortBy, desc, int(offset+limit))
	best = best[:min(len(best), int(offset+limit))]
	flows := []Flow{}
	if offset >= int64(len(best)) {
		return int(total), flows
	}
	best = best[offset:]
	// Build the page's Flows: one more pass over each window that holds some of them.
	wanted := map[int64]map[int]int{} // minute → index → place in the page
	for i, r := range best {
		if wanted[r.minute] == nil {
			wanted[r.minute] = map[int]int{}
		}
		wanted[r.minute][r.index] = i
	}
	flows = make([]Flow, len(best))
	var rec record
	for m, places := range wanted {
		s.gen.each(m, func(i int, c *core) {
			if at, ok := places[i]; ok {
				s.gen.full(m, i, c, &rec)
				flows[at] = rec.Flow
			}
		})
	}
	return int(total), flows
}

// sortedKey identifies a by-metric selection, so that the pages of one read share it.
type sortedKey struct {
	lo, hi int64
	f      filter
	sortBy int
	desc   bool
}

// sortedEntry is the last by-metric selection: its best records in order, and the total.
type sortedEntry struct {
	key   sortedKey
	best  []ranked
	total int64
}

// maxSortedCache bounds the selection kept between pages (32 bytes a record).
const maxSortedCache = 1_000_000

// rankedRange returns at least the best keep records of the range in order (all of them when
// the range is small enough to keep between pages), and how many match.
func (s *Server) rankedRange(lo, hi int64, f *filter, sortBy int, desc bool, keep int) ([]ranked, int64) {
	key := sortedKey{lo, hi, *f, sortBy, desc}
	s.mu.Lock()
	e := s.sorted
	s.mu.Unlock()
	if e != nil && e.key == key && (len(e.best) >= keep || int64(len(e.best)) == e.total) {
		return e.best, e.total
	}
	var n int64
	for m := lo; m <= hi; m++ {
		n += s.matchCount(m, f)
	}
	if n <= maxSortedCache {
		keep = int(n) // keep all: the next pages need no pass
	}
	// before reports whether a comes before b in the answer.
	before := func(a, b *ranked) bool {
		if a.metric != b.metric {
			return (a.metric > b.metric) == desc
		}
		return a.id < b.id
	}
	h := &worstFirst{before: before}
	var total int64
	for m := lo; m <= hi; m++ {
		s.gen.each(m, func(i int, c *core) {
			if !f.matchCore(c) {
				return
			}
			total++
			r := ranked{metric: c.bytes, minute: m, index: i}
			if sortBy == sortPackets {
				r.metric = c.packets
			}
			r.id = s.gen.idValue(m, i)
			h.offer(r, keep)
		})
	}
	best := h.items
	slices.SortFunc(best, func(a, b ranked) int {
		if before(&a, &b) {
			return -1
		}
		return 1
	})
	if int64(len(best)) == total {
		s.mu.Lock()
		s.sorted = &sortedEntry{key: key, best: best, total: total}
		s.mu.Unlock()
	}
	return best, total
}

// worstFirst keeps the best n records seen: a heap with the worst kept record on top.
type worstFirst struct {
	items  []ranked
	before func(a, b *ranked) bool
}

func (h *worstFirst) offer(r ranked, n int) {
	if len(h.items) < n {
		h.items = append(h.items, r)
		for i := len(h.items) - 1; i > 0; {
			p := (i - 1) / 2
			if !h.before(&h.items[p], &h.items[i]) {
				break
			}
			h.items[p], h.items[i] = h.items[i], h.items[p]
			i = p
		}
		return
	}
	if n == 0 || !h.before(&r, &h.items[0]) {
		return
	}
	h.items[0] = r
	for i := 0; ; {
		l, worst := 2*i+1, i
		if l < len(h.items) && h.before(&h.items[worst], &h.items[l]) {
			worst = l
		}
		if l+1 < len(h.items) && h.before(&h.items[worst], &h.items[l+1]) {
			worst = l + 1
		}
		if worst == i {
			return
		}
		h.items[i], h.items[worst] = h.items[worst], h.items[i]
		i = worst
	}
}

// ---------------------------------------------------------------------------
// Aggregations.

// lookBack returns the published windows (minutes) a window_secs look-back covers: those with
// now - window_secs*1000 <= timestamp <= now.
func (s *Server) lookBack(now time.Time, from int64) (int64, int64) {
	return s.windowsBetween(now, from, now.UnixMilli())
}

func (s *Server) handleTopTalkers(w http.ResponseWriter, q url.Values, now time.Time) {
	p := &params{q: q}
	from := p.windowFrom(now.UnixMilli())
	by := p.enum("by", "bytes", "bytes", "packets")
	dim := p.enum("dim", "src", "src", "dst", "pair")
	limit := min(s.limit(p, 20), int64(s.cfg.TopTalkersMaxLimit))
	if p.err != "" {
		writeError(w, http.StatusBadRequest, p.err)
		return
	}
	rows := []TopTalker{}
	if lo, hi := s.lookBack(now, from); lo <= hi {
		var keys []keySum
		switch dim {
		case "dst":
			keys = s.ix.talkers(lo, hi, dimDst).dst
		case "pair":
			keys = s.ix.talkers(lo, hi, dimPair).pair
		default:
			keys = s.ix.talkers(lo, hi, dimSrc).src
		}
		rows = make([]TopTalker, 0, len(keys))
		for _, k := range keys {
			var key string
			if dim == "pair" {
				key = hosts[k.key>>16].ip + " → " + hosts[k.key&0xffff].ip
			} else {
				key = hosts[k.key].ip
			}
			rows = append(rows, TopTalker{Key: key, Bytes: k.bytes, Packets: k.packets, FlowCount: k.count})
		}
	}
	SortTopTalkers(rows, by)
	if int64(len(rows)) > limit {
		rows = rows[:limit]
	}
	writeJSON(w, http.StatusOK, rows)
}

// SortTopTalkers orders rows as the top-talkers endpoint does: by the by
// metric ("bytes" or "packets") descending, ties by key ascending.
func SortTopTalkers(rows []TopTalker, by string) {
	slices.SortFunc(rows, func(a, b TopTalker) int {
		x, y := a.Bytes, b.Bytes
		if by == "packets" {
			x, y = a.Packets, b.Packets
		}
		if c := cmp.Compare(y, x); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// SortProtocols orders rows as the protocols endpoint does: bytes descending,
// ties by protocol ascending.
func SortProtocols(rows []ProtocolStat) {
	slices.SortFunc(rows, func(a, b ProtocolStat) int {
		if c := cmp.Compare(b.Bytes, a.Bytes); c != 0 {
			return c
		}
		return strings.Compare(a.Protocol, b.Protocol)
	})
}

// ProtocolLabel is the protocols endpoint's name for an IANA number: the
// protocol_name, or the decimal number when it has none.
func ProtocolLabel(number int, name *string) string {
	if name != nil {
		return *name
	}
	return strconv.Itoa(number)
}

func (s *Server) handleProtocols(w http.ResponseWriter, q url.Values, now time.Time) {
	p := &params{q: q}
	from := p.windowFrom(now.UnixMilli())
	if p.err != "" {
		writeError(w, http.StatusBadRequest, p.err)
		return
	}
	rows := []ProtocolStat{}
	if lo, hi := s.lookBack(now, from); lo <= hi {
		groups, _ := s.ix.protocols(lo, hi)
		for n, a := range groups {
			if a.count > 0 {
				rows = append(rows, ProtocolStat{Protocol: ProtocolLabel(n, protoNames[n]), Bytes: a.bytes, Packets: a.packets, FlowCount: a.count})
			}
		}
	}
	SortProtocols(rows)
	writeJSON(w, http.StatusOK, rows)
}

// agg is the sums of a group of records.
type agg struct{ bytes, packets, count int64 }
