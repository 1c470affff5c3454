package plugin

import (
	"flag"
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
	cases := []struct {
		name  string
		tr    backend.TimeRange
		query string
		alert bool
	}{
		{"top_talkers_pair", tenMinutes, `{"queryType":"topTalkers","dim":"pair","limit":5}`, false},
		{"top_talkers_src_alert", tenMinutes, `{"queryType":"topTalkers","dim":"src","limit":5}`, true},
		{"top_talkers_dst_computed", past, `{"queryType":"topTalkers","dim":"dst","by":"packets","limit":5,"protocol":"udp"}`, false},
		{"top_pairs_nodegraph", tenMinutes, `{"queryType":"topTalkers","dim":"pair","limit":4,"format":"nodegraph"}`, false},
		{"protocols", tenMinutes, `{"queryType":"protocols"}`, false},
		{"flows_table", tenMinutes, `{"queryType":"flows","sort":"bytes","limit":4}`, false},
		{"traffic_by_protocol", tenMinutes, `{"queryType":"flows","format":"timeseries","groupBy":"protocol","topN":2}`, false},
		{"traffic_by_pair_packets_total", tenMinutes, `{"queryType":"flows","format":"timeseries","metric":"packets","unit":"total","groupBy":"pair","topN":2,"other":false}`, false},
		{"variable_exporters", tenMinutes, `{"queryType":"variableValues","variable":"exporter"}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var headers map[string]string
			if c.alert {
				headers = map[string]string{backend.FromAlertHeaderName: "true"}
			}
			resp := query(t, ds, c.tr, headers, c.query)["A"]
			if resp.Error != nil {
				t.Fatal(resp.Error)
			}
			experimental.CheckGoldenJSONResponse(t, "testdata", c.name, &resp, *updateGolden)
		})
	}
}
