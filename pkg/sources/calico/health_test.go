package calico_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/sources/calico"
	"github.com/flowlens/flows-datasource/pkg/sources/calico/elastic"
)

func health(t *testing.T, s calico.Settings) engine.HealthResult {
	t.Helper()
	src, err := calico.New(s, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return src.CheckHealth(context.Background())
}

func TestHealth(t *testing.T) {
	for _, f := range fixtures(t) {
		e := f.engine
		base := calico.Settings{URL: e.URL, IndexPattern: pattern, TimeField: "end_time", FlushInterval: 300 * time.Second, Auth: e.Auth}

		h := health(t, base)
		want := e.Name + " " + e.Version + ": index pattern \"" + pattern + "\" matches " + strconv.Itoa(len(f.docs)) + " documents"
		if !h.OK || !strings.HasPrefix(h.Message, want) {
			t.Errorf("%s: health %v %q, want OK and %q", e, h.OK, h.Message, want)
		}

		s := base
		s.IndexPattern = "tigera_secure_ee_flows.nosuchcluster.*"
		h = health(t, s)
		if h.OK || !strings.Contains(h.Message, e.Name+" "+e.Version+": the index pattern \"tigera_secure_ee_flows.nosuchcluster.*\" matches no index") {
			t.Errorf("%s: pattern matching nothing: %v %q", e, h.OK, h.Message)
		}

		if e.Reader.Kind != "" {
			// A user who may read the indices but not GET /: the check still passes.
			s = base
			s.Auth = e.Reader
			h = health(t, s)
			want := e.Name + " (version not shown: GET / needs the monitor cluster privilege): index pattern \"" + pattern + "\" matches " + strconv.Itoa(len(f.docs)) + " documents"
			if !h.OK || !strings.HasPrefix(h.Message, want) {
				t.Errorf("%s: read-only user: health %v %q, want OK and %q", e, h.OK, h.Message, want)
			}
		}

		if e.Auth.Kind == elastic.AuthBasic {
			s = base
			s.Auth.Password = "wrong-s3cr3t"
			h = health(t, s)
			if h.OK || !strings.Contains(h.Message, "credentials rejected (401 Unauthorized)") || strings.Contains(h.Message, "wrong-s3cr3t") {
				t.Errorf("%s: wrong password: %v %q", e, h.OK, h.Message)
			}
		}
	}
}

func TestHealthOfAPlainWebServer(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<!doctype html><title>Kibana</title>"))
	}))
	defer web.Close()
	h := health(t, calico.Settings{URL: web.URL, IndexPattern: calico.DefaultIndexPattern, TimeField: "end_time", FlushInterval: 300 * time.Second})
	if h.OK || !strings.Contains(h.Message, web.URL+" does not answer like Elasticsearch or OpenSearch: GET / gave 200 OK with text/html") {
		t.Errorf("plain web server: %v %q", h.OK, h.Message)
	}
}

func TestSettings(t *testing.T) {
	load := func(jsonData string, user string, secure map[string]string) (calico.Settings, error) {
		return calico.LoadSettings(backend.DataSourceInstanceSettings{URL: " https://es.example.com:9200/ ", JSONData: []byte(jsonData),
			BasicAuthUser: user, DecryptedSecureJSONData: secure})
	}
	s, err := load(`{}`, "", nil)
	if err != nil || s.URL != "https://es.example.com:9200" || s.IndexPattern != "tigera_secure_ee_flows.*" || s.TimeField != "end_time" ||
		s.FlushInterval != 300*time.Second || s.Auth.Kind != elastic.AuthNone {
		t.Errorf("defaults: %+v %v", s, err)
	}
	s, err = load(`{"authType":"basic","indexPattern":"tigera_secure_ee_flows.prod.*","flushInterval":60}`, "grafana", map[string]string{"basicAuthPassword": "pw"})
	if err != nil || s.Auth != (elastic.Auth{Kind: elastic.AuthBasic, User: "grafana", Password: "pw"}) || s.FlushInterval != time.Minute || s.IndexPattern != "tigera_secure_ee_flows.prod.*" {
		t.Errorf("basic: %+v %v", s, err)
	}
	s, err = load(`{"authType":"apiKey"}`, "", map[string]string{"apiKey": "aWQ6a2V5"})
	if err != nil || s.Auth.APIKey != "aWQ6a2V5" {
		t.Errorf("apiKey: %+v %v", s, err)
	}
	for _, tc := range []struct{ json, user, want string }{
		{`{"authType":"basic"}`, "", "basicAuthUser: empty"},
		{`{"authType":"apiKey"}`, "", "apiKey: empty"},
		{`{"authType":"bearer"}`, "", "bearerToken: empty"},
		{`{"authType":"kerberos"}`, "", `authType: "kerberos" is not one of none, basic, apiKey, bearer`},
		{`{"indexPattern":"flows/../x"}`, "", `indexPattern: "flows/../x" is not an index pattern`},
		{`{"timeField":"end time"}`, "", `timeField: "end time" is not a field name`},
		{`{"flushInterval":0.5}`, "", "flushInterval: 0.5 is not a whole number of seconds from 1 to 3600"},
		{`{"flushInterval":"300"}`, "", "jsonData:"},
	} {
		if _, err := load(tc.json, tc.user, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.json, err, tc.want)
		}
	}
	if _, err := calico.LoadSettings(backend.DataSourceInstanceSettings{}); err == nil || !strings.HasPrefix(err.Error(), "URL: ") {
		t.Errorf("no URL: %v", err)
	}
}

// Errors of the cluster reach the query as downstream errors with the cluster's own text.
func TestQueryErrorsAreDownstream(t *testing.T) {
	for _, f := range fixtures(t) {
		s := calico.Settings{URL: f.engine.URL, IndexPattern: pattern, TimeField: "no_such_time_field_type", FlushInterval: 300 * time.Second, Auth: f.engine.Auth}
		src, _ := calico.New(s, nil, 0)
		_, _, err := src.Series(context.Background(), engine.SeriesSpec{Metric: "bytes", Unit: "total", GroupBy: "proto_x", From: qFrom, To: qTo, Width: time.Hour}, engine.Filters{})
		if err == nil {
			t.Fatalf("%s: an unknown group-by was accepted", f.engine)
		}
		_, err = src.Protocols(context.Background(), engine.ProtocolsRequest{From: qFrom, To: qTo, Filters: engine.Filters{SrcIP: []string{"10.0.0.300"}}})
		if err == nil || !strings.Contains(err.Error(), "srcIp: '10.0.0.300' is not an IP address") {
			t.Errorf("%s: bad IP: %v", f.engine, err)
		}
		s.TimeField = "source_name" // a keyword: no date_histogram on it
		src, _ = calico.New(s, nil, 0)
		_, _, err = src.Series(context.Background(), engine.SeriesSpec{Metric: "bytes", Unit: "total", GroupBy: "none", From: qFrom, To: qTo, Width: time.Hour}, engine.Filters{})
		var de *engine.DownstreamError
		if err == nil || !asDownstream(err, &de) || de.Status != http.StatusBadRequest {
			t.Errorf("%s: a range on a keyword field: %v", f.engine, err)
		} else if !strings.Contains(err.Error(), "400 Bad Request") || !strings.Contains(err.Error(), "[source_name]") {
			t.Errorf("%s: %q lacks the cluster's status", f.engine, err)
		}
	}
}

func asDownstream(err error, target **engine.DownstreamError) bool { return errors.As(err, target) }
