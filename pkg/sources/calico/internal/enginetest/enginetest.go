// Package enginetest gives tests the real Elasticsearch and OpenSearch that
// scripts/search-engines.sh starts, and loads Calico-shaped documents into them.
package enginetest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/sources/calico/elastic"
)

// Engine is one running search engine.
type Engine struct {
	Name    string // Elasticsearch | OpenSearch
	Version string // what the script starts
	URL     string
	Auth    elastic.Auth // a superuser on Elasticsearch; none on OpenSearch (no security plugin)
	// Reader is a user who may only read tigera_secure_ee_flows.* (Elasticsearch only; Kind
	// empty elsewhere).
	Reader elastic.Auth
}

// String names the engine in test messages: "Elasticsearch 8.19.21".
func (e Engine) String() string { return e.Name + " " + e.Version }

// Environment variables set by scripts/search-engines.sh.
const (
	EnvElasticsearchURL      = "CALICO_TEST_ELASTICSEARCH_URL"
	EnvElasticsearch8URL     = "CALICO_TEST_ELASTICSEARCH8_URL"
	EnvElasticsearchUser     = "CALICO_TEST_ELASTICSEARCH_USER"     // of both Elasticsearch versions
	EnvElasticsearchPassword = "CALICO_TEST_ELASTICSEARCH_PASSWORD" // #nosec G101 -- the name of a variable, not a credential
	EnvElasticsearchReader   = "CALICO_TEST_ELASTICSEARCH_READER"   // read-only user, same password
	EnvOpenSearchURL         = "CALICO_TEST_OPENSEARCH_URL"
)

// Engines returns the three engines the script starts: Elasticsearch 7.17 and 8.19 (security
// on, basic auth) and OpenSearch 2.19. When the script did not start them the test is skipped
// with a loud message, or fails under CI=true, where skipping would hide that nothing was
// tested.
func Engines(t testing.TB) []Engine {
	t.Helper()
	es, es8, os_ := os.Getenv(EnvElasticsearchURL), os.Getenv(EnvElasticsearch8URL), os.Getenv(EnvOpenSearchURL)
	if es == "" || es8 == "" || os_ == "" {
		msg := fmt.Sprintf("%s / %s / %s are not all set: Elasticsearch 7, Elasticsearch 8 and OpenSearch are not running. "+
			"Run the Calico tests with: bash scripts/search-engines.sh run go test ./pkg/sources/calico/...",
			EnvElasticsearchURL, EnvElasticsearch8URL, EnvOpenSearchURL)
		if ci := os.Getenv("CI"); ci == "true" || ci == "1" {
			t.Fatal("CI=true: " + msg)
		}
		t.Skip("!!! SKIPPED, NOTHING TESTED: " + msg)
	}
	user := elastic.Auth{Kind: elastic.AuthBasic, User: os.Getenv(EnvElasticsearchUser), Password: os.Getenv(EnvElasticsearchPassword)}
	reader := elastic.Auth{Kind: elastic.AuthBasic, User: os.Getenv(EnvElasticsearchReader), Password: user.Password}
	return []Engine{
		{Name: elastic.Elasticsearch, Version: "7.17.10", URL: es, Auth: user, Reader: reader},
		{Name: elastic.Elasticsearch, Version: "8.19.21", URL: es8, Auth: user, Reader: reader},
		{Name: elastic.OpenSearch, Version: "2.19.1", URL: os_, Auth: elastic.Auth{Kind: elastic.AuthNone}},
	}
}

// Client returns a client for the engine.
func (e Engine) Client(t testing.TB) *elastic.Client {
	t.Helper()
	c, err := elastic.New(e.URL, nil, e.Auth)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// authTransport adds the engine's credentials to the loader's requests.
type authTransport struct{ auth elastic.Auth }

func (a authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if a.auth.Kind == elastic.AuthBasic {
		r = r.Clone(r.Context())
		r.SetBasicAuth(a.auth.User, a.auth.Password)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// HTTPClient is an HTTP client that authenticates as the test user.
func (e Engine) HTTPClient() *http.Client {
	return &http.Client{Transport: authTransport{e.Auth}, Timeout: 5 * time.Minute}
}

var (
	loadMu sync.Mutex
	loaded = map[string][]simulator.CalicoDoc{}
)

// Load writes the documents of cfg over [from, to) into the engine (once per engine, config
// and range within a test binary; documents have fixed ids, so a second binary loading the
// same again changes nothing) and returns them, for the test's own ground truth. Tests that
// load different data use different cfg.Cluster values, so their indices do not meet.
func Load(t testing.TB, e Engine, cfg simulator.CalicoConfig, from, to time.Time) []simulator.CalicoDoc {
	t.Helper()
	key := fmt.Sprintf("%s|%+v|%d|%d", e.URL, cfg, from.Unix(), to.Unix())
	loadMu.Lock()
	defer loadMu.Unlock()
	if docs, ok := loaded[key]; ok {
		return docs
	}
	ctx := context.Background()
	l := &simulator.CalicoBulkLoader{Client: e.HTTPClient(), BaseURL: e.URL}
	if err := l.PutTemplate(ctx); err != nil {
		t.Fatalf("%s: %v", e.Name, err)
	}
	var docs []simulator.CalicoDoc
	err := simulator.CalicoDocs(cfg, from, to, func(d *simulator.CalicoDoc) error {
		docs = append(docs, *d)
		return l.Add(ctx, d)
	})
	if err != nil {
		t.Fatalf("%s: %v", e.Name, err)
	}
	if _, err := l.Finish(ctx); err != nil {
		t.Fatalf("%s: %v", e.Name, err)
	}
	loaded[key] = docs
	return docs
}
