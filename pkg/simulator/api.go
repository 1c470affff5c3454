package simulator

import (
	"cmp"
	"math"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
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
	orders      [4]struct {
		once sync.Once
		recs []*record
	}
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

// sorted returns every record of the snapshot ordered by bytes or packets,
// ties by id ascending; built once per snapshot and order.
func (sn *snapshot) sorted(key int, desc bool) []*record {
	i := (key - sortBytes) * 2
	if desc {
		i++
	}
	o := &sn.orders[i]
	o.once.Do(func() {
		recs := make([]*record, 0, sn.n)
		for _, w := range sn.wins {
			for j := range w.recs {
				recs = append(recs, &w.recs[j])
			}
		}
		metric := func(r *record) int64 { return r.Bytes }
		if key == sortPackets {
			metric = func(r *record) int64 { return r.Packets }
		}
		slices.SortFunc(recs, func(a, b *record) int {
			c := cmp.Compare(metric(a), metric(b))
			if desc {
				c = -c
			}
			if c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		o.recs = recs
	})
	return o.recs
}

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

func (f *filter) match(r *record) bool {
	return (f.src == -1 || r.src == f.src) &&
		(f.dst == -1 || r.dst == f.dst) &&
		(f.exp == -1 || r.exp == f.exp) &&
		(f.port == -1 || r.SrcPort == f.port || r.DstPort == f.port) &&
		(f.proto == -1 || r.Protocol == f.proto)
}

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
	if p.err != "" {
		writeError(w, http.StatusBadRequest, p.err)
		return
	}

	resp := FlowsResponse{Offset: offset, Limit: limit, Flows: []Flow{}}
	sn := s.snapshot(now)
	lo, hi := sn.winRange(from, to)
	if f.src == -2 || f.dst == -2 || f.exp == -2 || lo >= hi {
		writeJSON(w, http.StatusOK, resp)
		return
	}
	filtered := f.active()
	var idx int64 // index among matches
	take := func(r *record) {
		if idx >= offset && idx-offset < limit {
			resp.Flows = append(resp.Flows, r.Flow)
		}
		idx++
	}

	if sortBy == sortTimestamp {
		// Windows in time order; within a window records are already by id.
		for k := range hi - lo {
			win := sn.wins[lo+k]
			if desc {
				win = sn.wins[hi-1-k]
			}
			if !filtered {
				n := int64(len(win.recs))
				if idx+n <= offset || idx-offset >= limit {
					idx += n
					continue
				}
			}
			for j := range win.recs {
				if r := &win.recs[j]; !filtered || f.match(r) {
					take(r)
				}
			}
		}
	} else if !filtered && lo == 0 && hi == len(sn.wins) {
		// Whole history, no filter: the page is a slice of the index.
		recs := sn.sorted(sortBy, desc)
		idx = int64(len(recs))
		if offset < idx {
			for _, r := range recs[offset:min(idx, offset+limit)] {
				resp.Flows = append(resp.Flows, r.Flow)
			}
		}
	} else {
		for _, r := range sn.sorted(sortBy, desc) {
			if r.Timestamp >= from && r.Timestamp <= to && f.match(r) {
				take(r)
			}
		}
	}
	resp.Total = int(idx)
	writeJSON(w, http.StatusOK, resp)
}

// ---------------------------------------------------------------------------
// Aggregations.

type agg struct{ bytes, packets, count int64 }

func (a *agg) add(r *record) {
	a.bytes += r.Bytes
	a.packets += r.Packets
	a.count++
}

// each calls fn for every published record with from <= timestamp <= now.
func (s *Server) each(now time.Time, from int64, fn func(*record)) {
	sn := s.snapshot(now)
	lo, hi := sn.winRange(from, now.UnixMilli())
	for _, win := range sn.wins[lo:hi] {
		for j := range win.recs {
			fn(&win.recs[j])
		}
	}
}

func (s *Server) handleTopTalkers(w http.ResponseWriter, q url.Values, now time.Time) {
	p := &params{q: q}
	from := p.windowFrom(now.UnixMilli())
	by := p.enum("by", "bytes", "bytes", "packets")
	dim := p.enum("dim", "src", "src", "dst", "pair")
	limit := s.limit(p, 20)
	if p.err != "" {
		writeError(w, http.StatusBadRequest, p.err)
		return
	}
	groups := map[int]*agg{}
	s.each(now, from, func(r *record) {
		k := r.src
		switch dim {
		case "dst":
			k = r.dst
		case "pair":
			k = r.src<<16 | r.dst
		}
		a := groups[k]
		if a == nil {
			a = &agg{}
			groups[k] = a
		}
		a.add(r)
	})
	rows := make([]TopTalker, 0, len(groups))
	for k, a := range groups {
		var key string
		if dim == "pair" {
			key = hosts[k>>16].ip + " → " + hosts[k&0xffff].ip
		} else {
			key = hosts[k].ip
		}
		rows = append(rows, TopTalker{Key: key, Bytes: a.bytes, Packets: a.packets, FlowCount: a.count})
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
	var groups [256]agg
	s.each(now, from, func(r *record) { groups[r.Protocol].add(r) })
	rows := []ProtocolStat{}
	for n, a := range groups {
		if a.count > 0 {
			rows = append(rows, ProtocolStat{Protocol: ProtocolLabel(n, protoNames[n]), Bytes: a.bytes, Packets: a.packets, FlowCount: a.count})
		}
	}
	SortProtocols(rows)
	writeJSON(w, http.StatusOK, rows)
}
