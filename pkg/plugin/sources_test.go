package plugin

import (
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// jsonData.source picks the source; a data source saved before there was a choice (no
// jsonData.source) is a Flows API data source, and an unknown value is a settings error that
// names the field and the value, in Save & test and in every query.
func TestSourceIsChosenByJSONDataSource(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	for _, jsonData := range []map[string]any{nil, {"source": ""}, {"source": "flowsapi"}} {
		ds := e.datasource(t, jsonData)
		res, _ := health(t, ds)
		wantHealth(t, res, backend.HealthStatusOk, "Connected to the Flows API at "+e.srv.URL)
		if f := one(t, ds, lastHour(), `{"queryType":"protocols"}`); f[0].Rows() == 0 {
			t.Fatalf("%v: no protocols", jsonData)
		}
	}

	ds := e.datasource(t, map[string]any{"source": "netflowz"})
	res, _ := health(t, ds)
	wantHealth(t, res, backend.HealthStatusError, `Settings: source (jsonData.source): "netflowz" is not a source this plugin knows; choose one of `, "flowsapi")
	r := query(t, ds, lastHour(), nil, `{"queryType":"protocols"}`)["A"]
	if r.Error == nil || r.ErrorSource != backend.ErrorSourceDownstream || r.Status != backend.StatusBadRequest ||
		!strings.HasPrefix(r.Error.Error(), `data source settings: source (jsonData.source): "netflowz" is not a source this plugin knows; choose one of `) {
		t.Fatalf("query with an unknown source: %+v", r)
	}
}
