package flowsapi

import (
	"container/list"
	"context"
	"sync"
	"time"
)

// Panels of one dashboard often make the same request at once (the same range read for
// bandwidth by protocol and by talker), and a range whose windows are all closed never changes.
// The client makes such a request once: concurrent callers share one answer (coalescing), and
// answers for closed ranges are kept for a while (caching), so many panels do not become many
// API calls (field note 7: rate limits).

const (
	// cacheBytes bounds the memory the cache holds; the oldest answers go first.
	cacheBytes = 64 << 20
	// cacheTTL bounds how long an answer is reused: long enough for a dashboard and its
	// refreshes, short enough that retention dropping old windows shows up.
	cacheTTL = 5 * time.Minute
	// settleTime is how long after a window closes the plugin assumes it is indexed.
	settleTime = 2 * WindowSize
)

type flight struct {
	done chan struct{}
	res  *answer
	err  error
}

type cached struct {
	key     string
	res     *answer
	expires time.Time
}

type share struct {
	mu       sync.Mutex
	inFlight map[string]*flight
	lru      *list.List // of *cached, most recent first
	byKey    map[string]*list.Element
	size     int
}

func newShare() *share {
	return &share{inFlight: map[string]*flight{}, lru: list.New(), byKey: map[string]*list.Element{}}
}

// do returns the answer for key: from the cache, from a request already in flight, or from
// fetch. cacheable says whether a successful answer may be kept. A caller that joins a request
// in flight waits for it only as long as its own ctx allows.
func (s *share) do(ctx context.Context, key string, cacheable bool, fetch func() (*answer, error)) (*answer, error) {
	s.mu.Lock()
	if el, ok := s.byKey[key]; ok {
		c := el.Value.(*cached)
		if time.Now().Before(c.expires) {
			s.lru.MoveToFront(el)
			s.mu.Unlock()
			return c.res, nil
		}
		s.remove(el)
	}
	if f, ok := s.inFlight[key]; ok {
		s.mu.Unlock()
		select {
		case <-f.done:
			return f.res, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	s.inFlight[key] = f
	s.mu.Unlock()

	f.res, f.err = fetch()

	s.mu.Lock()
	delete(s.inFlight, key)
	if f.err == nil && cacheable && len(f.res.body) <= cacheBytes/8 {
		s.byKey[key] = s.lru.PushFront(&cached{key: key, res: f.res, expires: time.Now().Add(cacheTTL)})
		s.size += len(f.res.body)
		for s.size > cacheBytes {
			s.remove(s.lru.Back())
		}
	}
	s.mu.Unlock()
	close(f.done)
	return f.res, f.err
}

func (s *share) remove(el *list.Element) {
	c := s.lru.Remove(el).(*cached)
	delete(s.byKey, c.key)
	s.size -= len(c.res.body)
}
