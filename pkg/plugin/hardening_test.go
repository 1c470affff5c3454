package plugin

// Tests for the defects of issue 9 that live in the plugin and the engine.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/internal/gauge"
	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// Item 1, over the wire: a non-UTF-8 error body fails its queries, each with its message; the
// other queries of the request and Save & test still answer.
func TestNonUTF8ErrorDoesNotFailTheRequestOverGRPC(t *testing.T) {
	sim := simulator.New(simulator.Config{Token: testToken, Log: io.Discard,
		Fault: &simulator.Fault{Status: 502, NonUTF8: true, Paths: []string{simulator.PathProtocols}}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	p, err := grpcPlugin()
	if err != nil {
		t.Fatal(err)
	}
	pc := backend.PluginContext{OrgID: 1, PluginID: "flowlens-flows-datasource", DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
		ID: 11, UID: "utf8", Name: "UTF-8", URL: srv.URL, JSONData: []byte(`{}`),
		DecryptedSecureJSONData: map[string]string{"apiToken": testToken}, Updated: time.Now()}}
	now := time.Now()
	tr := backend.TimeRange{From: now.Add(-time.Hour), To: now}
	resp, err := p.Client.QueryData(t.Context(), &backend.QueryDataRequest{PluginContext: pc, Queries: []backend.DataQuery{
		{RefID: "protocols", QueryType: "protocols", JSON: []byte(`{"queryType":"protocols"}`), TimeRange: tr, Interval: time.Minute},
		{RefID: "talkers", QueryType: "topTalkers", JSON: []byte(`{"queryType":"topTalkers","limit":3}`), TimeRange: tr, Interval: time.Minute},
	}})
	if err != nil {
		t.Fatalf("the whole request failed: %v", err)
	}
	bad := resp.Responses["protocols"]
	if bad.Error == nil || bad.ErrorSource != backend.ErrorSourceDownstream || !strings.Contains(bad.Error.Error(), "the Flows API failed (502 Bad Gateway)") {
		t.Fatalf("protocols: %v (%s)", bad.Error, bad.ErrorSource)
	}
	if good := resp.Responses["talkers"]; good.Error != nil || len(good.Frames) == 0 {
		t.Fatalf("talkers lost its answer: %v", good.Error)
	}
	sim.SetFault(&simulator.Fault{Status: 500, NonUTF8: true})
	pc.DataSourceInstanceSettings.Updated = time.Now().Add(time.Second)
	health, err := p.Client.CheckHealth(t.Context(), &backend.CheckHealthRequest{PluginContext: pc})
	if err != nil || health.Status != backend.HealthStatusError || !strings.Contains(health.Message, "500 Internal Server Error") {
		t.Fatalf("health: %v %+v", err, health)
	}
}

// Item 3 and 14 at the plugin: a server that ignores offset gives the records read with a
// warning saying so; a transient 503 is retried and the retry is in ExecutedQueryString.
func TestServerMisbehaviourIsSaidOnTheAnswer(t *testing.T) {
	e := newEnv(t, simulator.Config{Fault: &simulator.Fault{IgnoreOffset: true}})
	ds := e.datasource(t, map[string]any{"pageSize": 100})
	frame := one(t, ds, lastHour(), `{"queryType":"flows","limit":1000}`)[0]
	if frame.Rows() != 100 || !strings.Contains(strings.Join(notices(frame), "|"), "the Flows API does not page: asked for offset 100") {
		t.Fatalf("%d rows, notices %q", frame.Rows(), notices(frame))
	}
	e.sim.SetFault(&simulator.Fault{Status: 503, Count: 1})
	// A later query: the first page just read is kept for 5 s (pkg/sources/flowsapi/share.go).
	e.clock.ms.Add(5000)
	frame = one(t, ds, lastHour(), `{"queryType":"flows","limit":10}`)[0]
	if frame.Rows() != 10 || !strings.Contains(frame.Meta.ExecutedQueryString, "retried /api/v1/flows after 503 Service Unavailable") {
		t.Fatalf("%d rows, executed %q", frame.Rows(), frame.Meta.ExecutedQueryString)
	}
}

// Item 2: neither an absurd range nor absurd records make more points than the cap, or panic.
func TestSeriesGridIsBounded(t *testing.T) {
	e := newEnv(t, simulator.Config{Fault: &simulator.Fault{AbsurdTimes: true}})
	ds := e.datasource(t, nil)
	for _, tr := range []backend.TimeRange{lastHour(), {From: time.UnixMilli(-9e15), To: time.UnixMilli(9e15)}, {From: time.UnixMilli(1<<62 - 1), To: time.UnixMilli(-(1 << 62))}} {
		res := query(t, ds, tr, nil, `{"queryType":"flows","format":"timeseries","groupBy":"src","topN":20,"other":true}`)["A"]
		if res.Error != nil {
			if res.ErrorSource != backend.ErrorSourceDownstream {
				t.Fatalf("%v: %v (%s)", tr, res.Error, res.ErrorSource)
			}
			continue
		}
		points := 0
		for _, f := range res.Frames {
			points += f.Rows() * max(len(f.Fields)-1, 0)
		}
		if points > engine.MaxSeriesPoints {
			t.Fatalf("%v: %d points", tr, points)
		}
		if tr == lastHour() && !strings.Contains(strings.Join(notices(res.Frames[0]), "|"), "records were left out: their time window lies outside") {
			t.Fatalf("absurd records not said: %q", notices(res.Frames[0]))
		}
	}
	recs := []engine.Record{{ID: "a", StartMs: 9e15, Bytes: 1}, {ID: "b", StartMs: -9e15, Bytes: 1}, {ID: "c", StartMs: testNow.Add(-30 * time.Minute).UnixMilli(), Bytes: 5}}
	res := engine.BuildSeries(recs, engine.SeriesSpec{Metric: "bytes", Unit: "total", GroupBy: engine.GroupNone, From: testNow.Add(-time.Hour), To: testNow, Width: time.Minute, Window: time.Minute})
	sum := 0.0
	for _, v := range res.Series[0].Values {
		sum += v
	}
	if res.Dropped != 2 || sum != 5 || res.Buckets > 62 {
		t.Fatalf("dropped %d, sum %v, %d buckets", res.Dropped, sum, res.Buckets)
	}
}

// Item 16: a range without records is no data: no series of zeros, no Other, so that an alert
// rule reaches No Data.
func TestEmptyRangeIsNoData(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	past := backend.TimeRange{From: testNow.Add(-30 * 24 * time.Hour), To: testNow.Add(-29 * 24 * time.Hour)}
	for _, q := range []string{
		`{"queryType":"flows","format":"timeseries","groupBy":"pair","topN":5,"other":false}`,
		`{"queryType":"flows","format":"timeseries","groupBy":"src","topN":5,"other":true}`,
		`{"queryType":"flows","format":"timeseries","groupBy":"none"}`,
	} {
		res := query(t, ds, past, map[string]string{backend.FromAlertHeaderName: "true"}, q)["A"]
		if res.Error != nil {
			t.Fatal(res.Error)
		}
		for _, f := range res.Frames {
			if len(f.Fields) > 0 {
				t.Fatalf("%s: a frame with fields %v over an empty range", q, f.Fields[len(f.Fields)-1].Labels)
			}
		}
	}
}

// Item 17: variable values in an alert rule get the plugin's own refusal.
func TestVariableValuesRefusedInAlerts(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	res := query(t, ds, lastHour(), map[string]string{backend.FromAlertHeaderName: "true"}, `{"queryType":"variableValues","variable":"srcIp"}`)["A"]
	if res.Error == nil || res.ErrorSource != backend.ErrorSourceDownstream || res.Status != backend.StatusBadRequest ||
		!strings.Contains(res.Error.Error(), "queryType: 'variableValues' cannot be used in an alert rule") {
		t.Fatalf("got %v (%s, %d)", res.Error, res.ErrorSource, res.Status)
	}
}

// Item 10: POST preview without a body is a 400 that says what to send.
func TestPreviewWithoutBody(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	status, body := callResource(t, ds, "POST", "preview", nil)
	if status != 400 || !strings.Contains(string(body), "body: is empty: send {") {
		t.Fatalf("%d %s", status, body)
	}
}

// Item 6: the row cap holds for the query, whatever the number of filter combinations.
func TestRowCapIsPerQuery(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	g := &gauge.Gauge{}
	srv := httptest.NewServer(g.Wrap(e.sim))
	defer srv.Close()
	ds := newTestDatasource(t, srv.URL, testToken, map[string]any{"rowCap": 200, "pageSize": 100}, e.clock.Now)
	var frame = one(t, ds, lastHour(), `{"queryType":"flows","limit":5000,"port":[80,443,53,22,123,8080,25,3389]}`)[0]
	if frame.Rows() > 200 {
		t.Fatalf("%d rows with a row cap of 200", frame.Rows())
	}
	// At most the cap's pages (2) plus one short or empty page per combination.
	if n := g.Total.Load(); n > 2+8 {
		t.Fatalf("%d requests for a row cap of 200 at 100 a page", n)
	}
	if !strings.Contains(strings.Join(notices(frame), "|"), "row cap") {
		t.Fatalf("no capped notice: %q", notices(frame))
	}
}

// Item 9: Dispose closes the idle connections of the transport under the SDK's client, so the
// goroutines of replaced instances go away.
func TestDisposeClosesIdleConnections(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	runtime.GC()
	before := runtime.NumGoroutine()
	for range 5 {
		inst, err := New(testSources)(context.Background(), backend.DataSourceInstanceSettings{UID: "d", URL: e.srv.URL,
			JSONData: []byte(`{"maxConcurrency":4}`), DecryptedSecureJSONData: map[string]string{"apiToken": testToken}})
		if err != nil {
			t.Fatal(err)
		}
		ds := inst.(*Datasource)
		ds.now = e.clock.Now
		query(t, ds, lastHour(), nil, `{"queryType":"flows","format":"timeseries"}`, `{"queryType":"flows","limit":5}`, `{"queryType":"protocols"}`)
		ds.Dispose()
	}
	n := runtime.NumGoroutine()
	for i := 0; i < 300 && n > before+2; i++ {
		time.Sleep(100 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	if n > before+2 {
		t.Fatalf("%d goroutines after five disposed instances, %d before", n, before)
	}
}

// The load test (not timed): 200 concurrent mixed queries against a simulator with latency;
// every one answered, never more requests in flight upstream than maxConcurrency, and the
// goroutines back to where they started once the instance is disposed.
func TestLoad200ConcurrentQueries(t *testing.T) {
	e := newEnv(t, simulator.Config{Latency: 5 * time.Millisecond})
	g := &gauge.Gauge{}
	srv := httptest.NewServer(g.Wrap(e.sim))
	defer srv.Close()
	runtime.GC()
	before := runtime.NumGoroutine()
	inst, err := New(testSources)(context.Background(), backend.DataSourceInstanceSettings{UID: "load", URL: srv.URL,
		JSONData: []byte(`{"maxConcurrency":3,"pageSize":500}`), DecryptedSecureJSONData: map[string]string{"apiToken": testToken}})
	if err != nil {
		t.Fatal(err)
	}
	ds := inst.(*Datasource)
	ds.now = e.clock.Now
	kinds := []string{
		`{"queryType":"topTalkers","dim":"src","limit":%d}`,
		`{"queryType":"protocols","port":[%d,443]}`,
		`{"queryType":"flows","limit":%d,"sort":"bytes"}`,
		`{"queryType":"flows","format":"timeseries","groupBy":"protocol","topN":%d}`,
		`{"queryType":"variableValues","variable":"dstIp","limit":%d}`,
	}
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for i := range 200 {
		wg.Go(func() {
			// Ranges and limits vary, so that most requests are distinct (not coalesced).
			tr := backend.TimeRange{From: testNow.Add(-time.Duration(30+i%60) * time.Minute), To: testNow.Add(-time.Duration(i%7) * time.Minute)}
			js := fmt.Sprintf(kinds[i%len(kinds)], 1+i%50)
			var probe struct {
				QueryType string `json:"queryType"`
			}
			_ = json.Unmarshal([]byte(js), &probe)
			resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
				{RefID: "A", QueryType: probe.QueryType, JSON: []byte(js), TimeRange: tr, Interval: time.Minute, MaxDataPoints: 1000}}})
			if err != nil {
				errs <- err.Error()
				return
			}
			if r, ok := resp.Responses["A"]; !ok || r.Error != nil {
				errs <- fmt.Sprintf("%s: %v", js, r.Error)
			}
		})
	}
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
	if peak := g.Peak.Load(); peak > 3 || peak < 1 {
		t.Fatalf("%d requests in flight at once, maxConcurrency 3", peak)
	}
	ds.Dispose()
	srv.CloseClientConnections()
	n := runtime.NumGoroutine()
	for i := 0; i < 300 && n > before+2; i++ {
		time.Sleep(100 * time.Millisecond)
		n = runtime.NumGoroutine()
	}
	if n > before+2 {
		t.Fatalf("%d goroutines after Dispose, %d before", n, before)
	}
	t.Logf("%d requests reached the simulator, at most %d at once", g.Total.Load(), g.Peak.Load())
}
