package plugin

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// matrixQueries are the five query types, as a dashboard saves them; "bad" is a query that is
// wrong whatever the server does, to show that each query keeps its own answer.
var matrixQueries = map[string]string{
	"talkers":   `{"queryType":"topTalkers","dim":"pair","limit":10}`,
	"protocols": `{"queryType":"protocols"}`,
	"table":     `{"queryType":"flows","limit":300,"sort":"bytes"}`,
	"series":    `{"queryType":"flows","format":"timeseries","groupBy":"protocol","topN":3,"unit":"total"}`,
	"variable":  `{"queryType":"variableValues","variable":"srcIp","limit":50}`,
	"bad":       `{"queryType":"topTalkers","srcIp":"10.0.0.300"}`,
}

// faultCase is one server fault. want, when set, is what every query's error must say (the
// fault makes every read fail; "a|b": either); succeed says every query must answer (the plugin works around
// the fault, e.g. by retrying).
type faultCase struct {
	name    string
	fault   *simulator.Fault
	latency time.Duration
	want    string
	succeed bool
}

func intp(n int) *int { return &n }

var faultCases = []faultCase{
	{name: "none", succeed: true},
	{name: "500 JSON", fault: &simulator.Fault{Status: 500, Body: `{"error":"index unavailable"}`}, want: "500 Internal Server Error"},
	{name: "500 HTML", fault: &simulator.Fault{Status: 500, Body: "<html><body><h1>Oops</h1></body></html>"}, want: "<html><body><h1>Oops"},
	{name: "502 once", fault: &simulator.Fault{Status: 502, Count: 1}, succeed: true},
	{name: "503 once", fault: &simulator.Fault{Status: 503, Count: 1}, succeed: true},
	{name: "504 once", fault: &simulator.Fault{Status: 504, Count: 1}, succeed: true},
	{name: "502 always", fault: &simulator.Fault{Status: 502}, want: "502 Bad Gateway"},
	{name: "503 always", fault: &simulator.Fault{Status: 503}, want: "503 Service Unavailable"},
	{name: "504 always", fault: &simulator.Fault{Status: 504}, want: "504 Gateway Timeout"},
	{name: "429 once, Retry-After 1s", fault: &simulator.Fault{Status: 429, RetryAfter: time.Second, Count: 1}, succeed: true},
	{name: "429 always", fault: &simulator.Fault{Status: 429}, want: "rate limited"},
	{name: "401", fault: &simulator.Fault{Status: 401, Body: `{"error":"invalid token"}`}, want: "API token rejected"},
	{name: "403", fault: &simulator.Fault{Status: 403, Body: `{"error":"forbidden"}`}, want: "API token rejected"},
	{name: "404", fault: &simulator.Fault{Status: 404}, want: "not found"},
	{name: "400", fault: &simulator.Fault{Status: 400, Body: `{"error":"from: bad"}`}, want: "from: bad"},
	{name: "malformed 200", fault: &simulator.Fault{Malformed: true}, want: "not the expected JSON"},
	{name: "malformed non-UTF-8 200", fault: &simulator.Fault{Malformed: true, NonUTF8: true}, want: "not the expected JSON"},
	{name: "non-UTF-8 error", fault: &simulator.Fault{Status: 500, NonUTF8: true}, want: "The API said: xxxx"},
	{name: "non-UTF-8 values", fault: &simulator.Fault{NonUTF8: true}},
	{name: "echo raw 500", fault: &simulator.Fault{Status: 500, EchoToken: "raw"}, want: "[redacted]"},
	{name: "echo url 500", fault: &simulator.Fault{Status: 500, EchoToken: "url"}, want: "[redacted]"},
	{name: "echo base64 500", fault: &simulator.Fault{Status: 500, EchoToken: "base64"}, want: "[redacted]"},
	{name: "echo raw 401", fault: &simulator.Fault{EchoToken: "raw"}, want: "not shown: it repeats the credentials"},
	{name: "echo base64 403", fault: &simulator.Fault{Status: 403, EchoToken: "base64"}, want: "not shown: it repeats the credentials"},
	{name: "echo across the cut 502", fault: &simulator.Fault{Status: 502, EchoToken: "raw", EchoAt: 185}, want: "502 Bad Gateway"},
	{name: "echo url across the cut 500", fault: &simulator.Fault{Status: 500, EchoToken: "url", EchoAt: 180}, want: "500 Internal"},
	{name: "redirect to another origin", fault: &simulator.Fault{RedirectTo: "http://127.0.0.1:9"}, want: "another host or port"},
	{name: "redirect within the origin", fault: &simulator.Fault{RedirectTo: simulator.MovedPrefix}, succeed: true},
	{name: "ignores offset", fault: &simulator.Fault{IgnoreOffset: true}},
	{name: "ignores offset, huge total", fault: &simulator.Fault{IgnoreOffset: true, Total: intp(1_000_000_000)}},
	{name: "huge total", fault: &simulator.Fault{Total: intp(1_000_000_000)}},
	{name: "too small total", fault: &simulator.Fault{Total: intp(3)}},
	{name: "negative total", fault: &simulator.Fault{Total: intp(-1800)}},
	{name: "absurd times", fault: &simulator.Fault{AbsurdTimes: true}},
	{name: "null ids", fault: &simulator.Fault{NullIDs: true}, succeed: true},
	{name: "null ids, ignores offset", fault: &simulator.Fault{NullIDs: true, IgnoreOffset: true}},
	{name: "long strings 100", fault: &simulator.Fault{LongStrings: 100}, succeed: true},
	// Every page passes the query budget, and so does the range's count, which is asked at the
	// page size to share the first page (pkg/sources/flowsapi/share.go): without a count, the
	// look-back planner answers the queries it can from the aggregate endpoints, whose rows stay
	// small; those answers must equal the reference. The rest fail.
	{name: "long strings 10 kB", fault: &simulator.Fault{LongStrings: 10_000}},
	{name: "padded 256 kB", fault: &simulator.Fault{PadBytes: 256 << 10}, succeed: true},
	{name: "padded 64 MB", fault: &simulator.Fault{PadBytes: 64 << 20}, want: "exceed 8 MB"},
	// A query that reuses pages another query read (coalesced, or cached for a closed range)
	// is not charged for them: they are in memory once. So some queries answer, some fail.
	{name: "gzip 1 MB a page", fault: &simulator.Fault{GzipBomb: 1 << 20}},
	{name: "gzip bomb 64 MB", fault: &simulator.Fault{GzipBomb: 64 << 20}, want: "exceed 8 MB"},
	{name: "slower than the timeout", latency: 5 * time.Second, want: "before the timeout"},
	{name: "only /top-talkers fails", fault: &simulator.Fault{Status: 500, Paths: []string{simulator.PathTopTalkers}}, succeed: true},
	{name: "one malformed page", fault: &simulator.Fault{Malformed: true, Count: 1}},
	{name: "/flows fails twice", fault: &simulator.Fault{Status: 500, Count: 2, Paths: []string{simulator.PathFlows}}},
}

// leaks are the forms of the test token no answer may hold.
var leaks = []string{testToken, url.QueryEscape(testToken), base64.StdEncoding.EncodeToString([]byte("Bearer " + testToken))[12:28]}

// shownStrings are every string of an answer a user can see.
func shownStrings(res backend.DataResponse) []string {
	var out []string
	if res.Error != nil {
		out = append(out, res.Error.Error())
	}
	for _, f := range res.Frames {
		out = append(out, f.Name)
		if f.Meta != nil {
			out = append(out, f.Meta.ExecutedQueryString)
			for _, n := range f.Meta.Notices {
				out = append(out, n.Text)
			}
		}
		for _, field := range f.Fields {
			out = append(out, field.Name, field.Labels.String())
			for i := range field.Len() {
				switch v := field.At(i).(type) {
				case string:
					out = append(out, v)
				case *string:
					if v != nil {
						out = append(out, *v)
					}
				}
			}
		}
	}
	return out
}

// signature sums an answer's numbers and counts its rows: equal signatures mean the same
// traffic was counted, whatever the text values.
func signature(frames data.Frames) (rows int, sum float64) {
	for _, f := range frames {
		rows += f.Rows()
		for _, field := range f.Fields {
			for i := range field.Len() {
				switch v := field.At(i).(type) {
				case float64:
					sum += v
				case int64:
					sum += float64(v)
				case *float64:
					if v != nil {
						sum += *v
					}
				case *int64:
					if v != nil {
						sum += float64(*v)
					}
				}
			}
		}
	}
	return rows, sum
}

func hasWarning(frames data.Frames) bool {
	for _, f := range frames {
		if f.Meta != nil {
			for _, n := range f.Meta.Notices {
				if n.Severity == data.NoticeSeverityWarning {
					return true
				}
			}
		}
	}
	return false
}

// Every server fault against every query type and the health check, over gRPC as Grafana calls
// the plugin (a string gRPC cannot send fails the whole request there, and only there): each
// query gets a clear downstream error naming what happened, or the right answer, or an answer
// with a warning; never a silently partial one; one query's fault never takes another's answer;
// no secret in any form; no goroutine left once the instances are disposed; memory bounded.
func TestFaultMatrixOverGRPC(t *testing.T) {
	if len(faultCases) < 40 {
		t.Fatalf("%d fault cases, the matrix needs at least 40", len(faultCases))
	}
	p, err := grpcPlugin()
	if err != nil {
		t.Fatal(err)
	}
	simNow := time.Now().UTC()
	// A range that ended ten minutes before the simulator's clock: read from /flows, page by
	// page, the same for every case.
	tr := backend.TimeRange{From: simNow.Add(-70 * time.Minute), To: simNow.Add(-10 * time.Minute)}
	updated := time.Now()
	instance := func(serverURL string, jsonData string) backend.PluginContext {
		updated = updated.Add(time.Second) // a new instance; Grafana's instance manager disposes the last
		return backend.PluginContext{OrgID: 1, PluginID: "flowlens-flows-datasource",
			DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
				ID: 9, UID: "faults", Name: "Faults", Type: "flowlens-flows-datasource", URL: serverURL,
				JSONData:                []byte(jsonData),
				DecryptedSecureJSONData: map[string]string{"apiToken": testToken},
				Updated:                 updated,
			}}
	}
	// The timeout is generous, so that a loaded machine (CI on 2 shared cores) never turns a
	// fault the plugin should survive into a timeout; only the slow-server case gets a short
	// one, below its latency, where being slower only makes the timeout surer.
	settings := func(c faultCase) string {
		timeout := 120
		if c.latency > 0 {
			timeout = 2
		}
		return fmt.Sprintf(`{"pageSize":200,"timeout":%d,"queryBudgetMB":8,"dataSourceBudgetMB":32}`, timeout)
	}
	run := func(t *testing.T, c faultCase) (map[string]backend.DataResponse, *backend.CheckHealthResult) {
		t.Helper()
		sim := simulator.New(simulator.Config{Token: testToken, Seed: 42, Log: io.Discard, Now: func() time.Time { return simNow },
			Fault: c.fault, Latency: c.latency})
		srv := httptest.NewServer(sim)
		defer srv.Close()
		pc := instance(srv.URL, settings(c))
		req := &backend.QueryDataRequest{PluginContext: pc}
		for ref, js := range matrixQueries {
			var probe struct {
				QueryType string `json:"queryType"`
			}
			_ = json.Unmarshal([]byte(js), &probe)
			req.Queries = append(req.Queries, backend.DataQuery{RefID: ref, QueryType: probe.QueryType, JSON: []byte(js),
				TimeRange: tr, Interval: time.Minute, MaxDataPoints: 1000})
		}
		resp, err := p.Client.QueryData(t.Context(), req)
		if err != nil {
			t.Fatalf("the whole request failed: %v", err)
		}
		health, err := p.Client.CheckHealth(t.Context(), &backend.CheckHealthRequest{PluginContext: pc})
		if err != nil {
			t.Fatalf("health failed over gRPC: %v", err)
		}
		return resp.Responses, health
	}

	// Memory: the heap in use, sampled while the cases run.
	var peak atomic.Uint64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	})

	reference, _ := run(t, faultCases[0])
	// settle replaces the instance (which disposes the last one) and waits, up to a minute,
	// for the goroutines to drop to target; what stays is the gRPC server's.
	settle := func(target int) int {
		_, _ = p.Client.CheckHealth(t.Context(), &backend.CheckHealthRequest{PluginContext: instance("", `{}`)})
		n := runtime.NumGoroutine()
		for i := 0; i < 600 && n > target; i++ {
			time.Sleep(100 * time.Millisecond)
			n = runtime.NumGoroutine()
		}
		return n
	}
	settle(math.MaxInt) // dispose the reference case's instance
	time.Sleep(time.Second)
	baseline := runtime.NumGoroutine()

	for _, c := range faultCases {
		t.Run(c.name, func(t *testing.T) {
			responses, health := run(t, c)
			for ref := range matrixQueries {
				res, ok := responses[ref]
				if !ok {
					t.Fatalf("%s: no answer", ref)
				}
				for _, s := range append(shownStrings(res), health.Message, string(health.JSONDetails)) {
					if !utf8.ValidString(s) {
						t.Fatalf("%s: not UTF-8: %q", ref, s)
					}
					for _, leak := range leaks {
						if strings.Contains(s, leak) {
							t.Fatalf("%s: the token leaks in %q", ref, s)
						}
					}
				}
				if ref == "bad" {
					if res.Error == nil || !strings.Contains(res.Error.Error(), "srcIp: '10.0.0.300'") || res.ErrorSource != backend.ErrorSourceDownstream {
						t.Fatalf("the bad query lost its own answer: %v (%s)", res.Error, res.ErrorSource)
					}
					continue
				}
				if res.Error != nil {
					msg := res.Error.Error()
					if c.succeed || res.ErrorSource != backend.ErrorSourceDownstream || len(msg) < 20 || (c.want != "" && !containsAny(msg, strings.Split(c.want, "|"))) {
						t.Fatalf("%s: error %q (source %q), want %q", ref, msg, res.ErrorSource, c.want)
					}
					continue
				}
				if c.want != "" {
					t.Fatalf("%s: answered despite the fault", ref)
				}
				wantRows, wantSum := signature(reference[ref].Frames)
				rows, sum := signature(res.Frames)
				same := rows == wantRows && math.Abs(sum-wantSum) <= 1e-9*math.Max(1, math.Abs(wantSum))
				if !same && (c.succeed || !hasWarning(res.Frames)) {
					t.Fatalf("%s: silently different: %d rows, sum %v; want %d rows, sum %v", ref, rows, sum, wantRows, wantSum)
				}
			}
			errorFault := c.latency > 0 || c.fault != nil && (c.fault.Status != 0 || c.fault.Malformed || c.fault.EchoToken != "" || c.fault.RedirectTo != "")
			if c.want != "" && errorFault && health.Status != backend.HealthStatusError {
				t.Fatalf("health OK despite the fault: %s", health.Message)
			}
			if c.succeed && health.Status != backend.HealthStatusOk {
				t.Fatalf("health: %s", health.Message)
			}
		})
	}

	if n := settle(baseline + 2); n > baseline+2 {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after the cases, %d before:\n%s", n, baseline, buf[:runtime.Stack(buf, true)])
	}
	close(stop)
	sampler.Wait()
	// Two instances' budgets (the one disposed may still hold its last answers) and the
	// simulator's own answers; a leak of the size (gigabytes) would pass it by far.
	if got := peak.Load(); got > 512<<20 {
		t.Fatalf("peak heap %d MB", got>>20)
	}
	t.Logf("peak heap in use: %d MB, goroutines %d", peak.Load()>>20, baseline)
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
