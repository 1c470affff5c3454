package plugin

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// One bad query never fails the others, and each error names the field and the value.
func TestInvalidQueriesFailAloneWithFieldAndValue(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	res := query(t, ds, lastHour(), nil,
		`{"refId":"ok","queryType":"topTalkers"}`,
		`{"refId":"ip","queryType":"topTalkers","srcIp":"10.0.0.300"}`,
		`{"refId":"port","queryType":"flows","port":70000}`,
		`{"refId":"proto","queryType":"protocols","protocol":"tcpx"}`,
		`{"refId":"type","queryType":"bogus"}`,
		`{"refId":"var","queryType":"topTalkers","dstIp":"$host"}`,
		`{"refId":"limit","queryType":"topTalkers","limit":"${rows}"}`,
		`{"refId":"dim","queryType":"topTalkers","dim":"sideways"}`,
	)
	if r := res["ok"]; r.Error != nil || len(r.Frames) != 1 || r.Frames[0].Rows() == 0 {
		t.Fatalf("valid query: err %v, frames %v", r.Error, r.Frames)
	}
	want := map[string][]string{
		"ip":    {"srcIp", "'10.0.0.300'", "is not an IP address"},
		"port":  {"port", "'70000'", "0 to 65535"},
		"proto": {"protocol", "'tcpx'", "protocol name"},
		"type":  {"queryType", "'bogus'", "flows, topTalkers, protocols"},
		"var":   {"dstIp", "'$host'", "template variable $host", "not replaced"},
		"limit": {"limit", "'${rows}'", "template variable ${rows}"},
		"dim":   {"dim", "'sideways'", "src, dst, pair"},
	}
	for ref, parts := range want {
		r := res[ref]
		if r.Error == nil {
			t.Errorf("%s: no error", ref)
			continue
		}
		for _, p := range parts {
			if !strings.Contains(r.Error.Error(), p) {
				t.Errorf("%s: error %q lacks %q", ref, r.Error, p)
			}
		}
		if r.ErrorSource != backend.ErrorSourceDownstream || r.Status != backend.StatusBadRequest {
			t.Errorf("%s: source %q status %d, want downstream 400", ref, r.ErrorSource, r.Status)
		}
		if len(r.Frames) != 0 {
			t.Errorf("%s: frames alongside the error", ref)
		}
	}
}

func TestAPIFailuresAreDownstreamWithTheAPIsMessage(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	cases := []struct {
		name   string
		fault  simulator.Fault
		status backend.Status
		parts  []string
	}{
		{"server error with HTML body", simulator.Fault{Status: 502, Body: "<html><body>Bad gateway from nginx</body></html>"}, backend.StatusBadGateway,
			[]string{"502 Bad Gateway", "/api/v1/flows", "Bad gateway from nginx"}},
		{"rate limited", simulator.Fault{Status: 429, RetryAfter: 60e9}, backend.StatusTooManyRequests,
			[]string{"rate limited", "429", "retry after 1m0s"}},
		{"malformed JSON", simulator.Fault{Malformed: true}, backend.StatusBadGateway,
			[]string{"not the expected JSON", "/api/v1/flows"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.fault
			e.sim.SetFault(&f)
			defer e.sim.SetFault(nil)
			r := query(t, ds, lastHour(), nil, `{"queryType":"flows"}`)["A"]
			if r.Error == nil {
				t.Fatal("no error")
			}
			for _, p := range c.parts {
				if !strings.Contains(r.Error.Error(), p) {
					t.Errorf("error %q lacks %q", r.Error, p)
				}
			}
			if r.ErrorSource != backend.ErrorSourceDownstream || r.Status != c.status {
				t.Errorf("source %q status %d, want downstream %d", r.ErrorSource, r.Status, c.status)
			}
		})
	}
}

// A short Retry-After is honoured: the query succeeds on the next try.
func TestRetryAfterIsHonoured(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	e.sim.SetFault(&simulator.Fault{Status: 429, RetryAfter: 1e9, Count: 1})
	ds := e.datasource(t, nil)
	r := query(t, ds, lastHour(), nil, `{"queryType":"topTalkers"}`)["A"]
	if r.Error != nil || r.Frames[0].Rows() == 0 {
		t.Fatalf("expected success after one retry, got %v", r.Error)
	}
}

func TestFlowsTableIsRefusedInAlertRules(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	res := query(t, ds, lastHour(), map[string]string{backend.FromAlertHeaderName: "true"},
		`{"refId":"table","queryType":"flows"}`, `{"refId":"talkers","queryType":"topTalkers"}`)
	r := res["table"]
	if r.Error == nil || !strings.Contains(r.Error.Error(), "cannot be used in an alert rule") || !strings.Contains(r.Error.Error(), "Top talkers") {
		t.Fatalf("flows table in an alert: %v", r.Error)
	}
	if r.ErrorSource != backend.ErrorSourceDownstream {
		t.Fatalf("source %q", r.ErrorSource)
	}
	if res["talkers"].Error != nil {
		t.Fatalf("top talkers in an alert: %v", res["talkers"].Error)
	}
}

// The token must not leak into anything a user or a log sees: frames, notices, executed
// queries, errors and health messages, including when the server echoes it back.
func TestTokenNeverLeaks(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	var seen []string
	record := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, string(b))
	}
	queries := []string{
		`{"refId":"a","queryType":"topTalkers"}`, `{"refId":"b","queryType":"protocols","protocol":"tcp"}`,
		`{"refId":"c","queryType":"flows","limit":5}`, `{"refId":"d","queryType":"topTalkers","srcIp":"bad"}`,
	}
	for _, fault := range []*simulator.Fault{nil, {Status: 500, Body: "upstream said Authorization: Bearer " + testToken}, {Status: 401}} {
		e.sim.SetFault(fault)
		// Later loads: answers are kept for 5 s (pkg/sources/flowsapi/share.go).
		e.clock.ms.Add(5000)
		res := query(t, ds, lastHour(), nil, queries...)
		for _, r := range res {
			record(r)
			if r.Error != nil {
				seen = append(seen, r.Error.Error())
			}
		}
		h, _ := ds.CheckHealth(t.Context(), &backend.CheckHealthRequest{})
		record(h)
		seen = append(seen, string(h.JSONDetails))
	}
	e.sim.SetFault(nil)
	wrong := newTestDatasource(t, e.srv.URL, "wrong-"+testToken, nil, e.clock.Now)
	record(query(t, wrong, lastHour(), nil, queries...))
	h, _ := wrong.CheckHealth(t.Context(), &backend.CheckHealthRequest{})
	record(h)

	all := strings.Join(seen, "\n")
	if !strings.Contains(all, "[redacted]") || !strings.Contains(all, "API token rejected") {
		t.Fatal("the test did not exercise an echoed token and a rejected token")
	}
	if strings.Contains(all, testToken) {
		t.Fatalf("token leaked:\n%s", all)
	}
}
