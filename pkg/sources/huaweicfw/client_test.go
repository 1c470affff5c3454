package huaweicfw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// now is the simulator's traffic clock in these tests; signatures are checked against the
// wall clock.
var now = time.UnixMilli(1776340800000 + 12_345)

func startSim(t *testing.T, cfg simulator.Config) *httptest.Server {
	t.Helper()
	cfg.Now = func() time.Time { return now }
	cfg.Log = io.Discard
	if cfg.History == 0 {
		cfg.History = 3 * time.Hour
	}
	srv := httptest.NewServer(simulator.New(cfg))
	t.Cleanup(srv.Close)
	return srv
}

func akskConfig(endpoint string) Config {
	return Config{Endpoint: endpoint, ProjectID: simulator.DefaultCFWProjectID,
		Credentials: Credentials{AccessKey: simulator.DefaultCFWAccessKey, SecretKey: simulator.DefaultCFWSecretKey}}
}

func mustClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type refFlow struct {
	ID          string `json:"id"`
	FirstSeenMs int64  `json:"first_seen_ms"`
	Bytes       int64  `json:"bytes"`
	Packets     int64  `json:"packets"`
}

// reference reads every record through the simulator's Flows API face, sorted by start.
func reference(t *testing.T, base string) []refFlow {
	t.Helper()
	var all []refFlow
	for offset := 0; ; {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v1/flows?limit=1000&offset=%d", base, offset), nil)
		req.Header.Set("Authorization", "Bearer "+simulator.DefaultToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Total int       `json:"total"`
			Flows []refFlow `json:"flows"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Flows...)
		offset += len(page.Flows)
		if len(page.Flows) == 0 || offset >= page.Total {
			break
		}
	}
	slices.SortFunc(all, func(a, b refFlow) int {
		if a.FirstSeenMs != b.FirstSeenMs {
			return int(a.FirstSeenMs - b.FirstSeenMs)
		}
		return strings.Compare(a.ID, b.ID)
	})
	return all
}

func query(from, to time.Time) Query {
	return Query{FwInstanceID: simulator.DefaultCFWFwInstanceID, From: from, To: to}
}

func TestReadsThreeThousandRecordsThroughTheCursor(t *testing.T) {
	srv := startSim(t, simulator.Config{FlowsPerMinute: 60})
	ref := reference(t, srv.URL)
	sel := ref[400:3400]
	if ref[399].FirstSeenMs == sel[0].FirstSeenMs || ref[3400].FirstSeenMs == sel[2999].FirstSeenMs {
		t.Fatal("range edge between records of the same millisecond")
	}
	c := mustClient(t, akskConfig(srv.URL))
	for _, size := range []int{0, 1024, 700} {
		q := query(time.UnixMilli(sel[0].FirstSeenMs), time.UnixMilli(sel[2999].FirstSeenMs))
		q.PageSize = size
		res, err := c.Read(context.Background(), q, 0)
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]FlowLog{}
		for _, f := range res.Flows {
			ids[f.LogID] = f
		}
		if len(res.Flows) != 3000 || len(ids) != 3000 || res.Total != 3000 {
			t.Fatalf("page size %d: %d records, %d unique, total %d; want 3000", size, len(res.Flows), len(ids), res.Total)
		}
		wantPages := 3 // 1024 + 1024 + 952
		if size == 700 {
			wantPages = 5
		}
		if len(res.Requests) != wantPages {
			t.Errorf("page size %d: %d requests, want %d", size, len(res.Requests), wantPages)
		}
		if size != 700 && !strings.Contains(res.Requests[0], "limit=1024") {
			t.Errorf("first request %s does not ask for 1024", res.Requests[0])
		}
		for _, r := range sel {
			f, ok := ids[r.ID]
			if !ok || f.Bytes != float64(r.Bytes) || f.Packets != r.Packets || f.Start.UnixMilli() != r.FirstSeenMs {
				t.Fatalf("reference %+v: CFW has %+v (found %v)", r, f, ok)
			}
		}
		if !strings.Contains(res.Requests[1], "log_id=") || !strings.Contains(res.Requests[1], "next_date=") {
			t.Errorf("second request carries no cursor: %s", res.Requests[1])
		}
	}
	q := query(time.UnixMilli(sel[0].FirstSeenMs), time.UnixMilli(sel[2999].FirstSeenMs))
	q.PageSize = 1025
	if _, err := c.Read(context.Background(), q, 0); err == nil || !strings.Contains(err.Error(), "limit 1025 is outside 1-1024") {
		t.Errorf("limit 1025: %v", err)
	}
}

func TestRepeatedCursorStopsWithAnError(t *testing.T) {
	srv := startSim(t, simulator.Config{FlowsPerMinute: 60, HuaweiCFW: simulator.HuaweiCFWConfig{IgnoreCursor: true}})
	c := mustClient(t, akskConfig(srv.URL))
	q := query(now.Add(-2*time.Hour), now)
	q.PageSize = 500
	_, err := c.Read(context.Background(), q, 0)
	if !errors.Is(err, ErrRepeatedCursor) || !strings.Contains(err.Error(), "page 2 repeats record") {
		t.Fatalf("err = %v, want ErrRepeatedCursor naming page 2", err)
	}
}

func TestRowCapTruncates(t *testing.T) {
	srv := startSim(t, simulator.Config{FlowsPerMinute: 60})
	c := mustClient(t, akskConfig(srv.URL))
	res, err := c.Read(context.Background(), query(now.Add(-2*time.Hour), now), 1500)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Flows) != 1500 || !res.Truncated || res.Total <= 1500 {
		t.Fatalf("%d records, truncated %v, total %d", len(res.Flows), res.Truncated, res.Total)
	}
}

// tamper changes a signed request on its way, after the SDK signed it.
type tamper struct {
	mu   sync.Mutex
	edit func(*http.Request)
}

func (tp *tamper) RoundTrip(r *http.Request) (*http.Response, error) {
	tp.mu.Lock()
	edit := tp.edit
	tp.mu.Unlock()
	if edit != nil {
		r = r.Clone(r.Context())
		edit(r)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestAuth(t *testing.T) {
	srv := startSim(t, simulator.Config{})
	q := query(now.Add(-10*time.Minute), now)
	ctx := context.Background()
	seen := make(chan http.Header, 10)
	spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		srv.Config.Handler.ServeHTTP(w, r)
	}))
	defer spy.Close()

	// The SDK signs with AK/SK and the simulator verifies the signature.
	if _, err := mustClient(t, akskConfig(spy.URL)).Read(ctx, q, 0); err != nil {
		t.Fatalf("AK/SK: %v", err)
	}
	h := <-seen
	if a := h.Get("Authorization"); !strings.HasPrefix(a, "SDK-HMAC-SHA256 Access="+simulator.DefaultCFWAccessKey+", SignedHeaders=") || h.Get("X-Sdk-Date") == "" {
		t.Errorf("not an SDK signature: Authorization %q, X-Sdk-Date %q", a, h.Get("X-Sdk-Date"))
	}

	// IAM token.
	tokenCfg := Config{Endpoint: spy.URL, ProjectID: simulator.DefaultCFWProjectID, Credentials: Credentials{IAMToken: simulator.DefaultCFWIAMToken}}
	if _, err := mustClient(t, tokenCfg).Read(ctx, q, 0); err != nil {
		t.Fatalf("IAM token: %v", err)
	}
	if h := <-seen; h.Get("X-Auth-Token") != simulator.DefaultCFWIAMToken || h.Get("Authorization") != "" {
		t.Errorf("token request headers: %v", h)
	}

	reject := func(name string, cfg Config, status int, code, text string, secrets ...string) {
		t.Helper()
		_, err := mustClient(t, cfg).Read(ctx, q, 0)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != status || ae.Code != code || !strings.Contains(err.Error(), text) {
			t.Errorf("%s: err = %v, want HTTP %d %s %q", name, err, status, code, text)
			return
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("%s: error shows a secret: %v", name, err)
			}
		}
	}
	wrongSK := akskConfig(srv.URL)
	wrongSK.SecretKey = "wrong-sk-777"
	reject("wrong SK", wrongSK, 401, "APIG.0301", "Incorrect IAM authentication information: verify aksk signature fail", "wrong-sk-777")
	wrongAK := akskConfig(srv.URL)
	wrongAK.AccessKey = "unknown-ak"
	reject("wrong AK", wrongAK, 401, "APIG.0301", "the access key does not exist")
	wrongToken := tokenCfg
	wrongToken.Endpoint, wrongToken.IAMToken = srv.URL, "wrong-token-888"
	reject("wrong token", wrongToken, 401, "APIG.0301", "verify token failed", "wrong-token-888")
	wrongProject := akskConfig(srv.URL)
	wrongProject.ProjectID = "other-project"
	reject("wrong project", wrongProject, 403, "APIG.0302", "check the project ID")

	// A request changed after signing is refused: the simulator checks the signature over
	// the method, path, query, signed headers and body.
	tp := &tamper{}
	cfg := akskConfig(srv.URL)
	cfg.Transport = tp
	for name, edit := range map[string]func(*http.Request){
		"query": func(r *http.Request) { v := r.URL.Query(); v.Set("limit", "7"); r.URL.RawQuery = v.Encode() },
		"date": func(r *http.Request) {
			r.Header.Set("X-Sdk-Date", time.Now().UTC().Add(time.Second).Format("20060102T150405Z"))
		},
		"header": func(r *http.Request) { r.Header.Set("User-Agent", "someone-else") }, // a signed header
	} {
		tp.mu.Lock()
		tp.edit = edit
		tp.mu.Unlock()
		_, err := mustClient(t, cfg).Read(ctx, q, 0)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != 401 || !strings.Contains(ae.Message, "verify aksk signature fail") {
			t.Errorf("tampered %s: err = %v, want a rejected signature", name, err)
		}
	}

	// A signature from a clock 20 minutes off is refused.
	skewed := startSim(t, simulator.Config{HuaweiCFW: simulator.HuaweiCFWConfig{SignClock: func() time.Time { return time.Now().Add(20 * time.Minute) }}})
	reject("expired", akskConfig(skewed.URL), 401, "APIG.0301", "the request has expired")
}

func TestWrongEndpointAndInstance(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	_, err = mustClient(t, akskConfig(closed)).Read(context.Background(), query(now.Add(-time.Minute), now), 0)
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), closed) {
		t.Errorf("closed port: %v", err)
	}

	flowsOnly := startSim(t, simulator.Config{APIs: []string{simulator.APIFlows}})
	_, err = mustClient(t, akskConfig(flowsOnly.URL)).Read(context.Background(), query(now.Add(-time.Minute), now), 0)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 404 || !strings.Contains(err.Error(), "check the endpoint") {
		t.Errorf("not a CFW endpoint: %v", err)
	}

	srv := startSim(t, simulator.Config{})
	q := query(now.Add(-time.Minute), now)
	q.FwInstanceID = "no-such-fw"
	_, err = mustClient(t, akskConfig(srv.URL)).Read(context.Background(), q, 0)
	if !errors.As(err, &ae) || ae.Status != 400 || ae.Code != "CFW.00200005" || !strings.Contains(ae.Message, "no-such-fw") {
		t.Errorf("unknown instance: %v", err)
	}

	for _, cfg := range []Config{
		{ProjectID: "p", Credentials: Credentials{IAMToken: "t"}},                                        // neither region nor endpoint
		{Region: "xx-nowhere-1", ProjectID: "p", Credentials: Credentials{IAMToken: "t"}},                // unknown region
		{Endpoint: "cfw.example.com/path", ProjectID: "p", Credentials: Credentials{IAMToken: "t"}},      // not a URL
		{Endpoint: "https://cfw.example.com", Credentials: Credentials{IAMToken: "t"}},                   // no project
		{Endpoint: "https://cfw.example.com", ProjectID: "p", Credentials: Credentials{AccessKey: "ak"}}, // AK without SK
		{Endpoint: "https://cfw.example.com", ProjectID: "p"},                                            // no credentials
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	c, err := New(Config{Region: "cn-north-4", ProjectID: "p", Credentials: Credentials{IAMToken: "t"}})
	if err != nil || c.Endpoint() != "https://cfw.cn-north-4.myhuaweicloud.com" {
		t.Errorf("region endpoint: %v %v", c, err)
	}
}

func TestFilters(t *testing.T) {
	srv := startSim(t, simulator.Config{FlowsPerMinute: 60})
	c := mustClient(t, akskConfig(srv.URL))
	all, err := c.Read(context.Background(), query(now.Add(-30*time.Minute), now), 0)
	if err != nil {
		t.Fatal(err)
	}
	p443 := uint16(443)
	cases := []struct {
		name string
		f    Filter
		keep func(FlowLog) bool
	}{
		{"direction out2in", Filter{Direction: "out2in"}, func(f FlowLog) bool { return f.Direction == "out2in" }},
		{"dst_port 443", Filter{DstPort: &p443}, func(f FlowLog) bool { return f.DstPort == 443 }},
		{"protocol UDP", Filter{Protocol: "UDP"}, func(f FlowLog) bool { return f.Protocol == "UDP" }},
		{"app HTTPS", Filter{App: "HTTPS"}, func(f FlowLog) bool { return f.App == "HTTPS" }},
		{"src_ip", Filter{SrcIP: all.Flows[0].SrcIP}, func(f FlowLog) bool { return f.SrcIP == all.Flows[0].SrcIP }},
		{"dst_region_name", Filter{DstRegionName: "Germany"}, func(f FlowLog) bool { return f.DstRegionName == "Germany" }},
	}
	for _, tc := range cases {
		n := 0
		for _, f := range all.Flows {
			if tc.keep(f) {
				n++
			}
		}
		q := query(now.Add(-30*time.Minute), now)
		q.Filter = tc.f
		res, err := c.Read(context.Background(), q, 0)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(res.Flows) != n || n == 0 {
			t.Errorf("%s: %d records, want %d (non-zero)", tc.name, len(res.Flows), n)
		}
	}
}

func TestCancelStopsTheRequest(t *testing.T) {
	srv := startSim(t, simulator.Config{Latency: time.Hour})
	c := mustClient(t, akskConfig(srv.URL))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Read(ctx, query(now.Add(-time.Minute), now), 0)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestEchoedSecretIsRedacted(t *testing.T) {
	const token = "echo-me-iam-token-55"
	srv := startSim(t, simulator.Config{
		HuaweiCFW: simulator.HuaweiCFWConfig{IAMToken: token},
		Fault:     &simulator.Fault{Status: 500, Body: `{"error_code":"APIG.0999","error_msg":"upstream got X-Auth-Token ` + token + `"}`},
	})
	c := mustClient(t, Config{Endpoint: srv.URL, ProjectID: simulator.DefaultCFWProjectID, Credentials: Credentials{IAMToken: token}})
	_, err := c.Read(context.Background(), query(now.Add(-time.Minute), now), 0)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Code != "APIG.0999" || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("err = %v", err)
	}
}
