package plugin

import (
	"encoding/json"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

func health(t *testing.T, ds *Datasource) (*backend.CheckHealthResult, map[string]any) {
	t.Helper()
	res, err := ds.CheckHealth(t.Context(), &backend.CheckHealthRequest{})
	if err != nil {
		t.Fatalf("CheckHealth returned an error instead of a result: %v", err)
	}
	details := map[string]any{}
	if len(res.JSONDetails) > 0 {
		if err := json.Unmarshal(res.JSONDetails, &details); err != nil {
			t.Fatal(err)
		}
	}
	return res, details
}

func wantHealth(t *testing.T, res *backend.CheckHealthResult, status backend.HealthStatus, parts ...string) {
	t.Helper()
	if res.Status != status {
		t.Errorf("status %v, want %v (message %q)", res.Status, status, res.Message)
	}
	for _, p := range parts {
		if !strings.Contains(res.Message, p) {
			t.Errorf("message %q lacks %q", res.Message, p)
		}
	}
}

func TestHealthSuccessSaysHowMuchTrafficThereIs(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	raw := e.rawFlows(t, testNow.Add(-time.Hour), testNow)
	res, _ := health(t, e.datasource(t, nil))
	wantHealth(t, res, backend.HealthStatusOk, "Connected to the Flows API at "+e.srv.URL, withCommas(len(raw))+" flows in the last hour")
}

func TestHealthFailures(t *testing.T) {
	e := newEnv(t, simulator.Config{})

	t.Run("token rejected", func(t *testing.T) {
		res, d := health(t, newTestDatasource(t, e.srv.URL, "not-the-token", nil, e.clock.Now))
		wantHealth(t, res, backend.HealthStatusError, "API token rejected (401 Unauthorized)", e.srv.URL+"/api/v1/flows", "The API said:")
		if d["status"] != float64(401) || d["url"] != e.srv.URL+"/api/v1/flows" {
			t.Errorf("details %v", d)
		}
	})
	t.Run("forbidden", func(t *testing.T) {
		e.sim.SetFault(&simulator.Fault{Status: 403, Body: `{"error":"token lacks flows:read"}`})
		defer e.sim.SetFault(nil)
		res, _ := health(t, e.datasource(t, nil))
		wantHealth(t, res, backend.HealthStatusError, "API token rejected (403 Forbidden)", "token lacks flows:read")
	})
	t.Run("wrong base URL", func(t *testing.T) {
		res, d := health(t, newTestDatasource(t, e.srv.URL+"/flows-api", testToken, nil, e.clock.Now))
		wantHealth(t, res, backend.HealthStatusError, "not found (404 Not Found)", "/flows-api/api/v1/flows", "address in front of /api/v1")
		if d["status"] != float64(404) {
			t.Errorf("details %v", d)
		}
	})
	t.Run("server error", func(t *testing.T) {
		e.sim.SetFault(&simulator.Fault{Status: 503, Body: "maintenance until 14:00"})
		defer e.sim.SetFault(nil)
		res, d := health(t, e.datasource(t, nil))
		wantHealth(t, res, backend.HealthStatusError, "503 Service Unavailable", "maintenance until 14:00")
		if d["apiError"] != "maintenance until 14:00" {
			t.Errorf("details %v", d)
		}
	})
	t.Run("connection refused", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		res, d := health(t, newTestDatasource(t, "http://"+addr, testToken, nil, e.clock.Now))
		wantHealth(t, res, backend.HealthStatusError, "connection refused by "+addr)
		if d["error"] != "connection refused" {
			t.Errorf("details %v", d)
		}
	})
	t.Run("DNS failure", func(t *testing.T) {
		res, d := health(t, newTestDatasource(t, "http://flows-api.does-not-exist.invalid:8080", testToken, nil, e.clock.Now))
		wantHealth(t, res, backend.HealthStatusError, "cannot resolve host flows-api.does-not-exist.invalid")
		if d["error"] != "DNS lookup failed" {
			t.Errorf("details %v", d)
		}
	})
	t.Run("https URL, plain http server", func(t *testing.T) {
		res, _ := health(t, newTestDatasource(t, strings.Replace(e.srv.URL, "http://", "https://", 1), testToken, nil, e.clock.Now))
		wantHealth(t, res, backend.HealthStatusError, "TLS handshake with "+strings.TrimPrefix(e.srv.URL, "http://")+" failed")
	})
	t.Run("http URL, TLS server", func(t *testing.T) {
		tlsSrv := httptest.NewTLSServer(e.sim)
		defer tlsSrv.Close()
		res, _ := health(t, newTestDatasource(t, strings.Replace(tlsSrv.URL, "https://", "http://", 1), testToken, nil, e.clock.Now))
		wantHealth(t, res, backend.HealthStatusError, "TLS mismatch", "change the URL to https://")
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		tlsSrv := httptest.NewTLSServer(e.sim)
		defer tlsSrv.Close()
		res, _ := health(t, newTestDatasource(t, tlsSrv.URL, testToken, nil, e.clock.Now))
		wantHealth(t, res, backend.HealthStatusError, "TLS handshake", "certificate")
	})
	t.Run("slow server", func(t *testing.T) {
		slow := newEnv(t, simulator.Config{Latency: 3 * time.Second})
		res, d := health(t, newTestDatasource(t, slow.srv.URL, testToken, map[string]any{"timeout": 1}, slow.clock.Now))
		wantHealth(t, res, backend.HealthStatusError, "no answer from "+slow.srv.URL+"/api/v1/flows before the timeout")
		if d["error"] != "timeout" {
			t.Errorf("details %v", d)
		}
	})
	t.Run("settings error", func(t *testing.T) {
		res, _ := health(t, newTestDatasource(t, "flows.example.com", testToken, nil, e.clock.Now))
		wantHealth(t, res, backend.HealthStatusError, "Settings: URL: \"flows.example.com\" is not an http(s) URL")
	})
}

// withCommas writes 4821 as 4,821, independently of the source's own formatting.
func withCommas(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
