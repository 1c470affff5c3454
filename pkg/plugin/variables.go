package plugin

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
	"github.com/flowlens/flows-datasource/pkg/models"
)

// variableScanRows bounds the /flows read behind exporter and port values: the largest records
// of the range, by bytes. A variable or an ad-hoc filter must never start an unbounded scan.
const variableScanRows = 5000

// option is one value of a template variable or an ad-hoc filter.
type option struct {
	Text  string `json:"text"`
	Value string `json:"value"`
}

// variableOptions lists the values of a variable over the time range, busiest first, at most
// limit: addresses from the top talkers, protocols from the protocol breakdown, exporters and
// ports from the largest records.
func (d *Datasource) variableOptions(ctx context.Context, variable string, f models.Filters, tr backend.TimeRange, now time.Time, limit int) ([]option, error) {
	var out []option
	switch variable {
	case "srcIp", "dstIp":
		dim := "src"
		if variable == "dstIp" {
			dim = "dst"
		}
		agg, err := d.topTalkers(ctx, tr, now, f, dim, "bytes", limit)
		if err != nil {
			return nil, err
		}
		names := d.hostnames(ctx, tr, agg)
		for _, t := range agg.talkers {
			text := t.Key
			if name := names[t.Key]; name != "" {
				text += " (" + name + ")"
			}
			out = append(out, option{Text: text, Value: t.Key})
		}
	case "protocol":
		agg, err := d.protocols(ctx, tr, now, f)
		if err != nil {
			return nil, err
		}
		for _, p := range agg.protocols {
			out = append(out, option{Text: p.Protocol, Value: p.Protocol})
		}
	default: // exporter, port
		set, err := d.fetchFlows(ctx, tr, f, "bytes", "desc", min(variableScanRows, d.settings.RowCap))
		if err != nil {
			return nil, err
		}
		out = rankValues(set.flows, func(fl *flowsapi.Flow) []string {
			if variable == "exporter" {
				return []string{fl.ExporterIP}
			}
			return []string{strconv.Itoa(int(fl.DstPort))}
		})
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// hostnameRows bounds the extra read that names addresses: one page of the largest records.
const hostnameRows = 1000

// hostnames maps addresses to the host names the API gives for them (field note 9: show names,
// keep the address as the value). Records read for the aggregation are used as they are;
// otherwise one page of the range's largest records is read. Names are a help, not the answer:
// if that read fails, the options are listed without them.
func (d *Datasource) hostnames(ctx context.Context, tr backend.TimeRange, agg *aggregation) map[string]string {
	var flows []flowsapi.Flow
	if agg.set != nil {
		flows = agg.set.flows
	} else {
		page, err := d.client.Flows(ctx, d.hostnameParams(tr))
		if err != nil {
			log.DefaultLogger.Debug("variable options without host names", "error", err.Error())
			return nil
		}
		flows = page.Flows
	}
	names := map[string]string{}
	for i := range flows {
		if h := flows[i].SrcHostname; h != nil && *h != "" {
			names[flows[i].SrcIP] = *h
		}
		if h := flows[i].DstHostname; h != nil && *h != "" {
			names[flows[i].DstIP] = *h
		}
	}
	return names
}

// hostnameParams is the read that names addresses when the aggregation read no records.
func (d *Datasource) hostnameParams(tr backend.TimeRange) flowsapi.FlowsParams {
	return flowsapi.FlowsParams{From: tr.From, To: tr.To, Sort: "bytes", Order: "desc", Limit: min(hostnameRows, d.settings.PageSize)}
}

// rankValues orders the distinct values of records by their bytes, largest first.
func rankValues(flows []flowsapi.Flow, values func(*flowsapi.Flow) []string) []option {
	bytes := map[string]int64{}
	for i := range flows {
		for _, v := range values(&flows[i]) {
			bytes[v] += flows[i].Bytes
		}
	}
	keys := make([]string, 0, len(bytes))
	for k := range bytes {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(bytes[b], bytes[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	out := make([]option, len(keys))
	for i, k := range keys {
		out[i] = option{Text: k, Value: k}
	}
	return out
}

// variableValuesHandler answers queryType variableValues with a frame Grafana turns into
// variable options: string fields text and value.
func (d *Datasource) variableValuesHandler(ctx context.Context, r request) (data.Frames, error) {
	opts, err := d.variableOptions(ctx, r.query.Variable, r.query.Filters, r.timeRange, r.now, r.query.Limit)
	if err != nil {
		return nil, err
	}
	text, value := make([]string, len(opts)), make([]string, len(opts))
	for i, o := range opts {
		text[i], value[i] = o.Text, o.Value
	}
	frame := data.NewFrame("values", data.NewField("text", nil, text), data.NewField("value", nil, value))
	return data.Frames{frame}, nil
}
