package calico

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/flowlens/flows-datasource/pkg/engine"
)

// obj is a JSON object of a request body.
type obj = map[string]any

// Calico's fields.
const (
	fAction     = "action"
	fReporter   = "reporter"
	fHost       = "host"
	fProto      = "proto"
	fBytesIn    = "bytes_in"
	fBytesOut   = "bytes_out"
	fPacketsIn  = "packets_in"
	fPacketsOut = "packets_out"
	fNumFlows   = "num_flows"
	fStartTime  = "start_time"
	fEndTime    = "end_time"
	maskedIP    = "0.0.0.0" // the null_value of source_ip and dest_ip: an address hidden by aggregation
)

// side is one end of a flow: its fields.
type side struct {
	ip, port, name, nameAggr, namespace, typ, labels string
}

var (
	srcSide = side{"source_ip", "source_port", "source_name", "source_name_aggr", "source_namespace", "source_type", "source_labels"}
	dstSide = side{"dest_ip", "dest_port", "dest_name", "dest_name_aggr", "dest_namespace", "dest_type", "dest_labels"}
)

// Dimension keys (filters, group-bys, variables, Record.Labels) and their frame labels, which
// are Calico's field names, so that an alert instance reads dest_namespace=payments.
const (
	DimSrcNamespace = "srcNamespace"
	DimDstNamespace = "dstNamespace"
	DimSrcName      = "srcName"
	DimDstName      = "dstName"
	DimSrcType      = "srcType"
	DimDstType      = "dstType"
	DimSrcLabel     = "srcLabel"
	DimDstLabel     = "dstLabel"
	DimPolicy       = "policy"
	DimReporter     = "reporter"
)

type dimension struct {
	engine.Dimension
	field  string // keyword field; for nested ones the nested path's keyword
	nested string // nested path, or ""
}

var dimensions = []dimension{
	{engine.Dimension{Key: DimSrcNamespace, Label: "source_namespace", Display: "Source namespace", Filter: true, GroupBy: true}, "source_namespace", ""},
	{engine.Dimension{Key: DimDstNamespace, Label: "dest_namespace", Display: "Destination namespace", Filter: true, GroupBy: true}, "dest_namespace", ""},
	{engine.Dimension{Key: DimSrcName, Label: "source_name_aggr", Display: "Source name (aggregated)", Filter: true, GroupBy: true}, "source_name_aggr", ""},
	{engine.Dimension{Key: DimDstName, Label: "dest_name_aggr", Display: "Destination name (aggregated)", Filter: true, GroupBy: true}, "dest_name_aggr", ""},
	{engine.Dimension{Key: DimSrcType, Label: "source_type", Display: "Source type (wep, hep, net)", Filter: true, GroupBy: true}, "source_type", ""},
	{engine.Dimension{Key: DimDstType, Label: "dest_type", Display: "Destination type (wep, hep, net)", Filter: true, GroupBy: true}, "dest_type", ""},
	{engine.Dimension{Key: DimReporter, Label: "reporter", Display: "Reporter (src, dst)", Filter: true, GroupBy: true}, "reporter", ""},
	{engine.Dimension{Key: DimSrcLabel, Label: "source_label", Display: "Source label (key=value)", Filter: true}, "source_labels.labels", "source_labels"},
	{engine.Dimension{Key: DimDstLabel, Label: "dest_label", Display: "Destination label (key=value)", Filter: true}, "dest_labels.labels", "dest_labels"},
	{engine.Dimension{Key: DimPolicy, Label: "policy", Display: "Policy", Filter: true}, "policies.all_policies", "policies"},
}

func dimensionOf(key string) (dimension, bool) {
	for _, d := range dimensions {
		if d.Key == key {
			return d, true
		}
	}
	return dimension{}, false
}

// ---------------------------------------------------------------------------------------------
// The query: range, the count-once rule and filters.

// countOnce is the rule that counts each flow once (docs/calico.md): destination reports,
// plus source reports of flows the destination does not report (it is not a Calico endpoint,
// or the source denied the flow).
func countOnce() obj {
	return obj{"bool": obj{
		"should": []any{
			obj{"term": obj{fReporter: "dst"}},
			obj{"bool": obj{
				"filter": []any{obj{"term": obj{fReporter: "src"}}},
				"should": []any{
					obj{"bool": obj{"must_not": []any{obj{"terms": obj{dstSide.typ: []string{"wep", "hep"}}}}}},
					obj{"term": obj{fAction: "deny"}},
				},
				"minimum_should_match": 1,
			}},
		},
		"minimum_should_match": 1,
	}}
}

// countsOnce tells whether the count-once rule applies: not when the query filters or groups
// by reporter, which asks for the reporters' own views.
func countsOnce(f engine.Filters, groupBy string) bool {
	return len(f.Labels[DimReporter]) == 0 && groupBy != DimReporter
}

// query is the bool query of a search: the time range on the time field (epoch ms, which the
// epoch_second mapping accepts with an explicit format), the count-once rule and the filters.
func (s *Source) query(from, to time.Time, f engine.Filters, groupBy string) (obj, error) {
	filter := []any{obj{"range": obj{s.settings.TimeField: obj{
		"gte": from.UnixMilli(), "lte": to.UnixMilli(), "format": "epoch_millis"}}}}
	if countsOnce(f, groupBy) {
		filter = append(filter, countOnce())
	}
	clauses, err := filterClauses(f)
	if err != nil {
		return nil, err
	}
	filter = append(filter, clauses...)
	return obj{"bool": obj{"filter": filter}}, nil
}

func anyOf(clauses []any) any {
	if len(clauses) == 1 {
		return clauses[0]
	}
	return obj{"bool": obj{"should": clauses, "minimum_should_match": 1}}
}

func ipClause(field, key, v string) (any, error) {
	v = strings.TrimSpace(v)
	if p, err := netip.ParsePrefix(v); err == nil {
		return obj{"term": obj{field: p.Masked().String()}}, nil
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return nil, &engine.QueryError{Field: key, Value: v, Msg: "is not an IP address or CIDR block (e.g. 10.0.0.5, 10.0.0.0/24, 2001:db8::1)"}
	}
	return obj{"term": obj{field: a.Unmap().String()}}, nil
}

func filterClauses(f engine.Filters) ([]any, error) {
	var out []any
	ips := func(vals []string, field, key string) error {
		if len(vals) == 0 {
			return nil
		}
		var cs []any
		for _, v := range vals {
			c, err := ipClause(field, key, v)
			if err != nil {
				return err
			}
			cs = append(cs, c)
		}
		out = append(out, anyOf(cs))
		return nil
	}
	if err := ips(f.SrcIP, srcSide.ip, engine.FilterSrcIP); err != nil {
		return nil, err
	}
	if err := ips(f.DstIP, dstSide.ip, engine.FilterDstIP); err != nil {
		return nil, err
	}
	ports := func(vals []uint16, fields ...string) {
		if len(vals) == 0 {
			return
		}
		var cs []any
		for _, field := range fields {
			cs = append(cs, obj{"terms": obj{field: vals}})
		}
		out = append(out, anyOf(cs))
	}
	ports(f.Port, srcSide.port, dstSide.port)
	ports(f.SrcPort, srcSide.port)
	ports(f.DstPort, dstSide.port)
	if len(f.Protocol) > 0 {
		var names []string
		for _, p := range f.Protocol {
			names = append(names, protoName(p))
		}
		out = append(out, obj{"terms": obj{fProto: names}})
	}
	if len(f.Exporter) > 0 {
		out = append(out, obj{"terms": obj{fHost: f.Exporter}})
	}
	if len(f.Action) > 0 {
		for _, a := range f.Action {
			if a != "allow" && a != "deny" {
				return nil, &engine.QueryError{Field: engine.FilterAction, Value: a, Msg: "is not a Calico action (allow, deny)"}
			}
		}
		out = append(out, obj{"terms": obj{fAction: f.Action}})
	}
	for _, d := range dimensions {
		vals := f.Labels[d.Key]
		if len(vals) == 0 {
			continue
		}
		switch d.Key {
		case DimPolicy:
			// A policy is named inside "order|tier|name|action|rule"; match the name part.
			var cs []any
			for _, v := range vals {
				cs = append(cs, obj{"wildcard": obj{d.field: obj{"value": "*|" + escapeWildcard(v) + "|*"}}})
			}
			out = append(out, obj{"nested": obj{"path": d.nested, "query": anyOf(cs)}})
		case DimSrcLabel, DimDstLabel:
			out = append(out, obj{"nested": obj{"path": d.nested, "query": obj{"terms": obj{d.field: vals}}}})
		default:
			out = append(out, obj{"terms": obj{d.field: vals}})
		}
	}
	for key := range f.Labels {
		if _, ok := dimensionOf(key); !ok && len(f.Labels[key]) > 0 {
			return nil, &engine.QueryError{Field: key, Msg: "is not a Calico dimension"}
		}
	}
	return out, nil
}

func escapeWildcard(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`).Replace(s)
}

// protoName is how Calico writes a protocol number in proto.
func protoName(n uint8) string {
	switch n {
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 58:
		return "icmp6"
	case 132:
		return "sctp"
	}
	return strconv.Itoa(int(n))
}

// protoNumber reads Calico's proto back: a name or a number.
func protoNumber(s string) (uint8, string) {
	switch strings.ToLower(s) {
	case "icmp":
		return 1, "ICMP"
	case "tcp":
		return 6, "TCP"
	case "udp":
		return 17, "UDP"
	case "icmp6", "icmpv6", "ipv6-icmp":
		return 58, "ICMPv6"
	case "sctp":
		return 132, "SCTP"
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, s
	}
	return uint8(n), ""
}

// ---------------------------------------------------------------------------------------------
// Group keys: which fields name a group, per branch of documents.

// branch is a set of documents (filter; nil for all) whose group key is read from fields,
// outermost first, and written by render.
type branch struct {
	filter any
	fields []string
	render func(parts []string) []string // the key's parts as the engine labels them
}

func unmasked(s side) any {
	return obj{"bool": obj{"must_not": []any{obj{"term": obj{s.ip: maskedIP}}}}}
}
func masked(s side) any { return obj{"term": obj{s.ip: maskedIP}} }

// endpointName is a masked end's talker: namespace/name_aggr, or name_aggr alone when the
// namespace is "-" (pub, pvt, host endpoints).
func endpointName(nameAggr, namespace string) string {
	if namespace == "" || namespace == "-" {
		return nameAggr
	}
	return namespace + "/" + nameAggr
}

// sideBranches are the talker branches of one end: its address where it is known, its
// aggregated name where aggregation masked the address (docs/calico.md).
func sideBranches(s side) []branch {
	return []branch{
		{filter: unmasked(s), fields: []string{s.ip}, render: func(p []string) []string { return p }},
		{filter: masked(s), fields: []string{s.nameAggr, s.namespace}, render: func(p []string) []string {
			return []string{endpointName(p[0], p[1])}
		}},
	}
}

// groupBranches returns the branches for a group-by (talker dims are group-bys src, dst, pair).
func groupBranches(groupBy string) ([]branch, error) {
	one := func(field string) []branch {
		return []branch{{fields: []string{field}, render: func(p []string) []string { return p }}}
	}
	switch groupBy {
	case engine.GroupNone:
		return nil, nil
	case engine.GroupSrc:
		return sideBranches(srcSide), nil
	case engine.GroupDst:
		return sideBranches(dstSide), nil
	case engine.GroupPair:
		var out []branch
		for _, a := range sideBranches(srcSide) {
			for _, b := range sideBranches(dstSide) {
				a, b := a, b
				n := len(a.fields)
				out = append(out, branch{
					filter: obj{"bool": obj{"filter": []any{a.filter, b.filter}}},
					fields: append(append([]string{}, a.fields...), b.fields...),
					render: func(p []string) []string { return append(a.render(p[:n]), b.render(p[n:])...) },
				})
			}
		}
		return out, nil
	case engine.GroupProtocol:
		return []branch{{fields: []string{fProto}, render: func(p []string) []string {
			n, name := protoNumber(p[0])
			if name == "" {
				name = strconv.Itoa(int(n))
			}
			return []string{name}
		}}}, nil
	case engine.GroupDstPort:
		return one(dstSide.port), nil
	case engine.GroupExporter:
		return one(fHost), nil
	case engine.GroupAction:
		return one(fAction), nil
	}
	if d, ok := dimensionOf(groupBy); ok && d.GroupBy {
		return one(d.field), nil
	}
	return nil, fmt.Errorf("group-by %q is not available from Calico", groupBy)
}

// metricAggs are the sums every group carries: both directions of bytes and packets, and flows.
func metricAggs() obj {
	return obj{
		"bytes_in":    obj{"sum": obj{"field": fBytesIn}},
		"bytes_out":   obj{"sum": obj{"field": fBytesOut}},
		"packets_in":  obj{"sum": obj{"field": fPacketsIn}},
		"packets_out": obj{"sum": obj{"field": fPacketsOut}},
		"flows":       obj{"sum": obj{"field": fNumFlows}},
	}
}

// orderMetric is the sum a terms aggregation ranks its keys by on the server. Calico's bytes
// are bytes_in + bytes_out, which no core aggregation can order by (that needs a script), so
// the server orders by one direction and the exact ranking is made here over every key it
// returns; the answer says when the key list was not complete.
func orderMetric(metric string) string {
	switch metric {
	case "packets":
		return "packets_out"
	case "flows":
		return "flows"
	}
	return "bytes_out"
}

// innerSize bounds the inner levels of nested terms (a masked end's namespace under its
// aggregated name, a pair's destination under its source), which hold few keys each.
const innerSize = 50

// nestedTerms builds terms aggregations along fields (outermost first), each level carrying
// the metric sums, the innermost also leaf.
func nestedTerms(fields []string, size int, metric string, leaf obj) obj {
	aggs := metricAggs()
	if len(fields) == 1 {
		for k, v := range leaf {
			aggs[k] = v
		}
	} else {
		aggs["k"] = nestedTerms(fields[1:], min(size, innerSize), metric, leaf)
	}
	return obj{"terms": obj{"field": fields[0], "size": size, "order": obj{orderMetric(metric): "desc"}}, "aggs": aggs}
}

// branchAggs puts each branch under its own filter aggregation, named b0, b1, ….
func branchAggs(branches []branch, size int, metric string, leaf obj) obj {
	out := obj{}
	for i, b := range branches {
		f := b.filter
		if f == nil {
			f = obj{"match_all": obj{}}
		}
		out["b"+strconv.Itoa(i)] = obj{"filter": f, "aggs": obj{"k": nestedTerms(b.fields, size, metric, leaf)}}
	}
	return out
}
