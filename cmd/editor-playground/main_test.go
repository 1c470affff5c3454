package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/plugin"
	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/sources"
)

const testToken = "playground-test-token-7c1e"

// newPlayground is the server of run(), without the static page: the Grafana APIs answered by
// the plugin, over a simulator on loopback.
func newPlayground(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	sim := httptest.NewServer(simulator.New(simulator.Config{Token: testToken, Log: io.Discard}))
	t.Cleanup(sim.Close)
	g := &grafana{sources: plugin.Sources{Factories: sources.Factories(), Default: sources.Default}}
	if err := g.save(context.Background(), savedSettings{URL: sim.URL, JSONData: json.RawMessage(`{}`), Secure: map[string]string{"apiToken": testToken}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.dispose)
	srv := httptest.NewServer(g.routes(http.NotFoundHandler()))
	t.Cleanup(srv.Close)
	return srv, sim.URL
}

func call(t *testing.T, method, url string, body any) (int, string) {
	t.Helper()
	var r io.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		r = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, url, r)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(out)
}

// Save & test as the page does it: save the settings, then the health endpoint answers with the
// plugin's CheckHealth; a wrong token is the plugin's 401 message, and no answer holds a secret.
func TestSaveAndTestAnswersWithThePluginsHealthCheck(t *testing.T) {
	srv, simURL := newPlayground(t)
	base := srv.URL + "/api/datasources/uid/" + dataSourceUID

	status, body := call(t, "GET", base+"/health", nil)
	if status != http.StatusOK || !strings.Contains(body, `"status":"OK"`) || !strings.Contains(body, "Connected to the Flows API at "+simURL) {
		t.Fatalf("health = %d %s, want OK and connected", status, body)
	}

	status, body = call(t, "PUT", base, map[string]any{
		"url": simURL, "jsonData": map[string]any{}, "secureJsonData": map[string]string{"apiToken": "wrong-token-55"},
	})
	if status != http.StatusOK || strings.Contains(body, "wrong-token-55") || !strings.Contains(body, `"apiToken":true`) {
		t.Fatalf("save = %d %s, want the datasource with secureJsonFields.apiToken and no secret", status, body)
	}
	status, body = call(t, "GET", base+"/health", nil)
	if status != http.StatusBadRequest || !strings.Contains(body, `"status":"ERROR"`) || !strings.Contains(body, "API token rejected (401") {
		t.Fatalf("health with a wrong token = %d %s", status, body)
	}
	if strings.Contains(body, "wrong-token-55") {
		t.Fatalf("the health answer holds the token: %s", body)
	}

	// reset (secureJsonFields false, no new value): no token at all is sent
	call(t, "PUT", base, map[string]any{"url": simURL, "jsonData": map[string]any{}, "secureJsonFields": map[string]bool{"apiToken": false}})
	if _, body = call(t, "GET", base, nil); strings.Contains(body, "apiToken") {
		t.Fatalf("settings after reset still list the token: %s", body)
	}
}

// The resources reach the plugin's CallResource with the path and query string Grafana sends.
func TestResourcesAreThePluginsCallResource(t *testing.T) {
	srv, _ := newPlayground(t)
	base := srv.URL + "/api/datasources/uid/" + dataSourceUID + "/resources/"

	status, body := call(t, "GET", base+"capabilities", nil)
	if status != http.StatusOK || !strings.Contains(body, "topTalkers") {
		t.Fatalf("capabilities = %d %s", status, body)
	}

	now := time.Now()
	status, body = call(t, "POST", base+"preview", map[string]any{
		"query": map[string]any{"refId": "A", "queryType": "topTalkers", "dim": "pair"},
		"from":  now.Add(-time.Hour).UnixMilli(), "to": now.UnixMilli(), "intervalMs": 60000,
	})
	if status != http.StatusOK || !strings.Contains(body, "/api/v1/flows/top-talkers") || !strings.Contains(body, "dim=pair") {
		t.Fatalf("preview = %d %s", status, body)
	}

	status, body = call(t, "POST", base+"preview", map[string]any{
		"query": map[string]any{"refId": "A", "queryType": "topTalkers", "srcIp": "10.0.0.300"},
		"from":  now.Add(-time.Hour).UnixMilli(), "to": now.UnixMilli(),
	})
	if status != http.StatusBadRequest || !strings.Contains(body, "srcIp: '10.0.0.300' is not an IP address") {
		t.Fatalf("preview of an invalid query = %d %s", status, body)
	}

	status, body = call(t, "GET", base+"tag-values?key=protocol", nil)
	if status != http.StatusOK || !strings.Contains(strings.ToLower(body), "tcp") {
		t.Fatalf("tag-values = %d %s", status, body)
	}
}

// /api/ds/query runs the plugin's QueryData and answers in Grafana's shape.
func TestQueryIsThePluginsQueryData(t *testing.T) {
	srv, _ := newPlayground(t)
	now := time.Now()
	status, body := call(t, "POST", srv.URL+"/api/ds/query", map[string]any{
		"from": strconvMs(now.Add(-time.Hour)), "to": strconvMs(now),
		"queries": []map[string]any{
			{"refId": "A", "queryType": "variableValues", "variable": "exporter", "limit": 10},
			{"refId": "B", "queryType": "flows", "format": "table", "port": "70000"},
		},
	})
	var res struct {
		Results map[string]struct {
			Error  string            `json:"error"`
			Frames []json.RawMessage `json:"frames"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(body), &res); status != http.StatusOK || err != nil {
		t.Fatalf("query = %d %s (%v)", status, body, err)
	}
	if a := res.Results["A"]; a.Error != "" || len(a.Frames) != 1 {
		t.Errorf("variable values: %+v", a)
	}
	if b := res.Results["B"]; !strings.Contains(b.Error, "port: '70000'") {
		t.Errorf("bad port: error %q, want the field and value", b.Error)
	}
}

// strconvMs is a time as Grafana's frontend sends it in /api/ds/query: epoch ms as a string.
func strconvMs(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
