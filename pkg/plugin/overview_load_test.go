package plugin

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// Issue 8, item 5: the provisioned flows-overview dashboard's first load (its variables, then
// all its panels at once) asks the Flows API for each distinct answer once: no URL twice, and
// no list beside a longer list of the same order over the same range or look-back (it would be
// that list's top). And sharing never changes an answer: every variable's and panel's answer
// equals the same request run alone on a fresh data source. Which requests meet in flight
// depends on timing, so the dashboard is loaded several times.
func TestOverviewFirstLoadAsksEachAnswerOnce(t *testing.T) {
	o := overviewQueries(t)
	clock := newClock(testNow)
	rec := recordOverviewSimulator(t, clock)
	srv := rec.srv
	jsonData := provFlowsDatasource(t).JSONData

	// Each request alone, on a data source of its own.
	alone := map[string]string{}
	for _, r := range slices.Concat(o.variables, o.panels) {
		ds := newTestDatasource(t, srv.URL, testToken, jsonData, clock.Now)
		for ref, res := range r.ask(ds) {
			alone[ref] = answerJSON(t, ref, res)
		}
	}

	for load := range 3 {
		rec.take()
		ds := newTestDatasource(t, srv.URL, testToken, jsonData, clock.Now)
		got := o.load(ds)
		asked := rec.take()
		if len(got) != len(alone) {
			t.Fatalf("load %d: %d answers, alone %d", load, len(got), len(alone))
		}
		for ref, res := range got {
			if a := answerJSON(t, ref, res); a != alone[ref] {
				t.Fatalf("load %d: %s differs from the same request alone:\n%.600s\nalone:\n%.600s", load, ref, a, alone[ref])
			}
		}
		for i, u := range asked {
			for j, v := range asked {
				if i != j && answerableFrom(u, v) {
					t.Fatalf("load %d asked %s and %s: the first is answered by the second (%d requests):\n%s", load, u, v, len(asked), strings.Join(asked, "\n"))
				}
			}
		}
		t.Logf("load %d: %d requests", load, len(asked))
	}
}

// answerJSON is a response as Grafana gets it: its frames (schema, meta, values) or its error.
func answerJSON(t *testing.T, ref string, r any) string {
	t.Helper()
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	return string(b)
}

// answerableFrom says whether the API's answer to v holds the answer to u, by the API's spec:
// the same URL, or u a list (a limit) whose parameters, but for the limit, are v's (the
// defaults said: /flows sorts by timestamp, descending, from offset 0) with a limit no longer
// than v's.
func answerableFrom(u, v string) bool {
	pu, qu, lu := listOf(u)
	pv, qv, lv := listOf(v)
	return pu == pv && qu == qv && (lu == lv || lu > 0 && lv > 0 && lu <= lv)
}

func listOf(raw string) (path, params string, limit int) {
	u, err := url.Parse(raw)
	if err != nil {
		return raw, "", 0
	}
	q := u.Query()
	if l := q.Get("limit"); l != "" {
		limit, _ = strconv.Atoi(l)
		q.Del("limit")
	}
	if u.Path == "/api/v1/flows" {
		for k, def := range map[string]string{"sort": "timestamp", "order": "desc", "offset": "0"} {
			if q.Get(k) == "" {
				q.Set(k, def)
			}
		}
	}
	return u.Path, q.Encode(), limit
}

// urlRecorder is the simulator as docker-compose.yml runs it (the provisioned data source's
// settings), on a test clock, recording every URL it is asked.
type urlRecorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	urls []string
}

func recordOverviewSimulator(tb testing.TB, c *clock) *urlRecorder {
	tb.Helper()
	cfg := provSimulatorConfig(tb)
	cfg.Now, cfg.Log, cfg.Token = c.Now, discard{}, testToken
	sim := simulator.New(cfg)
	rec := &urlRecorder{}
	rec.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.urls = append(rec.urls, r.URL.RequestURI())
		rec.mu.Unlock()
		sim.ServeHTTP(w, r)
	}))
	tb.Cleanup(rec.srv.Close)
	return rec
}

// take returns the URLs asked since the last take.
func (r *urlRecorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	urls := r.urls
	r.urls = nil
	return urls
}
