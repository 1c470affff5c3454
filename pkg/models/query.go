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
	GroupBy string // none | protocol | src | dst | pair | dstPort | exporter | action | a source's dimension key
	TopN    int
	Other   bool

	// topTalkers (By also ranks protocols)
	Dim string // src | dst | pair
	By  string // bytes | packets

	// variableValues
	Variable string // exporter | srcIp | dstIp | protocol | port | action | a source's dimension key
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

// queryJSON is the saved JSON. Scalars that template variables may fill arrive as numbers or
// strings; filters as a value or a list.
type queryJSON struct {
	QueryType string              `json:"queryType"`
	SrcIP     flexList            `json:"srcIp"`
	DstIP     flexList            `json:"dstIp"`
	Exporter  flexList            `json:"exporter"`
	Port      flexList            `json:"port"`
	Protocol  flexList            `json:"protocol"`
	Action    flexList            `json:"action"`
	Labels    map[string]flexList `json:"labels"`
	Format    string              `json:"format"`
	Sort      string              `json:"sort"`
	Order     string              `json:"order"`
	Limit     flexValue           `json:"limit"`
	Metric    string              `json:"metric"`
	Unit      string              `json:"unit"`
	GroupBy   string              `json:"groupBy"`
	TopN      flexValue           `json:"topN"`
	Other     *bool               `json:"other"`
	Dim       string              `json:"dim"`
	By        string              `json:"by"`
	Variable  string              `json:"variable"`
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

// ParseQuery reads a DataQuery into a Query, fills defaults and validates every field.
func ParseQuery(dq backend.DataQuery) (Query, error) {
	var raw queryJSON
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

func oneOf(field, value, def string, allowed ...string) (string, error) {
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
func oneOfOrDimension(field, value, def string, allowed ...string) (string, error) {
	v, err := oneOf(field, value, def, allowed...)
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

func (q *Query) fill(raw queryJSON) error {
	var err error
	switch q.QueryType {
	case QueryTypeFlows, QueryTypeTopTalkers, QueryTypeProtocols, QueryTypeVariableValues:
	default:
		return fieldErr("queryType", q.QueryType, "is not one of %s, %s, %s, %s", QueryTypeFlows, QueryTypeTopTalkers, QueryTypeProtocols, QueryTypeVariableValues)
	}
	if q.Filters, err = parseFilters(raw); err != nil {
		return err
	}
	if q.Format, err = oneOf("format", raw.Format, "table", "table", "timeseries", "nodegraph"); err != nil {
		return err
	}
	if q.Sort, err = oneOf("sort", raw.Sort, "timestamp", "timestamp", "bytes", "packets"); err != nil {
		return err
	}
	if q.Order, err = oneOf("order", raw.Order, "desc", "asc", "desc"); err != nil {
		return err
	}
	if q.Metric, err = oneOf("metric", raw.Metric, "bytes", "bytes", "packets", "flows"); err != nil {
		return err
	}
	if q.Unit, err = oneOf("unit", raw.Unit, "rate", "rate", "total"); err != nil {
		return err
	}
	if q.GroupBy, err = oneOfOrDimension("groupBy", raw.GroupBy, "none", "none", "protocol", "src", "dst", "pair", "dstPort", "exporter", "action"); err != nil {
		return err
	}
	if q.Dim, err = oneOf("dim", raw.Dim, "src", "src", "dst", "pair"); err != nil {
		return err
	}
	if q.By, err = oneOf("by", raw.By, "bytes", "bytes", "packets"); err != nil {
		return err
	}
	if q.Variable, err = oneOfOrDimension("variable", raw.Variable, "srcIp", "srcIp", "dstIp", "exporter", "protocol", "port", "action"); err != nil {
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

func parseFilters(raw queryJSON) (Filters, error) {
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
