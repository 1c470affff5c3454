package plugin

import (
	"context"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/models"
)

// trafficHandler answers flows queries with format timeseries.
func (d *Datasource) trafficHandler(_ context.Context, _ request) (data.Frames, error) {
	return nil, &models.QueryError{Field: "format", Value: "timeseries", Msg: "is not implemented yet"}
}
