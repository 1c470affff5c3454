package plugin

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/flowsapi"
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
		for _, t := range agg.talkers {
			out = append(out, option{Text: t.Key, Value: t.Key})
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
