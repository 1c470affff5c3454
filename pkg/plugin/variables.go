package plugin

import (
	"context"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/models"
)

// variableValuesHandler answers queryType variableValues with a frame Grafana turns into
// variable options: string fields text and value.
func (d *Datasource) variableValuesHandler(ctx context.Context, r request) (data.Frames, error) {
	if r.fromAlert {
		// Grafana would fail it with "input data must be a wide series but got type not":
		// say why in the plugin's words (issue 9, item 17).
		return nil, &models.QueryError{Field: "queryType", Value: "variableValues",
			Msg: "cannot be used in an alert rule: it lists a variable's values, not numbers. Use Top talkers, Protocols, or Flows with format 'timeseries'"}
	}
	opts, err := d.engine.VariableOptions(ctx, engine.ValuesQuery{From: r.timeRange.From, To: r.timeRange.To, Now: r.now,
		Filters: filters(r.query.Filters), Variable: r.query.Variable, Limit: r.query.Limit})
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
