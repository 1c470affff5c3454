package plugin

import (
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// Top pairs as a node graph: one edge per ranked pair, one node per address, and the numbers
// agree with the pair table.
func TestTopPairsAsNodeGraph(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	table := one(t, ds, lastHour(), `{"queryType":"topTalkers","dim":"pair","limit":15}`)[0]
	frames := one(t, ds, lastHour(), `{"queryType":"topTalkers","dim":"pair","limit":15,"format":"nodegraph"}`)
	if len(frames) != 2 || frames[0].Name != "nodes" || frames[1].Name != "edges" {
		t.Fatalf("frames %v", frames)
	}
	nodes, edges := frames[0], frames[1]
	for _, f := range frames {
		if f.Meta.PreferredVisualization != data.VisTypeNodeGraph || !strings.Contains(f.Meta.ExecutedQueryString, "dim=pair") {
			t.Fatalf("%s meta %+v", f.Name, f.Meta)
		}
	}
	src, dst, bytes := column[string](t, table, "src_ip"), column[string](t, table, "dst_ip"), column[int64](t, table, "bytes")
	source, target, edgeBytes := column[string](t, edges, "source"), column[string](t, edges, "target"), column[int64](t, edges, "mainstat")
	if len(source) != 15 {
		t.Fatalf("%d edges for 15 pairs", len(source))
	}
	incident := map[string]int64{}
	for i := range source {
		if source[i] != src[i] || target[i] != dst[i] || edgeBytes[i] != bytes[i] {
			t.Fatalf("edge %d: %s→%s %d, pair %s→%s %d", i, source[i], target[i], edgeBytes[i], src[i], dst[i], bytes[i])
		}
		incident[source[i]] += edgeBytes[i]
		if target[i] != source[i] {
			incident[target[i]] += edgeBytes[i]
		}
	}
	ids, nodeBytes := column[string](t, nodes, "id"), column[int64](t, nodes, "mainstat")
	if len(ids) != len(incident) {
		t.Fatalf("%d nodes for %d addresses", len(ids), len(incident))
	}
	for i, id := range ids {
		if nodeBytes[i] != incident[id] {
			t.Fatalf("node %s: %d, sum of its edges %d", id, nodeBytes[i], incident[id])
		}
	}
	if got := linkTitles(edges.Fields[0]); len(got) != 1 || !strings.Contains(got[0], "${__data.fields.source}") {
		t.Fatalf("edge links %v", got)
	}
	// Alert rules get one number per pair, whatever the format.
	resp := query(t, ds, lastHour(), map[string]string{backend.FromAlertHeaderName: "true"},
		`{"queryType":"topTalkers","dim":"pair","limit":15,"format":"nodegraph"}`)["A"]
	if resp.Error != nil || len(numericItems(t, resp.Frames)) != 15 {
		t.Fatalf("alert: %v", resp.Error)
	}
}

func TestNodeGraphNeedsPairs(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	res := query(t, ds, lastHour(), nil,
		`{"refId":"src","queryType":"topTalkers","dim":"src","format":"nodegraph"}`,
		`{"refId":"flows","queryType":"flows","format":"nodegraph"}`,
		`{"refId":"proto","queryType":"protocols","format":"nodegraph"}`,
		`{"refId":"bad","queryType":"topTalkers","format":"graph"}`)
	for ref, want := range map[string]string{
		"src":   "format: 'nodegraph' needs dim 'pair'",
		"flows": "format: 'nodegraph' is for Top talkers by pair",
		"bad":   "format: 'graph' is not one of table, timeseries, nodegraph",
	} {
		if r := res[ref]; r.Error == nil || !strings.Contains(r.Error.Error(), want) || r.ErrorSource != backend.ErrorSourceDownstream {
			t.Errorf("%s: %v, want %q", ref, r.Error, want)
		}
	}
	if r := res["proto"]; r.Error != nil {
		t.Errorf("protocols ignore the format: %v", r.Error)
	}
}
