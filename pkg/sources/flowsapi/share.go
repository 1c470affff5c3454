package flowsapi

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// Panels of one dashboard often make the same request at once (the same range read for
// bandwidth by protocol and by talker), and a range whose windows are all closed never changes.
// The client makes such a request once: concurrent callers share one answer (coalescing), and
// answers for closed ranges are kept for a while (caching), so many panels do not become many
// API calls (field note 7: rate limits). Coalescing is golang.org/x/sync/singleflight; the
// cache is ours (a byte-bounded LRU with a TTL).

const (
	// cacheBytes bounds the memory the cache holds; the oldest answers go first.
	cacheBytes = 64 << 20
	// cacheTTL bounds how long an answer is reused: long enough for a dashboard and its
	// refreshes, short enough that retention dropping old windows shows up.
	cacheTTL = 5 * time.Minute
	// settleTime is how long after a window closes the plugin assumes it is indexed.
	settleTime = 2 * WindowSize
)

type cached struct {
	key     string
	res     *answer
	expires time.Time
}

type share struct {
	flights singleflight.Group // requests in flight, by key

	mu    sync.Mutex // guards the cache below
	lru   *list.List // of *cached, most recent first
	byKey map[string]*list.Element
	size  int
}

func newShare() *share {
	return &share{lru: list.New(), byKey: map[string]*list.Element{}}
}

// do returns the answer for key: from the cache, from a request already in flight, or from
// fetch. cacheable says whether a successful answer may be kept. A caller that joins a request
// in flight waits for it only as long as its own ctx allows. own says that no one else has the
// answer (this caller's fetch made it, no one joined, the cache does not keep it): the caller
// may reuse its memory once done with it.
func (s *share) do(ctx context.Context, key string, cacheable bool, fetch func() (*answer, error)) (res *answer, own bool, err error) {
	if res, ok := s.cachedAnswer(key); ok {
		return res, false, nil
	}
	// led is set when this caller's fetch is the one that runs. That fetch uses this caller's
	// ctx, so it ends as soon as ctx does, with an error that says more than ctx.Err() (the
	// URL after redirects, a retry made): the caller waits for it rather than leaving.
	var led atomic.Bool
	ch := s.flights.DoChan(key, func() (res any, err error) {
		led.Store(true)
		// DoChan runs fn on a goroutine of its own and re-panics there, where nothing can
		// recover: a panic would end the plugin process, so it becomes this request's error.
		defer func() {
			if p := recover(); p != nil {
				res, err = nil, fmt.Errorf("internal error reading the API: %v", p)
			}
		}()
		a, err := fetch()
		if err != nil {
			return nil, err
		}
		if cacheable {
			// Stored before singleflight forgets the key, so a caller arriving now finds
			// either the flight or the cache.
			s.store(key, a)
		}
		return a, nil
	})
	var r singleflight.Result
	select {
	case r = <-ch:
	case <-ctx.Done():
		if !led.Load() {
			return nil, false, ctx.Err()
		}
		r = <-ch
	}
	if r.Err != nil {
		return nil, false, r.Err
	}
	return r.Val.(*answer), led.Load() && !r.Shared && !cacheable, nil
}

func (s *share) cachedAnswer(key string) (*answer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	el, ok := s.byKey[key]
	if !ok {
		return nil, false
	}
	c := el.Value.(*cached)
	if !time.Now().Before(c.expires) {
		s.remove(el)
		return nil, false
	}
	s.lru.MoveToFront(el)
	return c.res, true
}

func (s *share) store(key string, res *answer) {
	if res.size > cacheBytes/8 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if el, ok := s.byKey[key]; ok {
		s.remove(el)
	}
	s.byKey[key] = s.lru.PushFront(&cached{key: key, res: res, expires: time.Now().Add(cacheTTL)})
	s.size += res.size
	for s.size > cacheBytes {
		s.remove(s.lru.Back())
	}
}

func (s *share) remove(el *list.Element) {
	c := s.lru.Remove(el).(*cached)
	delete(s.byKey, c.key)
	s.size -= c.res.size
}
