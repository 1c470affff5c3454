package engine

import (
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

var dataplaneVersion = data.FrameTypeVersion{0, 1}

func withConfig(f *data.Field, displayName, unit string) *data.Field {
	f.Config = &data.FieldConfig{DisplayName: displayName, Unit: unit}
	return f
}

// metricFields are the value columns of an aggregation. An alert query gets only the ranked
// metric, so that a rule has one instance per talker, not one per talker and metric.
func metricFields(bytes, packets, flows []int64, by string, forAlert bool) []*data.Field {
	bf := withConfig(data.NewField("bytes", nil, bytes), "Bytes", "decbytes")
	pf := withConfig(data.NewField("packets", nil, packets), "Packets", "short")
	ff := withConfig(data.NewField("flows", nil, flows), "Flows", "short")
	switch {
	case forAlert && by == "packets":
		return []*data.Field{pf}
	case forAlert:
		return []*data.Field{bf}
	default:
		return []*data.Field{bf, pf, ff}
	}
}

// numericLong marks a frame as the data plane's numeric-long kind: every string column is a
// label of every number, one item per row.
func numericLong(f *data.Frame, executed string) *data.Frame {
	f.Meta = &data.FrameMeta{
		Type:                   data.FrameTypeNumericLong,
		TypeVersion:            dataplaneVersion,
		PreferredVisualization: data.VisTypeTable,
		ExecutedQueryString:    executed,
	}
	return f
}

// SplitPair splits a pair key "A → B"; a key without the separator keeps it whole as the source.
func SplitPair(key string) (string, string) {
	src, dst, ok := strings.Cut(key, PairSeparator)
	if !ok {
		return key, ""
	}
	return src, dst
}

// TalkersFrame lays out top talkers as a numeric-long frame.
func TalkersFrame(rows []Talker, dim, by string, forAlert bool, executed string) *data.Frame {
	n := len(rows)
	src, dst := make([]string, 0, n), make([]string, 0, n)
	bytes, packets, flows := make([]int64, n), make([]int64, n), make([]int64, n)
	for i, r := range rows {
		switch dim {
		case GroupPair:
			s, d := SplitPair(r.Key)
			src, dst = append(src, s), append(dst, d)
		case GroupDst:
			dst = append(dst, r.Key)
		default:
			src = append(src, r.Key)
		}
		bytes[i], packets[i], flows[i] = r.Bytes, r.Packets, r.Flows
	}
	frame := data.NewFrame("top_talkers")
	if dim != GroupDst {
		frame.Fields = append(frame.Fields, withConfig(data.NewField(LabelSrcIP, nil, src), "Source IP", ""))
	}
	if dim != GroupSrc {
		frame.Fields = append(frame.Fields, withConfig(data.NewField(LabelDstIP, nil, dst), "Destination IP", ""))
	}
	frame.Fields = append(frame.Fields, metricFields(bytes, packets, flows, by, forAlert)...)
	return numericLong(frame, executed)
}

// ProtocolsFrame lays out the protocol breakdown as a numeric-long frame.
func ProtocolsFrame(rows []ProtocolRow, by string, forAlert bool, executed string) *data.Frame {
	n := len(rows)
	names := make([]string, n)
	bytes, packets, flows := make([]int64, n), make([]int64, n), make([]int64, n)
	for i, r := range rows {
		names[i], bytes[i], packets[i], flows[i] = r.Protocol, r.Bytes, r.Packets, r.Flows
	}
	frame := data.NewFrame("protocols", withConfig(data.NewField(LabelProtocol, nil, names), "Protocol", ""))
	frame.Fields = append(frame.Fields, metricFields(bytes, packets, flows, by, forAlert)...)
	return numericLong(frame, executed)
}

// seriesUnit is the Grafana unit for a metric: rates per second, or totals per bucket.
func seriesUnit(metric, unit string) string {
	switch {
	case unit == "rate" && metric == "bytes":
		return "bps"
	case unit == "rate" && metric == "packets":
		return "pps"
	case unit == "rate":
		return "cps" // flows per second
	case metric == "bytes":
		return "decbytes"
	default:
		return "short"
	}
}

// SeriesFrames lays out the data plane's timeseries-multi kind: one frame per series with a
// time field and a value field named after the metric, labelled with the series' group.
func SeriesFrames(res SeriesResult, metric, unit, executed string) data.Frames {
	times := make([]time.Time, res.Buckets)
	for b := range times {
		times[b] = res.Start.Add(time.Duration(b) * res.Width)
	}
	widthMs := float64(res.Width.Milliseconds())
	frames := make(data.Frames, 0, len(res.Series))
	for _, s := range res.Series {
		timeField := data.NewField("time", nil, times)
		timeField.Config = &data.FieldConfig{Interval: widthMs}
		var value *data.Field
		if res.Unread != nil {
			// Unread buckets are null: no data, never a 0 that looks like an outage.
			vals := make([]*float64, len(s.Values))
			for b := range vals {
				if !res.Unread[b] {
					vals[b] = &s.Values[b]
				}
			}
			value = data.NewField(metric, s.Labels, vals)
		} else {
			value = data.NewField(metric, s.Labels, s.Values)
		}
		value.Config = &data.FieldConfig{Unit: seriesUnit(metric, unit), Interval: widthMs}
		if s.Display != "" {
			value.Config.DisplayNameFromDS = s.Display
		}
		f := data.NewFrame(metric, timeField, value)
		f.Meta = &data.FrameMeta{
			Type:                   data.FrameTypeTimeSeriesMulti,
			TypeVersion:            dataplaneVersion,
			PreferredVisualization: data.VisTypeGraph, // Explore draws it as a graph
			ExecutedQueryString:    executed,
			Custom:                 map[string]any{"bucketWidthSeconds": int(res.Width.Seconds())},
		}
		frames = append(frames, f)
	}
	return frames
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// DefaultColumns are the flows table's columns for a source that lists none.
var DefaultColumns = []Column{
	{Name: "timestamp", Field: ColTime, Display: "Time"},
	{Name: LabelSrcIP, Field: ColSrcIP, Display: "Source IP"},
	{Name: "src_port", Field: ColSrcPort, Display: "Source port"},
	{Name: LabelDstIP, Field: ColDstIP, Display: "Destination IP"},
	{Name: "dst_port", Field: ColDstPort, Display: "Destination port"},
	{Name: LabelProtocol, Field: ColProtocol, Display: "Protocol"},
	{Name: "bytes", Field: ColBytes, Display: "Bytes", Unit: "decbytes"},
	{Name: "packets", Field: ColPackets, Display: "Packets", Unit: "short"},
	{Name: "exporter", Field: ColExporter, Display: "Exporter"},
	{Name: "id", Field: ColID, Display: "ID"},
}

// NodeGraphFrames lays out top pairs for Grafana's node graph panel: a nodes frame (one node
// per address, its traffic in all ranked pairs) and an edges frame (one edge per pair, source
// to destination), both with the field names the panel reads (id, title, mainstat, source,
// target).
func NodeGraphFrames(rows []Talker, by, executed string) data.Frames {
	metric := func(t Talker) int64 {
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
	addNode := func(ip string, t Talker) {
		if _, seen := nodeTotal[ip]; !seen {
			nodeIDs = append(nodeIDs, ip)
		}
		nodeTotal[ip] += metric(t)
		nodeFlows[ip] += t.Flows
	}
	n := len(rows)
	edgeID, source, target := make([]string, n), make([]string, n), make([]string, n)
	edgeMain, edgeFlows := make([]int64, n), make([]int64, n)
	for i, r := range rows {
		src, dst := SplitPair(r.Key)
		edgeID[i], source[i], target[i] = r.Key, src, dst
		edgeMain[i], edgeFlows[i] = metric(r), r.Flows
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

// AddNotice adds a notice to a frame.
func AddNotice(f *data.Frame, sev data.NoticeSeverity, text string) {
	if f.Meta == nil {
		f.Meta = &data.FrameMeta{}
	}
	f.Meta.Notices = append(f.Meta.Notices, data.Notice{Severity: sev, Text: text})
}
