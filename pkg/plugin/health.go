package plugin

import (
	"context"
	"encoding/json"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

// CheckHealth is "Save & test": the settings, then the source's own check, which proves the
// URL, the credentials and the TLS settings, and says what the system holds.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	return cleanHealth(d.redactor, d.checkHealth(ctx)), nil
}

func (d *Datasource) checkHealth(ctx context.Context) *backend.CheckHealthResult {
	if d.settingsErr != nil {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: "Settings: " + d.settingsErr.Error()}
	}
	h := d.engine.Source().CheckHealth(ctx)
	res := &backend.CheckHealthResult{Status: backend.HealthStatusOk, Message: h.Message}
	if !h.OK {
		res.Status = backend.HealthStatusError
	}
	if len(h.Details) > 0 {
		res.JSONDetails, _ = json.Marshal(h.Details)
	}
	return res
}
