package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/simulator/simref"
)

// BenchmarkScale is issue 8's scale benchmark, through the plugin as Grafana calls it: the
// simulator at 40, 400 and 4000 flows/min with 8 days of history, default data source settings
// (but a 10 min timeout: the simulator generates traffic lazily), over the last 1 h, 6 h, 24 h
// and 7 d, as a ~1000 px panel asks (interval = range / 1000, whole minutes): traffic by
// protocol, traffic by source (top 10 + Other) and past top talkers (by source, top 20, over a
// range of the same length that ended one range ago; for 7 d the 7 d that ended an hour ago).
// It prints, per query, the requests the Flows API received, the time, the peak Go heap above
// the heap before the query (the simulator runs in the process and its allocations while
// answering count too) and whether the answer equals the reference computed
// by simref from every generated record ("bounded, flagged" when the frame says which values
// are bounds and every true value lies within them; "NO" otherwise).
//
//	go test -run '^$' -bench BenchmarkScale -benchtime 1x -timeout 0 ./pkg/plugin
//
// SCALE_RATES (40,400,4000), SCALE_RANGES (1h,6h,24h,168h) and SCALE_QUERIES
// (protocol,source,talkers) narrow it down; SCALE_QUERY_BUDGET_MB sets the data source's
// queryBudgetMB (the read budget of streamed paging). It is not part of the test command.
func BenchmarkScale(b *testing.B) {
	rates := pick(os.Getenv("SCALE_RATES"), "40,400,4000")
	ranges := pick(os.Getenv("SCALE_RANGES"), "1h,6h,24h,168h")
	queries := pick(os.Getenv("SCALE_QUERIES"), "protocol,source,talkers")
	fmt.Println("| flows/min | range | query | plan | requests | time | peak heap | exact |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- |")
	for range b.N {
		for _, rate := range rates {
			perMin, _ := strconv.Atoi(rate)
			traffic := simulator.NewTraffic(42, perMin, nil)
			for _, rs := range ranges {
				span, _ := time.ParseDuration(rs)
				e, g := scaleEnv(b, simulator.Config{FlowsPerMinute: perMin, History: 8 * 24 * time.Hour})
				if err := warmSimulator(e); err != nil {
					b.Fatal(err)
				}
				settings := map[string]any{"timeout": 600}
				if mb := os.Getenv("SCALE_QUERY_BUDGET_MB"); mb != "" {
					settings["queryBudgetMB"] = mb
				}
				ds := e.datasource(b, settings)
				tr := backend.TimeRange{From: testNow.Add(-span), To: testNow}
				interval := max(time.Minute, (span/1000+time.Minute-1)/time.Minute*time.Minute)
				run := func(name string, tr backend.TimeRange, q string, check func(data.Frames) string) {
					runtime.GC()
					var m runtime.MemStats
					runtime.ReadMemStats(&m)
					base := m.HeapAlloc
					before := g.Total.Load()
					peak := startPeak()
					start := time.Now()
					resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{{
						RefID: "A", QueryType: strings.Split(strings.Split(q, `"queryType":"`)[1], `"`)[0], JSON: json.RawMessage(q),
						TimeRange: tr, Interval: interval, MaxDataPoints: 1000,
					}}})
					d := time.Since(start)
					heap := peak()
					heap -= min(heap, base)
					verdict, plan := "error", ""
					if err == nil && resp.Responses["A"].Error == nil {
						verdict = check(resp.Responses["A"].Frames)
						plan = planOf(resp.Responses["A"].Frames)
					} else if err == nil {
						verdict = "error: " + resp.Responses["A"].Error.Error()
					}
					fmt.Printf("| %d | %s | %s | %s | %d | %v | %d MB | %s |\n", perMin, rs, name, plan, g.Total.Load()-before, d.Round(time.Millisecond), heap>>20, verdict)
				}
				for _, q := range queries {
					switch q {
					case "protocol":
						run("traffic by protocol", tr, `{"queryType":"flows","format":"timeseries","groupBy":"protocol","topN":10,"metric":"bytes","unit":"total"}`,
							func(frames data.Frames) string {
								return seriesVerdict(frames, traffic, tr, "protocol", simref.ByProtocol)
							})
					case "source":
						run("traffic by source (top 10 + Other)", tr, `{"queryType":"flows","format":"timeseries","groupBy":"src","topN":10,"other":true,"metric":"bytes","unit":"total"}`,
							func(frames data.Frames) string { return seriesVerdict(frames, traffic, tr, "src_ip", simref.BySrc) })
					case "talkers":
						past := backend.TimeRange{From: tr.From.Add(-span), To: tr.To.Add(-span)}
						if span > 4*24*time.Hour {
							past = backend.TimeRange{From: testNow.Add(-span - time.Hour), To: testNow.Add(-time.Hour)}
						}
						run("past top talkers (src, top 20)", past, `{"queryType":"topTalkers","dim":"src","by":"bytes","limit":20}`,
							func(frames data.Frames) string { return talkersVerdict(b, frames, traffic, past) })
					}
				}
			}
		}
	}
}

// planOf names how an answer was read, from its ExecutedQueryString.
func planOf(frames data.Frames) string {
	if len(frames) == 0 || frames[0].Meta == nil {
		return "?"
	}
	ex := frames[0].Meta.ExecutedQueryString
	switch {
	case strings.Contains(ex, "aggregated as each arrives"):
		return "paging, streamed"
	case strings.HasPrefix(ex, "plan: "):
		return "look-backs"
	case strings.Contains(ex, "/flows?"):
		return "records (within the row cap)"
	default:
		return "one look-back"
	}
}

func pick(v, def string) []string {
	if v == "" {
		v = def
	}
	return strings.Split(v, ",")
}

var atMostLow = regexp.MustCompile(`each at most ([0-9]+) bytes low`)

// seriesVerdict compares series frames (bytes, total, top 10 + Other) with the reference at the
// frame's bucket width: "yes" when every cell is equal and nothing is flagged; "bounded, flagged"
// when the frame says values are lower bounds by at most X and each is; otherwise "NO".
func seriesVerdict(frames data.Frames, traffic *simulator.Traffic, tr backend.TimeRange, label string, key simref.Key) string {
	if len(frames) == 0 || frames[0].Meta == nil {
		return "NO (no frames)"
	}
	width := time.Duration(frames[0].Meta.Custom.(map[string]any)["bucketWidthSeconds"].(int)) * time.Second
	ref := simref.BucketSeries(traffic, tr.From, tr.To, width, key)
	var bound int64 = -1
	ns := strings.Join(notices(frames[0]), " | ")
	if m := atMostLow.FindStringSubmatch(ns); m != nil {
		bound, _ = strconv.ParseInt(m[1], 10, 64)
	} else if ns != "" && !strings.HasPrefix(ns, "Buckets widened") {
		return "NO (notice: " + ns + ")"
	}
	named := map[string]bool{}
	for _, f := range frames {
		named[f.Fields[1].Labels[label]] = true
	}
	for _, f := range frames {
		k := f.Fields[1].Labels[label]
		if f.Rows() != ref.Buckets {
			return fmt.Sprintf("NO (%d buckets, reference %d)", f.Rows(), ref.Buckets)
		}
		for bkt := range f.Rows() {
			v, ok := f.Fields[1].ConcreteAt(bkt)
			if !ok {
				return "NO (unread bucket)"
			}
			got := int64(toFloat(v))
			var want int64
			if k == "Other" {
				want = ref.Total[bkt].Bytes
				for n := range named {
					if n != "Other" {
						want -= ref.ByKey[n][bkt].Bytes
					}
				}
			} else {
				want = ref.ByKey[k][bkt].Bytes
			}
			switch {
			case got == want:
			case bound < 0:
				return fmt.Sprintf("NO (%s bucket %d: %d, reference %d)", k, bkt, got, want)
			case k == "Other" && got >= want:
				// Other is too high by what the series are too low.
			case k != "Other" && got <= want && want-got <= bound:
			default:
				return fmt.Sprintf("NO (%s bucket %d: %d, reference %d, outside the stated bound %d)", k, bkt, got, want, bound)
			}
		}
	}
	// The top 10 must be the reference's top 10 when nothing is flagged.
	if bound < 0 && label != "protocol" {
		totals := map[string]simref.Sum{}
		for k, v := range ref.ByKey {
			for _, s := range v {
				totals[k] = simref.Sum{Bytes: totals[k].Bytes + s.Bytes}
			}
		}
		for _, k := range simref.Ranked(totals, "bytes")[:min(10, len(totals))] {
			if !named[k] {
				return "NO (" + k + " is in the reference's top 10)"
			}
		}
	}
	if bound >= 0 {
		return "bounded, flagged"
	}
	return "yes"
}

var rowBound = regexp.MustCompile(`([0-9a-f.:]+) \(bytes up to ([0-9]+) more\)`)

// talkersVerdict compares a top-talkers frame with the reference row by row.
func talkersVerdict(tb testing.TB, frames data.Frames, traffic *simulator.Traffic, tr backend.TimeRange) string {
	ref := simref.Totals(traffic, tr.From, tr.To, simref.BySrc)
	ranked := simref.Ranked(ref, "bytes")
	rows := scaleTalkerRows(tb, frames[0])
	ns := strings.Join(notices(frames[0]), " | ")
	if strings.Contains(ns, "Approximate") {
		bounds := map[string]int64{}
		for _, m := range rowBound.FindAllStringSubmatch(ns, -1) {
			bounds[m[1]], _ = strconv.ParseInt(m[2], 10, 64)
		}
		for _, r := range rows {
			if w := ref[r.key].Bytes; w < r.bytes || w > r.bytes+bounds[r.key] {
				return fmt.Sprintf("NO (%s: %d, true %d outside the stated bound)", r.key, r.bytes, w)
			}
		}
		return "bounded, flagged"
	}
	if len(rows) != min(20, len(ranked)) {
		return fmt.Sprintf("NO (%d rows)", len(rows))
	}
	for i, r := range rows {
		if r.key != ranked[i] || r.bytes != ref[ranked[i]].Bytes {
			return fmt.Sprintf("NO (row %d: %s %d, reference %s %d)", i, r.key, r.bytes, ranked[i], ref[ranked[i]].Bytes)
		}
	}
	return "yes"
}

// startPeak samples the Go heap until stopped and returns the peak.
func startPeak() func() uint64 {
	done := make(chan struct{})
	res := make(chan uint64)
	go func() {
		var peak uint64
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-done:
				res <- peak
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); return <-res }
}

// BenchmarkOverviewFirstLoad counts the Flows API requests of the provisioned flows-overview
// dashboard's first load, as Grafana makes it: its query variables (refresh on load), then
// every panel's queries at once, one QueryData per panel, over its default range (last 1 h),
// against the simulator as docker-compose.yml runs it. It prints the total and how many were
// distinct (the same URL asked twice is a redundant read).
//
//	go test -run '^$' -bench BenchmarkOverviewFirstLoad -benchtime 1x ./pkg/plugin
func BenchmarkOverviewFirstLoad(b *testing.B) {
	o := overviewQueries(b)
	for range b.N {
		c := newClock(testNow)
		rec := recordOverviewSimulator(b, c)
		ds := newTestDatasource(b, rec.srv.URL, testToken, provFlowsDatasource(b).JSONData, c.Now)
		for ref, r := range o.load(ds) {
			if r.Error != nil {
				b.Errorf("%s: %v", ref, r.Error)
			}
		}
		urls := rec.take()
		distinct := map[string]bool{}
		for _, u := range urls {
			distinct[u] = true
		}
		fmt.Printf("flows-overview first load: %d requests to the Flows API, %d distinct (%d variable queries, %d panels)\n", len(urls), len(distinct), len(o.variables), len(o.panels))
		for _, u := range slices.Sorted(slices.Values(urls)) {
			fmt.Println("  ", u)
		}
	}
}

// overview is the provisioned flows-overview dashboard's queries as Grafana sends them on its
// first load (variables at All, last 1 h): the query variables' and each panel's, by name.
type overview struct {
	variables, panels []overviewRequest
}

type overviewRequest struct {
	name   string
	bodies []string // one QueryData with these queries
}

func overviewQueries(t testing.TB) overview {
	t.Helper()
	dsUID := provFlowsDatasource(t).UID
	d, ok := provDashboards(t)["flows-overview"]
	if !ok {
		t.Fatal("no flows-overview dashboard")
	}
	vars := provFixedVars(d, dsUID)
	var o overview
	for _, v := range d.Templating.List {
		switch v.Type {
		case "query":
			vars.multi[v.Name] = nil // All: no filter
			var q map[string]any
			_ = json.Unmarshal(v.Query, &q)
			q["refId"] = "variable-" + v.Name
			body, _ := provParse(t, "variable", vars.interpolate(q).(map[string]any))
			o.variables = append(o.variables, overviewRequest{name: "variable " + v.Name, bodies: []string{body}})
		}
	}
	for _, p := range d.panels() {
		r := overviewRequest{name: "panel " + p.Title}
		for _, raw := range p.Targets {
			var target map[string]any
			_ = json.Unmarshal(raw, &target)
			body, _ := provParse(t, "target", vars.interpolate(target).(map[string]any))
			r.bodies = append(r.bodies, body)
		}
		o.panels = append(o.panels, r)
	}
	return o
}

// ask runs one request's queries in one QueryData over the last hour; responses are keyed
// "name/refId". A failed QueryData is an error response under "name".
func (r overviewRequest) ask(ds *Datasource) map[string]backend.DataResponse {
	req := &backend.QueryDataRequest{}
	tr := backend.TimeRange{From: testNow.Add(-time.Hour), To: testNow}
	for _, body := range r.bodies {
		var probe struct{ RefID, QueryType string }
		_ = json.Unmarshal([]byte(body), &probe)
		req.Queries = append(req.Queries, backend.DataQuery{RefID: probe.RefID, QueryType: probe.QueryType, JSON: json.RawMessage(body),
			TimeRange: tr, Interval: time.Minute, MaxDataPoints: 1000})
	}
	out := map[string]backend.DataResponse{}
	resp, err := ds.QueryData(context.Background(), req)
	if err != nil {
		out[r.name] = backend.DataResponse{Error: err}
		return out
	}
	for ref, res := range resp.Responses {
		out[r.name+"/"+ref] = res
	}
	return out
}

// load loads the dashboard on ds as Grafana does: the variables at once, then, when they have
// answered, every panel at once.
func (o overview) load(ds *Datasource) map[string]backend.DataResponse {
	var mu sync.Mutex
	out := map[string]backend.DataResponse{}
	run := func(rs []overviewRequest) {
		var wg sync.WaitGroup
		for _, r := range rs {
			wg.Go(func() {
				got := r.ask(ds)
				mu.Lock()
				maps.Copy(out, got)
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	run(o.variables)
	run(o.panels)
	return out
}

// BenchmarkFlowsTable100k measures the peak Go heap of reading a 100,000-row flows table
// (4000 flows/min, last 40 minutes, row cap 100,000) against the size of the frame it returns
// (its Arrow encoding, what goes to Grafana). The simulator runs in a process of its own, so
// that the heap measured is the plugin's; its window cache is warmed by a first identical
// query. It also prints what the frame itself holds in the Go heap (after a collection).
//
//	go test -run '^$' -bench BenchmarkFlowsTable100k -benchtime 1x ./pkg/plugin
func BenchmarkFlowsTable100k(b *testing.B) {
	url := simulatorProcess(b, simProcessConfig{FlowsPerMinute: 4000, History: 2 * time.Hour, Seed: 42, Token: testToken, NowUnixMs: testNow.UnixMilli()})
	ds := newTestDatasource(b, url, testToken, map[string]any{"rowCap": 100_000, "timeout": 600}, func() time.Time { return testNow })
	tr := backend.TimeRange{From: testNow.Add(-40 * time.Minute), To: testNow}
	q := backend.DataQuery{RefID: "A", QueryType: "flows", TimeRange: tr, Interval: time.Minute, MaxDataPoints: 1000,
		JSON: json.RawMessage(`{"queryType":"flows","format":"table","limit":100000}`)}
	read := func() *data.Frame {
		resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{q}})
		if err != nil || resp.Responses["A"].Error != nil {
			b.Fatalf("%v %v", err, resp.Responses["A"].Error)
		}
		return resp.Responses["A"].Frames[0]
	}
	read() // warms the simulator's window cache
	for range b.N {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		base := m.HeapAlloc
		peak := startPeak()
		start := time.Now()
		f := read()
		d := time.Since(start)
		p := peak()
		used := p - min(p, base)
		runtime.GC()
		runtime.ReadMemStats(&m)
		held := m.HeapAlloc - min(m.HeapAlloc, base)
		arrow, err := f.MarshalArrow()
		if err != nil {
			b.Fatal(err)
		}
		fmt.Printf("flows table: %d rows in %v; frame %.1f MB (Arrow), %.1f MB in the Go heap; peak heap %.1f MB above the %.1f MB before the query: %.1f× the frame\n",
			f.Rows(), d.Round(time.Millisecond), float64(len(arrow))/1e6, float64(held)/1e6, float64(used)/1e6, float64(base)/1e6, float64(used)/float64(len(arrow)))
		runtime.KeepAlive(f)
	}
}
