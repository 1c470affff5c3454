package models

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// Query types, the values of DataQuery.QueryType.
const (
	QueryTypeFlows          = "flows"
	QueryTypeTopTalkers     = "topTalkers"
	QueryTypeProtocols      = "protocols"
	QueryTypeVariableValues = "variableValues"
)

// Query is one panel query, parsed, defaulted and validated. docs/query-model.md is the
// reference for its JSON.
type Query struct {
	RefID     string
	QueryType string
	Filters   Filters

	// flows
	Format string // table | timeseries (flows) | nodegraph (topTalkers by pair)
	Sort   string // timestamp | bytes | packets
	Order  string // asc | desc
	Limit  int    // rows wanted (flows table, topTalkers, variableValues)

	// flows timeseries
	Metric  string // bytes | packets | flows
	Unit    string // rate | total
	GroupBy string // none | protocol | src | dst | pair | dstPort | exporter
	TopN    int
	Other   bool

	// topTalkers (By also ranks protocols)
	Dim string // src | dst | pair
	By  string // bytes | packets

	// variableValues
	Variable string // exporter | srcIp | dstIp | protocol | port
}

// Filters are the API filters. Each holds the values to match: empty means no filter, several
// mean one request per value (the API matches one exact value), merged.
type Filters struct {
	SrcIP    []string
	DstIP    []string
	Exporter []string
	Port     []uint16
	Protocol []uint8
	// Action is the verdict (allow, deny; a source may take its own words too).
	Action []string
	// Labels filter a source's own dimensions by key (AWS flowLogId, interfaceId, …); the
	// source says which it has (GET capabilities).
	Labels map[string][]string
}

// IsEmpty reports whether no filter is set.
func (f Filters) IsEmpty() bool {
	for _, vs := range f.Labels {
		if len(vs) > 0 {
			return false
		}
	}
	return len(f.SrcIP) == 0 && len(f.DstIP) == 0 && len(f.Exporter) == 0 && len(f.Port) == 0 && len(f.Protocol) == 0 &&
		len(f.Action) == 0
}

// QueryError is a problem with what the user wrote: it names the field and the value.
type QueryError struct {
	Field string
	Value string
	Msg   string
}

func (e *QueryError) Error() string {
	if e.Value == "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Msg)
	}
	return fmt.Sprintf("%s: '%s' %s", e.Field, e.Value, e.Msg)
}

func fieldErr(field, value, format string, a ...any) *QueryError {
	return &QueryError{Field: field, Value: value, Msg: fmt.Sprintf(format, a...)}
}

// SavedQuery is a query as dashboards and alert rules save it (docs/query-model.md). Scalars
// that template variables may fill arrive as numbers or strings; filters as a value or a list.
// The comments of its fields are the descriptions in the published JSON schema (dist/schema/,
// built by pkg/models/schema_test.go).
type SavedQuery struct {
	// Version of the query model the query was saved in (currently 1). Queries saved before the
	// model was versioned have none; the editor and the backend migrate older queries first.
	Version int `json:"version,omitempty"`
	// Query type: flows, topTalkers, protocols or variableValues (default topTalkers).
	QueryType string `json:"queryType,omitempty"`
	// Source IP filter: an IP address, or a list of them (one request per value, merged).
	SrcIP flexList `json:"srcIp,omitempty"`
	// Destination IP filter: an IP address, or a list of them.
	DstIP flexList `json:"dstIp,omitempty"`
	// Exporter filter: the IP address of the device that exported the flow, or a list.
	Exporter flexList `json:"exporter,omitempty"`
	// Port filter (either side): 0 to 65535, or a list.
	Port flexList `json:"port,omitempty"`
	// Protocol filter: an IANA number (6) or name (tcp, udp, icmp, ...), or a list.
	Protocol flexList `json:"protocol,omitempty"`
	// Verdict filter: allow or deny (AWS also ACCEPT, REJECT), or a list; for sources with verdicts.
	Action flexList `json:"action,omitempty"`
	// Filters on a source's own dimensions, by key (AWS: flowLogId, interfaceId, account,
	// logStatus): a value or a list each. GET capabilities lists a source's keys.
	Labels map[string]flexList `json:"labels,omitempty"`
	// flows: table or timeseries; topTalkers by pair: table or nodegraph (default table).
	Format string `json:"format,omitempty"`
	// flows table: the sort column (default timestamp).
	Sort string `json:"sort,omitempty"`
	// flows table: sort order (default desc).
	Order string `json:"order,omitempty"`
	// Rows wanted, at least 1: flows table (default 100), topTalkers (20), variableValues (100).
	Limit flexValue `json:"limit,omitempty"`
	// flows timeseries: what is counted (default bytes).
	Metric string `json:"metric,omitempty"`
	// flows timeseries: rate (per second) or total (per bucket) (default rate).
	Unit string `json:"unit,omitempty"`
	// flows timeseries: one series per value of this dimension (default none).
	GroupBy string `json:"groupBy,omitempty"`
	// flows timeseries: series kept, at least 1 (default 10).
	TopN flexValue `json:"topN,omitempty"`
	// flows timeseries: add an "Other" series holding the rest (default true).
	Other *bool `json:"other,omitempty"`
	// topTalkers: rank sources, destinations or pairs (default src).
	Dim string `json:"dim,omitempty"`
	// topTalkers and protocols: rank by bytes or packets (default bytes).
	By string `json:"by,omitempty"`
	// variableValues: which values the variable lists (default srcIp).
	Variable string `json:"variable,omitempty"`
}

// flexValue is a JSON number, string or null, kept as text.
type flexValue string

func (v *flexValue) UnmarshalJSON(b []byte) error {
	s, err := scalarText(b)
	if err != nil {
		return err
	}
	*v = flexValue(s)
	return nil
}

// flexList is a JSON scalar or a list of scalars, kept as text.
type flexList []string

func (l *flexList) UnmarshalJSON(b []byte) error {
	b = []byte(strings.TrimSpace(string(b)))
	if len(b) > 0 && b[0] == '[' {
		var items []json.RawMessage
		if err := json.Unmarshal(b, &items); err != nil {
			return err
		}
		out := make([]string, 0, len(items))
		for _, it := range items {
			s, err := scalarText(it)
			if err != nil {
				return err
			}
			out = append(out, s)
		}
		*l = out
		return nil
	}
	s, err := scalarText(b)
	if err != nil {
		return err
	}
	*l = []string{s}
	return nil
}

func scalarText(b []byte) (string, error) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return "", err
	}
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		return t, nil
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(t), nil
	default:
		return "", fmt.Errorf("expected a number or a string, got %s", string(b))
	}
}

// leftoverVariable matches a template variable Grafana did not replace: $name, ${name}, [[name]].
var leftoverVariable = regexp.MustCompile(`\$\{?[A-Za-z_][A-Za-z0-9_.:]*\}?|\[\[[^\]]+\]\]`)

func checkInterpolated(field, value string) error {
	if m := leftoverVariable.FindString(value); m != "" {
		return fieldErr(field, value, "holds the template variable %s, which was not replaced: define the variable on the dashboard (alert rules cannot use dashboard variables)", m)
	}
	return nil
}

// ParseQuery reads a DataQuery into a Query: it migrates the JSON to the current version of the
// model, fills defaults and validates every field.
func ParseQuery(dq backend.DataQuery) (Query, error) {
	if len(dq.JSON) > 0 {
		migrated, err := MigrateQuery(dq.JSON)
		if err != nil {
			return Query{}, err
		}
		dq.JSON = migrated
	}
	return parseCurrent(dq)
}

// parseCurrent reads a query saved in the current version of the model.
func parseCurrent(dq backend.DataQuery) (Query, error) {
	var raw SavedQuery
	if len(dq.JSON) > 0 {
		if err := json.Unmarshal(dq.JSON, &raw); err != nil {
			return Query{}, fieldErr("query", "", "is not valid JSON: %v", err)
		}
	}
	q := Query{RefID: dq.RefID, QueryType: dq.QueryType}
	if q.QueryType == "" {
		q.QueryType = raw.QueryType
	}
	if q.QueryType == "" {
		q.QueryType = QueryTypeTopTalkers
	}
	if err := q.fill(raw); err != nil {
		return Query{}, err
	}
	return q, nil
}

// choices are the values each enumerated field accepts; the published JSON schema lists the same
// (pkg/models/schema_test.go reads this table).
var choices = map[string][]string{
	"format":   {"table", "timeseries", "nodegraph"},
	"sort":     {"timestamp", "bytes", "packets"},
	"order":    {"asc", "desc"},
	"metric":   {"bytes", "packets", "flows"},
	"unit":     {"rate", "total"},
	"groupBy":  {"none", "protocol", "src", "dst", "pair", "dstPort", "exporter", "action"},
	"dim":      {"src", "dst", "pair"},
	"by":       {"bytes", "packets"},
	"variable": {"srcIp", "dstIp", "exporter", "protocol", "port", "action"},
}

// oneOf returns value if choices[field] holds it, def if it is empty.
func oneOf(field, value, def string) (string, error) {
	allowed := choices[field]
	if value == "" {
		return def, nil
	}
	if err := checkInterpolated(field, value); err != nil {
		return "", err
	}
	for _, a := range allowed {
		if value == a {
			return value, nil
		}
	}
	return "", fieldErr(field, value, "is not one of %s", strings.Join(allowed, ", "))
}

// dimensionKey is the shape of a source's dimension key (flowLogId, interfaceId, namespace).
var dimensionKey = regexp.MustCompile(`^[a-z][A-Za-z0-9_]{0,63}$`)

// oneOfOrDimension is oneOf that also takes a source's dimension key: whether the source has
// it is the engine's check, which names the source's choices.
func oneOfOrDimension(field, value, def string) (string, error) {
	v, err := oneOf(field, value, def)
	if err == nil || !dimensionKey.MatchString(value) {
		return v, err
	}
	return value, nil
}

func wholeNumber(field string, v flexValue, def, lo, hi int) (int, error) {
	s := strings.TrimSpace(string(v))
	if s == "" {
		return def, nil
	}
	if err := checkInterpolated(field, s); err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fieldErr(field, s, "must be a whole number from %d to %d", lo, hi)
	}
	return n, nil
}

func (q *Query) fill(raw SavedQuery) error {
	var err error
	switch q.QueryType {
	case QueryTypeFlows, QueryTypeTopTalkers, QueryTypeProtocols, QueryTypeVariableValues:
	default:
		return fieldErr("queryType", q.QueryType, "is not one of %s, %s, %s, %s", QueryTypeFlows, QueryTypeTopTalkers, QueryTypeProtocols, QueryTypeVariableValues)
	}
	if q.Filters, err = parseFilters(raw); err != nil {
		return err
	}
	if q.Format, err = oneOf("format", raw.Format, "table"); err != nil {
		return err
	}
	if q.Sort, err = oneOf("sort", raw.Sort, "timestamp"); err != nil {
		return err
	}
	if q.Order, err = oneOf("order", raw.Order, "desc"); err != nil {
		return err
	}
	if q.Metric, err = oneOf("metric", raw.Metric, "bytes"); err != nil {
		return err
	}
	if q.Unit, err = oneOf("unit", raw.Unit, "rate"); err != nil {
		return err
	}
	if q.GroupBy, err = oneOfOrDimension("groupBy", raw.GroupBy, "none"); err != nil {
		return err
	}
	if q.Dim, err = oneOf("dim", raw.Dim, "src"); err != nil {
		return err
	}
	if q.By, err = oneOf("by", raw.By, "bytes"); err != nil {
		return err
	}
	if q.Variable, err = oneOfOrDimension("variable", raw.Variable, "srcIp"); err != nil {
		return err
	}
	defLimit := 100
	if q.QueryType == QueryTypeTopTalkers {
		defLimit = 20
	}
	if q.Limit, err = wholeNumber("limit", raw.Limit, defLimit, 1, MaxRowCap); err != nil {
		return err
	}
	if q.TopN, err = wholeNumber("topN", raw.TopN, 10, 1, 1000); err != nil {
		return err
	}
	q.Other = raw.Other == nil || *raw.Other
	return q.checkFormat()
}

// checkFormat rejects a node graph where it has no meaning: its edges are source → destination
// pairs. Other query types ignore the format, so switching types in the editor loses nothing.
func (q *Query) checkFormat() error {
	if q.Format != "nodegraph" {
		return nil
	}
	switch {
	case q.QueryType == QueryTypeFlows:
		return fieldErr("format", q.Format, "is for Top talkers by pair; Flows take table or timeseries")
	case q.QueryType == QueryTypeTopTalkers && q.Dim != "pair":
		return fieldErr("format", q.Format, "needs dim 'pair': the graph's edges are source → destination pairs")
	}
	return nil
}

// cleanList drops empty entries (the "All" option interpolates to nothing) and checks for
// template variables that were not replaced.
func cleanList(field string, in flexList) ([]string, error) {
	var out []string
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if err := checkInterpolated(field, s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func parseIPs(field string, in flexList) ([]string, error) {
	vals, err := cleanList(field, in)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(vals))
	for _, s := range vals {
		addr, err := netip.ParseAddr(s)
		if err != nil || addr.Zone() != "" {
			return nil, fieldErr(field, s, "is not an IP address (IPv4 like 10.0.0.5 or IPv6 like 2001:db8::1)")
		}
		out = appendUnique(out, addr.Unmap().String())
	}
	return out, nil
}

func appendUnique[T comparable](list []T, v T) []T {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

func parseFilters(raw SavedQuery) (Filters, error) {
	var f Filters
	var err error
	if f.SrcIP, err = parseIPs("srcIp", raw.SrcIP); err != nil {
		return f, err
	}
	if f.DstIP, err = parseIPs("dstIp", raw.DstIP); err != nil {
		return f, err
	}
	if f.Exporter, err = parseIPs("exporter", raw.Exporter); err != nil {
		return f, err
	}
	ports, err := cleanList("port", raw.Port)
	if err != nil {
		return f, err
	}
	for _, s := range ports {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil || n > 65535 {
			return f, fieldErr("port", s, "is not a port number from 0 to 65535")
		}
		f.Port = appendUnique(f.Port, uint16(n))
	}
	protos, err := cleanList("protocol", raw.Protocol)
	if err != nil {
		return f, err
	}
	for _, s := range protos {
		n, ok := ParseProtocol(s)
		if !ok {
			return f, fieldErr("protocol", s, "is not a protocol name (tcp, udp, icmp, gre, esp, icmpv6, sctp, …) or an IANA number from 0 to 255")
		}
		f.Protocol = appendUnique(f.Protocol, n)
	}
	actions, err := cleanList("action", raw.Action)
	if err != nil {
		return f, err
	}
	for _, a := range actions {
		f.Action = appendUnique(f.Action, a)
	}
	for key, vals := range raw.Labels {
		if !dimensionKey.MatchString(key) {
			return f, fieldErr("labels", key, "is not a dimension key (letters, digits and _, starting with a lowercase letter)")
		}
		list, err := cleanList("labels."+key, vals)
		if err != nil {
			return f, err
		}
		for _, v := range list {
			if f.Labels == nil {
				f.Labels = map[string][]string{}
			}
			f.Labels[key] = appendUnique(f.Labels[key], v)
		}
	}
	return f, nil
}
