package flowsapi

import (
	"context"
	"strings"
	"testing"
)

// singleflight's DoChan re-panics on a goroutine nothing can recover, which would end the
// plugin process for every user: a panic while reading becomes that request's error instead.
func TestPanicWhileReadingIsAnErrorNotACrash(t *testing.T) {
	s := newShare()
	_, _, err := s.do(context.Background(), "k", true, func() (*answer, error) { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "internal error reading the API: boom") {
		t.Fatalf("err = %v", err)
	}
	// The key is free again and nothing was cached.
	res, _, err := s.do(context.Background(), "k", true, func() (*answer, error) { return &answer{body: []byte("[]")}, nil })
	if err != nil || string(res.body) != "[]" {
		t.Fatalf("after the panic: %v %v", res, err)
	}
}
