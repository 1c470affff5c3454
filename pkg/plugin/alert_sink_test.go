package plugin

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// The demo's contact point delivers: its webhook is the simulator's alert sink, reached at the
// data source's host with the same token, and a notification sent with its settings is listed.
func TestProvisionedContactPointReachesTheDemoSink(t *testing.T) {
	apiURL, err := url.Parse(provFlowsDatasource(t).URL)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, simulator.Config{})
	webhooks := 0
	for _, f := range provAlerting(t) {
		for _, cp := range f.ContactPoints {
			for _, r := range cp.Receivers {
				if r.Type != "webhook" {
					continue
				}
				webhooks++
				hook, err := url.Parse(r.Settings["url"].(string))
				if err != nil || hook.Host != apiURL.Host || hook.Path != simulator.PathDemoAlerts {
					t.Fatalf("%s: webhook %v, want the simulator's %s at %s", cp.Name, r.Settings["url"], simulator.PathDemoAlerts, apiURL.Host)
				}
				if r.Settings["authorization_scheme"] != "Bearer" || r.Settings["authorization_credentials"] != "$FLOWS_API_TOKEN" {
					t.Fatalf("%s: authorization %v %v", cp.Name, r.Settings["authorization_scheme"], r.Settings["authorization_credentials"])
				}
				// What Grafana sends, with $FLOWS_API_TOKEN expanded.
				payload := `{"receiver":"` + cp.Name + `","status":"firing","alerts":[{"labels":{"alertname":"Source above byte threshold","src_ip":"10.0.1.15"}}]}`
				req, _ := http.NewRequest(r.Settings["httpMethod"].(string), e.srv.URL+hook.Path, strings.NewReader(payload))
				req.Header.Set("Authorization", "Bearer "+testToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil || resp.StatusCode != http.StatusNoContent {
					t.Fatalf("delivery: %v %v", err, resp)
				}
				resp.Body.Close()
			}
		}
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+simulator.PathDemoAlerts, nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var got []simulator.ReceivedAlert
	if err := json.Unmarshal(body, &got); err != nil || webhooks == 0 || len(got) != webhooks || !strings.Contains(string(got[0].Payload), `"src_ip":"10.0.1.15"`) {
		t.Fatalf("%d webhooks, sink holds %s", webhooks, body)
	}
}
