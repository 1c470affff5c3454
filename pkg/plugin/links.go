package plugin

import (
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/engine"
)

// drillDownRows is how many records a drill-down opens: enough to read, few enough to be quick.
const drillDownRows = 500

// flowsLink opens this data source's flows table in Explore, filtered as given, over the time
// range of the panel it is clicked in.
func (d *Datasource) flowsLink(title string, filters map[string]any) data.DataLink {
	q := map[string]any{"refId": "A", "queryType": "flows", "format": "table", "limit": drillDownRows}
	for k, v := range filters {
		q[k] = v
	}
	return data.DataLink{
		Title:    title,
		Internal: &data.InternalDataLink{DatasourceUID: d.uid, DatasourceName: d.name, Query: q},
	}
}

// addDrillDownLinks puts links on the IP columns of a table: the flows of that address, and
// where the row is a pair, the flows of the pair.
func (d *Datasource) addDrillDownLinks(f *data.Frame) {
	if d.uid == "" {
		return
	}
	src, _ := f.FieldByName(engine.LabelSrcIP)
	dst, _ := f.FieldByName(engine.LabelDstIP)
	pair := d.flowsLink("Flows between ${__data.fields.src_ip} and ${__data.fields.dst_ip}",
		map[string]any{"srcIp": "${__data.fields.src_ip}", "dstIp": "${__data.fields.dst_ip}"})
	if src != nil {
		src.Config.Links = append(src.Config.Links, d.flowsLink("Flows from ${__value.raw}", map[string]any{"srcIp": "${__value.raw}"}))
	}
	if dst != nil {
		dst.Config.Links = append(dst.Config.Links, d.flowsLink("Flows to ${__value.raw}", map[string]any{"dstIp": "${__value.raw}"}))
	}
	if src != nil && dst != nil {
		src.Config.Links = append(src.Config.Links, pair)
		dst.Config.Links = append(dst.Config.Links, pair)
	}
}

// addSeriesLinks puts links on a series named by addresses: its flows, from the series labels.
func (d *Datasource) addSeriesLinks(f *data.Frame) {
	if d.uid == "" || len(f.Fields) < 2 {
		return
	}
	v := f.Fields[1]
	src, hasSrc := v.Labels[engine.LabelSrcIP]
	dst, hasDst := v.Labels[engine.LabelDstIP]
	if src == engine.OtherLabel || dst == engine.OtherLabel {
		return
	}
	filters := map[string]any{}
	title := "Flows"
	if hasSrc {
		filters["srcIp"] = "${__field.labels.src_ip}"
		title += " from ${__field.labels.src_ip}"
	}
	if hasDst {
		filters["dstIp"] = "${__field.labels.dst_ip}"
		title += " to ${__field.labels.dst_ip}"
	}
	if len(filters) > 0 {
		v.Config.Links = append(v.Config.Links, d.flowsLink(title, filters))
	}
}
