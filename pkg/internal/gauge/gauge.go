// Package gauge counts the requests an HTTP handler serves, for tests that check how many
// requests reached a server and how many were in flight at once.
package gauge

import (
	"net/http"
	"sync/atomic"
)

// Gauge wraps a handler; its counters are safe to read while requests are served.
type Gauge struct {
	// Total counts the requests served; Peak is the most that were in flight at once.
	Total, Peak atomic.Int64
	inFlight    atomic.Int64
}

// Wrap returns h, counted by g.
func (g *Gauge) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Total.Add(1)
		n := g.inFlight.Add(1)
		defer g.inFlight.Add(-1)
		for p := g.Peak.Load(); n > p && !g.Peak.CompareAndSwap(p, n); p = g.Peak.Load() {
		}
		h.ServeHTTP(w, r)
	})
}
