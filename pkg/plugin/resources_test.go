package plugin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/simulator"
)

func callResource(t *testing.T, ds *Datasource, method, path string, body any) (int, []byte) {
	t.Helper()
	var raw []byte
	if body != nil {
		raw, _ = json.Marshal(body)
	}
	var status int
	var out []byte
	// As Grafana sends it: the resource path, and the URL with the query string.
	resourcePath, _, _ := strings.Cut(path, "?")
	err := ds.CallResource(t.Context(), &backend.CallResourceRequest{Method: method, Path: resourcePath, URL: "/api/datasources/uid/flows-test/resources/" + path, Body: raw},
		backend.CallResourceResponseSenderFunc(func(r *backend.CallResourceResponse) error {
			status, out = r.Status, append(out, r.Body...)
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return status, out
}

func TestVariableValuesAreBusiestFirstAndBounded(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	raw := e.rawFlows(t, testNow.Add(-time.Hour), testNow)
	srcBytes, exporters, protocols := map[string]int64{}, map[string]bool{}, map[string]bool{}
	for _, f := range raw {
		srcBytes[f.SrcIP] += f.Bytes
		exporters[f.ExporterIP] = true
		protocols[rawProtocolName(&f)] = true
	}
	values := func(q string) []string {
		frame := one(t, ds, lastHour(), q)[0]
		return column[string](t, frame, "value")
	}
	src := values(`{"queryType":"variableValues","variable":"srcIp","limit":10}`)
	if len(src) != 10 {
		t.Fatalf("%d source values, want 10", len(src))
	}
	for i := 1; i < len(src); i++ {
		if srcBytes[src[i]] > srcBytes[src[i-1]] {
			t.Fatalf("sources not busiest first: %v", src)
		}
	}
	exp := values(`{"queryType":"variableValues","variable":"exporter"}`)
	if len(exp) != len(exporters) {
		t.Fatalf("exporters %v, want the %d in the data", exp, len(exporters))
	}
	prot := values(`{"queryType":"variableValues","variable":"protocol"}`)
	for _, p := range prot {
		if !protocols[p] {
			t.Fatalf("protocol %q not in the data", p)
		}
	}
	ports := values(`{"queryType":"variableValues","variable":"port","limit":5}`)
	if len(ports) != 5 {
		t.Fatalf("ports %v", ports)
	}
	// Each value is usable as a filter of the same name.
	for _, q := range []string{
		fmt.Sprintf(`{"queryType":"topTalkers","srcIp":%q}`, src[0]), fmt.Sprintf(`{"queryType":"topTalkers","exporter":%q}`, exp[0]),
		fmt.Sprintf(`{"queryType":"topTalkers","protocol":%q}`, prot[len(prot)-1]), fmt.Sprintf(`{"queryType":"topTalkers","port":%q}`, ports[0]),
	} {
		if one(t, ds, lastHour(), q)[0].Rows() == 0 {
			t.Fatalf("%s returns nothing", q)
		}
	}
}

func TestTagValuesResource(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	from, to := testNow.Add(-time.Hour).UnixMilli(), testNow.UnixMilli()
	status, body := callResource(t, ds, http.MethodGet, fmt.Sprintf("tag-values?key=dst_ip&from=%d&to=%d&limit=7", from, to), nil)
	var opts []engine.Option
	if err := json.Unmarshal(body, &opts); status != 200 || err != nil || len(opts) != 7 || opts[0].Value == "" {
		t.Fatalf("status %d body %s", status, body)
	}
	status, body = callResource(t, ds, http.MethodGet, "tag-values?key=hostname", nil)
	if status != 400 || !strings.Contains(string(body), "key: 'hostname' is not one of src_ip, dst_ip, port, protocol, exporter") {
		t.Fatalf("status %d body %s", status, body)
	}
	e.sim.SetFault(&simulator.Fault{Status: 500, Body: "index unavailable"})
	defer e.sim.SetFault(nil)
	status, body = callResource(t, ds, http.MethodGet, "tag-values?key=exporter", nil)
	if status != 502 || !strings.Contains(string(body), "index unavailable") {
		t.Fatalf("status %d body %s", status, body)
	}
}

func TestPreviewShowsTheRequestsTheQueryMakes(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	hour := map[string]any{"from": testNow.Add(-time.Hour).UnixMilli(), "to": testNow.UnixMilli(), "intervalMs": 60000}
	ask := func(q string, rng map[string]any) (int, engine.Preview, string) {
		body := map[string]any{"query": json.RawMessage(q)}
		for k, v := range rng {
			body[k] = v
		}
		status, raw := callResource(t, ds, http.MethodPost, "preview", body)
		var p engine.Preview
		_ = json.Unmarshal(raw, &p)
		return status, p, string(raw)
	}
	// The preview names exactly what the query then executes.
	for _, q := range []string{`{"queryType":"topTalkers","dim":"pair"}`, `{"queryType":"protocols"}`} {
		status, p, raw := ask(q, hour)
		executed := one(t, ds, lastHour(), q)[0].Meta.ExecutedQueryString
		if status != 200 || len(p.Requests) != 1 || p.Requests[0] != executed {
			t.Fatalf("%s: preview %s, executed %q", q, raw, executed)
		}
	}
	// For /flows reads the preview names the first page; the executed string adds the page count.
	for _, q := range []string{`{"queryType":"flows","sort":"bytes","limit":30}`, `{"queryType":"topTalkers","protocol":"icmp"}`} {
		_, p, raw := ask(q, hour)
		executed := one(t, ds, lastHour(), q)[0].Meta.ExecutedQueryString
		if len(p.Requests) != 1 || !strings.HasPrefix(executed, p.Requests[0]) {
			t.Fatalf("%s: preview %s, executed %q", q, raw, executed)
		}
	}
	status, p, raw := ask(`{"queryType":"topTalkers","srcIp":["10.0.0.5","2001:db8::7"],"protocol":"udp"}`, hour)
	if status != 200 || len(p.Requests) != 2 || !strings.Contains(p.Requests[1], "src_ip=2001%3Adb8%3A%3A7") ||
		!strings.Contains(p.Requests[0], "protocol=17") || !slices.ContainsFunc(p.Notes, func(n string) bool { return strings.Contains(n, "filters are set") }) {
		t.Fatalf("multi-value preview %s", raw)
	}
	// Address variables from the endpoint also read one page for host names.
	_, p, raw = ask(`{"queryType":"variableValues","variable":"dstIp"}`, hour)
	if len(p.Requests) != 2 || !strings.Contains(p.Requests[0], "top-talkers") || !strings.Contains(p.Requests[1], "sort=bytes") {
		t.Fatalf("variable preview %s", raw)
	}
	status, _, raw = ask(`{"queryType":"flows","srcIp":"10.0.0.300"}`, hour)
	if status != 400 || !strings.Contains(raw, `srcIp: '10.0.0.300' is not an IP address`) {
		t.Fatalf("invalid preview %d %s", status, raw)
	}
	_, p, _ = ask(`{"queryType":"flows","format":"timeseries"}`, map[string]any{"from": hour["from"], "to": hour["to"], "intervalMs": 90000})
	if !slices.ContainsFunc(p.Notes, func(n string) bool { return strings.HasPrefix(n, "Buckets of 2m") }) {
		t.Fatalf("timeseries notes %v", p.Notes)
	}
}

func linkTitles(f *data.Field) []string {
	var out []string
	if f.Config != nil {
		for _, l := range f.Config.Links {
			if l.Internal == nil || l.Internal.DatasourceUID != "flows-test" || l.Internal.Query.(map[string]any)["queryType"] != "flows" {
				continue
			}
			out = append(out, l.Title)
		}
	}
	return out
}

func TestDrillDownLinksOpenTheFlowsTable(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	pair := one(t, ds, lastHour(), `{"queryType":"topTalkers","dim":"pair"}`)[0]
	src, _ := pair.FieldByName("src_ip")
	if got := linkTitles(src); !slices.Equal(got, []string{"Flows from ${__value.raw}", "Flows between ${__data.fields.src_ip} and ${__data.fields.dst_ip}"}) {
		t.Fatalf("pair src links %v", got)
	}
	link := src.Config.Links[1].Internal.Query.(map[string]any)
	if link["srcIp"] != "${__data.fields.src_ip}" || link["dstIp"] != "${__data.fields.dst_ip}" || link["format"] != "table" {
		t.Fatalf("pair link query %v", link)
	}
	table := one(t, ds, lastHour(), `{"queryType":"flows","limit":3}`)[0]
	dst, _ := table.FieldByName("dst_ip")
	if got := linkTitles(dst); len(got) != 2 || got[0] != "Flows to ${__value.raw}" {
		t.Fatalf("table dst links %v", got)
	}
	series := runSeries(t, ds, lastHour(), time.Minute, `{"queryType":"flows","format":"timeseries","groupBy":"src","topN":2}`, nil)
	for _, f := range series {
		got := linkTitles(f.Fields[1])
		if f.Fields[1].Labels["src_ip"] == "Other" {
			if len(got) != 0 {
				t.Fatalf("Other series has links %v", got)
			}
		} else if !slices.Equal(got, []string{"Flows from ${__field.labels.src_ip}"}) {
			t.Fatalf("series links %v", got)
		}
	}
}

// Address options carry the host name the API gives, and keep the address as the value.
func TestAddressOptionsNameTheirHosts(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	known := map[string]string{}
	for _, f := range e.rawFlows(t, testNow.Add(-time.Hour), testNow) {
		if f.DstHostname != nil {
			known[f.DstIP] = *f.DstHostname
		}
	}
	past := backend.TimeRange{From: testNow.Add(-2 * time.Hour), To: testNow.Add(-time.Hour)}
	for name, tr := range map[string]backend.TimeRange{"from the endpoint": lastHour(), "computed": past} {
		frame := one(t, ds, tr, `{"queryType":"variableValues","variable":"dstIp","limit":50}`)[0]
		texts, values := column[string](t, frame, "text"), column[string](t, frame, "value")
		named := 0
		for i, v := range values {
			if strings.Contains(v, " ") {
				t.Fatalf("%s: value %q is not an address", name, v)
			}
			if texts[i] != v {
				named++
				if tr == lastHour() && texts[i] != v+" ("+known[v]+")" {
					t.Fatalf("%s: %q for %s, whose host name is %q", name, texts[i], v, known[v])
				}
			}
		}
		if named == 0 {
			t.Fatalf("%s: no option names its host: %v", name, texts)
		}
	}
}

// The editors ask what the source can do: the Flows API answers every query type, filters by
// port on either side natively, and aggregates by look-back on its server.
func TestCapabilitiesResource(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	status, body := callResource(t, e.datasource(t, nil), http.MethodGet, "capabilities", nil)
	var d engine.Description
	if err := json.Unmarshal(body, &d); status != 200 || err != nil {
		t.Fatalf("status %d body %s", status, body)
	}
	if d.Source != "flowsapi" || d.Name != "Flows API" || d.WindowSeconds != 60 ||
		!slices.Equal(d.QueryTypes, []string{"flows", "topTalkers", "protocols", "variableValues"}) ||
		!slices.Contains(d.NativeFilters, "port") || !slices.Contains(d.GroupBys, "exporter") ||
		!slices.Contains(d.Aggregations, "lookback") || !slices.Contains(d.Aggregations, "count") || slices.Contains(d.Aggregations, "series") {
		t.Fatalf("capabilities %s", body)
	}
	status, body = callResource(t, newTestDatasource(t, e.srv.URL, testToken, map[string]any{"source": "nope"}, e.clock.Now), http.MethodGet, "capabilities", nil)
	if status != 400 || !strings.Contains(string(body), `source (jsonData.source): \"nope\"`) {
		t.Fatalf("unknown source: %d %s", status, body)
	}
}
