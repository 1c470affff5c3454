package awsflowlogs

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"gopkg.in/yaml.v3"

	"github.com/flowlens/flows-datasource/pkg/internal/motoserver"
)

var provRoot = filepath.Join("..", "..", "..", "provisioning")

// The provisioned demo's AWS pieces (data source, "AWS flow logs" dashboard, "Flow log delivery
// failed" rule): every query parses and answers against moto, holding the test inventory and
// records. pkg/plugin's provisioning tests check the Flows API pieces against the simulator.
func TestProvisionedAWSDemo(t *testing.T) {
	moto := motoserver.Get(t)
	c := newTestClient(t, moto.URL)
	fx := createConfigs(t, c, moto.URL)
	start := dataStart()
	flows := simulatedFlows(start, 20)
	putRecords(t, c, "us-east-1", groupDefault, DefaultLogFormat, flows)
	putRecords(t, c, "us-east-1", groupCustom, customFormat, flows)
	from, to := start, start.Add(20*time.Minute)

	// The data source: the settings load as provisioned.
	var dsFile struct {
		Datasources []struct {
			UID      string         `yaml:"uid"`
			Type     string         `yaml:"type"`
			JSONData map[string]any `yaml:"jsonData"`
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(provRoot, "datasources", "aws.yaml"), &dsFile)
	if len(dsFile.Datasources) != 1 || dsFile.Datasources[0].UID != "aws-flow-logs" || dsFile.Datasources[0].JSONData["source"] != Type {
		t.Fatalf("provisioned AWS data source: %+v", dsFile.Datasources)
	}
	raw, _ := json.Marshal(dsFile.Datasources[0].JSONData)
	if _, err := LoadSettings(backend.DataSourceInstanceSettings{JSONData: raw}); err != nil {
		t.Fatalf("the provisioned settings do not load: %v", err)
	}
	// Run the demo's queries with its settings, pointed at moto with the test keys and regions.
	jsonData := maps.Clone(dsFile.Datasources[0].JSONData)
	ds := testDatasource(t, moto.URL, map[string]any{"timeout": jsonData["timeout"]})

	// The dashboard.
	var dash struct {
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name    string          `json:"name"`
				Type    string          `json:"type"`
				Query   json.RawMessage `json:"query"`
				Current struct {
					Value any `json:"value"`
				} `json:"current"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID      int              `json:"id"`
			Title   string           `json:"title"`
			Targets []map[string]any `json:"targets"`
		} `json:"panels"`
	}
	b, err := os.ReadFile(filepath.Join(provRoot, "dashboards", "aws", "aws-flow-logs.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q map[string]any
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Fatalf("variable %s: %v", v.Name, err)
		}
		res := query(t, ds, q["queryType"].(string), q, from, to, false)
		if res.Error != nil || len(res.Frames) == 0 || res.Frames[0].Rows() != 4 {
			t.Fatalf("variable %s: %v, %d frames", v.Name, res.Error, len(res.Frames))
		}
	}
	// Each panel with the flow-log variable at All and at one flow log.
	for _, flowLog := range []string{"", fx.byName["vpcAll"].ID} {
		for _, p := range dash.Panels {
			for _, target := range p.Targets {
				q := interpolate(t, target, map[string]string{"flow_log": flowLog})
				qt, _ := q["queryType"].(string)
				res := query(t, ds, qt, q, from, to, false)
				if res.Error != nil {
					t.Fatalf("panel %d %q (flow log %q): %v", p.ID, p.Title, flowLog, res.Error)
				}
				rows := 0
				for _, f := range res.Frames {
					rows += f.Rows()
				}
				if rows == 0 {
					t.Errorf("panel %d %q (flow log %q): no data", p.ID, p.Title, flowLog)
				}
			}
		}
	}

	// The alert rule: its query in alert form, one instance per flow log, firing for the failing one.
	var rules struct {
		Groups []struct {
			Rules []struct {
				Title string `yaml:"title"`
				Data  []struct {
					DatasourceUID string         `yaml:"datasourceUid"`
					Model         map[string]any `yaml:"model"`
				} `yaml:"data"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, filepath.Join(provRoot, "alerting", "aws-rules.yaml"), &rules)
	found := false
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			for _, d := range r.Data {
				if d.DatasourceUID != "aws-flow-logs" {
					continue
				}
				found = found || r.Title == "Flow log delivery failed"
				q := maps.Clone(d.Model)
				delete(q, "datasource")
				res := query(t, ds, q["queryType"].(string), q, time.Now().Add(-10*time.Minute), time.Now(), true)
				if res.Error != nil || len(res.Frames) != 1 {
					t.Fatalf("rule %q: %v", r.Title, res.Error)
				}
				ids, values := stringColumn(t, res.Frames[0], "flow_log_id"), stringColumn(t, res.Frames[0], "delivery_failed")
				firing := []string{}
				for i := range ids {
					if values[i] == "1" {
						firing = append(firing, ids[i])
					}
				}
				if len(ids) != 4 || strings.Join(firing, ",") != fx.byName["failing"].ID {
					t.Fatalf("rule %q: instances %v, firing %v; want 4, firing only %s", r.Title, ids, firing, fx.byName["failing"].ID)
				}
			}
		}
	}
	if !found {
		t.Fatal(`no provisioned rule "Flow log delivery failed" on aws-flow-logs`)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// interpolate replaces $name in a target's strings (as the frontend does for a single value;
// "" is the variable at All) and drops the datasource reference.
func interpolate(t *testing.T, target map[string]any, vars map[string]string) map[string]any {
	t.Helper()
	b, _ := json.Marshal(target)
	s := string(b)
	for name, v := range vars {
		s = strings.ReplaceAll(s, "${"+name+"}", v)
		s = strings.ReplaceAll(s, "$"+name, v)
	}
	var out map[string]any
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatal(err)
	}
	delete(out, "datasource")
	return out
}
