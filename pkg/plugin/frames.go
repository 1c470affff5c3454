package plugin

import (
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
)

// Field and label names. Labels on data-plane frames are what alert instances are named by.
const (
	labelSrcIP    = "src_ip"
	labelDstIP    = "dst_ip"
	labelProtocol = "protocol"
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

// splitPair splits a pair key "A → B"; a key without the separator keeps it whole as the source.
func splitPair(key string) (string, string) {
	src, dst, ok := strings.Cut(key, flowsapi.PairSeparator)
	if !ok {
		return key, ""
	}
	return src, dst
}

func talkersFrame(rows []flowsapi.TopTalker, dim, by string, forAlert bool, executed string) *data.Frame {
	n := len(rows)
	src, dst := make([]string, 0, n), make([]string, 0, n)
	bytes, packets, flows := make([]int64, n), make([]int64, n), make([]int64, n)
	for i, r := range rows {
		switch dim {
		case "pair":
			s, d := splitPair(r.Key)
			src, dst = append(src, s), append(dst, d)
		case "dst":
			dst = append(dst, r.Key)
		default:
			src = append(src, r.Key)
		}
		bytes[i], packets[i], flows[i] = r.Bytes, r.Packets, r.FlowCount
	}
	frame := data.NewFrame("top_talkers")
	if dim != "dst" {
		frame.Fields = append(frame.Fields, withConfig(data.NewField(labelSrcIP, nil, src), "Source IP", ""))
	}
	if dim != "src" {
		frame.Fields = append(frame.Fields, withConfig(data.NewField(labelDstIP, nil, dst), "Destination IP", ""))
	}
	frame.Fields = append(frame.Fields, metricFields(bytes, packets, flows, by, forAlert)...)
	return numericLong(frame, executed)
}

func protocolsFrame(rows []flowsapi.ProtocolStat, by string, forAlert bool, executed string) *data.Frame {
	n := len(rows)
	names := make([]string, n)
	bytes, packets, flows := make([]int64, n), make([]int64, n), make([]int64, n)
	for i, r := range rows {
		names[i], bytes[i], packets[i], flows[i] = r.Protocol, r.Bytes, r.Packets, r.FlowCount
	}
	frame := data.NewFrame("protocols", withConfig(data.NewField(labelProtocol, nil, names), "Protocol", ""))
	frame.Fields = append(frame.Fields, metricFields(bytes, packets, flows, by, forAlert)...)
	return numericLong(frame, executed)
}

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

// flowsTableFrame lays out raw records, one row each, in the order given.
func flowsTableFrame(flows []flowsapi.Flow, executed string) *data.Frame {
	n := len(flows)
	ts, ws := make([]time.Time, n), make([]time.Time, n)
	srcIP, dstIP, exporter, proto, ids := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	srcHost, dstHost := make([]*string, n), make([]*string, n)
	srcPort, dstPort := make([]uint16, n), make([]uint16, n)
	protoNum, tcpFlags := make([]uint8, n), make([]uint8, n)
	bytes, packets, version := make([]int64, n), make([]int64, n), make([]int64, n)
	first, last := make([]time.Time, n), make([]time.Time, n)
	for i := range flows {
		f := &flows[i]
		ts[i], ws[i] = msTime(f.Timestamp), msTime(f.WindowStart)
		srcIP[i], dstIP[i], exporter[i], ids[i] = f.SrcIP, f.DstIP, f.ExporterIP, f.ID
		srcHost[i], dstHost[i] = f.SrcHostname, f.DstHostname
		srcPort[i], dstPort[i] = f.SrcPort, f.DstPort
		proto[i], protoNum[i], tcpFlags[i] = protocolLabel(f), f.Protocol, f.TCPFlags
		bytes[i], packets[i], version[i] = f.Bytes, f.Packets, int64(f.Version)
		first[i], last[i] = msTime(f.FirstSeenMs), msTime(f.LastSeenMs)
	}
	frame := data.NewFrame("flows",
		withConfig(data.NewField("timestamp", nil, ts), "Time", ""),
		withConfig(data.NewField("window_start", nil, ws), "Window start", ""),
		withConfig(data.NewField(labelSrcIP, nil, srcIP), "Source IP", ""),
		withConfig(data.NewField("src_hostname", nil, srcHost), "Source host", ""),
		withConfig(data.NewField("src_port", nil, srcPort), "Source port", ""),
		withConfig(data.NewField(labelDstIP, nil, dstIP), "Destination IP", ""),
		withConfig(data.NewField("dst_hostname", nil, dstHost), "Destination host", ""),
		withConfig(data.NewField("dst_port", nil, dstPort), "Destination port", ""),
		withConfig(data.NewField(labelProtocol, nil, proto), "Protocol", ""),
		withConfig(data.NewField("protocol_number", nil, protoNum), "Protocol number", ""),
		withConfig(data.NewField("bytes", nil, bytes), "Bytes", "decbytes"),
		withConfig(data.NewField("packets", nil, packets), "Packets", "short"),
		withConfig(data.NewField("tcp_flags", nil, tcpFlags), "TCP flags", ""),
		withConfig(data.NewField("first_seen", nil, first), "First seen", ""),
		withConfig(data.NewField("last_seen", nil, last), "Last seen", ""),
		withConfig(data.NewField("exporter_ip", nil, exporter), "Exporter", ""),
		withConfig(data.NewField("version", nil, version), "Version", ""),
		withConfig(data.NewField("id", nil, ids), "ID", ""),
	)
	frame.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeTable, ExecutedQueryString: executed}
	return frame
}

func addNotice(f *data.Frame, sev data.NoticeSeverity, text string) {
	if f.Meta == nil {
		f.Meta = &data.FrameMeta{}
	}
	f.Meta.Notices = append(f.Meta.Notices, data.Notice{Severity: sev, Text: text})
}
