package models

// The query model's JSON schema, built from SavedQuery with the SDK's schema builder, and the
// checks that every query the project ships (provisioned dashboards and alert rules, golden
// queries, migration cases) validates against it and migrates without a change of meaning.
//
// The build writes the schema into dist/ by running this test with -schema-dir (Magefile.go,
// target schema):
//
//	go test ./pkg/models -run '^TestQueryModelSchema$' -args -schema-dir=$PWD/dist/schema

import (
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	sdkapi "github.com/grafana/grafana-plugin-sdk-go/experimental/apis/datasource/v0alpha1"
	"github.com/grafana/grafana-plugin-sdk-go/experimental/schemabuilder"
	"github.com/invopop/jsonschema"
	"gopkg.in/yaml.v3"
	"k8s.io/kube-openapi/pkg/validation/spec"
	"k8s.io/kube-openapi/pkg/validation/strfmt"
	"k8s.io/kube-openapi/pkg/validation/validate"
)

var schemaDir = flag.String("schema-dir", "", "also write the query model schema here (the build passes dist/schema)")

const (
	pluginID      = "flowlens-flows-datasource"
	schemaVersion = "v0alpha1"
	repoRoot      = "../.."
)

// JSONSchema describes a filter as the parser reads it: a value or a list of values, each a
// string or a number.
func (flexList) JSONSchema() *jsonschema.Schema {
	scalar := func() []*jsonschema.Schema {
		return []*jsonschema.Schema{{Type: "string"}, {Type: "number"}}
	}
	return &jsonschema.Schema{OneOf: append(scalar(), &jsonschema.Schema{Type: "array", Items: &jsonschema.Schema{OneOf: scalar()}})}
}

// JSONSchema describes a number that a template variable may fill: a number or a string.
func (flexValue) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{OneOf: []*jsonschema.Schema{{Type: "number"}, {Type: "string"}}}
}

// JSONSchemaExtend lists the values of each enumerated field from the parser's own table.
func (SavedQuery) JSONSchemaExtend(s *jsonschema.Schema) {
	for field, values := range choices {
		prop, ok := s.Properties.Get(field)
		if !ok {
			panic("choices names " + field + ", which SavedQuery does not have")
		}
		prop.Enum = nil
		for _, v := range values {
			prop.Enum = append(prop.Enum, v)
		}
		if field == "groupBy" || field == "variable" {
			// or a source's dimension key (flowLogId, namespace), as the parser takes it
			prop.AnyOf = []*jsonschema.Schema{{Enum: prop.Enum}, {Type: "string", Pattern: dimensionKey.String()}}
			prop.Enum = nil
		}
	}
	if v, ok := s.Properties.Get("version"); ok {
		v.Minimum = "1"
	}
	if qt, ok := s.Properties.Get("queryType"); ok {
		qt.Enum = []any{QueryTypeFlows, QueryTypeTopTalkers, QueryTypeProtocols, QueryTypeVariableValues}
	}
}

type goldenQuery struct {
	Name  string          `json:"name"`
	Query json.RawMessage `json:"query"`
}

func goldenQueries(t *testing.T) []goldenQuery {
	t.Helper()
	var out []goldenQuery
	readJSON(t, filepath.Join(repoRoot, "pkg", "plugin", "testdata", "golden_queries.json"), &out)
	if len(out) == 0 {
		t.Fatal("no golden queries")
	}
	return out
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// buildSchema runs the SDK's schema builder over SavedQuery, one query type per queryType value,
// and writes the provider files (v0alpha1/query.types.json, query.examples.json) under dir.
func buildSchema(t *testing.T, dir string) {
	t.Helper()
	builder, err := schemabuilder.NewSchemaBuilder(schemabuilder.BuilderOptions{
		PluginID: []string{pluginID},
		ScanCode: []schemabuilder.CodePaths{{BasePackage: "github.com/flowlens/flows-datasource/pkg/models", CodePath: "./"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	examples := map[string][]sdkapi.QueryExample{}
	for _, g := range goldenQueries(t) {
		var obj map[string]any
		if err := json.Unmarshal(g.Query, &obj); err != nil {
			t.Fatal(err)
		}
		qt, _ := obj["queryType"].(string)
		examples[qt] = append(examples[qt], sdkapi.QueryExample{Name: strings.ReplaceAll(g.Name, "_", " "), SaveModel: sdkapi.Unstructured{Object: obj}})
	}
	descriptions := map[string]string{
		QueryTypeFlows:          "Flow records: a table of raw records (format table) or traffic over time (format timeseries).",
		QueryTypeTopTalkers:     "The top sources, destinations or pairs by bytes or packets; one alert instance per talker.",
		QueryTypeProtocols:      "Bytes, packets and flows per protocol.",
		QueryTypeVariableValues: "The values a template variable offers: exporters, IPs, protocols or ports.",
	}
	var infos []schemabuilder.QueryTypeInfo
	for _, qt := range []string{QueryTypeFlows, QueryTypeTopTalkers, QueryTypeProtocols, QueryTypeVariableValues} {
		infos = append(infos, schemabuilder.QueryTypeInfo{
			Discriminators: sdkapi.NewDiscriminators("queryType", qt),
			Description:    descriptions[qt],
			GoType:         reflect.TypeFor[SavedQuery](),
			Examples:       examples[qt],
		})
	}
	if err := builder.AddQueries(infos); err != nil {
		t.Fatal(err)
	}
	builder.UpdateProviderFiles(t, schemaVersion, dir)
}

// querySchemas reads the built query types back and returns the schema of a query saved in a
// dashboard and of a query in a request or alert rule (which also carries intervalMs and
// maxDataPoints).
func querySchemas(t *testing.T, dir string) (save, payload *spec.Schema) {
	t.Helper()
	var defs sdkapi.QueryTypeDefinitionList
	readJSON(t, filepath.Join(dir, schemaVersion, "query.types.json"), &defs)
	if len(defs.Items) != 4 {
		t.Fatalf("query.types.json has %d query types, want 4", len(defs.Items))
	}
	var err error
	opts := schemabuilder.QuerySchemaOptions{PluginID: []string{pluginID}, QueryTypes: defs.Items, Mode: schemabuilder.SchemaTypeSaveModel}
	if save, err = schemabuilder.GetQuerySchema(opts); err != nil {
		t.Fatal(err)
	}
	opts.Mode = schemabuilder.SchemaTypeQueryPayload
	if payload, err = schemabuilder.GetQuerySchema(opts); err != nil {
		t.Fatal(err)
	}
	return save, payload
}

func validationErrors(s *spec.Schema, query map[string]any) []string {
	res := validate.NewSchemaValidator(s, nil, "", strfmt.Default).Validate(query)
	var out []string
	for _, e := range res.Errors {
		out = append(out, e.Error())
	}
	return out
}

// shippedQuery is one query the project ships, with where it comes from.
type shippedQuery struct {
	where string
	query map[string]any
	alert bool
}

// provisionedQueries finds every query of this plugin in provisioning/dashboards/** (panel
// targets and variable queries) and provisioning/alerting/** (alert rule models).
func provisionedQueries(t *testing.T) []shippedQuery {
	t.Helper()
	var out []shippedQuery
	for _, dir := range []string{"dashboards", "alerting"} {
		root := filepath.Join(repoRoot, "provisioning", dir)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			var doc any
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			switch filepath.Ext(path) {
			case ".json":
				err = json.Unmarshal(b, &doc)
			case ".yaml", ".yml":
				// through JSON, so that numbers are what Grafana's JSON decoding makes of them
				var y any
				if err = yaml.Unmarshal(b, &y); err == nil {
					var j []byte
					if j, err = json.Marshal(y); err == nil {
						err = json.Unmarshal(j, &doc)
					}
				}
			default:
				return nil
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			rel, _ := filepath.Rel(repoRoot, path)
			walkQueries(doc, func(q map[string]any) {
				if q["queryType"] == "flowLogConfigs" {
					// The AWS source's own query type, answered by the source itself: every
					// provisioned one runs against moto in pkg/sources/awsflowlogs
					// (TestProvisionedAWSDemo).
					return
				}
				out = append(out, shippedQuery{where: rel, query: q, alert: dir == "alerting"})
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(out) == 0 {
		t.Fatal("found no provisioned queries")
	}
	return out
}

// walkQueries calls found for each object that is a query of this plugin: it has a refId, and
// either names this plugin as its data source, or has none and a queryType (a variable query,
// whose data source is on the variable).
func walkQueries(v any, found func(map[string]any)) {
	switch t := v.(type) {
	case map[string]any:
		if _, ok := t["refId"]; ok {
			ds, hasDS := t["datasource"].(map[string]any)
			_, hasType := t["queryType"]
			_, hasModel := t["model"] // an alert rule's data entry: the query is its model
			if !hasModel && ((hasDS && ds["type"] == pluginID) || (!hasDS && hasType)) {
				found(t)
				return
			}
		}
		for _, child := range t {
			walkQueries(child, found)
		}
	case []any:
		for _, child := range t {
			walkQueries(child, found)
		}
	}
}

func shippedQueries(t *testing.T) []shippedQuery {
	out := provisionedQueries(t)
	for _, g := range goldenQueries(t) {
		var q map[string]any
		if err := json.Unmarshal(g.Query, &q); err != nil {
			t.Fatal(err)
		}
		q["refId"] = "A"
		out = append(out, shippedQuery{where: "golden query " + g.Name, query: q})
	}
	return out
}

func TestQueryModelSchema(t *testing.T) {
	dir := t.TempDir()
	buildSchema(t, dir)
	save, payload := querySchemas(t, dir)

	t.Run("every shipped query validates", func(t *testing.T) {
		queries := shippedQueries(t)
		perType := map[string]int{}
		for _, q := range queries {
			s := save
			if q.alert {
				s = payload
			}
			if errs := validationErrors(s, q.query); len(errs) > 0 {
				t.Errorf("%s: %v does not validate: %s", q.where, q.query, strings.Join(errs, "; "))
			}
			perType[q.query["queryType"].(string)]++
		}
		for _, qt := range []string{QueryTypeFlows, QueryTypeTopTalkers, QueryTypeProtocols, QueryTypeVariableValues} {
			if perType[qt] == 0 {
				t.Errorf("no shipped query of type %s was validated", qt)
			}
		}
	})

	t.Run("the schema rejects what the parser rejects", func(t *testing.T) {
		for _, c := range []struct{ name, query string }{
			{"misspelt field", `{"refId":"A","queryType":"flows","groupby":"protocol"}`},
			{"unknown format", `{"refId":"A","queryType":"flows","format":"graph"}`},
			{"unknown query type", `{"refId":"A","queryType":"talkers"}`},
			{"filter of objects", `{"refId":"A","queryType":"protocols","srcIp":[{"ip":"10.0.0.1"}]}`},
			{"version 0", `{"refId":"A","queryType":"protocols","version":0}`},
			{"other as text", `{"refId":"A","queryType":"flows","other":"yes"}`},
		} {
			var q map[string]any
			if err := json.Unmarshal([]byte(c.query), &q); err != nil {
				t.Fatal(err)
			}
			if errs := validationErrors(save, q); len(errs) == 0 {
				t.Errorf("%s: %s validates", c.name, c.query)
			}
			if _, err := ParseQuery(backend.DataQuery{RefID: "A", JSON: json.RawMessage(c.query)}); err == nil && c.name != "misspelt field" {
				t.Errorf("%s: the parser accepts %s", c.name, c.query)
			}
		}
	})

	t.Run("enumerations are the parser's", func(t *testing.T) {
		var defs sdkapi.QueryTypeDefinitionList
		readJSON(t, filepath.Join(dir, schemaVersion, "query.types.json"), &defs)
		props := defs.Items[0].Spec.Schema.Spec.Properties
		for field, values := range choices {
			var got []string
			enum := props[field].Enum
			if len(enum) == 0 && len(props[field].AnyOf) > 0 {
				enum = props[field].AnyOf[0].Enum // groupBy, variable: the list or a dimension key
			}
			for _, v := range enum {
				got = append(got, v.(string))
			}
			if !slices.Equal(got, values) {
				t.Errorf("%s: schema enum %v, parser accepts %v", field, got, values)
			}
			for _, v := range values {
				if _, err := ParseQuery(backend.DataQuery{RefID: "A", QueryType: QueryTypeTopTalkers, JSON: json.RawMessage(`{"dim":"pair","` + field + `":"` + v + `"}`)}); err != nil {
					t.Errorf("%s %s: the schema lists it, the parser says %v", field, v, err)
				}
			}
		}
	})

	t.Run("docs/query-model.md documents every field", func(t *testing.T) {
		doc, err := os.ReadFile(filepath.Join(repoRoot, "docs", "query-model.md"))
		if err != nil {
			t.Fatal(err)
		}
		typ := reflect.TypeFor[SavedQuery]()
		for i := range typ.NumField() {
			name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
			if !strings.Contains(string(doc), "`"+name+"`") {
				t.Errorf("docs/query-model.md does not mention `%s`", name)
			}
		}
	})

	if *schemaDir != "" && !t.Failed() {
		// replace what an earlier build wrote
		if err := os.RemoveAll(filepath.Join(*schemaDir, schemaVersion)); err != nil {
			t.Fatal(err)
		}
		if err := os.CopyFS(*schemaDir, os.DirFS(dir)); err != nil {
			t.Fatal(err)
		}
	}
}

type migrationCase struct {
	Name     string          `json:"name"`
	Saved    json.RawMessage `json:"saved"`
	Migrated json.RawMessage `json:"migrated"`
	Error    string          `json:"error"`
}

func migrationCases(t *testing.T) []migrationCase {
	t.Helper()
	var file struct {
		CurrentVersion int             `json:"currentVersion"`
		Cases          []migrationCase `json:"cases"`
	}
	readJSON(t, filepath.Join("testdata", "migrations.json"), &file)
	if file.CurrentVersion != QueryModelVersion {
		t.Fatalf("testdata/migrations.json is for version %d, the model is %d", file.CurrentVersion, QueryModelVersion)
	}
	return file.Cases
}

// The cases the frontend's migration (src/migrations.ts) is tested with too.
func TestMigrateQueryCases(t *testing.T) {
	for _, c := range migrationCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			got, err := MigrateQuery(c.Saved)
			if c.Error != "" {
				if err == nil || err.Error() != c.Error {
					t.Fatalf("error %v, want %q", err, c.Error)
				}
				// and the parser reports it for the query, naming the field
				if _, perr := ParseQuery(backend.DataQuery{RefID: "A", JSON: c.Saved}); perr == nil || perr.Error() != c.Error {
					t.Fatalf("ParseQuery error %v, want %q", perr, c.Error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var gotV, wantV any
			_ = json.Unmarshal(got, &gotV)
			_ = json.Unmarshal(c.Migrated, &wantV)
			if !reflect.DeepEqual(gotV, wantV) {
				t.Fatalf("migrated to %s, want %s", got, c.Migrated)
			}
		})
	}
}

// Every query the project ships loads through the migration with its meaning unchanged: every
// field it had keeps its value, the only field added is the version, migrating again changes
// nothing, and the backend reads the same query from the migrated JSON as from the saved one.
func TestMigrationKeepsEveryShippedQuery(t *testing.T) {
	for _, q := range shippedQueries(t) {
		saved, err := json.Marshal(q.query)
		if err != nil {
			t.Fatal(err)
		}
		migrated, err := MigrateQuery(saved)
		if err != nil {
			t.Fatalf("%s: %v", q.where, err)
		}
		var after map[string]any
		if err := json.Unmarshal(migrated, &after); err != nil {
			t.Fatal(err)
		}
		for k, v := range q.query {
			if !reflect.DeepEqual(after[k], v) {
				t.Errorf("%s: %s was %v, migrated %v", q.where, k, v, after[k])
			}
		}
		for k, v := range after {
			if _, ok := q.query[k]; !ok && !(k == "version" && v == float64(QueryModelVersion)) {
				t.Errorf("%s: migration added %s: %v", q.where, k, v)
			}
		}
		again, err := MigrateQuery(migrated)
		if err != nil || string(again) != string(migrated) {
			t.Errorf("%s: migrating again gave %s, %v", q.where, again, err)
		}

		// The backend reads the same query from the migrated JSON as the version-1 reader reads
		// from the saved one. Template variables are replaced first, as Grafana would.
		interpolate := func(b []byte) json.RawMessage {
			return json.RawMessage(leftoverVariable.ReplaceAllString(string(b), "10.0.1.15"))
		}
		qt, _ := q.query["queryType"].(string)
		fromSaved, err1 := parseCurrent(backend.DataQuery{RefID: "A", QueryType: qt, JSON: interpolate(saved)})
		fromMigrated, err2 := ParseQuery(backend.DataQuery{RefID: "A", QueryType: qt, JSON: interpolate(migrated)})
		if err1 != nil || err2 != nil {
			t.Errorf("%s: parse errors %v / %v", q.where, err1, err2)
			continue
		}
		if !reflect.DeepEqual(fromSaved, fromMigrated) {
			t.Errorf("%s: the backend reads %+v from the saved query and %+v from the migrated one", q.where, fromSaved, fromMigrated)
		}
	}
}
