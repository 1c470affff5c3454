package calico_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/dataplane/sdata/reader"
	"github.com/grafana/dataplane/sdata/timeseries"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"gopkg.in/yaml.v3"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/plugin"
	"github.com/flowlens/flows-datasource/pkg/sources/calico"
	"github.com/flowlens/flows-datasource/pkg/sources/calico/elastic"
)

var provRoot = filepath.Join("..", "..", "..", "provisioning")

func readProv(t *testing.T, path string, v any, isYAML bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(provRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	if isYAML {
		err = yaml.Unmarshal(b, v)
	} else {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// runQuery runs one query model through the plugin's QueryData, as Grafana sends it.
func runQuery(t *testing.T, ds *plugin.Datasource, model map[string]any, from, to time.Time, alert bool) backend.DataResponse {
	t.Helper()
	raw, _ := json.Marshal(model)
	qt, _ := model["queryType"].(string)
	req := &backend.QueryDataRequest{Queries: []backend.DataQuery{{RefID: "A", QueryType: qt, JSON: raw,
		TimeRange: backend.TimeRange{From: from, To: to}, Interval: 5 * time.Minute, MaxDataPoints: 1000}}}
	if alert {
		req.Headers = map[string]string{backend.FromAlertHeaderName: "true"}
	}
	resp, err := ds.QueryData(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Responses["A"]
}

// The demo's Calico pieces: the provisioned data source's settings load, every panel and
// variable query of the "Calico flow logs" dashboard answers through the plugin on both
// engines, and the "Denied flows in a namespace" rule gives one alert instance per
// namespace that denied flows, with the counts of the ground truth.
func TestProvisionedCalicoDemo(t *testing.T) {
	var dsFile struct {
		Datasources []struct {
			UID      string         `yaml:"uid"`
			Type     string         `yaml:"type"`
			URL      string         `yaml:"url"`
			JSONData map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	readProv(t, "datasources/calico.yaml", &dsFile, true)
	if len(dsFile.Datasources) != 1 || dsFile.Datasources[0].UID != "calico-flows" || dsFile.Datasources[0].JSONData["source"] != calico.Type {
		t.Fatalf("provisioned Calico data source: %+v", dsFile.Datasources)
	}
	prov := dsFile.Datasources[0]
	raw, _ := json.Marshal(prov.JSONData)
	s, err := calico.LoadSettings(backend.DataSourceInstanceSettings{URL: prov.URL, JSONData: raw})
	if err != nil || s.IndexPattern != calico.DefaultIndexPattern || s.FlushInterval != 300*time.Second {
		t.Fatalf("the provisioned settings load as %+v, %v", s, err)
	}

	var dash struct {
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID      int              `json:"id"`
			Title   string           `json:"title"`
			Targets []map[string]any `json:"targets"`
		} `json:"panels"`
	}
	readProv(t, "dashboards/calico/calico-flows.json", &dash, false)
	var rules struct {
		Groups []struct {
			Rules []struct {
				UID  string `yaml:"uid"`
				Data []struct {
					RefID             string               `yaml:"refId"`
					DatasourceUID     string               `yaml:"datasourceUid"`
					RelativeTimeRange struct{ From int64 } `yaml:"relativeTimeRange"`
					Model             map[string]any       `yaml:"model"`
				} `yaml:"data"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readProv(t, "alerting/calico-rules.yaml", &rules, true)

	for _, f := range fixtures(t) {
		// The provisioned settings, pointed at the test cluster and its test indices.
		jd := map[string]any{}
		for k, v := range prov.JSONData {
			jd[k] = v
		}
		jd["indexPattern"] = pattern
		inst := backend.DataSourceInstanceSettings{UID: "calico-flows", URL: f.engine.URL}
		if f.engine.Auth.Kind == elastic.AuthBasic {
			jd["authType"] = "basic"
			inst.BasicAuthEnabled = true
			inst.BasicAuthUser = f.engine.Auth.User
			inst.DecryptedSecureJSONData = map[string]string{"basicAuthPassword": f.engine.Auth.Password}
		}
		inst.JSONData, _ = json.Marshal(jd)
		got, err := plugin.New(plugin.Sources{Factories: map[string]engine.Factory{calico.Type: calico.NewSource}, Default: "flowsapi"})(context.Background(), inst)
		if err != nil {
			t.Fatal(err)
		}
		ds := got.(*plugin.Datasource)

		health, err := ds.CheckHealth(context.Background(), &backend.CheckHealthRequest{})
		if err != nil || health.Status != backend.HealthStatusOk || !strings.Contains(health.Message, f.engine.Name+" "+f.engine.Version) {
			t.Errorf("%s: health %v %q %v", f.engine, health.Status, health.Message, err)
		}

		for _, v := range dash.Templating.List {
			if v.Type != "query" {
				continue
			}
			var model map[string]any
			_ = json.Unmarshal(v.Query, &model)
			r := runQuery(t, ds, model, qFrom, qTo, false)
			if r.Error != nil || len(r.Frames) == 0 || r.Frames[0].Rows() < 3 {
				t.Errorf("%s: variable %s: %v", f.engine, v.Name, r.Error)
			}
		}
		for _, p := range dash.Panels {
			for _, target := range p.Targets {
				model := map[string]any{}
				for k, v := range target {
					model[k] = v
				}
				// "All" of the namespace variable: no filter.
				model["labels"] = map[string]any{}
				r := runQuery(t, ds, model, qFrom, qTo, false)
				if r.Error != nil {
					t.Errorf("%s: panel %q: %v", f.engine, p.Title, r.Error)
					continue
				}
				rows := 0
				for _, fr := range r.Frames {
					rows += fr.Rows()
				}
				if rows == 0 {
					t.Errorf("%s: panel %q: no data", f.engine, p.Title)
				}
			}
		}

		truth := map[string]int64{}
		for _, fl := range flowsOf(f.docs, qTo.Add(-15*time.Minute).Unix(), qTo.Unix()) {
			if fl.denied {
				truth[fl.key("dstNamespace")] += fl.flows()
			}
		}
		for _, g := range rules.Groups {
			for _, rule := range g.Rules {
				q := rule.Data[0]
				if q.DatasourceUID != "calico-flows" {
					t.Fatalf("rule %s queries %s", rule.UID, q.DatasourceUID)
				}
				from := qTo.Add(-time.Duration(q.RelativeTimeRange.From) * time.Second)
				r := runQuery(t, ds, q.Model, from, qTo, true)
				if r.Error != nil {
					t.Fatalf("%s: rule %s: %v", f.engine, rule.UID, r.Error)
				}
				instances := alertInstances(t, r.Frames)
				if len(instances) != len(truth) {
					t.Errorf("%s: rule %s: %d instances %v, want one per namespace that denied flows: %v", f.engine, rule.UID, len(instances), instances, truth)
				}
				for ns, n := range truth {
					if instances[data.Labels{"dest_namespace": ns}.String()] != n {
						t.Errorf("%s: rule %s: %s = %d, want %d", f.engine, rule.UID, ns, instances[data.Labels{"dest_namespace": ns}.String()], n)
					}
				}
			}
		}
	}
}

// alertInstances reads frames as Grafana's alerting does and sums each series.
func alertInstances(t *testing.T, frames data.Frames) map[string]int64 {
	t.Helper()
	kind, err := reader.CanReadBasedOnMeta(frames)
	if err != nil || kind.Kind() != data.KindTimeSeries {
		t.Fatalf("kind %v, %v", kind, err)
	}
	cr, err := timeseries.CollectionReaderFromFrames(frames)
	if err != nil {
		t.Fatal(err)
	}
	col, err := cr.GetCollection(true)
	if err != nil || col.Warning != nil {
		t.Fatalf("%v %v", err, col.Warning)
	}
	out := map[string]int64{}
	for _, ref := range col.Refs {
		n, _ := ref.Len()
		var sum int64
		for i := range n {
			if v, _ := ref.NullableFloat64Value(i); v != nil {
				sum += int64(*v)
			}
		}
		out[ref.GetLabels().String()] = sum
	}
	return out
}
