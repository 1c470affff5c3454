package flowsapi

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// singleflight's DoChan re-panics on a goroutine nothing can recover, which would end the
// plugin process for every user: a panic while reading becomes that request's error instead.
func TestPanicWhileReadingIsAnErrorNotACrash(t *testing.T) {
	s := newShare(time.Now)
	k := ask{url: "k", family: "k", closed: true, keep: true}
	_, _, _, err := s.do(context.Background(), k, func() (*answer, error) { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "internal error reading the API: boom") {
		t.Fatalf("err = %v", err)
	}
	// The key is free again and nothing was cached.
	res, _, _, err := s.do(context.Background(), k, func() (*answer, error) { return &answer{body: []byte("[]")}, nil })
	if err != nil || string(res.body) != "[]" {
		t.Fatalf("after the panic: %v %v", res, err)
	}
}

// Kept answers stay within their bounds: 64 MB in all, of which 16 MB for answers that can
// still change (a long read of a range that ends now does not hold all its pages); the
// oldest go first, and the newest answer is always there to share.
func TestKeptAnswersStayWithinTheirBounds(t *testing.T) {
	s := newShare(time.Now)
	page := make([]byte, 1<<20)
	keep := func(i int, closed bool) {
		a := ask{url: fmt.Sprintf("u%d", i), family: fmt.Sprintf("u%d", i), closed: closed, keep: true}
		s.do(context.Background(), a, func() (*answer, error) { return &answer{body: page, size: len(page)}, nil })
		if s.size > cacheBytes || s.shortSize > shortBytes {
			t.Fatalf("after %d: %d bytes kept, %d of them short-lived", i, s.size, s.shortSize)
		}
		if _, ok := s.byFamily[a.family]; !ok {
			t.Fatalf("answer %d was not kept", i)
		}
	}
	for i := range 40 {
		keep(i, false)
	}
	if s.shortSize != shortBytes || s.lru.Len() != 16 {
		t.Fatalf("%d short-lived bytes in %d answers", s.shortSize, s.lru.Len())
	}
	for i := 40; i < 140; i++ {
		keep(i, true)
	}
	if s.size != cacheBytes {
		t.Fatalf("%d bytes kept", s.size)
	}
	var closed int
	for el := s.lru.Front(); el != nil; el = el.Next() {
		if el.Value.(*kept).closed {
			closed++
		}
	}
	if closed != 64 {
		t.Fatalf("%d closed answers kept, want the newest 64", closed)
	}
}
