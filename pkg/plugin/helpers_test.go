package plugin

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/sources"
	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
)

// testSources is the registry pkg/main.go gives the plugin.
var testSources = Sources{Factories: sources.Factories(), Default: sources.Default}

const testToken = "tok-3f9a1c77e2b54d08a6-secret"

// testNow is 30 s into a minute so that window edges and range edges differ.
var testNow = time.Date(2026, 4, 16, 12, 0, 30, 0, time.UTC)

// clock is a settable clock shared by a simulator and a data source.
type clock struct{ ms atomic.Int64 }

func newClock(t time.Time) *clock { c := &clock{}; c.ms.Store(t.UnixMilli()); return c }
func (c *clock) Now() time.Time   { return time.UnixMilli(c.ms.Load()).UTC() }

type env struct {
	sim   *simulator.Server
	srv   *httptest.Server
	clock *clock
}

// newEnv starts a simulator over real HTTP on loopback at testNow.
func newEnv(t testing.TB, cfg simulator.Config) *env {
	t.Helper()
	c := newClock(testNow)
	if cfg.Token == "" {
		cfg.Token = testToken
	}
	if cfg.Seed == 0 {
		cfg.Seed = 42
	}
	if cfg.Now == nil {
		cfg.Now = c.Now
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	sim := simulator.New(cfg)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &env{sim: sim, srv: srv, clock: c}
}

// datasource makes a data source pointed at the simulator; jsonData adds settings.
func (e *env) datasource(t testing.TB, jsonData map[string]any) *Datasource {
	t.Helper()
	return newTestDatasource(t, e.srv.URL, testToken, jsonData, e.clock.Now)
}

func newTestDatasource(t testing.TB, url, token string, jsonData map[string]any, now func() time.Time) *Datasource {
	t.Helper()
	raw, _ := json.Marshal(jsonData)
	return newInstance(t, backend.DataSourceInstanceSettings{
		UID:                     "flows-test",
		Name:                    "Flows API",
		Type:                    "flowlens-flows-datasource",
		URL:                     url,
		JSONData:                raw,
		DecryptedSecureJSONData: map[string]string{"apiToken": token},
	}, now)
}

// newInstance makes a data source instance as Grafana would from settings, on the test clock,
// disposed when the test ends.
func newInstance(t testing.TB, settings backend.DataSourceInstanceSettings, now func() time.Time) *Datasource {
	t.Helper()
	inst, err := New(testSources)(context.Background(), settings)
	if err != nil {
		t.Fatalf("New %s (%s): %v", settings.Name, settings.JSONData, err)
	}
	ds := inst.(*Datasource)
	ds.now = now
	t.Cleanup(ds.Dispose)
	return ds
}

func lastHour() backend.TimeRange {
	return backend.TimeRange{From: testNow.Add(-time.Hour), To: testNow}
}

// query runs queries (JSON bodies) in one request and returns the responses by refId.
func query(t *testing.T, ds *Datasource, tr backend.TimeRange, headers map[string]string, queries ...string) backend.Responses {
	t.Helper()
	req := &backend.QueryDataRequest{Headers: headers}
	for i, q := range queries {
		var probe struct {
			RefID     string `json:"refId"`
			QueryType string `json:"queryType"`
		}
		if err := json.Unmarshal([]byte(q), &probe); err != nil {
			t.Fatalf("bad test query %s: %v", q, err)
		}
		if probe.RefID == "" {
			probe.RefID = string(rune('A' + i))
		}
		req.Queries = append(req.Queries, backend.DataQuery{
			RefID: probe.RefID, QueryType: probe.QueryType, JSON: json.RawMessage(q),
			TimeRange: tr, Interval: time.Minute, MaxDataPoints: 1000,
		})
	}
	resp, err := ds.QueryData(context.Background(), req)
	if err != nil {
		t.Fatalf("QueryData: %v", err)
	}
	return resp.Responses
}

// one runs a single query and fails the test if it errs.
func one(t *testing.T, ds *Datasource, tr backend.TimeRange, q string) data.Frames {
	t.Helper()
	r := query(t, ds, tr, nil, q)["A"]
	if r.Error != nil {
		t.Fatalf("query %s: %v", q, r.Error)
	}
	return r.Frames
}

// rawFlows reads every record in [from, to] straight from the simulator, for independent checks.
func (e *env) rawFlows(t *testing.T, from, to time.Time) []flowsapi.Flow {
	t.Helper()
	c, err := flowsapi.New(e.srv.URL, testToken, e.srv.Client(), 2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.PageFlows(context.Background(), flowsapi.FlowsParams{From: from, To: to}, 1000, 10_000_000)
	if err != nil {
		t.Fatal(err)
	}
	return got.Flows
}

func column[T any](t *testing.T, f *data.Frame, name string) []T {
	t.Helper()
	field, idx := f.FieldByName(name)
	if idx < 0 {
		t.Fatalf("frame %q has no field %q", f.Name, name)
	}
	out := make([]T, field.Len())
	for i := range out {
		out[i] = field.At(i).(T)
	}
	return out
}

func notices(f *data.Frame) []string {
	var out []string
	if f.Meta != nil {
		for _, n := range f.Meta.Notices {
			out = append(out, n.Text)
		}
	}
	return out
}

// rawProtocolName is how a raw record's protocol reads in frames: the API's name, else the number.
func rawProtocolName(f *flowsapi.Flow) string {
	if f.ProtocolName != nil && *f.ProtocolName != "" {
		return *f.ProtocolName
	}
	return strconv.Itoa(int(f.Protocol))
}
