package plugin

import (
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
)

// nodeGraphFrames lays out top pairs for Grafana's node graph panel: a nodes frame (one node
// per address, its traffic in all ranked pairs) and an edges frame (one edge per pair, source to
// destination), both with the field names the panel reads (id, title, mainstat, source, target).
func nodeGraphFrames(rows []flowsapi.TopTalker, by, executed string) data.Frames {
	metric := func(t flowsapi.TopTalker) int64 {
		if by == "packets" {
			return t.Packets
		}
		return t.Bytes
	}
	unit := "decbytes"
	if by == "packets" {
		unit = "short"
	}
	var nodeIDs []string
	nodeTotal, nodeFlows := map[string]int64{}, map[string]int64{}
	addNode := func(ip string, t flowsapi.TopTalker) {
		if _, seen := nodeTotal[ip]; !seen {
			nodeIDs = append(nodeIDs, ip)
		}
		nodeTotal[ip] += metric(t)
		nodeFlows[ip] += t.FlowCount
	}
	n := len(rows)
	edgeID, source, target := make([]string, n), make([]string, n), make([]string, n)
	edgeMain, edgeFlows := make([]int64, n), make([]int64, n)
	for i, r := range rows {
		src, dst := splitPair(r.Key)
		edgeID[i], source[i], target[i] = r.Key, src, dst
		edgeMain[i], edgeFlows[i] = metric(r), r.FlowCount
		addNode(src, r)
		if dst != src {
			addNode(dst, r)
		}
	}
	nodeMain, nodeSecondary := make([]int64, len(nodeIDs)), make([]int64, len(nodeIDs))
	for i, ip := range nodeIDs {
		nodeMain[i], nodeSecondary[i] = nodeTotal[ip], nodeFlows[ip]
	}
	meta := func() *data.FrameMeta {
		return &data.FrameMeta{PreferredVisualization: data.VisTypeNodeGraph, ExecutedQueryString: executed}
	}
	nodes := data.NewFrame("nodes",
		data.NewField("id", nil, nodeIDs),
		withConfig(data.NewField("title", nil, nodeIDs), "Address", ""),
		withConfig(data.NewField("mainstat", nil, nodeMain), displayMetric(by), unit),
		withConfig(data.NewField("secondarystat", nil, nodeSecondary), "Flows", "short"),
	)
	nodes.Meta = meta()
	edges := data.NewFrame("edges",
		data.NewField("id", nil, edgeID),
		data.NewField("source", nil, source),
		data.NewField("target", nil, target),
		withConfig(data.NewField("mainstat", nil, edgeMain), displayMetric(by), unit),
		withConfig(data.NewField("secondarystat", nil, edgeFlows), "Flows", "short"),
	)
	edges.Meta = meta()
	return data.Frames{nodes, edges}
}

func displayMetric(by string) string {
	if by == "packets" {
		return "Packets"
	}
	return "Bytes"
}

// addNodeGraphLinks opens the flows of a node (as source or destination) or of an edge (the pair).
func (d *Datasource) addNodeGraphLinks(nodes, edges *data.Frame) {
	if d.uid == "" {
		return
	}
	id := nodes.Fields[0]
	id.Config = &data.FieldConfig{Links: []data.DataLink{
		d.flowsLink("Flows from ${__value.raw}", map[string]any{"srcIp": "${__value.raw}"}),
		d.flowsLink("Flows to ${__value.raw}", map[string]any{"dstIp": "${__value.raw}"}),
	}}
	edgeID := edges.Fields[0]
	edgeID.Config = &data.FieldConfig{Links: []data.DataLink{
		d.flowsLink("Flows from ${__data.fields.source} to ${__data.fields.target}",
			map[string]any{"srcIp": "${__data.fields.source}", "dstIp": "${__data.fields.target}"}),
	}}
}
