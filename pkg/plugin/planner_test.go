package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/internal/gauge"
	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/simulator/simref"
)

// scaleEnv is the acceptance setting of issue 8: 4000 flows/min, 8 days of history, default
// data source settings, requests counted.
func scaleEnv(t testing.TB, cfg simulator.Config) (*env, *gauge.Gauge) {
	t.Helper()
	c := newClock(testNow)
	cfg.Token, cfg.Seed, cfg.Now, cfg.Log = testToken, 42, c.Now, nil
	if cfg.FlowsPerMinute == 0 {
		cfg.FlowsPerMinute, cfg.History = 4000, 8*24*time.Hour
	}
	cfg.Log = discard{}
	sim := simulator.New(cfg)
	g := &gauge.Gauge{}
	srv := httptest.NewServer(g.Wrap(sim))
	t.Cleanup(srv.Close)
	return &env{sim: sim, srv: srv, clock: c}, g
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// cell compares a frame value with the reference.
func sameValue(got, want float64) bool {
	return got == want || math.Abs(got-want) <= 1e-9*math.Max(math.Abs(got), math.Abs(want))
}

// Traffic by protocol (total and rate) over the last 24 h equals the reference cell by cell;
// past top talkers by src, dst and pair over a past 24 h range equal it row by row; refreshing
// the graph a minute later costs at most 5 requests.
func TestExactAtScale(t *testing.T) {
	e, g := scaleEnv(t, simulator.Config{})
	// Default settings but the timeout: the simulator generates a day at 4000 flows/min on the
	// first look-back, which under the race detector on a busy machine takes minutes.
	ds := e.datasource(t, map[string]any{"timeout": 600})
	traffic := simulator.NewTraffic(42, 4000, nil)
	tr := backend.TimeRange{From: testNow.Add(-24 * time.Hour), To: testNow}
	ref := simref.BucketSeries(traffic, tr.From, tr.To, time.Minute, simref.ByProtocol)
	for _, unit := range []string{"total", "rate"} {
		frames := runSeries(t, ds, tr, time.Minute, fmt.Sprintf(`{"queryType":"flows","format":"timeseries","groupBy":"protocol","topN":10,"metric":"bytes","unit":%q}`, unit), nil)
		checkProtocolFrames(t, frames, ref, unit)
	}

	// A minute later: only what is new.
	e.clock.ms.Add(time.Minute.Milliseconds())
	before := g.Total.Load()
	tr2 := backend.TimeRange{From: tr.From.Add(time.Minute), To: tr.To.Add(time.Minute)}
	frames := runSeries(t, ds, tr2, time.Minute, `{"queryType":"flows","format":"timeseries","groupBy":"protocol","topN":10,"metric":"bytes","unit":"total"}`, nil)
	if n := g.Total.Load() - before; n > 5 {
		t.Errorf("refreshing last 24 h a minute later took %d requests, want at most 5", n)
	}
	ref2 := simref.BucketSeries(traffic, tr2.From, tr2.To, time.Minute, simref.ByProtocol)
	for _, f := range frames {
		want := ref2.ByKey[f.Fields[1].Labels["protocol"]]
		for b := range f.Rows() {
			if v, ok := f.Fields[1].ConcreteAt(b); !ok || toFloat(v) != float64(want[b].Bytes) {
				t.Fatalf("refresh bucket %d: %v, reference %d", b, v, want[b].Bytes)
			}
		}
	}

	// Past top talkers: a 24 h range ending 6 h ago.
	from, to := testNow.Add(-30*time.Hour), testNow.Add(-6*time.Hour)
	refs := simref.TotalsBy(traffic, from, to, simref.BySrc, simref.ByDst, simref.ByPair)
	for i, dim := range []string{"src", "dst", "pair"} {
		resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{
			RefID: "A", QueryType: "topTalkers", TimeRange: backend.TimeRange{From: from, To: to},
			JSON: json.RawMessage(fmt.Sprintf(`{"queryType":"topTalkers","dim":%q,"by":"bytes","limit":20}`, dim)),
		}}})
		if err != nil || resp.Responses["A"].Error != nil {
			t.Fatalf("%s: %v %v", dim, err, resp.Responses["A"].Error)
		}
		f := resp.Responses["A"].Frames[0]
		if ns := notices(f); len(ns) != 0 {
			t.Errorf("%s: notices %q on an exact answer", dim, ns)
		}
		ranked := simref.Ranked(refs[i], "bytes")
		rows := scaleTalkerRows(t, f)
		if len(rows) != 20 {
			t.Fatalf("%s: %d rows", dim, len(rows))
		}
		for r, row := range rows {
			w := refs[i][ranked[r]]
			if row.key != ranked[r] || row.bytes != w.Bytes {
				t.Fatalf("%s row %d: %s %d, reference %s %d", dim, r, row.key, row.bytes, ranked[r], w.Bytes)
			}
		}
	}
}

// checkProtocolFrames compares traffic-by-protocol frames (bytes, total or rate) with the
// reference cell by cell, and checks that the plan shows in ExecutedQueryString.
func checkProtocolFrames(t *testing.T, frames data.Frames, ref *simref.Series, unit string) {
	t.Helper()
	if len(frames) != len(ref.ByKey) {
		t.Fatalf("%s: %d series, reference %d", unit, len(frames), len(ref.ByKey))
	}
	for _, f := range frames {
		name := f.Fields[1].Labels["protocol"]
		want, ok := ref.ByKey[name]
		if !ok {
			t.Fatalf("%s: series %q is not in the reference", unit, name)
		}
		if f.Rows() != ref.Buckets || !f.Fields[0].At(0).(time.Time).Equal(ref.Start) {
			t.Fatalf("%s %s: %d buckets from %v, reference %d from %v", unit, name, f.Rows(), f.Fields[0].At(0), ref.Buckets, ref.Start)
		}
		for b := range f.Rows() {
			v, ok := f.Fields[1].ConcreteAt(b)
			w := float64(want[b].Bytes)
			if unit == "rate" {
				w = ref.Rate(want[b], "bytes", b)
			}
			if !ok || !sameValue(toFloat(v), w) {
				t.Fatalf("%s %s bucket %d: %v, reference %v", unit, name, b, v, w)
			}
		}
		if ns := notices(f); len(ns) != 0 {
			t.Fatalf("%s %s: notices %q on an exact answer", unit, name, ns)
		}
	}
	if !strings.HasPrefix(frames[0].Meta.ExecutedQueryString, "plan: ") {
		t.Errorf("ExecutedQueryString should show the plan: %q", frames[0].Meta.ExecutedQueryString)
	}
}

// Traffic by protocol, total and rate, over the last 7 days at 4000 flows/min with 8 days of
// history and default data source settings, asked as Grafana asks a 1000 px panel (10 min
// interval): every cell equals the reference, computed from every record of the 7 days (40 M).
//
// Cost: the 40 M records are generated twice, once by the simulator (its per-window sums,
// before the query: a real Flows API has its windows indexed, and the simulator's lazy
// generation must not eat the query's default 30 s timeout) and once by simref, at the same
// time: about 50 s of CPU and 30 s of wall time on 2 idle cores under -race, over the ~20 s a
// test should take, but the acceptance volume is the point (the generator already runs without
// race instrumentation, see pkg/simulator/generate.go, which made it 4–8× cheaper). The
// query itself is ≈ 1,013 look-backs; the rate query after it reads only the buckets that
// were still open.
func TestProtocolSeries7dExact(t *testing.T) {
	e, g := scaleEnv(t, simulator.Config{})
	tr := backend.TimeRange{From: testNow.Add(-7 * 24 * time.Hour), To: testNow}
	// The simulator generates its history (one goroutine) while simref computes the
	// reference (the others): the two are independent.
	warmed := make(chan error, 1)
	go func() { warmed <- warmSimulator(e) }()
	ref := simref.BucketSeries(simulator.NewTraffic(42, 4000, nil), tr.From, tr.To, 10*time.Minute, simref.ByProtocol)
	if err := <-warmed; err != nil {
		t.Fatal(err)
	}
	ds := e.datasource(t, nil)
	for _, unit := range []string{"total", "rate"} {
		before := g.Total.Load()
		resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{
			RefID: "A", QueryType: "flows", TimeRange: tr, Interval: 10 * time.Minute, MaxDataPoints: 1000,
			JSON: json.RawMessage(fmt.Sprintf(`{"refId":"A","queryType":"flows","format":"timeseries","groupBy":"protocol","topN":10,"metric":"bytes","unit":%q}`, unit)),
		}}})
		if err != nil {
			t.Fatal(err)
		}
		r := resp.Responses["A"]
		if r.Error != nil {
			t.Fatalf("%s: %v", unit, r.Error)
		}
		checkProtocolFrames(t, r.Frames, ref, unit)
		t.Logf("%s: %d requests; %s", unit, g.Total.Load()-before, r.Frames[0].Meta.ExecutedQueryString)
	}
}

// warmSimulator has the simulator generate its whole history once (a /protocols look-back over
// it), as a real Flows API has its windows indexed before anyone asks.
func warmSimulator(e *env) error {
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s%s?window_secs=%d", e.srv.URL, simulator.PathProtocols, int((8*24*time.Hour).Seconds())), nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("warming the simulator: %s", resp.Status)
	}
	return nil
}

type scaleTalkerRow struct {
	key   string
	bytes int64
}

// talkerRows reads key and bytes from a top-talkers frame, whatever the key columns are.
func scaleTalkerRows(t testing.TB, f *data.Frame) []scaleTalkerRow {
	t.Helper()
	var out []scaleTalkerRow
	var src, dst, bytes *data.Field
	for _, fl := range f.Fields {
		switch fl.Name {
		case "src_ip", "key":
			src = fl
		case "dst_ip":
			dst = fl
		case "bytes":
			bytes = fl
		}
	}
	if bytes == nil || (src == nil && dst == nil) {
		t.Fatalf("talkers frame fields: %v", f.Fields)
	}
	for i := range f.Rows() {
		var key string
		switch {
		case src != nil && dst != nil:
			key = fmt.Sprint(src.At(i)) + " → " + fmt.Sprint(dst.At(i))
		case src != nil:
			key = fmt.Sprint(src.At(i))
		default:
			key = fmt.Sprint(dst.At(i))
		}
		v, _ := bytes.ConcreteAt(i)
		out = append(out, scaleTalkerRow{key, int64(toFloat(v))})
	}
	return out
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case int:
		return float64(x)
	}
	return math.NaN()
}

// A request budget below the range: unread buckets are null with a warning naming what was
// covered; the same query in an alert rule is an error, never a number.
func TestBudgetBelowRangeIsNullNotZero(t *testing.T) {
	e, _ := scaleEnv(t, simulator.Config{FlowsPerMinute: 20, History: 8 * 24 * time.Hour})
	ds := e.datasource(t, map[string]any{"rowCap": 1000})
	// 8 requests: even day-wide buckets over 7 days (9 look-backs) do not fit.
	ds.engine.UsePlanner(e.clock.Now, 8)
	tr := backend.TimeRange{From: testNow.Add(-7 * 24 * time.Hour), To: testNow}
	q := `{"queryType":"flows","format":"timeseries","groupBy":"none","metric":"bytes","unit":"total"}`
	frames := runSeries(t, ds, tr, time.Minute, q, nil)
	f := frames[0]
	nulls, read := 0, 0
	for b := range f.Rows() {
		if v, ok := f.Fields[1].ConcreteAt(b); ok {
			read++
			if toFloat(v) <= 0 {
				t.Fatalf("bucket %d read as %v", b, v)
			}
		} else {
			if read > 0 {
				t.Fatalf("bucket %d unread after read ones: the newest buckets are read first", b)
			}
			nulls++
		}
	}
	ns := strings.Join(notices(f), " | ")
	if nulls == 0 || read == 0 || !strings.Contains(ns, "Partial: the series covers") || !strings.Contains(ns, "requests a query may make") {
		t.Fatalf("%d null, %d read; notices %q", nulls, read, ns)
	}
	// A fresh planner: the buckets just read are closed and kept, so a second run would
	// afford the rest and be complete.
	ds.engine.UsePlanner(e.clock.Now, 8)
	resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{
		Headers: map[string]string{backend.FromAlertHeaderName: "true"},
		Queries: []backend.DataQuery{{RefID: "A", QueryType: "flows", JSON: json.RawMessage(q), TimeRange: tr, Interval: time.Minute}},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Responses["A"]
	if r.Error == nil || r.ErrorSource != backend.ErrorSourceDownstream || !strings.Contains(r.Error.Error(), "an alert rule needs every bucket") || len(r.Frames) != 0 {
		t.Fatalf("alert: error %v (source %q), %d frames", r.Error, r.ErrorSource, len(r.Frames))
	}
}

// Buckets widened for the request budget say so: at the width asked the series fit the point
// cap, so a notice blaming the point cap would send the user after the wrong setting.
func TestWideningForTheBudgetNamesTheBudget(t *testing.T) {
	e, _ := scaleEnv(t, simulator.Config{FlowsPerMinute: 20, History: 26 * time.Hour})
	ds := e.datasource(t, map[string]any{"rowCap": 1000})
	// 40 requests: 24 h of 1 min buckets needs 1,441 look-backs; hourly ones fit.
	ds.engine.UsePlanner(e.clock.Now, 40)
	tr := backend.TimeRange{From: testNow.Add(-24 * time.Hour), To: testNow}
	q := `{"queryType":"flows","format":"timeseries","groupBy":"none","metric":"bytes","unit":"total"}`
	frames := runSeries(t, ds, tr, time.Minute, q, nil)
	ns := notices(frames[0])
	if len(ns) != 1 || !strings.HasPrefix(ns[0], "Buckets widened from 1m to ") ||
		!strings.Contains(ns[0], "at 1m the look-backs would take ") || !strings.Contains(ns[0], "more than the 40 a query may make") ||
		strings.Contains(ns[0], "points") {
		t.Fatalf("notices %q", ns)
	}
	var need int
	if _, err := fmt.Sscanf(ns[0][strings.Index(ns[0], "would take ")+len("would take "):], "%d", &need); err != nil || need < 1441 {
		t.Fatalf("requests named in %q: %d (%v), want at least the 1,441 boundaries of 24 h at 1 min", ns[0], need, err)
	}
	t.Log(ns[0])
}

// Pitfall 4's remedy: with cut /top-talkers lists, the talkers that decide the answer are
// read on their own (a filtered /flows read each, within the row cap), so the series shown are
// exact cell by cell and Other, the exact total minus them, is exact too. Whatever the lists
// could not settle (an unlisted talker outranking the last one shown) is still said.
func TestCutListsTalkersReadOnTheirOwn(t *testing.T) {
	tr := backend.TimeRange{From: testNow.Add(-6 * time.Hour), To: testNow.Add(-time.Hour)}
	traffic := simulator.NewTraffic(42, 300, nil)
	ref := simref.BucketSeries(traffic, tr.From, tr.To, 10*time.Minute, simref.BySrc)
	totals := simref.Totals(traffic, tr.From, tr.To, simref.BySrc)
	q := `{"queryType":"flows","format":"timeseries","groupBy":"src","topN":10,"other":true,"metric":"bytes","unit":"total"}`
	e, _ := scaleEnv(t, simulator.Config{FlowsPerMinute: 300, History: 8 * time.Hour, TopTalkersMaxLimit: 5})
	// 90,000 records in the range: above the row cap, so look-backs answer; each talker's
	// own records fit it.
	ds := e.datasource(t, map[string]any{"rowCap": 30000})
	frames := runSeries(t, ds, tr, 10*time.Minute, q, nil)
	ex := frames[0].Meta.ExecutedQueryString
	if !strings.HasPrefix(ex, "plan: ") || !strings.Contains(ex, "read on their own") {
		t.Fatalf("executed %q", ex)
	}
	ns := strings.Join(notices(frames[0]), " | ")
	if ns != "" && !strings.Contains(ns, "the values shown are exact") {
		t.Fatalf("notices %q", ns)
	}
	var shown []string
	for _, f := range frames {
		if k := f.Fields[1].Labels["src_ip"]; k != "Other" {
			shown = append(shown, k)
		}
	}
	// Only talkers some list showed can be series: with lists cut at 5 that may be fewer than 10.
	if len(shown) == 0 || len(shown) > 10 {
		t.Fatalf("%d series shown: %v", len(shown), shown)
	}
	for _, f := range frames {
		src := f.Fields[1].Labels["src_ip"]
		if f.Rows() != ref.Buckets {
			t.Fatalf("%s: %d buckets, reference %d", src, f.Rows(), ref.Buckets)
		}
		for b := range f.Rows() {
			var want float64
			if src == "Other" {
				want = float64(ref.Total[b].Bytes)
				for _, k := range shown {
					want -= float64(ref.ByKey[k][b].Bytes)
				}
			} else if cells, ok := ref.ByKey[src]; ok {
				want = float64(cells[b].Bytes)
			} else {
				t.Fatalf("%s is not a source of the range", src)
			}
			if v, ok := f.Fields[1].ConcreteAt(b); !ok || toFloat(v) != want {
				t.Fatalf("%s bucket %d: %v, reference %v", src, b, v, want)
			}
		}
	}
	if ns == "" || !strings.Contains(ns, "could outrank") {
		// The ranking was settled: the talkers shown are the reference's top 10.
		top := simref.Ranked(totals, "bytes")[:10]
		slices.Sort(top)
		slices.Sort(shown)
		if !slices.Equal(top, shown) {
			t.Fatalf("shown %v, reference top 10 %v (notices %q)", shown, top, ns)
		}
	}
	t.Logf("executed %q; notices %q", ex, ns)
}

// Traffic by source, top 10 + Other, from look-backs: exact when the lists are complete; with a
// server that cuts /top-talkers lists, the frame says which values are bounds and by how much,
// every value is within its bound, and an alert rule gets an error.
func TestTrafficBySourceExactOrFlagged(t *testing.T) {
	tr := backend.TimeRange{From: testNow.Add(-6 * time.Hour), To: testNow.Add(-time.Hour)}
	traffic := simulator.NewTraffic(42, 300, nil)
	ref := simref.BucketSeries(traffic, tr.From, tr.To, 10*time.Minute, simref.BySrc)
	totals := map[string]simref.Sum{}
	for k, v := range ref.ByKey {
		for _, s := range v {
			totals[k] = simref.Sum{Bytes: totals[k].Bytes + s.Bytes}
		}
	}
	top := simref.Ranked(totals, "bytes")[:10]
	q := `{"queryType":"flows","format":"timeseries","groupBy":"src","topN":10,"other":true,"metric":"bytes","unit":"total"}`
	for _, cut := range []int{0, 5} {
		e, _ := scaleEnv(t, simulator.Config{FlowsPerMinute: 300, History: 8 * time.Hour, TopTalkersMaxLimit: cut})
		ds := e.datasource(t, map[string]any{"rowCap": 1000})
		frames := runSeries(t, ds, tr, 10*time.Minute, q, nil)
		ns := strings.Join(notices(frames[0]), " | ")
		if cut == 0 && ns != "" {
			t.Fatalf("complete lists: notices %q", ns)
		}
		if cut > 0 && !strings.Contains(ns, "Approximate: the look-back lists were cut") {
			t.Fatalf("cut lists: notices %q", ns)
		}
		// With cut lists the notice states how low a value can be at most; each true value lies
		// within it, and Other is too high by exactly what the series are too low.
		var bound float64
		if m := regexp.MustCompile(`each at most ([0-9]+) bytes low`).FindStringSubmatch(ns); m != nil {
			bound, _ = strconv.ParseFloat(m[1], 64)
		} else if cut > 0 {
			t.Fatalf("cut lists: the notice states no bound: %q", ns)
		}
		low := make([]float64, ref.Buckets) // per bucket, how much the series are too low
		otherExcess := make([]float64, ref.Buckets)
		for _, f := range frames {
			src := f.Fields[1].Labels["src_ip"]
			for b := range f.Rows() {
				v, _ := f.Fields[1].ConcreteAt(b)
				got := toFloat(v)
				var want float64
				if src == "Other" {
					// Everything but the series shown (with cut lists they may not be the
					// reference's top 10; then the notice says the ranking is uncertain).
					want = float64(ref.Total[b].Bytes)
					for _, g := range frames {
						if k := g.Fields[1].Labels["src_ip"]; k != "Other" {
							want -= float64(ref.ByKey[k][b].Bytes)
						}
					}
				} else {
					want = float64(ref.ByKey[src][b].Bytes)
				}
				if cut == 0 && got != want {
					t.Fatalf("%s bucket %d: %v, reference %v", src, b, got, want)
				}
				if cut > 0 && src != "Other" && (got > want || want-got > bound) {
					t.Fatalf("cut: %s bucket %d: %v, true %v: outside the stated [true − %v, true]", src, b, got, want, bound)
				}
				if src == "Other" {
					otherExcess[b] = got - want
				} else {
					low[b] += want - got
				}
			}
		}
		for b := range low {
			if otherExcess[b] != low[b] {
				t.Fatalf("bucket %d: Other is %v too high, the series %v too low together", b, otherExcess[b], low[b])
			}
		}
		if cut == 0 {
			var names []string
			for _, f := range frames {
				names = append(names, f.Fields[1].Labels["src_ip"])
			}
			want := append(slices.Clone(top), "Other")
			slices.Sort(want)
			slices.Sort(names)
			if !slices.Equal(names, want) {
				t.Fatalf("series %v, reference top 10 + Other %v", names, want)
			}
			continue
		}
		resp, _ := ds.QueryData(context.Background(), &backend.QueryDataRequest{
			Headers: map[string]string{backend.FromAlertHeaderName: "true"},
			Queries: []backend.DataQuery{{RefID: "A", QueryType: "flows", JSON: json.RawMessage(q), TimeRange: tr, Interval: 10 * time.Minute}},
		})
		if r := resp.Responses["A"]; r.Error == nil || !strings.Contains(r.Error.Error(), "An alert rule needs exact values") {
			t.Fatalf("alert on approximate values: %v", r.Error)
		}
	}
}
