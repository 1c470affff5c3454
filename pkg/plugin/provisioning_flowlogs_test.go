package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"gopkg.in/yaml.v3"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/simulator/simref"
)

// The demo's Trustgrid and Huawei Cloud Firewall pieces: their data sources, the "Flow logs"
// dashboard that serves both, and a top-talker alert rule on each, all against the simulator's
// Trustgrid and CFW faces as docker-compose.yml runs it.

// provFlowLogSources are the provisioned data sources of the two record-only REST sources, by
// jsonData.source, each with the simulator's default for every secret it names.
var provFlowLogSources = map[string]struct {
	uid     string
	secrets map[string]string // secureJsonData key → the simulator's default credential
	simEnv  map[string]string // secureJsonData key → the simulator's environment variable
}{
	"trustgrid": {
		uid:     "trustgrid-flows",
		secrets: map[string]string{"trustgridClientSecret": simulator.DefaultTrustgridSecret},
		simEnv:  map[string]string{"trustgridClientSecret": "FLOWS_SIM_TRUSTGRID_SECRET"},
	},
	"huaweiCfw": {
		uid: "huawei-cfw",
		secrets: map[string]string{
			"cfwAccessKey": simulator.DefaultCFWAccessKey,
			"cfwSecretKey": simulator.DefaultCFWSecretKey,
		},
		simEnv: map[string]string{"cfwAccessKey": "FLOWS_SIM_CFW_ACCESS_KEY", "cfwSecretKey": "FLOWS_SIM_CFW_SECRET_KEY"},
	},
}

// TestProvisionedTrustgridAndHuaweiCFW: the demo's Trustgrid and CFW data sources reach the
// simulator with credentials it accepts; every panel of the "Flow logs" dashboard answers with
// data on each; each alert rule has one instance per source address, with the bytes the
// simulator's traffic holds.
func TestProvisionedTrustgridAndHuaweiCFW(t *testing.T) {
	id := provPlugin(t).ID
	compose := provLoadCompose(t)
	_, grafana, simName, sim := provServices(t, compose)
	// The simulator as the demo runs it, but for the minutes at the edges of the last hour: the
	// Flows API counts a 60 s window by its end, Trustgrid and CFW a flow by its start, so with
	// the edges idle all hold the same records, and the reference below is exact for each.
	cfg := provSimulatorConfig(t)
	hour := lastHour()
	cfg.Idle = func(ws time.Time) bool {
		for _, edge := range []time.Time{hour.From.Truncate(time.Minute), hour.To.Truncate(time.Minute)} {
			if ws.Equal(edge.Add(-time.Minute)) || ws.Equal(edge) {
				return true
			}
		}
		return false
	}
	e := newEnv(t, cfg)
	traffic := simulator.NewTraffic(cfg.Seed, cfg.FlowsPerMinute, cfg.Idle)

	// The data sources, and a data source instance of each against the test simulator.
	dsByUID := map[string]*Datasource{}
	names := map[string]string{}
	for _, f := range provFiles(t, "provisioning/datasources", ".yaml", ".yml") {
		var file struct {
			Datasources []provDatasource `yaml:"datasources"`
		}
		provYAML(t, &file, f)
		for _, d := range file.Datasources {
			source, _ := d.JSONData["source"].(string)
			want, ok := provFlowLogSources[source]
			if d.Type != id || !ok {
				continue
			}
			if d.UID != want.uid {
				t.Errorf("%s: %s data source uid %q, want %q", f, source, d.UID, want.uid)
			}
			u, err := url.Parse(d.URL)
			listen, _ := sim.flag("listen")
			_, port, _ := net.SplitHostPort(listen)
			if err != nil || u.Hostname() != simName || u.Port() != port {
				t.Errorf("%s: url %q, want the simulator service http://%s:%s", f, d.URL, simName, port)
			}
			// Each secret is an environment variable that Grafana and the simulator both get,
			// with the same default, which is the credential the simulator accepts by default.
			secure := map[string]string{}
			for key, def := range want.secrets {
				ref := d.SecureJSONData[key]
				name, isVar := strings.CutPrefix(ref, "$")
				if !isVar {
					t.Errorf("%s: secureJsonData.%s = %q, want an environment variable (never a literal secret)", f, key, ref)
					continue
				}
				wantExpr := fmt.Sprintf("${%s:-%s}", name, def)
				if got := grafana.env()[name]; got != wantExpr {
					t.Errorf("grafana %s = %q, want %q", name, got, wantExpr)
				}
				if got := sim.env()[want.simEnv[key]]; got != wantExpr {
					t.Errorf("simulator %s = %q, want %q (the secret Grafana is given)", want.simEnv[key], got, wantExpr)
				}
				secure[key] = def
			}
			raw, _ := json.Marshal(d.JSONData)
			ds := newInstance(t, backend.DataSourceInstanceSettings{
				UID: d.UID, Name: d.Name, Type: d.Type, URL: e.srv.URL, JSONData: raw, DecryptedSecureJSONData: secure,
			}, e.clock.Now)
			res, err := ds.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
			if err != nil || res.Status != backend.HealthStatusOk {
				t.Fatalf("%s: Save & test of %s: %v %+v", f, d.Name, err, res)
			}
			dsByUID[d.UID] = ds
			names[d.UID] = d.Name
		}
	}
	if len(dsByUID) != len(provFlowLogSources) {
		t.Fatalf("provisioned Trustgrid/CFW data sources: %v, want one of each", slices.Sorted(maps.Keys(dsByUID)))
	}

	// The dashboard: its data source variable offers exactly these data sources, and every
	// panel answers with rows on each.
	var dash provDashboard
	if err := json.Unmarshal(provRead(t, "provisioning/dashboards/flow-logs/flow-logs.json"), &dash); err != nil {
		t.Fatal(err)
	}
	dsVar, ok := dash.variable("ds")
	if !ok || dsVar.Type != "datasource" || strings.Trim(string(dsVar.Query), `"`) != id || fmt.Sprint(dsVar.Current.Value) != "trustgrid-flows" {
		t.Fatalf("flow-logs: want a ds variable of type datasource for %s defaulting to trustgrid-flows, got %+v", id, dsVar)
	}
	regex := dsVar.Regex
	re := regexp.MustCompile(strings.Trim(regex, "/"))
	for _, name := range []string{names["trustgrid-flows"], names["huawei-cfw"], "Flows API", "Calico (OpenSearch)", "AWS flow logs"} {
		offered := re.MatchString(name)
		if want := name == names["trustgrid-flows"] || name == names["huawei-cfw"]; offered != want {
			t.Errorf("the ds variable's regex %q offers %q: %v, want %v", regex, name, offered, want)
		}
	}
	panels := dash.panels()
	if len(panels) < 6 {
		t.Fatalf("flow-logs: %d panels", len(panels))
	}
	for _, uid := range slices.Sorted(maps.Keys(dsByUID)) {
		ds := dsByUID[uid]
		for _, p := range panels {
			if p.Datasource == nil || p.Datasource.UID != "${ds}" || p.Datasource.Type != id {
				t.Errorf("panel %d %q: datasource %+v, want {type: %s, uid: ${ds}}", p.ID, p.Title, p.Datasource, id)
			}
			for _, raw := range p.Targets {
				var target map[string]any
				if err := json.Unmarshal(raw, &target); err != nil {
					t.Fatal(err)
				}
				body, _ := provParse(t, fmt.Sprintf("panel %d", p.ID), target)
				r := query(t, ds, lastHour(), nil, body)["A"]
				if r.Error != nil {
					t.Fatalf("%s: panel %d %q: %v", uid, p.ID, p.Title, r.Error)
				}
				if !provNonEmpty(r.Frames) {
					t.Errorf("%s: panel %d %q: no rows", uid, p.ID, p.Title)
				}
				for _, f := range r.Frames {
					if f.Meta != nil {
						for _, n := range f.Meta.Notices {
							if n.Severity == data.NoticeSeverityWarning {
								t.Errorf("%s: panel %d %q: warning %q", uid, p.ID, p.Title, n.Text)
							}
						}
					}
				}
			}
		}
	}

	// The alert rules: one per data source, each with one instance per source address, and
	// each instance's bytes those of the simulator's traffic over the rule's range.
	alert := map[string]string{backend.FromAlertHeaderName: "true"}
	ruled := map[string]bool{}
	for _, file := range provAlerting(t) {
		for _, g := range file.Groups {
			for _, rule := range g.Rules {
				for _, q := range rule.Data {
					ds, ours := dsByUID[q.DatasourceUID]
					if !ours {
						continue
					}
					ruled[q.DatasourceUID] = true
					if rule.DashboardUID != dash.UID || !slices.ContainsFunc(panels, func(p provPanel) bool { return p.ID == rule.PanelID }) {
						t.Errorf("%s: dashboardUid %s panelId %d, want a panel of %s", rule.Title, rule.DashboardUID, rule.PanelID, dash.UID)
					}
					if ref, _ := q.Model["datasource"].(map[string]any); ref["uid"] != q.DatasourceUID || ref["type"] != id {
						t.Errorf("%s: model datasource %v, want %s", rule.Title, ref, q.DatasourceUID)
					}
					model := maps.Clone(q.Model)
					model["refId"] = q.RefID
					body, parsed := provParse(t, rule.Title, model)
					if parsed.QueryType != "topTalkers" || parsed.Dim != "src" {
						t.Fatalf("%s: want a top-sources query, got %s", rule.Title, body)
					}
					tr := backend.TimeRange{From: testNow.Add(-time.Duration(q.RelativeTimeRange.From) * time.Second), To: testNow.Add(-time.Duration(q.RelativeTimeRange.To) * time.Second)}
					r := query(t, ds, tr, alert, body)[q.RefID]
					if r.Error != nil {
						t.Fatalf("%s: %v", rule.Title, r.Error)
					}
					items := numericItems(t, r.Frames)
					ref := simref.Totals(traffic, tr.From, tr.To, simref.BySrc)
					ranked := simref.Ranked(ref, "bytes")
					want := min(len(ranked), int(parsed.Limit))
					if len(items) != want {
						t.Fatalf("%s: %d alert instances, want %d (one per top source)", rule.Title, len(items), want)
					}
					for _, src := range ranked[:want] {
						key := "bytes" + data.Labels{engine.LabelSrcIP: src}.String()
						if got, ok := items[key]; !ok || got != float64(ref[src].Bytes) {
							t.Errorf("%s: instance %s = %v (present %v), want %d bytes", rule.Title, src, got, ok, ref[src].Bytes)
						}
					}
				}
			}
		}
	}
	for uid := range dsByUID {
		if !ruled[uid] {
			t.Errorf("no provisioned alert rule on %s", uid)
		}
	}
}

// TestCatalogReadmeProvisioningLoads: the provisioning example in the catalog README
// (src/README.md) names one data source of every source, and each loads as written: Grafana
// would create it and the backend accepts its settings, with any value for the secrets the
// example takes from the environment.
func TestCatalogReadmeProvisioningLoads(t *testing.T) {
	readme := string(provRead(t, "src/README.md"))
	_, after, found := strings.Cut(readme, "## Provisioning\n")
	block, _, closed := strings.Cut(after, "\n```\n")
	yamlText, isYAML := strings.CutPrefix(strings.TrimLeft(block, "\n"), "```yaml\n")
	if !found || !closed || !isYAML {
		t.Fatal("src/README.md: no ```yaml block under ## Provisioning")
	}
	var file struct {
		APIVersion  int              `yaml:"apiVersion"`
		Datasources []provDatasource `yaml:"datasources"`
	}
	if err := yaml.Unmarshal([]byte(yamlText), &file); err != nil {
		t.Fatalf("src/README.md provisioning example: %v", err)
	}
	if file.APIVersion != 1 {
		t.Errorf("apiVersion %d, want 1", file.APIVersion)
	}
	shown := map[string]bool{}
	for _, d := range file.Datasources {
		source, _ := d.JSONData["source"].(string)
		shown[source] = true
		if d.Type != provPlugin(t).ID {
			t.Errorf("%s: type %q", d.Name, d.Type)
		}
		secure := map[string]string{}
		for k, v := range d.SecureJSONData {
			if !strings.HasPrefix(v, "$") {
				t.Errorf("%s: secureJsonData.%s is a literal; the example should take secrets from the environment", d.Name, k)
			}
			secure[k] = "example-secret"
		}
		raw, _ := json.Marshal(d.JSONData)
		ds := newInstance(t, backend.DataSourceInstanceSettings{
			UID: "readme", Name: d.Name, Type: d.Type, URL: d.URL, JSONData: raw, DecryptedSecureJSONData: secure,
			BasicAuthEnabled: d.BasicAuth, BasicAuthUser: d.BasicAuthUser,
		}, time.Now)
		// Settings errors are kept for Save & test and every query rather than failing the
		// instance, so they are read here.
		if ds.settingsErr != nil {
			t.Errorf("%s: the backend rejects the example's settings: %v", d.Name, ds.settingsErr)
		}
	}
	for _, source := range []string{"flowsapi", "calico", "awsFlowLogs", "trustgrid", "huaweiCfw"} {
		if !shown[source] {
			t.Errorf("the provisioning example has no data source with jsonData.source %s", source)
		}
	}
}
