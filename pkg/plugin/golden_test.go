package plugin

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/experimental"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden frames in testdata/")

// The frames each query type returns, field by field (names, types, units, labels, links,
// meta, notices), for a fixed simulator seed and clock. A change here changes what dashboards
// and alert rules see: review the diff, then rewrite with `go test ./pkg/plugin -run Golden -update`.
func TestGoldenFrames(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	tenMinutes := backend.TimeRange{From: testNow.Add(-10 * time.Minute), To: testNow}
	past := backend.TimeRange{From: testNow.Add(-70 * time.Minute), To: testNow.Add(-60 * time.Minute)}
	ranges := map[string]backend.TimeRange{"last10m": tenMinutes, "hourAgo": past}
	// The queries are in testdata so that pkg/models can check that each validates against the
	// published schema and migrates unchanged.
	var cases []struct {
		Name  string          `json:"name"`
		Range string          `json:"range"`
		Query json.RawMessage `json:"query"`
		Alert bool            `json:"alert"`
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "golden_queries.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &cases); err != nil || len(cases) == 0 {
		t.Fatalf("testdata/golden_queries.json: %d cases, %v", len(cases), err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			tr, ok := ranges[c.Range]
			if !ok {
				t.Fatalf("range %q is not one of %v", c.Range, ranges)
			}
			var headers map[string]string
			if c.Alert {
				headers = map[string]string{backend.FromAlertHeaderName: "true"}
			}
			resp := query(t, ds, tr, headers, string(c.Query))["A"]
			if resp.Error != nil {
				t.Fatal(resp.Error)
			}
			experimental.CheckGoldenJSONResponse(t, "testdata", c.Name, &resp, *updateGolden)
		})
	}
}
