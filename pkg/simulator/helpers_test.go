package simulator

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"sync/atomic"
	"testing"
	"time"
)

// t0 is a fixed clock, deliberately not on a minute boundary.
var t0 = time.UnixMilli(1776340800000 + 12_345)

const tok = "test-token"

// clock is a goroutine-safe settable clock.
type clock struct{ ms atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.ms.Store(t.UnixMilli())
	return c
}
func (c *clock) Now() time.Time          { return time.UnixMilli(c.ms.Load()) }
func (c *clock) Set(t time.Time)         { c.ms.Store(t.UnixMilli()) }
func (c *clock) Add(d time.Duration)     { c.ms.Add(d.Milliseconds()) }
func fixed(t time.Time) func() time.Time { return func() time.Time { return t } }

// newTest returns a server with the test token, a quiet log, t0 as clock and
// a 3 h history unless cfg says otherwise.
func newTest(cfg Config) *Server {
	if cfg.Token == "" {
		cfg.Token = tok
	}
	if cfg.Now == nil {
		cfg.Now = fixed(t0)
	}
	if cfg.History == 0 {
		cfg.History = 3 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	return New(cfg)
}

type result struct {
	status int
	header http.Header
	body   string
}

func do(h http.Handler, method, target, token string) result {
	req := httptest.NewRequest(method, target, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return result{rec.Code, rec.Header(), rec.Body.String()}
}

func get(t testing.TB, h http.Handler, target string) string {
	t.Helper()
	r := do(h, http.MethodGet, target, tok)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: status %d: %s", target, r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET %s: Content-Type %q", target, ct)
	}
	return r.body
}

func decode[T any](t testing.TB, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decoding %q: %v", body[:min(len(body), 300)], err)
	}
	return v
}

func flows(t testing.TB, h http.Handler, query string) FlowsResponse {
	t.Helper()
	return decode[FlowsResponse](t, get(t, h, PathFlows+"?"+query))
}

// all pages through /flows with query and page size limit, advancing by what
// the server returned; it fails on duplicates or a short result.
func all(t testing.TB, h http.Handler, query url.Values, limit int) []Flow {
	t.Helper()
	var out []Flow
	seen := map[string]bool{}
	total := -1
	for {
		q := url.Values{}
		for k, v := range query {
			q[k] = v
		}
		q.Set("offset", fmt.Sprint(len(out)))
		q.Set("limit", fmt.Sprint(limit))
		page := flows(t, h, q.Encode())
		if total == -1 {
			total = page.Total
		} else if page.Total != total {
			t.Fatalf("total changed while paging: %d then %d", total, page.Total)
		}
		if page.Offset != int64(len(out)) {
			t.Fatalf("offset echoed %d, want %d", page.Offset, len(out))
		}
		for _, f := range page.Flows {
			if seen[f.ID] {
				t.Fatalf("duplicate id %s at offset %d", f.ID, len(out))
			}
			seen[f.ID] = true
		}
		out = append(out, page.Flows...)
		if len(page.Flows) == 0 || len(out) >= total {
			break
		}
	}
	if len(out) != total {
		t.Fatalf("paged %d records, total says %d", len(out), total)
	}
	return out
}

func key(dim string, f Flow) string {
	switch dim {
	case "dst":
		return f.DstIP
	case "pair":
		return f.SrcIP + " → " + f.DstIP
	}
	return f.SrcIP
}

// aggregate computes the top-talkers rows from records, independently of the server code.
func aggregate(fs []Flow, dim, by string) []TopTalker {
	m := map[string]*TopTalker{}
	for _, f := range fs {
		k := key(dim, f)
		a := m[k]
		if a == nil {
			a = &TopTalker{Key: k}
			m[k] = a
		}
		a.Bytes += f.Bytes
		a.Packets += f.Packets
		a.FlowCount++
	}
	rows := []TopTalker{}
	for _, a := range m {
		rows = append(rows, *a)
	}
	metric := func(r TopTalker) int64 {
		if by == "packets" {
			return r.Packets
		}
		return r.Bytes
	}
	sort.Slice(rows, func(i, j int) bool {
		if mi, mj := metric(rows[i]), metric(rows[j]); mi != mj {
			return mi > mj
		}
		return rows[i].Key < rows[j].Key
	})
	return rows
}

func aggregateProtocols(fs []Flow) []ProtocolStat {
	m := map[string]*ProtocolStat{}
	for _, f := range fs {
		k := fmt.Sprint(f.Protocol)
		if f.ProtocolName != nil {
			k = *f.ProtocolName
		}
		a := m[k]
		if a == nil {
			a = &ProtocolStat{Protocol: k}
			m[k] = a
		}
		a.Bytes += f.Bytes
		a.Packets += f.Packets
		a.FlowCount++
	}
	rows := []ProtocolStat{}
	for _, a := range m {
		rows = append(rows, *a)
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Bytes != rows[j].Bytes {
			return rows[i].Bytes > rows[j].Bytes
		}
		return rows[i].Protocol < rows[j].Protocol
	})
	return rows
}
