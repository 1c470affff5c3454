package models

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

func settings(t *testing.T, url, jsonData string) (Settings, error) {
	t.Helper()
	return LoadSettings(backend.DataSourceInstanceSettings{URL: url, JSONData: json.RawMessage(jsonData),
		DecryptedSecureJSONData: map[string]string{"apiToken": "t0k"}})
}

func TestSettingsDefaultsAndOverrides(t *testing.T) {
	s, err := settings(t, "https://siem.example.com/", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if s.Source != "" || s.Timeout != 30*time.Second || s.PageSize != 1000 || s.RowCap != 50000 || s.MaxConcurrency != 4 {
		t.Fatalf("defaults %+v", s)
	}
	// The config editor saves numbers; provisioning files may hold strings.
	s, err = settings(t, "http://flows:8080", `{"timeout":5,"pageSize":"250","rowCap":1200,"maxConcurrency":2}`)
	if err != nil {
		t.Fatal(err)
	}
	if s.Timeout != 5*time.Second || s.PageSize != 250 || s.RowCap != 1200 || s.MaxConcurrency != 2 {
		t.Fatalf("overrides %+v", s)
	}
}

func TestSettingsErrorsNameTheSetting(t *testing.T) {
	for _, c := range []struct{ url, json, want string }{
		{"http://x", `{"rowCap":2000000}`, `rowCap: "2000000" must be a whole number from 1 to 1000000`},
		{"http://x", `{"pageSize":"many"}`, `pageSize: "many" must be a whole number`},
		{"http://x", `{"maxConcurrency":-1}`, `maxConcurrency: "-1" must be a whole number from 1 to 64`},
		{"http://x", `{"timeout":1.5}`, `timeout: "1.5" must be a whole number`},
	} {
		_, err := settings(t, c.url, c.json)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: error %v, want %q", c.url, c.json, err, c.want)
		}
	}
}

func parse(t *testing.T, js string) (Query, error) {
	t.Helper()
	var probe struct {
		QueryType string `json:"queryType"`
	}
	_ = json.Unmarshal([]byte(js), &probe)
	return ParseQuery(backend.DataQuery{RefID: "A", QueryType: probe.QueryType, JSON: json.RawMessage(js)})
}

// A query saved with only its type runs with the documented defaults.
func TestMinimalSavedQueriesGetDefaults(t *testing.T) {
	q, err := parse(t, `{"refId":"A","queryType":"flows"}`)
	if err != nil {
		t.Fatal(err)
	}
	if q.Format != "table" || q.Sort != "timestamp" || q.Order != "desc" || q.Limit != 100 || !q.Filters.IsEmpty() {
		t.Fatalf("flows defaults %+v", q)
	}
	q, _ = parse(t, `{"refId":"A","queryType":"topTalkers"}`)
	if q.Dim != "src" || q.By != "bytes" || q.Limit != 20 {
		t.Fatalf("topTalkers defaults %+v", q)
	}
	q, _ = parse(t, `{"refId":"A","queryType":"flows","format":"timeseries","someFutureField":{"x":1}}`)
	if q.Metric != "bytes" || q.Unit != "rate" || q.GroupBy != "none" || q.TopN != 10 || !q.Other {
		t.Fatalf("timeseries defaults %+v", q)
	}
	q, _ = parse(t, `{"refId":"A"}`)
	if q.QueryType != QueryTypeTopTalkers {
		t.Fatalf("no type: %q", q.QueryType)
	}
	q, _ = parse(t, `{"refId":"A","queryType":"flows","format":"timeseries","other":false}`)
	if q.Other {
		t.Fatal("other:false ignored")
	}
}

func TestFiltersAcceptValuesListsAndNames(t *testing.T) {
	q, err := parse(t, `{"queryType":"flows","srcIp":["10.0.0.5","2001:DB8::1","10.0.0.5",""],"port":[443,"80"],"protocol":["tcp","UDP","6","47"],"exporter":"","dstIp":"::ffff:1.1.1.1","limit":"25","topN":"3"}`)
	if err != nil {
		t.Fatal(err)
	}
	f := q.Filters
	if strings.Join(f.SrcIP, ",") != "10.0.0.5,2001:db8::1" || len(f.Port) != 2 || f.Port[1] != 80 || len(f.Exporter) != 0 || f.DstIP[0] != "1.1.1.1" {
		t.Fatalf("filters %+v", f)
	}
	if len(f.Protocol) != 3 || f.Protocol[0] != 6 || f.Protocol[1] != 17 || f.Protocol[2] != 47 {
		t.Fatalf("protocols %v", f.Protocol)
	}
	if q.Limit != 25 || q.TopN != 3 {
		t.Fatalf("numbers from strings: %d %d", q.Limit, q.TopN)
	}
}

// validationCase is one line of testdata/validation_cases.json, which the editor's validation
// (src/validation.ts) is tested against too, so both give the same message.
type validationCase struct {
	Field   string          `json:"field"`
	Value   json.RawMessage `json:"value"` // a string or a number, as the editor would save it
	Message string          `json:"message"`
}

func TestValidationMessagesMatchTheEditor(t *testing.T) {
	raw, err := readTestdata("validation_cases.json")
	if err != nil {
		t.Skipf("no shared validation cases yet: %v", err)
	}
	var cases []validationCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 10 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		_, err := parse(t, `{"queryType":"flows",`+string(mustJSON(c.Field))+`:`+string(c.Value)+`}`)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != c.Message {
			t.Errorf("%s=%s: backend says %q, editor says %q", c.Field, c.Value, got, c.Message)
		}
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func TestErrorsAreQueryErrors(t *testing.T) {
	for _, js := range []string{`{"queryType":"flows","srcIp":"x"}`, `{"queryType":"nope"}`, `{"queryType":"flows","sort":"size"}`, `{"queryType":"flows","limit":0}`, `not json`, `{"queryType":"flows","srcIp":{"a":1}}`} {
		_, err := parse(t, js)
		var qe *QueryError
		if !errors.As(err, &qe) {
			t.Errorf("%s: %v is not a QueryError", js, err)
		}
	}
}

func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{`{"queryType":"flows","srcIp":["10.0.0.5"],"port":443}`, `{"queryType":"topTalkers","limit":"$x"}`, `{}`, `[]`, `{"protocol":[1,"tcp",null]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, js string) {
		q, err := ParseQuery(backend.DataQuery{RefID: "A", JSON: json.RawMessage(js)})
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) || qe.Field == "" {
				t.Fatalf("%q: error %v has no field", js, err)
			}
			return
		}
		if q.Limit < 1 || q.TopN < 1 || q.QueryType == "" {
			t.Fatalf("%q parsed to %+v", js, q)
		}
	})
}

// Sources' own dimensions (AWS flowLogId, interfaceId, …) and the action filter reach the
// engine, which checks them against the source's capabilities.
func TestActionAndDimensionFilters(t *testing.T) {
	q, err := parse(t, `{"queryType":"flows","format":"timeseries","groupBy":"interfaceId","action":["deny",""],
		"labels":{"flowLogId":"fl-0a1","account":["111","222","111"]},"variable":"logStatus"}`)
	if err != nil {
		t.Fatal(err)
	}
	if q.GroupBy != "interfaceId" || q.Variable != "logStatus" || !reflect.DeepEqual(q.Filters.Action, []string{"deny"}) ||
		!reflect.DeepEqual(q.Filters.Labels, map[string][]string{"flowLogId": {"fl-0a1"}, "account": {"111", "222"}}) || q.Filters.IsEmpty() {
		t.Fatalf("parsed %+v", q)
	}
	for js, want := range map[string]string{
		`{"queryType":"flows","groupBy":"Src IP"}`:                "groupBy: 'Src IP' is not one of none, protocol",
		`{"queryType":"flows","labels":{"Flow Log":"x"}}`:         "labels: 'Flow Log' is not a dimension key",
		`{"queryType":"flows","labels":{"flowLogId":"$flowLog"}}`: "labels.flowLogId",
	} {
		if _, err := parse(t, js); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", js, err, want)
		}
	}
}
