package plugin

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
)

// talkersFromFlows computes what /top-talkers answers, from raw records: per key the sums of
// bytes and packets and the record count, ranked by `by` (ties by key), first `limit` rows.
func talkersFromFlows(flows []flowsapi.Flow, dim, by string, limit int) []flowsapi.TopTalker {
	sums := make(map[string]*flowsapi.TopTalker)
	for i := range flows {
		f := &flows[i]
		var key string
		switch dim {
		case "dst":
			key = f.DstIP
		case "pair":
			key = f.SrcIP + flowsapi.PairSeparator + f.DstIP
		default:
			key = f.SrcIP
		}
		t := sums[key]
		if t == nil {
			t = &flowsapi.TopTalker{Key: key}
			sums[key] = t
		}
		t.Bytes += f.Bytes
		t.Packets += f.Packets
		t.FlowCount++
	}
	rows := make([]flowsapi.TopTalker, 0, len(sums))
	for _, t := range sums {
		rows = append(rows, *t)
	}
	metric := func(t flowsapi.TopTalker) int64 {
		if by == "packets" {
			return t.Packets
		}
		return t.Bytes
	}
	slices.SortFunc(rows, func(a, b flowsapi.TopTalker) int {
		if c := cmp.Compare(metric(b), metric(a)); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	if len(rows) > limit {
		rows = rows[:limit]
	}
	return rows
}

// protocolLabel is how a record's protocol is named: the API's name, else the number.
func protocolLabel(f *flowsapi.Flow) string {
	if f.ProtocolName != nil && *f.ProtocolName != "" {
		return *f.ProtocolName
	}
	return strconv.Itoa(int(f.Protocol))
}

// protocolsFromFlows computes what /protocols answers, from raw records, by bytes (ties by name).
func protocolsFromFlows(flows []flowsapi.Flow) []flowsapi.ProtocolStat {
	sums := make(map[string]*flowsapi.ProtocolStat)
	for i := range flows {
		name := protocolLabel(&flows[i])
		s := sums[name]
		if s == nil {
			s = &flowsapi.ProtocolStat{Protocol: name}
			sums[name] = s
		}
		s.Bytes += flows[i].Bytes
		s.Packets += flows[i].Packets
		s.FlowCount++
	}
	rows := make([]flowsapi.ProtocolStat, 0, len(sums))
	for _, s := range sums {
		rows = append(rows, *s)
	}
	slices.SortFunc(rows, func(a, b flowsapi.ProtocolStat) int {
		if c := cmp.Compare(b.Bytes, a.Bytes); c != 0 {
			return c
		}
		return strings.Compare(a.Protocol, b.Protocol)
	})
	return rows
}
