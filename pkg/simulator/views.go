package simulator

import (
	"cmp"
	"slices"
	"sort"
	"strings"
	"time"
)

// API names, as Config.APIs and the binary's -apis flag take them.
const (
	APIFlows     = "flowsapi"
	APITrustgrid = "trustgrid"
	APIHuaweiCFW = "huaweicfw"
)

// AllAPIs lists every API face the simulator can serve, in the order the docs describe them.
var AllAPIs = []string{APIFlows, APITrustgrid, APIHuaweiCFW}

// serves reports whether the API face name is enabled (Config.APIs empty: all are).
func (s *Server) serves(name string) bool {
	if len(s.cfg.APIs) == 0 {
		return true
	}
	for _, a := range s.cfg.APIs {
		if a == name {
			return true
		}
	}
	return false
}

// recordsStartingIn returns the published records whose first_seen_ms lies in [from, to]
// (epoch ms, both inclusive), ordered by first_seen_ms, then id (a record starts inside its
// window, so the windows' orders concatenate). The Trustgrid and
// Huawei CFW faces select by the start of a flow, which for one of our records is its
// first_seen_ms; the Flows API selects by the window end instead.
func (s *Server) recordsStartingIn(now time.Time, from, to int64) []*record {
	if from > to {
		return nil
	}
	sn := s.snapshot(now)
	ws := func(i int) int64 { return sn.wins[i].minute * windowMs }
	// A record starts inside its window: first_seen in [ws, ws+60000).
	lo := sort.Search(len(sn.wins), func(i int) bool { return ws(i)+windowMs > from })
	hi := sort.Search(len(sn.wins), func(i int) bool { return ws(i) > to })
	var out []*record
	for _, win := range sn.wins[lo:max(lo, hi)] {
		for _, j := range win.startOrder() {
			r := &win.recs[j]
			if r.FirstSeenMs >= from && r.FirstSeenMs <= to {
				out = append(out, r)
			}
		}
	}
	return out
}

// startOrder is the window's records by first_seen_ms, then id, computed once.
func (w *window) startOrder() []int32 {
	w.startOnce.Do(func() {
		w.byStart = make([]int32, len(w.recs))
		for i := range w.byStart {
			w.byStart[i] = int32(i)
		}
		slices.SortFunc(w.byStart, func(a, b int32) int {
			if c := cmp.Compare(w.recs[a].FirstSeenMs, w.recs[b].FirstSeenMs); c != 0 {
				return c
			}
			return strings.Compare(w.recs[a].ID, w.recs[b].ID)
		})
	})
	return w.byStart
}

// hash32 is a deterministic number derived from a record id and a salt, for the
// per-record choices of the other faces (byte split, region).
func hash32(id string, salt uint64) uint32 {
	var x uint64
	for i := 0; i < len(id); i++ {
		x = x<<4 | uint64(hexVal(id[i]))
	}
	return uint32(mix64(x^salt) >> 32)
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return 0
}
