package awsflowlogs

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/engine"
)

// QueryTypeFlowLogConfigs is the inventory of flow-log configurations: a table, or for alert
// rules one instance per flow log whose value is 1 when its delivery fails.
const QueryTypeFlowLogConfigs = "flowLogConfigs"

// ConfigsQuery is the JSON of a flowLogConfigs query (docs/query-model.md).
type ConfigsQuery struct {
	// Regions to list; empty: the data source's regions.
	Regions []string `json:"regions"`
	// Filters, each matching any of its values.
	ResourceIDs       []string `json:"resourceId"`
	TrafficTypes      []string `json:"trafficType"`
	DestinationTypes  []string `json:"destinationType"`
	DeliverLogsStatus []string `json:"deliverLogsStatus"`
	// Tags are "key=value" (that value) or "key" (any value); all must match.
	Tags []string `json:"tags"`
	// Format: "table" (default), or "alert" for one numeric instance per flow log; alert rules
	// get the alert form whatever it says.
	Format string `json:"format"`
}

var (
	trafficTypes     = []string{"ACCEPT", "REJECT", "ALL"}
	destinationTypes = []string{"cloud-watch-logs", "s3", "kinesis-data-firehose"}
	deliveryStatuses = []string{"SUCCESS", "FAILED"}
)

// ParseConfigsQuery reads and checks a flowLogConfigs query. Errors name the field and value.
func ParseConfigsQuery(raw json.RawMessage) (ConfigsQuery, FlowLogFilter, error) {
	var q ConfigsQuery
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &q); err != nil {
			return q, FlowLogFilter{}, &engine.QueryError{Field: "query", Msg: fmt.Sprintf("is not a flowLogConfigs query: %v", err)}
		}
	}
	clean := func(vs []string) []string {
		var out []string
		for _, v := range vs {
			if v = strings.TrimSpace(v); v != "" && !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	}
	oneOf := func(field string, vs, allowed []string) ([]string, error) {
		vs = clean(vs)
		for _, v := range vs {
			if !slices.Contains(allowed, v) {
				return nil, &engine.QueryError{Field: field, Value: v, Msg: "is not one of " + strings.Join(allowed, ", ")}
			}
		}
		return vs, nil
	}
	var f FlowLogFilter
	var err error
	q.Regions = clean(q.Regions)
	for _, r := range q.Regions {
		if !validRegion(r) {
			return q, f, &engine.QueryError{Field: "regions", Value: r, Msg: "is not an AWS region name like eu-west-1"}
		}
	}
	f.ResourceIDs = clean(q.ResourceIDs)
	if f.TrafficTypes, err = oneOf("trafficType", q.TrafficTypes, trafficTypes); err != nil {
		return q, f, err
	}
	if f.DestinationTypes, err = oneOf("destinationType", q.DestinationTypes, destinationTypes); err != nil {
		return q, f, err
	}
	if f.DeliverLogsStatus, err = oneOf("deliverLogsStatus", q.DeliverLogsStatus, deliveryStatuses); err != nil {
		return q, f, err
	}
	for _, t := range clean(q.Tags) {
		k, v, hasValue := strings.Cut(t, "=")
		k = strings.TrimSpace(k)
		if k == "" {
			return q, f, &engine.QueryError{Field: "tags", Value: t, Msg: "has no tag key; write key=value or key"}
		}
		if !hasValue {
			f.TagKeys = append(f.TagKeys, k)
			continue
		}
		if f.Tags == nil {
			f.Tags = map[string][]string{}
		}
		f.Tags[k] = append(f.Tags[k], strings.TrimSpace(v))
	}
	switch q.Format {
	case "", "table", "alert":
	default:
		return q, f, &engine.QueryError{Field: "format", Value: q.Format, Msg: "is not table or alert"}
	}
	return q, f, nil
}

// SourceQueryTypes implements engine.QueryTypeHandler.
func (s *Source) SourceQueryTypes() []string { return []string{QueryTypeFlowLogConfigs} }

// HandleQuery implements engine.QueryTypeHandler.
func (s *Source) HandleQuery(ctx context.Context, sq engine.SourceQuery) (data.Frames, error) {
	if sq.QueryType != QueryTypeFlowLogConfigs {
		return nil, &engine.UnsupportedError{Source: s.Name(), Field: "queryType", Value: sq.QueryType,
			Missing: "query type " + sq.QueryType, Choices: s.SourceQueryTypes()}
	}
	q, f, err := ParseConfigsQuery(sq.JSON)
	if err != nil {
		return nil, err
	}
	regions := q.Regions
	if len(regions) == 0 {
		regions = s.settings.Regions
	}
	fls, reqs, err := s.describe(ctx, regions, f)
	if err != nil {
		return nil, err
	}
	sortFlowLogs(fls)
	executed := strings.Join(reqs, "\n")
	if sq.FromAlert || q.Format == "alert" {
		return data.Frames{alertFrame(fls, executed)}, nil
	}
	return data.Frames{configsFrame(fls, executed)}, nil
}

// configsFrame is the inventory table.
func configsFrame(fls []FlowLog, executed string) *data.Frame {
	n := len(fls)
	col := func(get func(FlowLog) string) []string {
		out := make([]string, n)
		for i, fl := range fls {
			out[i] = get(fl)
		}
		return out
	}
	interval := make([]int64, n)
	created := make([]time.Time, n)
	failed := make([]int64, n)
	for i, fl := range fls {
		interval[i] = int64(fl.MaxAggregationInterval)
		created[i] = fl.CreationTime
		if fl.Failed() {
			failed[i] = 1
		}
	}
	field := func(name, display string, values any) *data.Field {
		f := data.NewField(name, nil, values)
		f.Config = &data.FieldConfig{DisplayName: display}
		return f
	}
	intervalField := field("max_aggregation_interval", "Aggregation interval", interval)
	intervalField.Config.Unit = "s"
	frame := data.NewFrame("flow_log_configs",
		field("flow_log_id", "Flow log", col(func(f FlowLog) string { return f.ID })),
		field("region", "Region", col(func(f FlowLog) string { return f.Region })),
		field("resource_id", "Resource", col(func(f FlowLog) string { return f.ResourceID })),
		field("traffic_type", "Traffic type", col(func(f FlowLog) string { return f.TrafficType })),
		field("destination_type", "Destination type", col(func(f FlowLog) string { return f.DestinationType })),
		field("destination", "Destination", col(func(f FlowLog) string { return f.Destination })),
		field("log_format", "Log format", col(func(f FlowLog) string { return f.LogFormat })),
		intervalField,
		field("status", "Status", col(func(f FlowLog) string { return f.Status })),
		field("deliver_logs_status", "Delivery", col(func(f FlowLog) string { return f.DeliverLogsStatus })),
		field("deliver_logs_error", "Delivery error", col(func(f FlowLog) string { return f.DeliverLogsError })),
		field("delivery_failed", "Delivery failed", failed),
		field("creation_time", "Created", created),
		field("tags", "Tags", col(func(f FlowLog) string { return tagsText(f.Tags) })),
	)
	frame.Meta = &data.FrameMeta{PreferredVisualization: data.VisTypeTable, ExecutedQueryString: executed}
	return frame
}

// alertFrame is the alert form: numeric-long, one row per flow log, the string fields its
// labels (flow log id, resource, region, error) and the value 1 when delivery failed.
func alertFrame(fls []FlowLog, executed string) *data.Frame {
	n := len(fls)
	ids, resources, regions, errs := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	values := make([]int64, n)
	for i, fl := range fls {
		ids[i], resources[i], regions[i], errs[i] = fl.ID, fl.ResourceID, fl.Region, fl.DeliverLogsError
		if fl.Failed() {
			values[i] = 1
		}
	}
	frame := data.NewFrame("flow_log_delivery",
		data.NewField("flow_log_id", nil, ids),
		data.NewField("resource_id", nil, resources),
		data.NewField("region", nil, regions),
		data.NewField("error", nil, errs),
		data.NewField("delivery_failed", nil, values),
	)
	frame.Meta = &data.FrameMeta{Type: data.FrameTypeNumericLong, TypeVersion: data.FrameTypeVersion{0, 1},
		PreferredVisualization: data.VisTypeTable, ExecutedQueryString: executed}
	return frame
}

func tagsText(tags map[string]string) string {
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + tags[k]
	}
	return strings.Join(parts, ", ")
}

// ListsValues implements engine.PartialValueLister: flow logs, resources and regions come from
// the inventory; everything else from records.
func (s *Source) ListsValues(variable string) bool {
	return variable == DimFlowLog || variable == VariableResource || variable == VariableRegion
}

// Values implements engine.ValueLister for the inventory variables.
func (s *Source) Values(ctx context.Context, r engine.ValuesRequest) ([]engine.Option, []string, error) {
	if r.Variable == VariableRegion {
		var out []engine.Option
		for _, region := range s.settings.Regions {
			out = append(out, engine.Option{Text: region, Value: region})
		}
		return out, nil, nil
	}
	fls, reqs, err := s.describe(ctx, s.settings.Regions, FlowLogFilter{})
	if err != nil {
		return nil, reqs, err
	}
	sortFlowLogs(fls)
	var out []engine.Option
	seen := map[string]bool{}
	for _, fl := range fls {
		o := engine.Option{Text: fl.ID + " (" + fl.ResourceID + ", " + fl.Region + ")", Value: fl.ID}
		if r.Variable == VariableResource {
			o = engine.Option{Text: fl.ResourceID, Value: fl.ResourceID}
		}
		if seen[o.Value] {
			continue
		}
		seen[o.Value] = true
		out = append(out, o)
		if r.Limit > 0 && len(out) >= r.Limit {
			break
		}
	}
	return out, reqs, nil
}
