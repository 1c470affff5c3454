package plugin

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// noLeak fails when s is not valid UTF-8 or holds the token in a form a user could read.
func noLeak(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%s not UTF-8: %q", what, s)
	}
	for _, leak := range leaks {
		if strings.Contains(s, leak) {
			t.Fatalf("%s holds the token: %q", what, s)
		}
	}
}

// What a user sees of the editor's resource calls, whatever they send: a status, a body that
// is valid UTF-8 and free of the token; never a panic.
func FuzzResourceRequests(f *testing.F) {
	e := newEnv(f, simulator.Config{})
	ds := e.datasource(f, nil)
	f.Add("GET", "tag-values", "key=src_ip&limit=5", []byte(nil))
	f.Add("GET", "tag-values", "key=port&from=abc", []byte(nil))
	f.Add("POST", "preview", "", []byte(`{"query":{"queryType":"flows","format":"timeseries"},"from":0,"to":9000000000000000,"intervalMs":1}`))
	f.Add("POST", "preview", "", []byte(nil))
	f.Add("POST", "preview", "", []byte("{\"query\":{\"queryType\":\"\xff\"}}"))
	f.Add("POST", "tag-values", "key="+url.QueryEscape(testToken), []byte(testToken))
	f.Fuzz(func(t *testing.T, method, path, rawQuery string, body []byte) {
		if method != "GET" && method != "POST" {
			method = "GET"
		}
		var status int
		var out []byte
		err := ds.CallResource(t.Context(), &backend.CallResourceRequest{Method: method, Path: path,
			URL: "/api/datasources/uid/flows-test/resources/" + path + "?" + rawQuery, Body: body},
			backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error {
				status, out = r.Status, append(out, r.Body...)
				return nil
			}))
		if err != nil {
			return // the SDK's adapter refused the request itself
		}
		if status == 0 || status >= 500 && status != 502 {
			t.Fatalf("%s %s?%s: status %d %s", method, path, rawQuery, status, out)
		}
		noLeak(t, "resource answer", string(out))
	})
}

// Whatever a query holds (and a query can hold anything: dashboards are JSON files), every
// string of its answer is valid UTF-8 and free of the token, and it never panics.
func FuzzQueryAnswers(f *testing.F) {
	e := newEnv(f, simulator.Config{})
	ds := e.datasource(f, map[string]any{"rowCap": 2000})
	f.Add(`{"queryType":"flows","format":"timeseries","groupBy":"pair","topN":3}`, int64(-3600_000), int64(0))
	f.Add(`{"queryType":"topTalkers","srcIp":"`+testToken+`"}`, int64(-9e15), int64(9e15))
	f.Add("{\"queryType\":\"protocols\",\"port\":\"\xff\"}", int64(0), int64(-1))
	f.Add(`{"queryType":"variableValues","variable":"dstIp"}`, int64(-86400_000), int64(60_000))
	f.Fuzz(func(t *testing.T, js string, fromMs, toMs int64) {
		var probe struct {
			QueryType string `json:"queryType"`
		}
		_ = json.Unmarshal([]byte(js), &probe)
		tr := backend.TimeRange{From: testNow.Add(time.Duration(fromMs%(1<<40)) * time.Millisecond), To: testNow.Add(time.Duration(toMs%(1<<40)) * time.Millisecond)}
		resp, err := ds.QueryData(t.Context(), &backend.QueryDataRequest{Queries: []backend.DataQuery{
			{RefID: "A", QueryType: probe.QueryType, JSON: []byte(js), TimeRange: tr, Interval: time.Minute, MaxDataPoints: 1000}}})
		if err != nil {
			t.Fatal(err)
		}
		res := resp.Responses["A"]
		if res.Error != nil && res.ErrorSource == backend.ErrorSourcePlugin {
			t.Fatalf("plugin error (a bug) for %s: %v", js, res.Error)
		}
		for _, s := range shownStrings(res) {
			noLeak(t, "query answer", s)
		}
	})
}
