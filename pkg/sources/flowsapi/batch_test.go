package flowsapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/engine/lookback"
	"github.com/flowlens/flows-datasource/pkg/internal/gauge"
	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
)

type movingClock struct{ ms atomic.Int64 }

func (c *movingClock) Now() time.Time  { return time.UnixMilli(c.ms.Load()).UTC() }
func (c *movingClock) Set(t time.Time) { c.ms.Store(t.UnixMilli()) }

// batchEnv is a client on a simulator whose requests are counted, and a second, identical
// simulator on the same clock that the test asks directly (plain HTTP, its own decoding) for
// what the server answers to each request made alone.
type batchEnv struct {
	c     *flowsapi.Client
	n     *atomic.Int64
	clock *movingClock
	ref   *httptest.Server
}

func newBatchEnv(t *testing.T, cfg simulator.Config) *batchEnv {
	t.Helper()
	clock := &movingClock{}
	clock.Set(now)
	cfg.Token, cfg.Log, cfg.Now = "tok", io.Discard, clock.Now
	g := &gauge.Gauge{}
	srv := httptest.NewServer(g.Wrap(simulator.New(cfg)))
	t.Cleanup(srv.Close)
	ref := httptest.NewServer(simulator.New(cfg))
	t.Cleanup(ref.Close)
	c, err := flowsapi.New(srv.URL, "tok", srv.Client(), 4)
	if err != nil {
		t.Fatal(err)
	}
	c.SetClock(clock.Now)
	return &batchEnv{c: c, n: &g.Total, clock: clock, ref: ref}
}

// refGet asks the reference simulator and decodes its answer into out.
func (e *batchEnv) refGet(t *testing.T, path string, v url.Values, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.ref.URL+path+"?"+v.Encode(), nil)
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := e.ref.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reference %s: %d %s", path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatal(err)
	}
}

// refTalkers is what the server answers to /top-talkers asked alone, as "key bytes packets flows".
func (e *batchEnv) refTalkers(t *testing.T, ws int64, dim, by string, limit int) []string {
	t.Helper()
	var rows []map[string]any
	e.refGet(t, "/api/v1/flows/top-talkers", url.Values{"window_secs": {fmt.Sprint(ws)}, "dim": {dim}, "by": {by}, "limit": {fmt.Sprint(limit)}}, &rows)
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%v %v %v %v", r["key"], r["bytes"], r["packets"], r["flow_count"])
	}
	return out
}

func talkerLines(rows []flowsapi.TopTalker) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%v %v %v %v", r.Key, float64(r.Bytes), float64(r.Packets), float64(r.FlowCount))
	}
	return out
}

func sameLines(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A ranked list answers every shorter list of the same ranking over the same look-back: the
// top 10 is the first 10 rows of the top 1000, exactly what the server gives when asked for 10
// (ties included: the server orders them, the share only cuts). One request for them all.
func TestShorterListsAreTheTopOfALongerOne(t *testing.T) {
	e := newBatchEnv(t, simulator.Config{})
	ctx := context.Background()
	for _, dim := range []string{"src", "dst", "pair"} {
		for _, by := range []string{"bytes", "packets"} {
			before := e.n.Load()
			p := flowsapi.TopTalkersParams{WindowSecs: 3600, Dim: dim, By: by, Limit: 1000}
			if _, err := e.c.TopTalkers(ctx, p); err != nil {
				t.Fatal(err)
			}
			for _, n := range []int{1, 2, 3, 5, 10, 20, 25, 99, 100, 101, 250, 999, 1000} {
				p.Limit = n
				got, err := e.c.TopTalkers(ctx, p)
				if err != nil {
					t.Fatal(err)
				}
				if want := e.refTalkers(t, 3600, dim, by, n); !sameLines(talkerLines(got), want) {
					t.Fatalf("%s by %s, limit %d: %d rows %v, the server alone gives %d rows %v", dim, by, n, len(got), talkerLines(got), len(want), want)
				}
			}
			if d := e.n.Load() - before; d != 1 {
				t.Fatalf("%s by %s: %d requests, want 1", dim, by, d)
			}
		}
	}
	// Another ranking, another look-back: other lists.
	before := e.n.Load()
	e.c.TopTalkers(ctx, flowsapi.TopTalkersParams{WindowSecs: 1800, Dim: "src", By: "bytes", Limit: 5})
	if d := e.n.Load() - before; d != 1 {
		t.Fatalf("another look-back: %d requests, want 1", d)
	}
}

// A list that came back shorter than its limit holds every row there is (or as many as the
// server gives for any limit): it answers longer lists too. Shown with a server that caps
// /top-talkers at 30 rows and with a look-back of two minutes that holds fewer talkers than
// the list's limit.
func TestShortListAnswersLongerLists(t *testing.T) {
	ctx := context.Background()
	e := newBatchEnv(t, simulator.Config{TopTalkersMaxLimit: 30})
	p := flowsapi.TopTalkersParams{WindowSecs: 3600, Dim: "pair", By: "bytes", Limit: 100}
	first, err := e.c.TopTalkers(ctx, p)
	if err != nil || len(first) != 30 {
		t.Fatalf("capped list: %d rows, %v", len(first), err)
	}
	for _, n := range []int{10, 30, 31, 500} {
		p.Limit = n
		got, _ := e.c.TopTalkers(ctx, p)
		if want := e.refTalkers(t, 3600, "pair", "bytes", n); !sameLines(talkerLines(got), want) {
			t.Fatalf("limit %d under a cap of 30: %v, the server alone gives %v", n, talkerLines(got), want)
		}
	}
	if e.n.Load() != 1 {
		t.Fatalf("%d requests, want 1", e.n.Load())
	}

	e = newBatchEnv(t, simulator.Config{})
	p = flowsapi.TopTalkersParams{WindowSecs: 120, Dim: "src", By: "packets", Limit: 100}
	few, err := e.c.TopTalkers(ctx, p)
	if err != nil || len(few) == 0 || len(few) >= 100 {
		t.Fatalf("two minutes should hold fewer than 100 sources: %d, %v", len(few), err)
	}
	p.Limit = 1000
	got, _ := e.c.TopTalkers(ctx, p)
	if want := e.refTalkers(t, 120, "src", "packets", 1000); !sameLines(talkerLines(got), want) || e.n.Load() != 1 {
		t.Fatalf("complete list asked longer: %d requests, %v, the server alone gives %v", e.n.Load(), talkerLines(got), want)
	}
}

// A look-back ends at the server's now, so an answer is "the same window" only until a window
// ends: on the server's clock (its Date header) no window end may lie between the answer and a
// later ask, at the upper edge (a new window is indexed) nor at the lower one (server now −
// window_secs passes a window's end and it leaves). Within that, and for at most 5 s, the
// answer is shared; across it the client asks again, and gets what the server says then.
func TestLookbackAnswersAreSharedWithinOneWindowOnly(t *testing.T) {
	ctx := context.Background()
	e := newBatchEnv(t, simulator.Config{})
	b := now.Truncate(time.Minute).Add(time.Minute) // the next window end
	p := flowsapi.TopTalkersParams{WindowSecs: 3600, Dim: "src", By: "bytes", Limit: 20}
	ask := func(at time.Time, wantRequests int64) []string {
		t.Helper()
		e.clock.Set(at)
		got, err := e.c.TopTalkers(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if n := e.n.Load(); n != wantRequests {
			t.Fatalf("asked at %s: %d requests in all, want %d", at.Format("15:04:05"), n, wantRequests)
		}
		if want := e.refTalkers(t, p.WindowSecs, p.Dim, p.By, p.Limit); !sameLines(talkerLines(got), want) {
			t.Fatalf("asked at %s: %v, the server says %v", at.Format("15:04:05"), talkerLines(got), want)
		}
		return talkerLines(got)
	}
	before := ask(b.Add(-3*time.Second), 1)
	ask(b.Add(-2*time.Second), 1) // shared: no window ended since
	atB := ask(b, 2)              // the window ending at b is indexed: asked again
	if sameLines(before, atB) {
		t.Fatal("the test needs a window that changes the list at b")
	}
	// Taken on a window end, the answer is not shared: just after b the window ending at
	// b−3600 leaves the look-back (whether a server counts an edge window is not said).
	after := ask(b.Add(2*time.Second), 3)
	if sameLines(atB, after) {
		t.Fatal("the test needs a window that changes the list just after b")
	}
	ask(b.Add(3*time.Second), 3)  // shared
	ask(b.Add(7*time.Second), 4)  // 5 s after its request: asked again
	ask(b.Add(59*time.Second), 5) // a refresh later in the minute asks again

	// The lower edge: window_secs 3630 drops the window ending at b−3600 when the server's
	// now passes b+30.
	e = newBatchEnv(t, simulator.Config{})
	p.WindowSecs, p.Dim = 3630, "pair"
	before = ask(b.Add(27*time.Second), 1)
	ask(b.Add(28*time.Second), 1)
	after = ask(b.Add(31*time.Second), 2)
	if sameLines(before, after) {
		t.Fatal("the test needs a window that changes the list when it leaves at b+30")
	}
}

// A plan's calls under a lookback.Fresh are answered only by requests made after the first of
// them: the planner's repeat must see the server's now, not the lead's own answer.
func TestFreshLookbacksAskAgain(t *testing.T) {
	ctx := context.Background()
	e := newBatchEnv(t, simulator.Config{})
	if _, err := e.c.Protocols(ctx, 3600); err != nil {
		t.Fatal(err)
	}
	e.c.Protocols(ctx, 3600)
	if e.n.Load() != 1 {
		t.Fatalf("%d requests, want 1", e.n.Load())
	}
	fresh := lookback.WithFresh(ctx)
	e.c.Protocols(fresh, 3600)
	e.c.Protocols(fresh, 3600) // made after the Fresh's first call: shared
	if e.n.Load() != 2 {
		t.Fatalf("fresh: %d requests, want 2", e.n.Load())
	}
	e.c.Protocols(lookback.WithFresh(ctx), 3600)
	e.c.TopTalkers(lookback.WithFresh(ctx), flowsapi.TopTalkersParams{WindowSecs: 3600, Dim: "dst", By: "bytes", Limit: 5})
	if e.n.Load() != 4 {
		t.Fatalf("new Fresh: %d requests, want 4", e.n.Load())
	}
}

// The count of a range (limit=1), a small table and the first page of a read of the same
// range and order are one request, asked at the data source's page size; each caller gets
// what the server gives for its own limit.
func TestCountSmallTableAndFirstPageAreOneRequest(t *testing.T) {
	ctx := context.Background()
	e := newBatchEnv(t, simulator.Config{})
	e.c.SetPageSize(200)
	r := flowsapi.FlowsParams{From: now.Add(-time.Hour), To: now}

	count := r
	count.Limit = 1
	got, err := e.c.Flows(ctx, count)
	if err != nil {
		t.Fatal(err)
	}
	table := r
	table.Sort, table.Order, table.Limit = "timestamp", "desc", 50
	tab, err := e.c.Flows(ctx, table)
	if err != nil {
		t.Fatal(err)
	}
	read, err := e.c.PageFlows(ctx, flowsapi.FlowsParams{From: r.From, To: r.To, Sort: "timestamp", Order: "desc"}, 200, 50_000)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(read.Pages); e.n.Load() != want {
		t.Fatalf("%d requests for a count, a table and a read of %d pages, want %d", e.n.Load(), read.Pages, want)
	}

	type refPage struct {
		Total, Offset, Limit int
		Flows                []struct{ ID string }
	}
	for _, c := range []struct {
		name string
		got  *flowsapi.FlowPage
		v    url.Values
	}{
		{"count", got, url.Values{"from": {fmt.Sprint(r.From.UnixMilli())}, "to": {fmt.Sprint(r.To.UnixMilli())}, "limit": {"1"}}},
		{"table", tab, url.Values{"from": {fmt.Sprint(r.From.UnixMilli())}, "to": {fmt.Sprint(r.To.UnixMilli())}, "limit": {"50"}, "sort": {"timestamp"}, "order": {"desc"}}},
	} {
		var want refPage
		e.refGet(t, "/api/v1/flows", c.v, &want)
		ok := c.got.Total == want.Total && c.got.Offset == want.Offset && c.got.Limit == want.Limit && len(c.got.Flows) == len(want.Flows)
		for i := 0; ok && i < len(want.Flows); i++ {
			ok = c.got.Flows[i].ID == want.Flows[i].ID
		}
		if !ok {
			t.Fatalf("%s: total %d offset %d limit %d, %d rows; the server alone: %d %d %d, %d rows",
				c.name, c.got.Total, c.got.Offset, c.got.Limit, len(c.got.Flows), want.Total, want.Offset, want.Limit, len(want.Flows))
		}
	}
}

// A /flows request without a limit gets the server's default length (50): the longer list of
// the same range does not answer it, and it answers no list.
func TestARequestWithoutLimitIsNotAList(t *testing.T) {
	ctx := context.Background()
	e := newBatchEnv(t, simulator.Config{})
	r := flowsapi.FlowsParams{From: now.Add(-time.Hour), To: now, Sort: "timestamp", Order: "desc"}
	long := r
	long.Limit = 1000
	if _, err := e.c.Flows(ctx, long); err != nil {
		t.Fatal(err)
	}
	def, err := e.c.Flows(ctx, r)
	if err != nil || len(def.Flows) != 50 || e.n.Load() != 2 {
		t.Fatalf("no limit: %d rows, %d requests, %v", len(def.Flows), e.n.Load(), err)
	}
	short := r
	short.Limit = 10
	e.c.Flows(ctx, short)
	e.c.Flows(ctx, r)
	if e.n.Load() != 2 {
		t.Fatalf("%d requests, want 2", e.n.Load())
	}
}
