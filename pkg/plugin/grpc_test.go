package plugin

import (
	"encoding/json"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafana/dataplane/sdata/reader"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/experimental/datasourcetest"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// grpcPlugin serves the plugin over gRPC on loopback, once per test binary: the SDK registers
// process-wide metrics when it starts a plugin server, so a second start would panic.
var grpcPlugin = sync.OnceValues(func() (datasourcetest.TestPlugin, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return datasourcetest.TestPlugin{}, err
	}
	addr := l.Addr().String()
	l.Close()
	return datasourcetest.Manage(New(testSources), datasourcetest.ManageOpts{Address: addr})
})

// The plugin as Grafana talks to it: over the plugin gRPC protocol, with the instance settings
// in the plugin context and frames Arrow-encoded. Labels, units, links, notices, error sources
// and the health message must survive the wire.
func TestPluginOverGRPC(t *testing.T) {
	sim := httptest.NewServer(simulator.New(simulator.Config{Token: testToken, Log: io.Discard}))
	defer sim.Close()
	p, err := grpcPlugin()
	if err != nil {
		t.Fatal(err)
	}

	pc := backend.PluginContext{
		OrgID:    1,
		PluginID: "flowlens-flows-datasource",
		DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
			ID: 1, UID: "flows-api", Name: "Flows API", Type: "flowlens-flows-datasource", URL: sim.URL,
			JSONData:                []byte(`{"pageSize":500}`),
			DecryptedSecureJSONData: map[string]string{"apiToken": testToken},
			Updated:                 time.Now(),
		},
	}
	now := time.Now()
	tr := backend.TimeRange{From: now.Add(-time.Hour), To: now}
	q := func(ref, js string) backend.DataQuery {
		var probe struct {
			QueryType string `json:"queryType"`
		}
		_ = json.Unmarshal([]byte(js), &probe)
		return backend.DataQuery{RefID: ref, QueryType: probe.QueryType, JSON: []byte(js), TimeRange: tr, Interval: time.Minute}
	}
	resp, err := p.Client.QueryData(t.Context(), &backend.QueryDataRequest{PluginContext: pc,
		Headers: map[string]string{backend.FromAlertHeaderName: "true"},
		Queries: []backend.DataQuery{
			q("talkers", `{"queryType":"topTalkers","dim":"pair","limit":5}`),
			q("series", `{"queryType":"flows","format":"timeseries","groupBy":"protocol","topN":3}`),
			q("table", `{"queryType":"flows","limit":5}`),
			q("bad", `{"queryType":"topTalkers","srcIp":"10.0.0.300"}`),
		}})
	if err != nil {
		t.Fatal(err)
	}
	talkers := resp.Responses["talkers"]
	if talkers.Error != nil {
		t.Fatal(talkers.Error)
	}
	if kind, err := reader.CanReadBasedOnMeta(talkers.Frames); err != nil || !kind.IsNumeric() {
		t.Fatalf("talkers after the wire: %v %v", kind, err)
	}
	if items := numericItems(t, talkers.Frames); len(items) != 5 {
		t.Fatalf("%d alert instances for 5 pairs", len(items))
	}
	series := resp.Responses["series"]
	if series.Error != nil || len(series.Frames) != 4 {
		t.Fatalf("series: %v, %d frames", series.Error, len(series.Frames))
	}
	v := series.Frames[0].Fields[1]
	if v.Labels["protocol"] == "" || v.Config.Unit != "bps" || v.Config.Links == nil && v.Labels["protocol"] == "" {
		t.Fatalf("series field after the wire: labels %v config %+v", v.Labels, v.Config)
	}
	if table := resp.Responses["table"]; table.Error == nil || !strings.Contains(table.Error.Error(), "cannot be used in an alert rule") || table.ErrorSource != backend.ErrorSourceDownstream {
		t.Fatalf("flows table in an alert over the wire: %v (%s)", table.Error, table.ErrorSource)
	}
	if bad := resp.Responses["bad"]; bad.Error == nil || !strings.Contains(bad.Error.Error(), "srcIp: '10.0.0.300'") || bad.ErrorSource != backend.ErrorSourceDownstream || bad.Status != backend.StatusBadRequest {
		t.Fatalf("bad query over the wire: %v (%s, %d)", bad.Error, bad.ErrorSource, bad.Status)
	}

	// A panel (not an alert) gets the table, with nullable host names and links intact.
	resp, err = p.Client.QueryData(t.Context(), &backend.QueryDataRequest{PluginContext: pc,
		Queries: []backend.DataQuery{q("table", `{"queryType":"flows","limit":50,"sort":"bytes"}`)}})
	if err != nil || resp.Responses["table"].Error != nil {
		t.Fatalf("table: %v %v", err, resp.Responses["table"].Error)
	}
	table := resp.Responses["table"].Frames[0]
	host, _ := table.FieldByName("dst_hostname")
	src, _ := table.FieldByName("src_ip")
	if table.Rows() != 50 || host == nil || !host.Nullable() || len(src.Config.Links) == 0 || src.Config.Links[0].Internal.DatasourceUID != "flows-api" {
		t.Fatalf("table after the wire: %d rows, host %v, links %+v", table.Rows(), host, src.Config)
	}

	health, err := p.Client.CheckHealth(t.Context(), &backend.CheckHealthRequest{PluginContext: pc})
	if err != nil || health.Status != backend.HealthStatusOk || !strings.Contains(health.Message, "flows in the last hour") {
		t.Fatalf("health: %v %+v", err, health)
	}
	body, _ := json.Marshal(map[string]any{"query": json.RawMessage(`{"queryType":"protocols"}`), "from": tr.From.UnixMilli(), "to": tr.To.UnixMilli(), "intervalMs": 60000})
	var got *backend.CallResourceResponse
	err = p.Client.CallResource(t.Context(), &backend.CallResourceRequest{PluginContext: pc, Method: "POST", Path: "preview", URL: "preview", Body: body},
		backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error { got = r; return nil }))
	// window_secs is 3600 or 3601: the plugin reads its clock a moment after the test.
	if err != nil || got == nil || got.Status != 200 || !strings.Contains(string(got.Body), "/api/v1/flows/protocols?window_secs=360") {
		t.Fatalf("preview over the wire: %v %+v", err, got)
	}
}
