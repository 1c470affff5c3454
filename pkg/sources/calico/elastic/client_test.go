package elastic_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/sources/calico/elastic"
	"github.com/flowlens/flows-datasource/pkg/sources/calico/internal/enginetest"
)

var (
	testFrom = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	testTo   = testFrom.Add(time.Hour)
	testCfg  = simulator.CalicoConfig{Cluster: "elastictest"}
)

const testPattern = "tigera_secure_ee_flows.elastictest.*"

func TestInfoNamesEngineAndVersion(t *testing.T) {
	for _, e := range enginetest.Engines(t) {
		info, err := e.Client(t).Info(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		if info.Engine != e.Name || info.Version != e.Version {
			t.Errorf("%s: Info = %+v, want engine %s version %s", e, info, e.Name, e.Version)
		}
	}
}

func TestMatchIndex(t *testing.T) {
	for _, e := range enginetest.Engines(t) {
		docs := enginetest.Load(t, e, testCfg, testFrom, testTo)
		c := e.Client(t)
		m, err := c.MatchIndex(context.Background(), testPattern)
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		if m.Shards == 0 || m.Documents != int64(len(docs)) {
			t.Errorf("%s: %s matches %+v, want %d documents", e, testPattern, m, len(docs))
		}
		m, err = c.MatchIndex(context.Background(), "no_such_index_pattern.*")
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		if m.Shards != 0 || m.Documents != 0 {
			t.Errorf("%s: a pattern matching nothing gave %+v", e, m)
		}
	}
}

// A nested terms aggregation over the real index sums exactly what the documents hold, and
// a date_histogram keys its buckets in epoch ms though the field is stored in epoch seconds.
func TestAggregationsOnTheRealIndex(t *testing.T) {
	for _, e := range enginetest.Engines(t) {
		docs := enginetest.Load(t, e, testCfg, testFrom, testTo)
		want := map[string]int64{}
		perBucket := map[int64]int64{}
		for _, d := range docs {
			want[d.Action+"/"+d.Reporter] += d.BytesIn + d.BytesOut
			perBucket[d.EndTime*1000/600_000*600_000] += d.BytesOut
		}
		body := `{"size":0,"aggs":{
			"action":{"terms":{"field":"action","size":10},"aggs":{"reporter":{"terms":{"field":"reporter","size":10},
				"aggs":{"in":{"sum":{"field":"bytes_in"}},"out":{"sum":{"field":"bytes_out"}}}}}},
			"time":{"date_histogram":{"field":"end_time","fixed_interval":"600s"},"aggs":{"out":{"sum":{"field":"bytes_out"}}}}}}`
		r, err := e.Client(t).Search(context.Background(), testPattern, []byte(body))
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		aggs, err := elastic.ParseAggs(r.Aggregations)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		actions, _, err := aggs.Buckets("action")
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range actions {
			reporters, _, err := a.Aggs.Buckets("reporter")
			if err != nil {
				t.Fatal(err)
			}
			for _, rep := range reporters {
				in, _ := rep.Aggs.Value("in")
				out, _ := rep.Aggs.Value("out")
				got[a.KeyString()+"/"+rep.KeyString()] = in + out
			}
		}
		if !equalMaps(got, want) {
			t.Errorf("%s: bytes by action/reporter = %v, want %v", e, got, want)
		}
		buckets, _, err := aggs.Buckets("time")
		if err != nil {
			t.Fatal(err)
		}
		gotBuckets := map[int64]int64{}
		for _, b := range buckets {
			k, err := b.KeyInt()
			if err != nil {
				t.Fatal(err)
			}
			v, _ := b.Aggs.Value("out")
			if v != 0 || b.DocCount != 0 {
				gotBuckets[k] = v
			}
		}
		if !equalMaps(gotBuckets, perBucket) {
			t.Errorf("%s: bytes_out per 10 min = %v, want %v", e, gotBuckets, perBucket)
		}
	}
}

func equalMaps[K comparable](a, b map[K]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// The engine's own error type and reason reach the user, not just "400 Bad Request".
func TestSearchErrorsCarryTheEnginesReason(t *testing.T) {
	for _, e := range enginetest.Engines(t) {
		enginetest.Load(t, e, testCfg, testFrom, testTo)
		_, err := e.Client(t).Search(context.Background(), testPattern,
			[]byte(`{"size":0,"aggs":{"x":{"terms":{"field":"bytes_in","size":-1}}}}`))
		var ee *elastic.Error
		if !errors.As(err, &ee) || ee.Status != http.StatusBadRequest {
			t.Fatalf("%s: err = %v, want a 400 *elastic.Error", e, err)
		}
		if !strings.Contains(err.Error(), "[size] must be greater than 0") {
			t.Errorf("%s: error %q lacks the engine's reason", e, err)
		}
	}
}

func TestWrongCredentials(t *testing.T) {
	for _, e := range enginetest.Engines(t) {
		if e.Auth.Kind != elastic.AuthBasic {
			continue // the OpenSearch integ-test zip has no security plugin
		}
		c, err := elastic.New(e.URL, nil, elastic.Auth{Kind: elastic.AuthBasic, User: e.Auth.User, Password: "not-the-password-s3cr3t"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Info(context.Background())
		if err == nil {
			t.Fatalf("%s: a wrong password was accepted", e)
		}
		msg := err.Error()
		if !strings.Contains(msg, "credentials rejected (401 Unauthorized)") || !strings.Contains(msg, "unable to authenticate user [") {
			t.Errorf("%s: %q", e, msg)
		}
		if strings.Contains(msg, "not-the-password-s3cr3t") {
			t.Errorf("%s: the password leaked: %q", e, msg)
		}
	}
}

// Wrong API keys and bearer tokens get the cluster's own 401. (Valid ones cannot be made on the
// integ-test build: its security index needs the analysis-common module, which the zip lacks;
// TestAuthHeaders checks what is sent.)
func TestWrongAPIKeyAndBearer(t *testing.T) {
	for _, e := range enginetest.Engines(t) {
		if e.Auth.Kind != elastic.AuthBasic {
			continue
		}
		for _, auth := range []elastic.Auth{
			{Kind: elastic.AuthAPIKey, APIKey: b64("some-id:wrong-key-s3cr3t")},
			{Kind: elastic.AuthBearer, Token: "wrong-token-s3cr3t"},
		} {
			c, _ := elastic.New(e.URL, nil, auth)
			_, err := c.Info(context.Background())
			if err == nil || !strings.Contains(err.Error(), "credentials rejected (401 Unauthorized)") {
				t.Errorf("%s %s: %v", e, auth.Kind, err)
			} else if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("%s %s: the secret leaked: %v", e, auth.Kind, err)
			}
		}
	}
}

func TestAuthHeaders(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"version":{"number":"8.15.0"},"cluster_name":"c"}`))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		auth elastic.Auth
		want string
	}{
		{elastic.Auth{Kind: elastic.AuthBasic, User: "calico", Password: "pw"}, "Basic " + b64("calico:pw")},
		{elastic.Auth{Kind: elastic.AuthAPIKey, APIKey: "aWQ6a2V5"}, "ApiKey aWQ6a2V5"},
		{elastic.Auth{Kind: elastic.AuthBearer, Token: "tok"}, "Bearer tok"},
		{elastic.Auth{Kind: elastic.AuthNone}, ""},
	} {
		c, _ := elastic.New(srv.URL, nil, tc.auth)
		info, err := c.Info(context.Background())
		if err != nil || info.Engine != elastic.Elasticsearch || info.Version != "8.15.0" {
			t.Fatalf("%s: %+v %v", tc.auth.Kind, info, err)
		}
		if got != tc.want {
			t.Errorf("%s: Authorization %q, want %q", tc.auth.Kind, got, tc.want)
		}
	}
}

// A web server that is not a search engine, and an address where nothing listens.
func TestNotASearchEngine(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<html><body><h1>Welcome to nginx!</h1></body></html>"))
	}))
	defer web.Close()
	c, _ := elastic.New(web.URL, nil, elastic.Auth{})
	_, err := c.Info(context.Background())
	var nse *elastic.NotASearchEngineError
	if !errors.As(err, &nse) || !strings.Contains(err.Error(), "does not answer like Elasticsearch or OpenSearch") ||
		!strings.Contains(err.Error(), "text/html") || !strings.Contains(err.Error(), "Welcome to nginx") {
		t.Errorf("plain web server: %v", err)
	}
	if _, err := c.Search(context.Background(), "x", []byte(`{}`)); err == nil {
		t.Error("a search on a plain web server succeeded")
	}

	web.Close()
	_, err = c.Info(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot reach "+web.URL) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("nothing listening: %v", err)
	}

	if _, err := elastic.New("elastic.example.com:9200", nil, elastic.Auth{}); err == nil || !strings.Contains(err.Error(), `"elastic.example.com:9200"`) {
		t.Errorf("URL without scheme: %v", err)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
