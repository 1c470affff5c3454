package lookback

import (
	"context"
	"sync"
)

// Fresh is a plan's demand on a source that shares answers between callers (coalescing
// requests in flight, keeping answers briefly): the calls made under one Fresh must be answered
// from requests sent no earlier than the first of those calls.
//
// Run depends on it. A plan is consistent when every look-back was taken between its lead and
// its repeat: then an unchanged repeat proves that no window was indexed among them. An answer
// another panel obtained before the lead, or a repeat answered from the lead's own request,
// would slip a window indexed meanwhile past that check. A source that shares nothing may
// ignore Fresh.
type Fresh struct {
	once sync.Once
	mark uint64
}

// Mark binds f, at its first call, to the source's mark for "requests sent from now on"
// (next); later calls return the same mark.
func (f *Fresh) Mark(next func() uint64) uint64 {
	f.once.Do(func() { f.mark = next() })
	return f.mark
}

type freshKey struct{}

// WithFresh returns ctx carrying a new Fresh.
func WithFresh(ctx context.Context) context.Context {
	return context.WithValue(ctx, freshKey{}, &Fresh{})
}

// FreshOf is the Fresh ctx carries, or nil.
func FreshOf(ctx context.Context) *Fresh {
	f, _ := ctx.Value(freshKey{}).(*Fresh)
	return f
}
