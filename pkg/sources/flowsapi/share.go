package flowsapi

import (
	"container/list"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowlens/flows-datasource/pkg/engine/lookback"
)

// Panels of one dashboard often ask for the same data at once (the same range read for
// bandwidth by protocol and by talker, the top 10 and the top 20 sources), and a range whose
// windows are all closed never changes. The client asks the API for each distinct answer once
// (field note 7: rate limits):
//
//   - a request in flight is joined by every caller that asks for it, or for a shorter list of
//     it (coalescing);
//   - answers for ranges whose windows are all closed are kept cacheTTL;
//   - answers that can still change (a range that ends now, a look-back from the server's now)
//     are kept shortTTL, and only while no window may have been indexed since (current);
//   - a list answers every shorter list of the same order over the same range: the first n
//     rows of a ranked list of m ≥ n rows are what the server returns for n, and a list that
//     came back shorter than its limit is all there is (servable).
//
// The rules, and why each is exact, are in docs/time-ranges.md ("Many panels, one API").

const (
	// cacheBytes bounds the memory the kept answers hold together; the oldest go first.
	cacheBytes = 64 << 20
	// cacheTTL bounds how long an answer for a closed range is reused: long enough for a
	// dashboard and its refreshes, short enough that retention dropping old windows shows up.
	cacheTTL = 5 * time.Minute
	// shortTTL bounds how long an answer that can still change is reused, counted from when its
	// request was made: enough for one dashboard load (its variables, then its panels), and
	// shorter than Grafana's shortest auto-refresh (5 s), so a refresh asks again.
	shortTTL = 5 * time.Second
	// shortBytes bounds, within cacheBytes, the answers kept shortTTL: enough for the first pages
	// a dashboard's panels read of one range (about 35 pages of 1000 records), while a read of
	// 100,000 records does not hold all its pages for those seconds.
	shortBytes = 16 << 20
	// settleTime is how long after a window closes the plugin assumes it is indexed.
	settleTime = 2 * WindowSize
)

// ask is one request as the share sees it.
type ask struct {
	url string // the request as sent
	// family is the request without its limit: the lists of one order over one range. For a
	// request that is not a list it is url, and limit is 0.
	family string
	limit  int
	// closed: the range's windows are all closed, so its answer never changes.
	closed bool
	// keep: the answer may be kept at all (a read whose pages no one will ask for again, or
	// would hold the memory for nothing, says no; requests in flight are still shared).
	keep bool
	// window is the look-back in seconds of an aggregate endpoint (0 for /flows): its lower
	// edge moves with the server's clock too.
	window int64
}

// kept is an answer with what it may answer.
type kept struct {
	ask
	res *answer
	// seq orders the requests made (see lookback.Fresh); made is when, on the client's clock.
	seq  uint64
	made time.Time
	// expires applies to closed ranges; the others are current.
	expires time.Time
	rows    int // rows of the list, -1 until counted
}

type flight struct {
	limit  int
	seq    uint64
	done   chan struct{}
	res    *answer
	err    error
	joined bool // another caller waits for it (guarded by share.mu)
}

type share struct {
	now func() time.Time
	seq atomic.Uint64 // requests made so far

	mu       sync.Mutex // guards what follows
	flights  map[string][]*flight
	lru      *list.List // of *kept, most recent first
	byFamily map[string][]*list.Element
	size     int
	// shortSize is the part of size that answers kept shortTTL hold.
	shortSize int
}

func newShare(now func() time.Time) *share {
	return &share{now: now, flights: map[string][]*flight{}, lru: list.New(), byFamily: map[string][]*list.Element{}}
}

// do returns the answer to a (and the limit of the request that gave it, which may be longer
// than a's: the caller keeps the rows it asked for): a kept answer, a request in flight, or
// fetch. A caller that joins a request in flight waits for it only as long as its own ctx
// allows. Under a lookback.Fresh only requests made after the Fresh's first call answer. own
// says that no one else has the answer (this caller's fetch made it, no one joined, it is not
// kept): the caller may reuse its memory once done with it.
func (s *share) do(ctx context.Context, a ask, fetch func() (*answer, error)) (res *answer, asked int, own bool, err error) {
	var after uint64
	if f := lookback.FreshOf(ctx); f != nil {
		after = f.Mark(func() uint64 { return s.seq.Load() + 1 })
	}
	now := s.now()
	s.mu.Lock()
	if k := s.keptFor(a, after, now); k != nil {
		s.lru.MoveToFront(s.find(k))
		s.mu.Unlock()
		return k.res, k.limit, false, nil
	}
	for _, f := range s.flights[a.family] {
		// A request in flight was made at the same moment: it answers a's length or longer.
		if f.seq >= after && a.limit <= f.limit {
			f.joined = true
			s.mu.Unlock()
			select {
			case <-f.done:
				return f.res, f.limit, false, f.err
			case <-ctx.Done():
				return nil, 0, false, ctx.Err()
			}
		}
	}
	f := &flight{limit: a.limit, seq: s.seq.Add(1), done: make(chan struct{})}
	s.flights[a.family] = append(s.flights[a.family], f)
	s.mu.Unlock()

	// The fetch runs on this caller's goroutine with its ctx, so it ends as soon as ctx does,
	// with an error that says more than ctx.Err() (the URL after redirects, a retry made).
	f.res, f.err = safely(fetch)
	s.mu.Lock()
	stored := false
	if f.err == nil && a.keep {
		// Kept before the flight is forgotten, so a caller arriving now finds one or the other.
		stored = s.store(&kept{ask: a, res: f.res, seq: f.seq, made: now, expires: s.now().Add(cacheTTL), rows: -1})
	}
	removeFromFamily(s.flights, a.family, f)
	own = f.err == nil && !stored && !f.joined
	s.mu.Unlock()
	close(f.done)
	return f.res, f.limit, own, f.err
}

// safely runs fetch. A panic while reading would otherwise end the plugin process for every
// user: it becomes this request's error.
func safely(fetch func() (*answer, error)) (res *answer, err error) {
	defer func() {
		if p := recover(); p != nil {
			res, err = nil, fmt.Errorf("internal error reading the API: %v", p)
		}
	}()
	return fetch()
}

// keptFor is a kept answer that answers a at now, made at or after request after, or nil.
// Answers past their time are dropped on the way.
func (s *share) keptFor(a ask, after uint64, now time.Time) *kept {
	var found *kept
	for _, el := range append([]*list.Element(nil), s.byFamily[a.family]...) {
		k := el.Value.(*kept)
		switch {
		case k.expired(now):
			s.remove(el)
		case found == nil && k.seq >= after && k.current(now) && s.servable(k, a.limit):
			found = k
		}
	}
	return found
}

// expired says whether k can never answer again.
func (k *kept) expired(now time.Time) bool {
	if k.closed {
		return !now.Before(k.expires)
	}
	return now.Sub(k.made) >= shortTTL
}

// current says whether k still answers at now. A closed range never changes: it is kept until
// it expires. An answer that can change is kept shortTTL after its request, and only while no
// window end lay on the server's clock between the answer and now: a window is indexed at or
// after its end, so until the next end no new window can appear, and a look-back's lower edge
// (server now − window) drops a window only as it passes that window's end. The server's
// clock is the answer's Date header (whole seconds, so one second is added), advanced by the
// time since the request was made; without a Date header, the client's clock.
func (k *kept) current(now time.Time) bool {
	if k.closed {
		return now.Before(k.expires)
	}
	since := now.Sub(k.made)
	if since < 0 || since >= shortTTL {
		return false
	}
	taken := k.res.date
	if taken.IsZero() {
		taken = k.made
	}
	later := taken.Add(since + time.Second)
	w := time.Duration(k.window) * time.Second
	return !windowEndIn(taken, later) && (k.window == 0 || !windowEndIn(taken.Add(-w), later.Add(-w)))
}

// windowEndIn says whether a window ends in [a, b] (windows end on whole minutes). Both ends
// count: whether a server counts a window ending exactly at its now, or at its now − window,
// is not said by the API.
func windowEndIn(a, b time.Time) bool {
	size := WindowSize.Milliseconds()
	return floorDiv(b.UnixMilli(), size) != floorDiv(a.UnixMilli()-1, size)
}

// servable says whether k's list answers a list of n rows of the same order: n is at most its
// limit (its first n rows), or it returned fewer rows than its limit, so that it holds every
// row the server has, or as many as the server gives (a server that caps limit gives that many
// for any longer limit too). Requests that are not lists (limit 0) answer only themselves.
func (s *share) servable(k *kept, n int) bool {
	if n <= k.limit {
		return true
	}
	if k.rows < 0 {
		k.rows = listRows(k.res)
	}
	return k.rows >= 0 && k.rows < k.limit
}

// listRows counts the rows of a list answer: a decoded /flows page, a JSON array
// (/top-talkers) or the "flows" of a page; -1 when it is neither. Null entries hold no row and
// are not counted (as the decoders leave them out).
func listRows(a *answer) int {
	if a.page != nil {
		return len(a.page.Flows)
	}
	body := a.body
	var rows []json.RawMessage
	if json.Unmarshal(body, &rows) != nil {
		var page struct {
			Flows []json.RawMessage `json:"flows"`
		}
		if json.Unmarshal(body, &page) != nil {
			return -1
		}
		rows = page.Flows
	}
	n := 0
	for _, r := range rows {
		if string(r) != "null" {
			n++
		}
	}
	return n
}

func (s *share) find(k *kept) *list.Element {
	for _, el := range s.byFamily[k.family] {
		if el.Value.(*kept) == k {
			return el
		}
	}
	return nil
}

// store keeps k and says whether it did (an answer over an eighth of the bound is not kept).
func (s *share) store(k *kept) bool {
	if k.res.size > cacheBytes/8 {
		return false
	}
	// The newer answer replaces one to the same request.
	for _, el := range append([]*list.Element(nil), s.byFamily[k.family]...) {
		if o := el.Value.(*kept); o.url == k.url {
			s.remove(el)
		}
	}
	s.byFamily[k.family] = append(s.byFamily[k.family], s.lru.PushFront(k))
	s.size += k.res.size
	if !k.closed {
		s.shortSize += k.res.size
	}
	for s.size > cacheBytes {
		s.remove(s.lru.Back())
	}
	for el := s.lru.Back(); s.shortSize > shortBytes && el != nil; {
		prev := el.Prev()
		if !el.Value.(*kept).closed {
			s.remove(el)
		}
		el = prev
	}
	return true
}

func (s *share) remove(el *list.Element) {
	k := s.lru.Remove(el).(*kept)
	removeFromFamily(s.byFamily, k.family, el)
	s.size -= k.res.size
	if !k.closed {
		s.shortSize -= k.res.size
	}
}

// rankedFloor is the fewest rows a /top-talkers request asks for. Panels start in any order:
// had the top 10 been asked alone before the top 20 of the same ranking, both would go out.
// Asked at 100 rows (a few kilobytes), the lists a dashboard shows are one request, which also
// answers the variable that lists 100 sources.
const rankedFloor = 100

// talkersWire is the request made for p: at least rankedFloor rows.
func talkersWire(p TopTalkersParams) TopTalkersParams {
	if p.Limit > 0 {
		p.Limit = max(p.Limit, rankedFloor)
	}
	return p
}

// flowsWire is the request made for p: the API's defaults (sort by timestamp, descending) said,
// and a list shorter than the data source's page size asked at that size, so that a count
// (limit=1), a small table and the first page of a read of the same range are one request.
func (c *Client) flowsWire(p FlowsParams) FlowsParams {
	if p.Sort == "" {
		p.Sort = "timestamp"
	}
	if p.Order == "" {
		p.Order = "desc"
	}
	if p.Limit > 0 {
		p.Limit = max(p.Limit, c.pageSize)
	}
	return p
}

// firstRows is the first n rows of a list (all of them when n ≤ 0: nothing was cut).
func firstRows[T any](rows []T, n int) []T {
	if n <= 0 || len(rows) <= n {
		return rows
	}
	return rows[:n:n]
}

// firstOf is the page a request for n rows gets, from a page answered to a request for asked
// rows: its first n rows (a view: the page may be shared and is not modified), and the limit
// the server says it used (it says at most what it was asked).
func firstOf(p *FlowPage, n, asked int) *FlowPage {
	if n <= 0 || n == asked {
		return p
	}
	view := *p
	view.Flows = firstRows(p.Flows, n)
	if n < asked {
		view.Limit = min(p.Limit, n)
	}
	return &view
}

// removeFromFamily takes v out of its family's list, and the family out of m once it is empty,
// so that the maps hold no empty lists.
func removeFromFamily[V comparable](m map[string][]V, family string, v V) {
	vs := m[family]
	if i := slices.Index(vs, v); i >= 0 {
		vs = slices.Delete(vs, i, i+1)
	}
	if len(vs) == 0 {
		delete(m, family)
	} else {
		m[family] = vs
	}
}
