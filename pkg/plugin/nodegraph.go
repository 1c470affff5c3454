package plugin

import (
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

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
