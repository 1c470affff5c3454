package plugin

// Acceptance tests for the demo (docker-compose.yml, Dockerfile) and the provisioning files
// (provisioning/): the files are read from the repository, every Flows API query in them is
// parsed by the backend's own parser and run against the simulator, the way Grafana would run
// it. Nothing here needs Docker or a Grafana server. Run: go test ./pkg/plugin/ -run Provision

import (
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/grafana/dataplane/sdata/numeric"
	"github.com/grafana/dataplane/sdata/reader"
	"github.com/grafana/dataplane/sdata/timeseries"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
	"gopkg.in/yaml.v3"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/models"
	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// provRoot is the repository root, seen from this package's directory.
const provRoot = "../.."

const (
	provExprUID     = "__expr__"
	provGrafanaProv = "/etc/grafana/provisioning"
)

func provPath(parts ...string) string {
	return filepath.Join(append([]string{provRoot}, parts...)...)
}

func provRead(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(provPath(parts...))
	if err != nil {
		t.Fatalf("read %s: %v", filepath.Join(parts...), err)
	}
	return b
}

func provYAML(t testing.TB, v any, parts ...string) {
	t.Helper()
	if err := yaml.Unmarshal(provRead(t, parts...), v); err != nil {
		t.Fatalf("%s: %v", filepath.Join(parts...), err)
	}
}

// provFiles lists the YAML (or JSON) files of a provisioning directory, as Grafana reads them.
func provFiles(t testing.TB, dir string, exts ...string) []string {
	t.Helper()
	entries, err := os.ReadDir(provPath(dir))
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() && slices.Contains(exts, filepath.Ext(e.Name())) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %v files in %s", exts, dir)
	}
	return out
}

// ---------------------------------------------------------------------------------------------
// plugin.json, the provisioned data source

type provPluginJSON struct {
	ID           string `json:"id"`
	Dependencies struct {
		GrafanaDependency string `json:"grafanaDependency"`
	} `json:"dependencies"`
}

func provPlugin(t testing.TB) provPluginJSON {
	t.Helper()
	var p provPluginJSON
	if err := json.Unmarshal(provRead(t, "src", "plugin.json"), &p); err != nil {
		t.Fatal(err)
	}
	if p.ID == "" {
		t.Fatal("src/plugin.json has no id")
	}
	return p
}

type provDatasource struct {
	Name           string            `yaml:"name"`
	UID            string            `yaml:"uid"`
	Type           string            `yaml:"type"`
	URL            string            `yaml:"url"`
	BasicAuth      bool              `yaml:"basicAuth"`
	BasicAuthUser  string            `yaml:"basicAuthUser"`
	OrgID          int               `yaml:"orgId"`
	JSONData       map[string]any    `yaml:"jsonData"`
	SecureJSONData map[string]string `yaml:"secureJsonData"`
}

// provFlowsDatasource returns the one provisioned data source of this plugin that reads the
// Flows API (jsonData.source empty or flowsapi). Data sources of other sources (AWS) are
// checked by their source's package against that system's emulator.
func provFlowsDatasource(t testing.TB) provDatasource {
	t.Helper()
	id := provPlugin(t).ID
	var found []provDatasource
	for _, f := range provFiles(t, "provisioning/datasources", ".yaml", ".yml") {
		var file struct {
			APIVersion  int              `yaml:"apiVersion"`
			Datasources []provDatasource `yaml:"datasources"`
		}
		provYAML(t, &file, f)
		if file.APIVersion != 1 {
			t.Errorf("%s: apiVersion %d, want 1", f, file.APIVersion)
		}
		for _, d := range file.Datasources {
			if src, _ := d.JSONData["source"].(string); d.Type == id && (src == "" || src == "flowsapi") {
				found = append(found, d)
			}
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d provisioned data sources of type %s, want 1", len(found), id)
	}
	return found[0]
}

// ---------------------------------------------------------------------------------------------
// docker-compose.yml

type provCompose struct {
	Services map[string]provService `yaml:"services"`
}

type provService struct {
	Image       string `yaml:"image"`
	Build       any    `yaml:"build"`
	Command     any    `yaml:"command"`
	Environment any    `yaml:"environment"`
	Volumes     []any  `yaml:"volumes"`
	Ports       []any  `yaml:"ports"`
	DependsOn   any    `yaml:"depends_on"`
}

func provLoadCompose(t testing.TB) provCompose {
	t.Helper()
	var c provCompose
	provYAML(t, &c, "docker-compose.yml")
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml has no services")
	}
	return c
}

// env is a service's environment, from either the map or the list form.
func (s provService) env() map[string]string {
	out := map[string]string{}
	switch e := s.Environment.(type) {
	case map[string]any:
		for k, v := range e {
			if v == nil {
				out[k] = ""
			} else {
				out[k] = fmt.Sprint(v)
			}
		}
	case []any:
		for _, item := range e {
			k, v, _ := strings.Cut(fmt.Sprint(item), "=")
			out[k] = v
		}
	}
	return out
}

func (s provService) command() []string {
	switch c := s.Command.(type) {
	case string:
		return strings.Fields(c)
	case []any:
		out := make([]string, len(c))
		for i, v := range c {
			out[i] = fmt.Sprint(v)
		}
		return out
	}
	return nil
}

// flag returns the value of -name / --name (as "-name value" or "-name=value") in the command.
func (s provService) flag(name string) (string, bool) {
	args := s.command()
	for i, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == name && i+1 < len(args) {
			return args[i+1], true
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v, true
		}
	}
	return "", false
}

type provBuild struct{ context, dockerfile, target string }

func (s provService) build() (provBuild, bool) {
	switch b := s.Build.(type) {
	case string:
		return provBuild{context: b, dockerfile: "Dockerfile"}, true
	case map[string]any:
		out := provBuild{context: ".", dockerfile: "Dockerfile"}
		if v, ok := b["context"].(string); ok {
			out.context = v
		}
		if v, ok := b["dockerfile"].(string); ok {
			out.dockerfile = v
		}
		if v, ok := b["target"].(string); ok {
			out.target = v
		}
		return out, true
	}
	return provBuild{}, false
}

type provMount struct{ source, target string }

// mounts are the service's volumes; a source starting with . or / is a bind mount.
func (s provService) mounts(t testing.TB) []provMount {
	t.Helper()
	var out []provMount
	for _, v := range s.Volumes {
		switch m := v.(type) {
		case string:
			parts := strings.Split(m, ":")
			if len(parts) < 2 {
				t.Errorf("volume %q has no target", m)
				continue
			}
			out = append(out, provMount{source: parts[0], target: parts[1]})
		case map[string]any:
			src, _ := m["source"].(string)
			dst, _ := m["target"].(string)
			out = append(out, provMount{source: src, target: dst})
		}
	}
	return out
}

func (m provMount) isBind() bool {
	return strings.HasPrefix(m.source, ".") || strings.HasPrefix(m.source, "/")
}

// containerToRepo maps a path inside a service's container to the repository through its bind
// mounts ("" if no mount covers it).
func (s provService) containerToRepo(t testing.TB, p string) string {
	t.Helper()
	for _, m := range s.mounts(t) {
		if !m.isBind() {
			continue
		}
		if rest, ok := strings.CutPrefix(p, m.target); ok && (rest == "" || strings.HasPrefix(rest, "/")) {
			return filepath.Join(provRoot, m.source, rest)
		}
	}
	return ""
}

// provServices finds the Grafana service (it mounts the provisioning directory) and the
// simulator service (its command has -listen).
func provServices(t testing.TB, c provCompose) (grafanaName string, grafana provService, simName string, sim provService) {
	t.Helper()
	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		s := c.Services[name]
		for _, m := range s.mounts(t) {
			if m.target == provGrafanaProv {
				grafanaName, grafana = name, s
			}
		}
		if _, ok := s.flag("listen"); ok {
			simName, sim = name, s
		}
	}
	if grafanaName == "" {
		t.Fatalf("no service in docker-compose.yml mounts ./provisioning to %s", provGrafanaProv)
	}
	if simName == "" {
		t.Fatal("no service in docker-compose.yml runs the simulator with -listen")
	}
	return
}

// provSimulatorConfig is the simulator as docker-compose.yml runs it (seed, volume), so that
// the dashboards' defaults are checked against the data the demo shows.
func provSimulatorConfig(t testing.TB) simulator.Config {
	t.Helper()
	_, _, _, sim := provServices(t, provLoadCompose(t))
	cfg := simulator.Config{Seed: simulator.DefaultSeed}
	if v, ok := sim.flag("seed"); ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("simulator -seed %q: %v", v, err)
		}
		cfg.Seed = n
	}
	if v, ok := sim.flag("flows-per-minute"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("simulator -flows-per-minute %q: %v", v, err)
		}
		cfg.FlowsPerMinute = n
	}
	if v, ok := sim.flag("history"); ok {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("simulator -history %q: %v", v, err)
		}
		cfg.History = d
	}
	return cfg
}

// ---------------------------------------------------------------------------------------------
// Dashboards

type provDSRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type provLink struct {
	Title string `json:"title"`
	Type  string `json:"type"`
	URL   string `json:"url"`
}

type provOverride struct {
	Matcher struct {
		ID      string `json:"id"`
		Options any    `json:"options"`
	} `json:"matcher"`
	Properties []struct {
		ID    string          `json:"id"`
		Value json.RawMessage `json:"value"`
	} `json:"properties"`
}

type provPanel struct {
	ID          int               `json:"id"`
	Type        string            `json:"type"`
	Title       string            `json:"title"`
	Datasource  *provDSRef        `json:"datasource"`
	Targets     []json.RawMessage `json:"targets"`
	Panels      []provPanel       `json:"panels"`
	Links       []provLink        `json:"links"`
	FieldConfig struct {
		Defaults struct {
			Links []provLink `json:"links"`
		} `json:"defaults"`
		Overrides []provOverride `json:"overrides"`
	} `json:"fieldConfig"`
}

type provVariable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Regex      string          `json:"regex"`
	Datasource *provDSRef      `json:"datasource"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   *string         `json:"allValue"`
	Current    struct {
		Value any `json:"value"`
	} `json:"current"`
}

type provDashboard struct {
	file       string
	UID        string      `json:"uid"`
	Title      string      `json:"title"`
	Panels     []provPanel `json:"panels"`
	Links      []provLink  `json:"links"`
	Templating struct {
		List []provVariable `json:"list"`
	} `json:"templating"`
}

// panels flattens rows.
func (d provDashboard) panels() []provPanel {
	var out []provPanel
	var walk func(ps []provPanel)
	walk = func(ps []provPanel) {
		for _, p := range ps {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			out = append(out, p)
		}
	}
	walk(d.Panels)
	return out
}

func (d provDashboard) variable(name string) (provVariable, bool) {
	for _, v := range d.Templating.List {
		if v.Name == name {
			return v, true
		}
	}
	return provVariable{}, false
}

// provDashboards loads every dashboard of every file provider, through the provider's path as
// Grafana sees it in the container (mapped back to the repository via docker-compose.yml).
func provDashboards(t testing.TB) map[string]provDashboard {
	t.Helper()
	_, grafana, _, _ := provServices(t, provLoadCompose(t))
	out := map[string]provDashboard{}
	for _, f := range provFiles(t, "provisioning/dashboards", ".yaml", ".yml") {
		var file struct {
			APIVersion int `yaml:"apiVersion"`
			Providers  []struct {
				Name    string `yaml:"name"`
				Type    string `yaml:"type"`
				Folder  string `yaml:"folder"`
				Options struct {
					Path string `yaml:"path"`
				} `yaml:"options"`
			} `yaml:"providers"`
		}
		provYAML(t, &file, f)
		if file.APIVersion != 1 || len(file.Providers) == 0 {
			t.Fatalf("%s: want apiVersion 1 and at least one provider", f)
		}
		for _, p := range file.Providers {
			if p.Type != "file" || p.Folder == "" {
				t.Errorf("%s: provider %q: type %q folder %q, want a file provider with a folder", f, p.Name, p.Type, p.Folder)
			}
			dir := grafana.containerToRepo(t, p.Options.Path)
			if dir == "" {
				t.Fatalf("%s: provider %q path %s is not under a mounted directory", f, p.Name, p.Options.Path)
			}
			var files []string
			err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && filepath.Ext(p) == ".json" {
					files = append(files, p)
				}
				return err
			})
			if err != nil || len(files) == 0 {
				t.Fatalf("%s: provider %q: no dashboards in %s (%v)", f, p.Name, dir, err)
			}
			for _, df := range files {
				b, err := os.ReadFile(df)
				if err != nil {
					t.Fatal(err)
				}
				var d provDashboard
				if err := json.Unmarshal(b, &d); err != nil {
					t.Fatalf("%s: %v", df, err)
				}
				d.file, _ = filepath.Rel(provRoot, df)
				if d.UID == "" || d.Title == "" {
					t.Fatalf("%s: no uid or title", d.file)
				}
				if prev, dup := out[d.UID]; dup {
					t.Fatalf("%s and %s share uid %s", prev.file, d.file, d.UID)
				}
				if !provForFlowsAPI(d) {
					continue // another source's dashboard, tested by that source's package
				}
				out[d.UID] = d
			}
		}
	}
	return out
}

// provForFlowsAPI reports whether a dashboard is for the Flows API data source: its ds variable
// defaults to it. The AWS dashboard (ds default aws-flow-logs) is tested by
// pkg/sources/awsflowlogs against moto.
func provForFlowsAPI(d provDashboard) bool {
	for _, v := range d.Templating.List {
		if v.Name == "ds" && v.Type == "datasource" {
			cur := fmt.Sprint(v.Current.Value)
			return cur == "flows-api" || cur == "Flows API"
		}
	}
	return true
}

// provDashboardVars are the values Grafana would give a dashboard's variables. A nil list for a
// multi-value variable is "All", which the data source receives as an empty filter.
type provDashboardVars struct {
	single map[string]string   // data source, text box
	multi  map[string][]string // multi-value query variables
}

// provFixedVars are the values of a dashboard's variables that need no data: the data source
// variable at dsUID, text boxes and constants at their defaults, and a 1 m interval. Query
// variables are the caller's to set.
func provFixedVars(d provDashboard, dsUID string) provDashboardVars {
	vars := provDashboardVars{single: map[string]string{"__interval": "1m", "__interval_ms": "60000"}, multi: map[string][]string{}}
	for _, v := range d.Templating.List {
		switch v.Type {
		case "datasource":
			vars.single[v.Name] = dsUID
		case "textbox", "constant":
			var def string
			_ = json.Unmarshal(v.Query, &def)
			vars.single[v.Name] = def
		}
	}
	return vars
}

// varRef matches $name, ${name}, ${name:format} and [[name]].
var provVarRef = regexp.MustCompile(`\$\{([A-Za-z0-9_.]+)(?::[^}]*)?\}|\$([A-Za-z0-9_]+)|\[\[([A-Za-z0-9_]+)(?::[^\]]*)?\]\]`)

func provRefName(m []string) string {
	for _, s := range m[1:] {
		if s != "" {
			return s
		}
	}
	return ""
}

// interpolate replaces variables in a target the way Grafana and the frontend's
// applyTemplateVariables do: a string that is exactly one multi-value variable becomes the
// list of its values ("" for All), other references are replaced by text. Unknown variables
// are left as they are (the backend then rejects them by name).
func (v provDashboardVars) interpolate(x any) any {
	switch val := x.(type) {
	case map[string]any:
		out := make(map[string]any, len(val))
		for k, e := range val {
			out[k] = v.interpolate(e)
		}
		return out
	case []any:
		out := make([]any, len(val))
		for i, e := range val {
			out[i] = v.interpolate(e)
		}
		return out
	case string:
		if m := provVarRef.FindStringSubmatch(val); m != nil && m[0] == val {
			if list, ok := v.multi[provRefName(m)]; ok {
				if len(list) == 0 {
					return ""
				}
				items := make([]any, len(list))
				for i, s := range list {
					items[i] = s
				}
				return items
			}
		}
		return provVarRef.ReplaceAllStringFunc(val, func(ref string) string {
			name := provRefName(provVarRef.FindStringSubmatch(ref))
			if s, ok := v.single[name]; ok {
				return s
			}
			if list, ok := v.multi[name]; ok {
				return strings.Join(list, ",")
			}
			return ref
		})
	}
	return x
}

// grafanaBuiltins are variables Grafana provides itself.
func provIsBuiltin(name string) bool {
	return strings.HasPrefix(name, "__")
}

// ---------------------------------------------------------------------------------------------
// Alerting files

type provAlertQuery struct {
	RefID             string `yaml:"refId"`
	QueryType         string `yaml:"queryType"`
	DatasourceUID     string `yaml:"datasourceUid"`
	RelativeTimeRange struct {
		From int64 `yaml:"from"`
		To   int64 `yaml:"to"`
	} `yaml:"relativeTimeRange"`
	Model map[string]any `yaml:"model"`
}

type provAlertRule struct {
	UID          string            `yaml:"uid"`
	Title        string            `yaml:"title"`
	Condition    string            `yaml:"condition"`
	Data         []provAlertQuery  `yaml:"data"`
	For          string            `yaml:"for"`
	NoDataState  string            `yaml:"noDataState"`
	ExecErrState string            `yaml:"execErrState"`
	DashboardUID string            `yaml:"dashboardUid"`
	PanelID      int               `yaml:"panelId"`
	Labels       map[string]string `yaml:"labels"`
	Annotations  map[string]string `yaml:"annotations"`
}

type provAlertGroup struct {
	OrgID    int             `yaml:"orgId"`
	Name     string          `yaml:"name"`
	Folder   string          `yaml:"folder"`
	Interval string          `yaml:"interval"`
	Rules    []provAlertRule `yaml:"rules"`
}

type provRoute struct {
	Receiver       string      `yaml:"receiver"`
	ObjectMatchers [][]string  `yaml:"object_matchers"`
	GroupBy        []string    `yaml:"group_by"`
	Routes         []provRoute `yaml:"routes"`
}

type provAlertingFile struct {
	APIVersion    int              `yaml:"apiVersion"`
	Groups        []provAlertGroup `yaml:"groups"`
	ContactPoints []struct {
		OrgID     int    `yaml:"orgId"`
		Name      string `yaml:"name"`
		Receivers []struct {
			UID      string         `yaml:"uid"`
			Type     string         `yaml:"type"`
			Settings map[string]any `yaml:"settings"`
		} `yaml:"receivers"`
	} `yaml:"contactPoints"`
	Policies []struct {
		OrgID     int `yaml:"orgId"`
		provRoute `yaml:",inline"`
	} `yaml:"policies"`
}

func provAlerting(t *testing.T) []provAlertingFile {
	t.Helper()
	var out []provAlertingFile
	for _, f := range provFiles(t, "provisioning/alerting", ".yaml", ".yml") {
		var file provAlertingFile
		provYAML(t, &file, f)
		if file.APIVersion != 1 {
			t.Errorf("%s: apiVersion %d, want 1", f, file.APIVersion)
		}
		out = append(out, file)
	}
	return out
}

// ---------------------------------------------------------------------------------------------
// Running queries

// provQueryJSON turns a target (interpolated) into the JSON the backend receives, checks that
// the backend's parser accepts it and returns it with its parsed form.
func provParse(t testing.TB, where string, target map[string]any) (string, models.Query) {
	t.Helper()
	body := maps.Clone(target)
	delete(body, "datasource")
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	qt, _ := body["queryType"].(string)
	ref, _ := body["refId"].(string)
	q, err := models.ParseQuery(backend.DataQuery{RefID: ref, QueryType: qt, JSON: b})
	if err != nil {
		t.Fatalf("%s: the backend's parser rejects %s: %v", where, b, err)
	}
	return string(b), q
}

// provNonEmpty reports whether some frame has rows.
func provNonEmpty(frames data.Frames) bool {
	for _, f := range frames {
		if f != nil && len(f.Fields) > 0 && f.Rows() > 0 {
			return true
		}
	}
	return false
}

func provHasField(frames data.Frames, name string) bool {
	for _, f := range frames {
		for _, fd := range f.Fields {
			if fd.Name == name || (fd.Config != nil && fd.Config.DisplayName == name) {
				return true
			}
		}
	}
	return false
}

// provAlertItems reads alert frames the way Grafana's alerting does (data plane readers) and
// returns each item's labels and whether the kind is numeric (one number per item).
func provAlertItems(t *testing.T, frames data.Frames) ([]data.Labels, bool) {
	t.Helper()
	kind, err := reader.CanReadBasedOnMeta(frames)
	if err != nil {
		t.Fatalf("the data plane reader cannot read the frames: %v", err)
	}
	var labels []data.Labels
	switch {
	case kind.IsNumeric():
		cr, err := numeric.CollectionReaderFromFrames(frames)
		if err != nil {
			t.Fatal(err)
		}
		c, err := cr.GetCollection(false) // (true) panics in sdata v0.0.9
		if err != nil || c.Warning != nil {
			t.Fatalf("numeric collection: %v %v", err, c.Warning)
		}
		for _, r := range c.Refs {
			labels = append(labels, r.GetLabels())
		}
		return labels, true
	case kind.IsTimeSeries():
		cr, err := timeseries.CollectionReaderFromFrames(frames)
		if err != nil {
			t.Fatal(err)
		}
		c, err := cr.GetCollection(true)
		if err != nil || c.Warning != nil {
			t.Fatalf("timeseries collection: %v %v", err, c.Warning)
		}
		for _, r := range c.Refs {
			labels = append(labels, r.GetLabels())
		}
		return labels, false
	}
	t.Fatalf("kind %q is neither numeric nor time series", kind)
	return nil, false
}

// provTalkerLabels are the labels that name one talker of an alert query.
func provTalkerLabels(q models.Query) []string {
	group := q.GroupBy
	if q.QueryType == models.QueryTypeTopTalkers {
		group = q.Dim
	}
	if q.QueryType == models.QueryTypeProtocols {
		group = "protocol"
	}
	switch group {
	case "src":
		return []string{engine.LabelSrcIP}
	case "dst":
		return []string{engine.LabelDstIP}
	case "pair":
		return []string{engine.LabelSrcIP, engine.LabelDstIP}
	case "protocol":
		return []string{engine.LabelProtocol}
	}
	return nil
}

// ---------------------------------------------------------------------------------------------
// Tests: data source, dashboards, alert rules, compose and Dockerfile

func TestProvisionedDatasource(t *testing.T) {
	ds := provFlowsDatasource(t)
	if ds.UID != "flows-api" || ds.Name != "Flows API" {
		t.Errorf("uid %q name %q, want flows-api / Flows API", ds.UID, ds.Name)
	}
	if ds.SecureJSONData["apiToken"] != "$FLOWS_API_TOKEN" {
		t.Errorf("secureJsonData.apiToken = %q, want $FLOWS_API_TOKEN (expanded by Grafana from its environment)", ds.SecureJSONData["apiToken"])
	}
	want := map[string]int{"timeout": 30, "pageSize": 1000, "rowCap": 50000, "maxConcurrency": 4}
	for k, v := range want {
		if got := fmt.Sprint(ds.JSONData[k]); got != strconv.Itoa(v) {
			t.Errorf("jsonData.%s = %s, want %d", k, got, v)
		}
	}
	// The backend accepts the settings as Grafana would pass them.
	raw, _ := json.Marshal(ds.JSONData)
	s, err := models.LoadSettings(backend.DataSourceInstanceSettings{
		URL: ds.URL, JSONData: raw, DecryptedSecureJSONData: map[string]string{"apiToken": "demo-token"},
	})
	if err != nil {
		t.Fatalf("the backend rejects the provisioned settings: %v", err)
	}
	if s.Timeout != 30*time.Second || s.PageSize != 1000 || s.RowCap != 50000 || s.MaxConcurrency != 4 {
		t.Errorf("settings read as %+v", s)
	}

	// The URL is the simulator's compose service on the port it listens on.
	c := provLoadCompose(t)
	_, grafana, simName, sim := provServices(t, c)
	u, err := url.Parse(ds.URL)
	if err != nil {
		t.Fatal(err)
	}
	listen, _ := sim.flag("listen")
	_, port, _ := net.SplitHostPort(listen)
	if u.Hostname() != simName || u.Port() != port {
		t.Errorf("url %s, want http://%s:%s (the simulator service, -listen %s)", ds.URL, simName, port, listen)
	}
	// The token variable reaches Grafana, with the documented default, and the simulator.
	const tokenVar = "${FLOWS_API_TOKEN:-demo-token}"
	if got := grafana.env()["FLOWS_API_TOKEN"]; got != tokenVar {
		t.Errorf("grafana FLOWS_API_TOKEN = %q, want %q", got, tokenVar)
	}
	if got := sim.env()["FLOWS_API_TOKEN"]; got != tokenVar {
		t.Errorf("simulator FLOWS_API_TOKEN = %q, want %q", got, tokenVar)
	}
}

func TestProvisionedDashboardsAreWellFormed(t *testing.T) {
	id := provPlugin(t).ID
	dsUID := provFlowsDatasource(t).UID
	dashboards := provDashboards(t)
	if len(dashboards) < 2 {
		t.Fatalf("%d dashboards, want at least 2", len(dashboards))
	}
	for _, uid := range []string{"flows-overview", "flows-host"} {
		if _, ok := dashboards[uid]; !ok {
			t.Errorf("no dashboard with uid %s", uid)
		}
	}

	for _, d := range dashboards {
		t.Run(d.UID, func(t *testing.T) {
			// The data source variable.
			dsVar, ok := d.variable("ds")
			if !ok || dsVar.Type != "datasource" || strings.Trim(string(dsVar.Query), `"`) != id {
				t.Fatalf("%s: want a variable ds of type datasource with query %s", d.file, id)
			}
			if cur := fmt.Sprint(dsVar.Current.Value); cur != dsUID && cur != "Flows API" {
				t.Errorf("ds variable defaults to %q, want the provisioned data source", cur)
			}
			okDS := func(ref *provDSRef) bool {
				return ref != nil && ref.Type == id && (ref.UID == "${ds}" || ref.UID == "$ds" || ref.UID == dsUID)
			}

			for _, v := range d.Templating.List {
				switch v.Type {
				case "query":
					if !okDS(v.Datasource) {
						t.Errorf("variable %s: datasource %+v, want {type: %s, uid: ${ds}}", v.Name, v.Datasource, id)
					}
					var q map[string]any
					if err := json.Unmarshal(v.Query, &q); err != nil {
						t.Errorf("variable %s: query is not a query object: %s", v.Name, v.Query)
						continue
					}
					_, parsed := provParse(t, "variable "+v.Name, q)
					if parsed.QueryType != models.QueryTypeVariableValues {
						t.Errorf("variable %s: queryType %s, want variableValues", v.Name, parsed.QueryType)
					}
					// "All" must mean "no filter". The frontend drops a filter whose variable is at
					// All (allValue empty) or whose custom all value is blank or $__all; any other
					// custom all value would reach the backend as a filter value.
					if v.IncludeAll && v.AllValue != nil && strings.TrimSpace(*v.AllValue) != "" && *v.AllValue != "$__all" {
						t.Errorf("variable %s: allValue %q: All must mean no filter; leave allValue empty", v.Name, *v.AllValue)
					}
					if !v.Multi || !v.IncludeAll {
						t.Errorf("variable %s: want multi-value with an All option", v.Name)
					}
				case "datasource", "textbox", "constant", "custom", "interval":
				default:
					t.Errorf("variable %s: type %s not expected", v.Name, v.Type)
				}
			}

			known := map[string]bool{}
			for _, v := range d.Templating.List {
				known[v.Name] = true
			}
			for _, p := range d.panels() {
				where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
				if !okDS(p.Datasource) {
					t.Errorf("%s: datasource %+v, want {type: %s, uid: ${ds}} (never the default data source)", where, p.Datasource, id)
				}
				if len(p.Targets) == 0 {
					t.Errorf("%s: no targets", where)
				}
				for _, raw := range p.Targets {
					var target struct {
						RefID      string     `json:"refId"`
						Datasource *provDSRef `json:"datasource"`
					}
					_ = json.Unmarshal(raw, &target)
					if target.RefID == "" || !okDS(target.Datasource) {
						t.Errorf("%s: target %s without refId or explicit datasource: %s", where, target.RefID, raw)
					}
					for _, m := range provVarRef.FindAllStringSubmatch(string(raw), -1) {
						if name := provRefName(m); !known[name] && !provIsBuiltin(name) {
							t.Errorf("%s: target uses $%s, which the dashboard does not define", where, name)
						}
					}
				}
			}
		})
	}
}

// TestProvisionedDrillDownLinks: every link to a dashboard (/d/<uid>) names a provisioned
// dashboard and only variables it has.
func TestProvisionedDrillDownLinks(t *testing.T) {
	dashboards := provDashboards(t)
	links := 0
	for _, d := range dashboards {
		check := func(where string, l provLink) {
			if l.URL == "" || !strings.HasPrefix(l.URL, "/d/") {
				return
			}
			links++
			u, err := url.Parse(strings.NewReplacer("${__url_time_range}", "from=now-1h&to=now").Replace(l.URL))
			if err != nil {
				t.Errorf("%s %s: link %q: %v", d.UID, where, l.URL, err)
				return
			}
			uid := strings.Split(strings.TrimPrefix(u.Path, "/d/"), "/")[0]
			target, ok := dashboards[uid]
			if !ok {
				t.Errorf("%s %s: link %q: no dashboard with uid %s", d.UID, where, l.URL, uid)
				return
			}
			for k, vals := range u.Query() {
				name, isVar := strings.CutPrefix(k, "var-")
				if !isVar {
					continue
				}
				if _, ok := target.variable(name); !ok {
					t.Errorf("%s %s: link %q sets var-%s, which %s does not have", d.UID, where, l.URL, name, uid)
				}
				for _, v := range vals {
					for _, m := range provVarRef.FindAllStringSubmatch(v, -1) {
						if n := provRefName(m); !provIsBuiltin(n) {
							if _, ok := d.variable(n); !ok {
								t.Errorf("%s %s: link %q uses $%s, which %s does not have", d.UID, where, l.URL, n, d.UID)
							}
						}
					}
				}
			}
		}
		for _, l := range d.Links {
			check("dashboard link", l)
		}
		for _, p := range d.panels() {
			where := fmt.Sprintf("panel %d %q", p.ID, p.Title)
			for _, l := range p.Links {
				check(where, l)
			}
			for _, l := range p.FieldConfig.Defaults.Links {
				check(where, l)
			}
			for _, o := range p.FieldConfig.Overrides {
				for _, prop := range o.Properties {
					if prop.ID != "links" {
						continue
					}
					var ls []provLink
					if err := json.Unmarshal(prop.Value, &ls); err != nil {
						t.Errorf("%s: override links: %v", where, err)
					}
					for _, l := range ls {
						check(where, l)
					}
				}
			}
		}
	}
	if links == 0 {
		t.Fatal("no drill-down links")
	}
}

// provSelection picks realistic variable values from the simulator: the two biggest sources of
// the last hour and their exporters, so that every filtered panel has data.
func provSelection(t *testing.T, ds *Datasource) map[string][]string {
	t.Helper()
	f := one(t, ds, lastHour(), `{"queryType":"flows","format":"table","sort":"bytes","order":"desc","limit":200}`)[0]
	src := column[string](t, f, engine.LabelSrcIP)
	exp := column[string](t, f, "exporter_ip")
	var srcs, exps []string
	for i := range src {
		if len(srcs) == 2 {
			break
		}
		if !slices.Contains(srcs, src[i]) {
			srcs = append(srcs, src[i])
			if !slices.Contains(exps, exp[i]) {
				exps = append(exps, exp[i])
			}
		}
	}
	if len(srcs) < 2 {
		t.Fatalf("the simulator has fewer than 2 sources in the last hour")
	}
	return map[string][]string{"src_ip": srcs, "exporter": exps}
}

// TestProvisionedPanelQueriesReturnData runs every panel's targets against the simulator as
// docker-compose.yml runs it, over the last hour, with the variables at "All" and at a
// realistic multi-value selection: each must parse, succeed and return rows, and the fields
// its drill-down links attach to must exist.
func TestProvisionedPanelQueriesReturnData(t *testing.T) {
	dsUID := provFlowsDatasource(t).UID
	dashboards := provDashboards(t)
	e := newEnv(t, provSimulatorConfig(t))
	ds := e.datasource(t, provFlowsDatasource(t).JSONData)
	selection := provSelection(t, ds)

	for _, scenario := range []string{"all", "selected"} {
		for _, uid := range slices.Sorted(maps.Keys(dashboards)) {
			d := dashboards[uid]
			vars := provFixedVars(d, dsUID)
			for _, v := range d.Templating.List {
				switch v.Type {
				case "query":
					vals, ok := selection[v.Name]
					if !ok {
						t.Fatalf("%s: no test values for variable %s", uid, v.Name)
					}
					switch {
					case scenario == "all":
						vars.multi[v.Name] = nil // All: no filter
					case v.Multi:
						vars.multi[v.Name] = vals
					default:
						vars.multi[v.Name] = vals[:1]
					}
				}
			}

			for _, p := range d.panels() {
				t.Run(fmt.Sprintf("%s/%s/panel %d %s", scenario, uid, p.ID, p.Title), func(t *testing.T) {
					var bodies []string
					for _, raw := range p.Targets {
						var target map[string]any
						if err := json.Unmarshal(raw, &target); err != nil {
							t.Fatal(err)
						}
						target = vars.interpolate(target).(map[string]any)
						if ref, _ := target["datasource"].(map[string]any); ref["uid"] != dsUID {
							t.Errorf("target datasource resolves to %v, want %s", ref["uid"], dsUID)
						}
						body, _ := provParse(t, "target", target)
						bodies = append(bodies, body)
					}
					var frames data.Frames
					for ref, r := range query(t, ds, lastHour(), nil, bodies...) {
						if r.Error != nil {
							t.Fatalf("query %s: %v", ref, r.Error)
						}
						if !provNonEmpty(r.Frames) {
							t.Errorf("query %s returned no rows", ref)
						}
						frames = append(frames, r.Frames...)
					}
					// Links attach to fields that exist.
					for _, o := range p.FieldConfig.Overrides {
						hasLinks := slices.ContainsFunc(o.Properties, func(p struct {
							ID    string          `json:"id"`
							Value json.RawMessage `json:"value"`
						}) bool {
							return p.ID == "links"
						})
						if hasLinks && o.Matcher.ID == "byName" && !provHasField(frames, fmt.Sprint(o.Matcher.Options)) {
							t.Errorf("links override matches field %v, which the frames do not have", o.Matcher.Options)
						}
					}
					for _, l := range p.FieldConfig.Defaults.Links {
						for _, m := range regexp.MustCompile(`\$\{__data\.fields\.([A-Za-z0-9_]+)\}`).FindAllStringSubmatch(l.URL, -1) {
							if !provHasField(frames, m[1]) {
								t.Errorf("link %q uses field %s, which the frames do not have", l.URL, m[1])
							}
						}
					}
				})
			}
		}
	}

	// Variable queries parse and return values.
	for _, uid := range slices.Sorted(maps.Keys(dashboards)) {
		for _, v := range dashboards[uid].Templating.List {
			if v.Type != "query" {
				continue
			}
			t.Run(fmt.Sprintf("variable/%s/%s", uid, v.Name), func(t *testing.T) {
				var q map[string]any
				if err := json.Unmarshal(v.Query, &q); err != nil {
					t.Fatal(err)
				}
				body, _ := provParse(t, "variable "+v.Name, q)
				for ref, r := range query(t, ds, lastHour(), nil, body) {
					if r.Error != nil {
						t.Fatalf("variable %s (%s): %v", v.Name, ref, r.Error)
					}
					if !provNonEmpty(r.Frames) || !provHasField(r.Frames, "value") && !provHasField(r.Frames, "text") {
						t.Errorf("variable %s: no values (want a text/value frame with rows)", v.Name)
					}
				}
			})
		}
	}
}

// provTemplateFuncs stands in for the functions Grafana's alert templates offer.
var provTemplateFuncs = template.FuncMap{
	"humanize":           func(v any) string { return fmt.Sprint(v) },
	"humanize1024":       func(v any) string { return fmt.Sprint(v) },
	"humanizeDuration":   func(v any) string { return fmt.Sprint(v) },
	"humanizePercentage": func(v any) string { return fmt.Sprint(v) },
	"humanizeTimestamp":  func(v any) string { return fmt.Sprint(v) },
	"toUpper":            strings.ToUpper,
	"toLower":            strings.ToLower,
	"title":              strings.ToTitle,
}

// provTemplateValue is what $values.<refId> holds in an alert template.
type provTemplateValue struct {
	Labels map[string]string
	Value  float64
}

func TestProvisionedAlertRules(t *testing.T) {
	id := provPlugin(t).ID
	dsUID := provFlowsDatasource(t).UID
	dashboards := provDashboards(t)
	files := provAlerting(t)
	e := newEnv(t, provSimulatorConfig(t))
	ds := e.datasource(t, provFlowsDatasource(t).JSONData)
	alert := map[string]string{backend.FromAlertHeaderName: "true"}

	contactPoints := map[string]bool{"grafana-default-email": true}
	var rules []provAlertRule
	var routes []provRoute
	for _, f := range files {
		for _, cp := range f.ContactPoints {
			contactPoints[cp.Name] = true
			for _, r := range cp.Receivers {
				if r.UID == "" || r.Type == "" || r.Settings["url"] == nil && r.Type == "webhook" {
					t.Errorf("contact point %s: receiver %+v incomplete", cp.Name, r)
				}
			}
		}
		for _, p := range f.Policies {
			routes = append(routes, p.provRoute)
		}
		for _, g := range f.Groups {
			if g.OrgID != 1 || g.Name == "" || g.Folder == "" {
				t.Errorf("group %q: orgId %d folder %q", g.Name, g.OrgID, g.Folder)
			}
			if _, err := time.ParseDuration(g.Interval); err != nil {
				t.Errorf("group %q: interval %q: %v", g.Name, g.Interval, err)
			}
			for _, r := range g.Rules {
				// Rules on other sources' data sources (AWS) are tested by those sources.
				if !slices.ContainsFunc(r.Data, func(q provAlertQuery) bool {
					return q.DatasourceUID != provExprUID && q.DatasourceUID != dsUID
				}) {
					rules = append(rules, r)
				}
			}
		}
	}
	if len(rules) < 2 {
		t.Fatalf("%d alert rules, want at least 2", len(rules))
	}
	for _, title := range []string{"Source above byte threshold", "Pair above bandwidth threshold"} {
		if !slices.ContainsFunc(rules, func(r provAlertRule) bool { return r.Title == title }) {
			t.Errorf("no rule %q", title)
		}
	}

	// Every receiver is defined, and some route sends team=network somewhere other than the
	// default email (which has no SMTP in the demo).
	var walk func(r provRoute)
	networkRouted := false
	walk = func(r provRoute) {
		if r.Receiver != "" && !contactPoints[r.Receiver] {
			t.Errorf("policy receiver %q is not a contact point", r.Receiver)
		}
		for _, m := range r.ObjectMatchers {
			if len(m) == 3 && m[0] == "team" && m[1] == "=" && m[2] == "network" && r.Receiver != "grafana-default-email" {
				networkRouted = true
			}
		}
		for _, c := range r.Routes {
			walk(c)
		}
	}
	for _, r := range routes {
		walk(r)
	}
	if !networkRouted {
		t.Error("no notification policy routes team=network to a contact point")
	}

	uids := map[string]bool{}
	for _, rule := range rules {
		t.Run(rule.Title, func(t *testing.T) {
			if rule.UID == "" || uids[rule.UID] {
				t.Fatalf("uid %q missing or repeated", rule.UID)
			}
			uids[rule.UID] = true
			if rule.For != "" {
				if _, err := time.ParseDuration(rule.For); err != nil {
					t.Errorf("for %q: %v", rule.For, err)
				}
			}
			if rule.Labels["team"] != "network" || rule.Labels["severity"] == "" {
				t.Errorf("labels %v, want team=network and a severity", rule.Labels)
			}
			if rule.DashboardUID != "" {
				d, ok := dashboards[rule.DashboardUID]
				if !ok || !slices.ContainsFunc(d.panels(), func(p provPanel) bool { return p.ID == rule.PanelID }) {
					t.Errorf("dashboardUid %s panelId %d: no such dashboard panel", rule.DashboardUID, rule.PanelID)
				}
			}

			refs := map[string]provAlertQuery{}
			for _, q := range rule.Data {
				if q.RefID == "" || refs[q.RefID].RefID != "" {
					t.Fatalf("refId %q missing or repeated", q.RefID)
				}
				refs[q.RefID] = q
			}
			if _, ok := refs[rule.Condition]; !ok {
				t.Fatalf("condition %q is not a refId", rule.Condition)
			}

			var items []data.Labels
			var talker []string
			valueRefs := map[string]bool{} // refIds whose result is one number per item
			thresholds := 0
			for _, q := range rule.Data {
				if q.DatasourceUID == provExprUID {
					typ, _ := q.Model["type"].(string)
					expr, _ := q.Model["expression"].(string)
					if _, ok := refs[expr]; !ok && typ != "math" {
						t.Errorf("%s: %s expression on %q, which is not a refId", q.RefID, typ, expr)
					}
					switch typ {
					case "threshold":
						thresholds++
						conds, _ := q.Model["conditions"].([]any)
						if len(conds) != 1 {
							t.Fatalf("%s: want one threshold condition", q.RefID)
						}
						ev, _ := conds[0].(map[string]any)["evaluator"].(map[string]any)
						params, _ := ev["params"].([]any)
						if ev["type"] == nil || len(params) == 0 {
							t.Errorf("%s: evaluator %v", q.RefID, ev)
						}
						for _, p := range params {
							if n, ok := p.(int); !ok || n <= 0 {
								if f, ok := p.(float64); !ok || f <= 0 {
									t.Errorf("%s: threshold %v is not a positive number", q.RefID, p)
								}
							}
						}
					case "reduce":
						if q.Model["reducer"] == nil {
							t.Errorf("%s: reduce without reducer", q.RefID)
						}
					case "math", "resample", "classic_conditions":
					default:
						t.Errorf("%s: expression type %q", q.RefID, typ)
					}
					valueRefs[q.RefID] = true
					continue
				}

				// A Flows API query: run it as Grafana's alerting would.
				if q.DatasourceUID != dsUID {
					t.Errorf("%s: datasourceUid %q, want the provisioned %s", q.RefID, q.DatasourceUID, dsUID)
				}
				if ref, _ := q.Model["datasource"].(map[string]any); ref != nil && (ref["uid"] != dsUID || ref["type"] != id) {
					t.Errorf("%s: model datasource %v", q.RefID, ref)
				}
				if q.RelativeTimeRange.From <= q.RelativeTimeRange.To || q.RelativeTimeRange.To < 0 {
					t.Errorf("%s: relativeTimeRange %+v", q.RefID, q.RelativeTimeRange)
				}
				model := maps.Clone(q.Model)
				model["refId"] = q.RefID
				if q.QueryType != "" && model["queryType"] != q.QueryType {
					t.Errorf("%s: queryType %q and model queryType %v differ", q.RefID, q.QueryType, model["queryType"])
				}
				body, parsed := provParse(t, q.RefID, model)
				tr := backend.TimeRange{
					From: testNow.Add(-time.Duration(q.RelativeTimeRange.From) * time.Second),
					To:   testNow.Add(-time.Duration(q.RelativeTimeRange.To) * time.Second),
				}
				r := query(t, ds, tr, alert, body)[q.RefID]
				if r.Error != nil {
					t.Fatalf("%s: %v", q.RefID, r.Error)
				}
				labels, isNumeric := provAlertItems(t, r.Frames)
				if isNumeric {
					valueRefs[q.RefID] = true
				}
				talker = provTalkerLabels(parsed)
				if len(talker) == 0 {
					t.Fatalf("%s: the query does not group by a talker (src, dst, pair or protocol)", q.RefID)
				}
				if len(labels) == 0 {
					t.Fatalf("%s: no alert items over the simulator's last hour", q.RefID)
				}
				seen := map[string]bool{}
				for _, l := range labels {
					for _, name := range talker {
						if l[name] == "" || l[name] == "Other" {
							t.Errorf("%s: item %v does not name a talker by %s", q.RefID, l, name)
						}
					}
					if seen[l.String()] {
						t.Errorf("%s: two items labelled %v", q.RefID, l)
					}
					seen[l.String()] = true
				}
				items = labels
			}
			if thresholds == 0 {
				t.Error("no threshold expression")
			}

			// The annotations parse as Grafana templates, name the talker, and render for each
			// instance with the values Grafana captures.
			text := rule.Annotations["summary"] + rule.Annotations["description"]
			for _, name := range talker {
				if !strings.Contains(text, "$labels."+name) {
					t.Errorf("annotations do not name the talker by {{ $labels.%s }}", name)
				}
			}
			for key, ann := range rule.Annotations {
				tmpl, err := template.New(key).Option("missingkey=error").Funcs(provTemplateFuncs).
					Parse("{{- $labels := .Labels -}}{{- $values := .Values -}}{{- $value := .Value -}}" + ann)
				if err != nil {
					t.Errorf("annotation %s: %v", key, err)
					continue
				}
				for _, l := range items[:min(3, len(items))] {
					values := map[string]provTemplateValue{}
					for ref := range valueRefs {
						values[ref] = provTemplateValue{Labels: l, Value: 1}
					}
					var out strings.Builder
					err := tmpl.Execute(&out, map[string]any{"Labels": map[string]string(l), "Values": values, "Value": ""})
					if err != nil {
						t.Errorf("annotation %s for %v: %v", key, l, err)
					}
					for _, name := range talker {
						if key == "summary" && !strings.Contains(out.String(), l[name]) {
							t.Errorf("summary %q does not name %s", out.String(), l[name])
						}
					}
				}
			}
		})
	}
}

// TestProvisionedFilesUseOnlyDefinedEnvironment: Grafana expands $VARIABLES from its environment in every string of
// an alerting file except annotations and query models; elsewhere a "$" must be a variable the
// Grafana service defines.
func TestProvisionedFilesUseOnlyDefinedEnvironment(t *testing.T) {
	_, grafana, _, _ := provServices(t, provLoadCompose(t))
	env := grafana.env()
	envRef := regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)`)
	var walk func(file string, keyPath []string, v any)
	walk = func(file string, keyPath []string, v any) {
		switch val := v.(type) {
		case map[string]any:
			for k, e := range val {
				if k == "annotations" || k == "model" {
					continue // kept raw by Grafana
				}
				walk(file, append(keyPath, k), e)
			}
		case []any:
			for _, e := range val {
				walk(file, keyPath, e)
			}
		case string:
			for _, m := range envRef.FindAllStringSubmatch(strings.ReplaceAll(val, "$$", ""), -1) {
				name := m[1] + m[2]
				if _, ok := env[name]; !ok {
					t.Errorf("%s: %s uses $%s, which the Grafana service's environment does not set", file, strings.Join(keyPath, "."), name)
				}
			}
		}
	}
	for _, dir := range []string{"provisioning/datasources", "provisioning/alerting", "provisioning/dashboards"} {
		for _, f := range provFiles(t, dir, ".yaml", ".yml") {
			var v any
			provYAML(t, &v, f)
			walk(f, nil, v)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// docker-compose.yml and Dockerfile

type provDockerStage struct {
	name, image string
	copies      [][]string // flags..., sources..., dest
}

// provParseDockerfile reads FROM and COPY/ADD instructions (continuation lines joined).
func provParseDockerfile(t *testing.T, text string) []provDockerStage {
	t.Helper()
	var lines []string
	var cur strings.Builder
	for _, l := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(l)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // comment inside a continued instruction
		}
		if s, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(trimmed)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	var stages []provDockerStage
	for _, l := range lines {
		fields := strings.Fields(l)
		switch strings.ToUpper(fields[0]) {
		case "FROM":
			args := slices.DeleteFunc(fields[1:], func(s string) bool { return strings.HasPrefix(s, "--") })
			st := provDockerStage{image: args[0]}
			if len(args) == 3 && strings.EqualFold(args[1], "AS") {
				st.name = args[2]
			}
			stages = append(stages, st)
		case "COPY", "ADD":
			if len(stages) == 0 {
				t.Fatalf("Dockerfile: %s before FROM", fields[0])
			}
			args := fields[1:]
			if rest := strings.TrimSpace(strings.TrimPrefix(l, fields[0])); strings.Contains(rest, "[") {
				// JSON form: flags before the array.
				i := strings.Index(rest, "[")
				var arr []string
				if err := json.Unmarshal([]byte(rest[i:]), &arr); err != nil {
					t.Fatalf("Dockerfile: %s: %v", l, err)
				}
				args = append(strings.Fields(rest[:i]), arr...)
			}
			stages[len(stages)-1].copies = append(stages[len(stages)-1].copies, args)
		}
	}
	return stages
}

// provDockerignored reports whether a context path is excluded by .dockerignore (patterns and
// ! exceptions, matched against the path and its parents, as Docker does).
func provDockerignored(patterns []string, p string) bool {
	p = path.Clean(p)
	ignored := false
	for _, pat := range patterns {
		neg := strings.HasPrefix(pat, "!")
		pat = path.Clean(strings.TrimPrefix(strings.TrimPrefix(pat, "!"), "/"))
		match := false
		for q := p; q != "." && q != "/"; q = path.Dir(q) {
			if ok, _ := path.Match(pat, q); ok {
				match = true
			}
			if rest, ok := strings.CutPrefix(pat, "**/"); ok {
				parts := strings.Split(q, "/")
				for i := range parts {
					if ok, _ := path.Match(rest, strings.Join(parts[i:], "/")); ok {
						match = true
					}
				}
			}
		}
		if match {
			ignored = !neg
		}
	}
	return ignored
}

var provSemver = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)$`)

func provVersion(s string) [3]int {
	var v [3]int
	for i, p := range strings.SplitN(strings.TrimPrefix(s, "v"), ".", 3) {
		n, _ := strconv.Atoi(strings.TrimFunc(p, func(r rune) bool { return r < '0' || r > '9' }))
		v[i] = n
	}
	return v
}

func provCompare(a, b [3]int) int {
	for i := range a {
		if a[i] != b[i] {
			return a[i] - b[i]
		}
	}
	return 0
}

// provSatisfies checks a version against an npm-style range: comparators (>=, >, <=, <, =)
// joined by spaces (and), alternatives joined by || (or).
func provSatisfies(t *testing.T, version, rng string) bool {
	t.Helper()
	v := provVersion(version)
	for _, alt := range strings.Split(rng, "||") {
		ok := true
		for _, c := range strings.Fields(alt) {
			op := strings.TrimRight(c, "0123456789.xX*")
			w := provVersion(strings.TrimPrefix(c, op))
			cmp := provCompare(v, w)
			switch op {
			case ">=":
				ok = ok && cmp >= 0
			case ">":
				ok = ok && cmp > 0
			case "<=":
				ok = ok && cmp <= 0
			case "<":
				ok = ok && cmp < 0
			case "=", "":
				ok = ok && cmp == 0
			default:
				t.Fatalf("range %q: comparator %q not understood", rng, c)
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func TestProvisionedDockerComposeAndDockerfile(t *testing.T) {
	plugin := provPlugin(t)
	c := provLoadCompose(t)
	grafanaName, grafana, simName, sim := provServices(t, c)
	pluginDir := "/var/lib/grafana/plugins/" + plugin.ID

	var ignore []string
	if b, err := os.ReadFile(provPath(".dockerignore")); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				ignore = append(ignore, l)
			}
		}
	}

	var grafanaImages []string
	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		s := c.Services[name]
		if s.Image != "" && strings.HasPrefix(s.Image, "grafana/") {
			grafanaImages = append(grafanaImages, s.Image)
		}
		// Bind mounts exist in the repository.
		for _, m := range s.mounts(t) {
			if m.isBind() {
				if _, err := os.Stat(filepath.Join(provRoot, m.source)); err != nil {
					t.Errorf("%s: mounted path %s does not exist", name, m.source)
				}
			}
		}
		for k, v := range s.env() {
			// Paths Grafana reads (GF_*_PATH) exist through the mounts.
			if strings.HasPrefix(k, "GF_") && strings.HasSuffix(k, "_PATH") && strings.HasPrefix(v, "/etc/grafana/provisioning") {
				if p := s.containerToRepo(t, v); p == "" {
					t.Errorf("%s: %s=%s is not under a mount", name, k, v)
				} else if _, err := os.Stat(p); err != nil {
					t.Errorf("%s: %s=%s: %v", name, k, v, err)
				}
			}
		}
		b, ok := s.build()
		if !ok {
			if s.Image == "" {
				t.Errorf("%s: neither build nor image", name)
			}
			continue
		}
		// Build context and Dockerfile exist; the target is a stage; COPY sources exist.
		ctx := filepath.Join(provRoot, b.context)
		if st, err := os.Stat(ctx); err != nil || !st.IsDir() {
			t.Fatalf("%s: build context %s is not a directory", name, b.context)
		}
		df, err := os.ReadFile(filepath.Join(ctx, b.dockerfile))
		if err != nil {
			t.Fatalf("%s: dockerfile: %v", name, err)
		}
		stages := provParseDockerfile(t, string(df))
		target := len(stages) - 1
		if b.target != "" {
			target = slices.IndexFunc(stages, func(s provDockerStage) bool { return s.name == b.target })
			if target < 0 {
				t.Fatalf("%s: build target %q is not a stage of %s", name, b.target, b.dockerfile)
			}
		}
		for i, st := range stages {
			for _, args := range st.copies {
				from := ""
				var rest []string
				for _, a := range args {
					if v, ok := strings.CutPrefix(a, "--from="); ok {
						from = v
					} else if !strings.HasPrefix(a, "--") {
						rest = append(rest, a)
					}
				}
				if len(rest) < 2 {
					t.Errorf("%s: COPY %v has no source or destination", b.dockerfile, args)
					continue
				}
				if from != "" {
					prev := slices.IndexFunc(stages[:i], func(s provDockerStage) bool { return s.name == from })
					if prev < 0 && !strings.ContainsAny(from, ":/") {
						t.Errorf("%s: COPY --from=%s: no earlier stage of that name", b.dockerfile, from)
					}
					continue // produced by an earlier stage
				}
				for _, src := range rest[:len(rest)-1] {
					matches, _ := filepath.Glob(filepath.Join(ctx, src))
					if len(matches) == 0 {
						t.Errorf("%s: COPY source %s does not exist in the build context", b.dockerfile, src)
					}
					if provDockerignored(ignore, src) {
						t.Errorf("%s: COPY source %s is excluded by .dockerignore", b.dockerfile, src)
					}
				}
			}
		}
		// Pinned Grafana images.
		for _, st := range stages {
			if strings.HasPrefix(st.image, "grafana/") {
				grafanaImages = append(grafanaImages, st.image)
			}
		}
		if name == grafanaName {
			// The plugin is copied into the plugins directory of the image Grafana runs, or
			// mounted there.
			installed := slices.ContainsFunc(grafana.mounts(t), func(m provMount) bool { return strings.TrimSuffix(m.target, "/") == pluginDir })
			for i := target; i >= 0 && !installed; {
				for _, args := range stages[i].copies {
					if strings.TrimSuffix(args[len(args)-1], "/") == pluginDir {
						installed = true
					}
				}
				// Follow FROM <earlier stage>.
				i = slices.IndexFunc(stages[:i], func(s provDockerStage) bool { return s.name == stages[i].image })
			}
			if !installed {
				t.Errorf("%s: the plugin is neither copied nor mounted into %s", name, pluginDir)
			}
		}
		if name == simName && !strings.Contains(string(df), "./cmd/flows-simulator") {
			t.Errorf("%s: the Dockerfile does not build ./cmd/flows-simulator", name)
		}
	}

	// Unsigned loading is allowed for this plugin only.
	if got := grafana.env()["GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS"]; got != plugin.ID {
		t.Errorf("GF_PLUGINS_ALLOW_LOADING_UNSIGNED_PLUGINS = %q, want %q (src/plugin.json id)", got, plugin.ID)
	}
	// Grafana on localhost:3000.
	if !slices.ContainsFunc(grafana.Ports, func(p any) bool {
		s := fmt.Sprint(p)
		return strings.HasSuffix(s, ":3000:3000") || s == "3000:3000"
	}) {
		t.Errorf("%s: port 3000 is not published as 3000 (ports %v)", grafanaName, grafana.Ports)
	}
	if listen, _ := sim.flag("listen"); !strings.HasPrefix(listen, "0.0.0.0:") {
		t.Errorf("%s: -listen %q, want 0.0.0.0:<port> inside the container", simName, listen)
	}

	// The Grafana version: an exact x.y.z, satisfying plugin.json and at least the @grafana/*
	// packages the frontend is built with (same major.minor).
	if len(grafanaImages) == 0 {
		t.Fatal("no grafana/* image in docker-compose.yml or the Dockerfile")
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(provRead(t, "package.json"), &pkg); err != nil {
		t.Fatal(err)
	}
	sdk := strings.TrimLeft(pkg.Dependencies["@grafana/data"], "^~=")
	for _, img := range grafanaImages {
		_, tag, _ := strings.Cut(img, ":")
		if !provSemver.MatchString(tag) {
			t.Errorf("image %s: not pinned to an exact x.y.z version", img)
			continue
		}
		if !provSatisfies(t, tag, plugin.Dependencies.GrafanaDependency) {
			t.Errorf("image %s does not satisfy grafanaDependency %q", img, plugin.Dependencies.GrafanaDependency)
		}
		if sdk != "" {
			v, s := provVersion(tag), provVersion(sdk)
			if v[0] != s[0] || v[1] != s[1] || provCompare(v, s) < 0 {
				t.Errorf("image %s does not match @grafana/data %s (same major.minor, not older)", img, sdk)
			}
		}
	}
}

func TestProvisionSemverRange(t *testing.T) {
	rng := ">=11.6.11 <12 || >=12.0.10 <12.1 || >=12.1.7 <12.2 || >=12.2.5"
	for v, want := range map[string]bool{
		"13.1.3": true, "12.2.5": true, "12.2.4": false, "12.1.7": true, "12.1.9": true,
		"12.0.9": false, "11.6.11": true, "11.6.10": false, "10.4.0": false,
	} {
		if got := provSatisfies(t, v, rng); got != want {
			t.Errorf("%s in %q = %v, want %v", v, rng, got, want)
		}
	}
	for p, want := range map[string]bool{"node_modules/x": true, "src/a/node_modules": true, "dist/module.js": true, "src/module.ts": false, "provisioning": true, "pkg": false} {
		if got := provDockerignored([]string{"**/node_modules", "dist", "provisioning"}, p); got != want {
			t.Errorf("dockerignore %s = %v, want %v", p, got, want)
		}
	}
}
