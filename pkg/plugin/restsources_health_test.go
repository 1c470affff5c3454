package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// Save & test of Trustgrid and Huawei CFW data sources: success says how much the last hour
// holds, a rejected credential and a wrong URL come with the system's own error text.
func TestHealthOfTrustgridAndHuaweiCFW(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	// Reference: the Flows API's records whose flow started in the last hour.
	started := 0
	for _, f := range e.rawFlows(t, testNow.Add(-time.Hour-time.Minute), testNow) {
		if f.FirstSeenMs >= testNow.Add(-time.Hour).UnixMilli() && f.FirstSeenMs <= testNow.UnixMilli() {
			started++
		}
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String()
	ln.Close()

	mk := func(url string, jsonData map[string]any, secure map[string]string) *Datasource {
		raw, _ := json.Marshal(jsonData)
		inst, err := New(testSources)(context.Background(), backend.DataSourceInstanceSettings{
			UID: "health", Name: "health", Type: "flowlens-flows-datasource", URL: url, JSONData: raw, DecryptedSecureJSONData: secure})
		if err != nil {
			t.Fatal(err)
		}
		ds := inst.(*Datasource)
		ds.now = e.clock.Now
		t.Cleanup(ds.Dispose)
		return ds
	}
	tg := map[string]any{"source": "trustgrid", "trustgridClientId": simulator.DefaultTrustgridClientID}
	cfw := map[string]any{"source": "huaweiCfw", "cfwProjectId": simulator.DefaultCFWProjectID, "cfwFwInstanceId": simulator.DefaultCFWFwInstanceID}
	keys := map[string]string{"cfwAccessKey": simulator.DefaultCFWAccessKey, "cfwSecretKey": simulator.DefaultCFWSecretKey}

	res, _ := health(t, mk(e.srv.URL, tg, map[string]string{"trustgridClientSecret": simulator.DefaultTrustgridSecret}))
	wantHealth(t, res, backend.HealthStatusOk, "Connected to Trustgrid at "+e.srv.URL, fmt.Sprintf(": %d flows started in the last hour", started))
	res, _ = health(t, mk(e.srv.URL, tg, map[string]string{"trustgridClientSecret": "not-the-secret"}))
	wantHealth(t, res, backend.HealthStatusError, "Trustgrid API answered HTTP 401: Unauthorized (check the API client ID and secret, or the JWT)")
	res, _ = health(t, mk(closed, tg, map[string]string{"trustgridClientSecret": simulator.DefaultTrustgridSecret}))
	wantHealth(t, res, backend.HealthStatusError, "connection refused")

	res, _ = health(t, mk(e.srv.URL, cfw, keys))
	wantHealth(t, res, backend.HealthStatusOk, "Connected to Huawei Cloud Firewall at "+e.srv.URL+" (project demo-project, firewall demo-fw)",
		fmt.Sprintf(": %d flow logs started in the last hour", started))
	res, _ = health(t, mk(e.srv.URL, cfw, map[string]string{"cfwIamToken": simulator.DefaultCFWIAMToken}))
	wantHealth(t, res, backend.HealthStatusOk, "Connected to Huawei Cloud Firewall")
	res, _ = health(t, mk(e.srv.URL, cfw, map[string]string{"cfwAccessKey": simulator.DefaultCFWAccessKey, "cfwSecretKey": "not-the-sk"}))
	wantHealth(t, res, backend.HealthStatusError, "Huawei Cloud Firewall answered HTTP 401 APIG.0301: Incorrect IAM authentication information: verify aksk signature fail")
	res, _ = health(t, mk(closed, cfw, keys))
	wantHealth(t, res, backend.HealthStatusError, "connection refused")
	delete(cfw, "cfwFwInstanceId")
	res, _ = health(t, mk(e.srv.URL, cfw, keys))
	wantHealth(t, res, backend.HealthStatusError, "cfwFwInstanceId: the firewall instance ID is empty")
}
