package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/simulator/simref"
)

// The pitfalls of issue 8, each through the plugin as Grafana calls it (QueryData), checked on
// what the user sees: values equal to the reference computed from every record, or a clear
// notice or error. The planner's own tests (pkg/engine/lookback) check the same at its level.
// 120 flows/min and a row cap of 1000 keep them cheap: any range longer than ~10 minutes holds
// more records than the row cap, so the look-back planner answers, as it would at any volume.

const pitfallRate = 120

var pitfallTraffic = simulator.NewTraffic(42, pitfallRate, nil)

// pitfallEnv is a simulator at pitfallRate with hook run before each request it serves, and a
// data source with a row cap of 1000.
func pitfallEnv(t *testing.T, cfg simulator.Config, hook func(r *http.Request)) (*env, *Datasource) {
	t.Helper()
	c := newClock(testNow)
	cfg.Token, cfg.Seed, cfg.Now, cfg.Log = testToken, 42, c.Now, discard{}
	cfg.FlowsPerMinute = pitfallRate
	if cfg.History == 0 {
		cfg.History = 8 * time.Hour
	}
	sim := simulator.New(cfg)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hook != nil {
			hook(r)
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e := &env{sim: sim, srv: srv, clock: c}
	return e, e.datasource(t, map[string]any{"rowCap": 1000})
}

// askQuery runs one query as Grafana does for a panel (or an alert rule) and returns its response.
func askQuery(t *testing.T, ds *Datasource, tr backend.TimeRange, interval time.Duration, alert bool, q string) backend.DataResponse {
	t.Helper()
	var probe struct {
		QueryType string `json:"queryType"`
	}
	if err := json.Unmarshal([]byte(q), &probe); err != nil {
		t.Fatal(err)
	}
	req := &backend.QueryDataRequest{Queries: []backend.DataQuery{{RefID: "A", QueryType: probe.QueryType, JSON: json.RawMessage(q),
		TimeRange: tr, Interval: interval, MaxDataPoints: 1000}}}
	if alert {
		req.Headers = map[string]string{backend.FromAlertHeaderName: "true"}
	}
	resp, err := ds.QueryData(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Responses["A"]
}

// checkSeriesExact compares series frames (bytes, total) grouped by label with the reference,
// cell by cell; unread (null) cells fail.
func checkSeriesExact(t *testing.T, name string, frames data.Frames, ref *simref.Series, label string) {
	t.Helper()
	if len(frames) != len(ref.ByKey) {
		t.Fatalf("%s: %d series, reference %d", name, len(frames), len(ref.ByKey))
	}
	for _, f := range frames {
		key := f.Fields[1].Labels[label]
		want, ok := ref.ByKey[key]
		if !ok || f.Rows() != ref.Buckets || !f.Fields[0].At(0).(time.Time).Equal(ref.Start) {
			t.Fatalf("%s %s: %d buckets from %v, reference %d from %v (known key: %v)", name, key, f.Rows(), f.Fields[0].At(0), ref.Buckets, ref.Start, ok)
		}
		for b := range f.Rows() {
			if v, ok := f.Fields[1].ConcreteAt(b); !ok || toFloat(v) != float64(want[b].Bytes) {
				t.Fatalf("%s %s bucket %d: %v, reference %d", name, key, b, v, want[b].Bytes)
			}
		}
	}
}

// checkTalkersExact compares a top-talkers frame with the reference, row by row.
func checkTalkersExact(t *testing.T, name string, f *data.Frame, ref map[string]simref.Sum, n int) {
	t.Helper()
	ranked := simref.Ranked(ref, "bytes")[:n]
	rows := scaleTalkerRows(t, f)
	if len(rows) != n {
		t.Fatalf("%s: %d rows, want %d", name, len(rows), n)
	}
	for i, r := range rows {
		if r.key != ranked[i] || r.bytes != ref[ranked[i]].Bytes {
			t.Fatalf("%s row %d: %s %d, reference %s %d", name, i, r.key, r.bytes, ranked[i], ref[ranked[i]].Bytes)
		}
	}
}

const protocolSeriesQuery = `{"queryType":"flows","format":"timeseries","groupBy":"protocol","topN":10,"metric":"bytes","unit":"total"}`

// A server whose clock is 40 s ahead of Grafana's, or 40 s behind: the plugin estimates the
// offset (Date header) and every bucket and every row stays exact. Without the estimate, every
// look-back edge would land 10 s past its window boundary and every bucket would be off by a
// window.
func TestPitfallServerClockOffset(t *testing.T) {
	tr := backend.TimeRange{From: testNow.Add(-3 * time.Hour), To: testNow.Add(-10 * time.Minute)}
	ref := simref.BucketSeries(pitfallTraffic, tr.From, tr.To, 5*time.Minute, simref.ByProtocol)
	past := backend.TimeRange{From: testNow.Add(-4 * time.Hour), To: testNow.Add(-time.Hour)}
	talkers := simref.Totals(pitfallTraffic, past.From, past.To, simref.BySrc)
	for _, off := range []time.Duration{40 * time.Second, -40 * time.Second} {
		name := fmt.Sprintf("server clock %+v", off)
		_, ds := pitfallEnv(t, simulator.Config{ClockOffset: off}, nil)
		r := askQuery(t, ds, tr, 5*time.Minute, false, protocolSeriesQuery)
		if r.Error != nil {
			t.Fatalf("%s: %v", name, r.Error)
		}
		if ns := notices(r.Frames[0]); len(ns) != 0 || !strings.HasPrefix(r.Frames[0].Meta.ExecutedQueryString, "plan: ") {
			t.Fatalf("%s: notices %q, executed %q", name, ns, r.Frames[0].Meta.ExecutedQueryString)
		}
		checkSeriesExact(t, name, r.Frames, ref, "protocol")

		r = askQuery(t, ds, past, time.Minute, false, `{"queryType":"topTalkers","dim":"src","by":"bytes","limit":10}`)
		if r.Error != nil {
			t.Fatalf("%s: talkers: %v", name, r.Error)
		}
		if ns := notices(r.Frames[0]); len(ns) != 0 {
			t.Fatalf("%s: talkers notices %q", name, ns)
		}
		checkTalkersExact(t, name+" talkers", r.Frames[0], talkers, 10)
	}
}

// A server (or a proxy in front of it) that sends no Date header: the newest window places its
// clock only to ±30 s, too loosely for look-back edges, so the engine does not answer from
// look-backs at all. The query is still answered, from records, and honestly: exact, or
// with the row cap's notice and values that are lower bounds, never a clock error and never a
// silently wrong number. The clock is not sampled again for every query.
func TestPitfallServerWithoutDateHeader(t *testing.T) {
	tr := backend.TimeRange{From: testNow.Add(-3 * time.Hour), To: testNow.Add(-10 * time.Minute)}
	ref := simref.BucketSeries(pitfallTraffic, tr.From, tr.To, 5*time.Minute, simref.ByProtocol)
	var lookbacks, samples atomic.Int64
	_, ds := pitfallEnv(t, simulator.Config{NoDateHeader: true}, func(r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/protocols") || strings.HasSuffix(r.URL.Path, "/top-talkers"):
			lookbacks.Add(1)
		case r.URL.Query().Get("limit") == "1" && r.URL.Query().Get("from") == "" && r.URL.Query().Get("order") == "desc":
			samples.Add(1) // the clock sample: the newest record
		}
	})
	for run := range 2 {
		r := askQuery(t, ds, tr, 5*time.Minute, false, protocolSeriesQuery)
		if r.Error != nil {
			t.Fatalf("run %d: %v", run, r.Error)
		}
		// A read of /flows: the row cap's, or every record paged through when that fits the
		// budget (then exact), never look-backs.
		if ex := r.Frames[0].Meta.ExecutedQueryString; strings.Contains(ex, "look-back") || !strings.Contains(ex, "/flows") {
			t.Fatalf("run %d: executed %q, want a read of /flows", run, ex)
		}
		ns := strings.Join(notices(r.Frames[0]), " | ")
		if ns == "" {
			checkSeriesExact(t, "no Date header", r.Frames, ref, "protocol")
			continue
		}
		if !strings.Contains(ns, "row cap stopped the read") {
			t.Fatalf("run %d: notices %q", run, ns)
		}
		for _, f := range r.Frames {
			want := ref.ByKey[f.Fields[1].Labels["protocol"]]
			for b := range min(f.Rows(), len(want)) {
				if v, ok := f.Fields[1].ConcreteAt(b); ok && toFloat(v) > float64(want[b].Bytes) {
					t.Fatalf("run %d bucket %d: %v above the reference %d", run, b, v, want[b].Bytes)
				}
			}
		}
	}
	if lookbacks.Load() != 0 {
		t.Fatalf("%d look-back requests without a placeable clock", lookbacks.Load())
	}
	if samples.Load() > 1 {
		t.Fatalf("the clock was sampled %d times in two queries", samples.Load())
	}
}

// A window indexed between the calls of one plan: the server's clock moves a minute while the
// plan runs, so the look-backs asked after it count one window more than those before. The plan
// repeats its first call, sees the change and runs again: the answer is exact. When windows keep
// arriving during every attempt, the query fails with an error that says so, never a wrong
// number.
func TestPitfallWindowIndexedDuringPlan(t *testing.T) {
	tr := backend.TimeRange{From: testNow.Add(-3 * time.Hour), To: testNow.Add(-10 * time.Minute)}
	ref := simref.BucketSeries(pitfallTraffic, tr.From, tr.To, 5*time.Minute, simref.ByProtocol)

	// A simulator whose clock moves by a minute after the at-th look-back, and after every
	// every-th one when every is set.
	moving := func(at, every int64) (*Datasource, *atomic.Int64) {
		var lookbacks atomic.Int64
		var e *env
		e, ds := pitfallEnv(t, simulator.Config{}, func(r *http.Request) {
			if r.URL.Path != simulator.PathProtocols {
				return
			}
			n := lookbacks.Add(1)
			if n == at || (every > 0 && n%every == 0) {
				e.clock.ms.Add(time.Minute.Milliseconds())
			}
		})
		return ds, &lookbacks
	}
	ds, lookbacks := moving(5, 0)
	r := askQuery(t, ds, tr, 5*time.Minute, false, protocolSeriesQuery)
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	checkSeriesExact(t, "moved once", r.Frames, ref, "protocol")
	// 35 buckets need 36 look-backs and the repeat; a second attempt doubles that.
	if n := lookbacks.Load(); n < 2*36 {
		t.Fatalf("%d look-backs: the moved window was not noticed, the plan did not run again", n)
	}

	// Windows arriving during every attempt: an error, in panels and alert rules alike.
	for _, alert := range []bool{false, true} {
		ds, _ := moving(0, 10)
		r = askQuery(t, ds, tr, 5*time.Minute, alert, protocolSeriesQuery)
		if r.Error == nil || !strings.Contains(r.Error.Error(), "indexed new windows while the look-backs of this query were read") ||
			!strings.Contains(r.Error.Error(), "retry") || r.ErrorSource != backend.ErrorSourceDownstream || len(r.Frames) != 0 {
			t.Fatalf("alert %v: error %v (source %q), %d frames", alert, r.Error, r.ErrorSource, len(r.Frames))
		}
	}
}

// A range partly older than the server's retention: the buckets the server no longer holds are
// null (no data, never 0) with a notice naming the retention; the rest are exact; an alert rule
// gets an error. Top talkers over a range the server no longer holds say so instead of ranking
// nothing as if it were no traffic.
func TestPitfallRangeOlderThanRetention(t *testing.T) {
	_, ds := pitfallEnv(t, simulator.Config{Retention: 2 * time.Hour}, nil)
	tr := backend.TimeRange{From: testNow.Add(-3 * time.Hour), To: testNow.Add(-time.Hour)}
	ref := simref.BucketSeries(pitfallTraffic, tr.From, tr.To, 5*time.Minute, simref.ByProtocol)
	oldest := testNow.Add(-2 * time.Hour)
	r := askQuery(t, ds, tr, 5*time.Minute, false, protocolSeriesQuery)
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	ns := strings.Join(notices(r.Frames[0]), " | ")
	if !strings.Contains(ns, "Partial: the series covers") || !strings.Contains(ns, "retention") {
		t.Fatalf("notices %q", ns)
	}
	nulls := 0
	for _, f := range r.Frames {
		key := f.Fields[1].Labels["protocol"]
		for b := range f.Rows() {
			start := f.Fields[0].At(b).(time.Time)
			v, ok := f.Fields[1].ConcreteAt(b)
			switch {
			case start.Before(oldest):
				// The server holds none or only part of this bucket's windows.
				if ok {
					t.Fatalf("%s bucket %v is older than the retention but reads %v", key, start, v)
				}
				nulls++
			case !ok || toFloat(v) != float64(ref.ByKey[key][b].Bytes):
				t.Fatalf("%s bucket %v: %v, reference %d", key, start, v, ref.ByKey[key][b].Bytes)
			}
		}
	}
	if nulls == 0 {
		t.Fatal("no bucket is null")
	}
	r = askQuery(t, ds, tr, 5*time.Minute, true, protocolSeriesQuery)
	if r.Error == nil || !strings.Contains(r.Error.Error(), "retention") || r.ErrorSource != backend.ErrorSourceDownstream {
		t.Fatalf("alert: %v (source %q)", r.Error, r.ErrorSource)
	}

	old := backend.TimeRange{From: testNow.Add(-5 * time.Hour), To: testNow.Add(-3 * time.Hour)}
	r = askQuery(t, ds, old, time.Minute, false, `{"queryType":"topTalkers","dim":"src","by":"bytes","limit":10}`)
	if r.Error == nil || !strings.Contains(r.Error.Error(), "no longer holds windows before 2026-04-16T10:0") || !strings.Contains(r.Error.Error(), "retention") ||
		r.ErrorSource != backend.ErrorSourceDownstream || len(r.Frames) != 0 {
		t.Fatalf("talkers older than the retention: error %v (source %q), %d frames", r.Error, r.ErrorSource, len(r.Frames))
	}
}

var boundRow = regexp.MustCompile(`([0-9a-f.:]+) \(bytes up to ([0-9]+) more\)`)

// A server that caps limit on /top-talkers (5 rows whatever is asked): past top talkers say
// which rows are lower bounds and by how much at most, and every true value lies within its
// stated bound; an alert rule gets an error rather than a lower bound.
func TestPitfallTopTalkersLimitCapped(t *testing.T) {
	_, ds := pitfallEnv(t, simulator.Config{TopTalkersMaxLimit: 5}, nil)
	tr := backend.TimeRange{From: testNow.Add(-4 * time.Hour), To: testNow.Add(-time.Hour)}
	ref := simref.Totals(pitfallTraffic, tr.From, tr.To, simref.BySrc)
	q := `{"queryType":"topTalkers","dim":"src","by":"bytes","limit":10}`
	r := askQuery(t, ds, tr, time.Minute, false, q)
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	f := r.Frames[0]
	ns := strings.Join(notices(f), " | ")
	if !strings.Contains(ns, "Approximate") {
		t.Fatalf("notices %q", ns)
	}
	bounds := map[string]int64{}
	for _, m := range boundRow.FindAllStringSubmatch(ns, -1) {
		bounds[m[1]], _ = strconv.ParseInt(m[2], 10, 64)
	}
	for _, row := range scaleTalkerRows(t, f) {
		want := ref[row.key].Bytes
		if want < row.bytes || want > row.bytes+bounds[row.key] {
			t.Fatalf("%s: true %d outside the stated [%d, %d] (notice %q)", row.key, want, row.bytes, row.bytes+bounds[row.key], ns)
		}
	}
	r = askQuery(t, ds, tr, time.Minute, true, q)
	if r.Error == nil || !strings.Contains(r.Error.Error(), "An alert rule needs exact values") || r.ErrorSource != backend.ErrorSourceDownstream || len(r.Frames) != 0 {
		t.Fatalf("alert rule on approximate talkers: error %v (source %q), %d frames", r.Error, r.ErrorSource, len(r.Frames))
	}
}

// Past top talkers over cut lists, with a row cap each talker's own records fit: the rows whose
// bounds decide the table are read on their own and become exact (no bound is stated for them);
// when the ranking is settled too, the table equals the reference.
func TestCutListsTopTalkersReadOnTheirOwn(t *testing.T) {
	e, _ := pitfallEnv(t, simulator.Config{TopTalkersMaxLimit: 5}, nil)
	ds := e.datasource(t, map[string]any{"rowCap": 15000})
	tr := backend.TimeRange{From: testNow.Add(-4 * time.Hour), To: testNow.Add(-time.Hour)}
	ref := simref.Totals(pitfallTraffic, tr.From, tr.To, simref.BySrc)
	r := askQuery(t, ds, tr, time.Minute, false, `{"queryType":"topTalkers","dim":"src","by":"bytes","limit":10}`)
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	f := r.Frames[0]
	ex := f.Meta.ExecutedQueryString
	if !strings.HasPrefix(ex, "plan: ") || !strings.Contains(ex, "read on their own") {
		t.Fatalf("executed %q", ex)
	}
	ns := strings.Join(notices(f), " | ")
	if ns == "" {
		checkTalkersExact(t, "cut lists, talkers read on their own", f, ref, 10)
		return
	}
	bounded := map[string]bool{}
	for _, m := range boundRow.FindAllStringSubmatch(ns, -1) {
		bounded[m[1]] = true
	}
	exact := 0
	for _, row := range scaleTalkerRows(t, f) {
		if !bounded[row.key] {
			exact++
			if row.bytes != ref[row.key].Bytes {
				t.Fatalf("%s: %d, reference %d (notice %q)", row.key, row.bytes, ref[row.key].Bytes, ns)
			}
		}
	}
	if exact == 0 {
		t.Fatalf("no row was made exact: notice %q, executed %q", ns, ex)
	}
	t.Logf("executed %q; notices %q", ex, ns)
}

var aboutRequests = regexp.MustCompile(`about ([0-9]+) requests? in all`)

// The editor's request preview says when a query will be answered from look-back aggregates
// and about how many requests that takes, before and after the range was counted; the query
// then makes that many requests and says so in ExecutedQueryString.
func TestPreviewShowsTheLookbackPlan(t *testing.T) {
	var requests atomic.Int64
	_, ds := pitfallEnv(t, simulator.Config{}, func(*http.Request) { requests.Add(1) })
	tr := backend.TimeRange{From: testNow.Add(-3 * time.Hour), To: testNow.Add(-10 * time.Minute)}
	preview := func(q string) string {
		t.Helper()
		status, raw := callResource(t, ds, http.MethodPost, "preview", map[string]any{
			"query": json.RawMessage(q), "from": tr.From.UnixMilli(), "to": tr.To.UnixMilli(), "intervalMs": 300_000})
		var p struct{ Notes []string }
		if err := json.Unmarshal(raw, &p); status != 200 || err != nil {
			t.Fatalf("preview %s: %d %s", q, status, raw)
		}
		for _, n := range p.Notes {
			if strings.Contains(n, "look-back aggregates") {
				return n
			}
		}
		t.Fatalf("preview %s: no look-back plan in %q", q, p.Notes)
		return ""
	}
	estimate := func(note string) int64 {
		t.Helper()
		m := aboutRequests.FindStringSubmatch(note)
		if m == nil {
			t.Fatalf("no request count in %q", note)
		}
		n, _ := strconv.ParseInt(m[1], 10, 64)
		return n
	}
	run := func(q string) (int64, string) {
		t.Helper()
		before := requests.Load()
		r := askQuery(t, ds, tr, 5*time.Minute, false, q)
		if r.Error != nil {
			t.Fatal(r.Error)
		}
		return requests.Load() - before, r.Frames[0].Meta.ExecutedQueryString
	}

	note := preview(protocolSeriesQuery)
	if !strings.Contains(note, "first counts the range's records") || !strings.Contains(note, "/protocols at each boundary of its 5m buckets") {
		t.Fatalf("before counting: %q", note)
	}
	n, executed := run(protocolSeriesQuery)
	// The count, the clock sample, the oldest window, a look-back per boundary and the repeat.
	if want := estimate(note); n != want || !strings.HasPrefix(executed, fmt.Sprintf("plan: %d requests", n-1)) {
		t.Fatalf("preview said about %d requests; the query made %d and says %q", want, n, executed)
	}
	// Counted now: the preview says so, and that the closed buckets come from the cache.
	note = preview(protocolSeriesQuery)
	if !regexp.MustCompile(`held [0-9]+ records when last counted, more than the row cap \(1000\)`).MatchString(note) {
		t.Fatalf("after counting: %q", note)
	}
	if n, _ = run(protocolSeriesQuery); n != estimate(note) {
		t.Fatalf("preview said about %d requests; the refresh made %d", estimate(note), n)
	}

	talkers := `{"queryType":"topTalkers","dim":"src","by":"bytes","limit":10}`
	note = preview(talkers)
	if !strings.Contains(note, "two look-backs at the range's edges") {
		t.Fatalf("past top talkers: %q", note)
	}
	if n, executed = run(talkers); n != estimate(note) || !strings.HasPrefix(executed, "plan: ") {
		t.Fatalf("preview said about %d requests; past top talkers made %d and say %q", estimate(note), n, executed)
	}
}
