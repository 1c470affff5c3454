package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
)

// CheckHealth is "Save & test": one cheap /flows call (a single row of the last hour) that
// proves the URL, the token and the TLS settings, and says how much traffic the API holds.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	if d.settingsErr != nil {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: "Settings: " + d.settingsErr.Error()}, nil
	}
	now := d.now()
	p := flowsapi.FlowsParams{From: now.Add(-time.Hour), To: now, Limit: 1}
	page, err := d.client.Flows(ctx, p)
	if err == nil {
		return &backend.CheckHealthResult{
			Status:  backend.HealthStatusOk,
			Message: fmt.Sprintf("Connected to the Flows API at %s: %s flows in the last hour.", d.client.BaseURL(), thousands(page.Total)),
		}, nil
	}
	details := map[string]any{"url": d.client.BaseURL() + flowsapi.FlowsPath}
	msg := err.Error()
	var apiErr *flowsapi.APIError
	var reqErr *flowsapi.RequestError
	switch {
	case errors.As(err, &apiErr):
		details["status"] = apiErr.StatusCode
		details["apiError"] = apiErr.Message
		// An https server answers a plain-http request with this 400: say what it means.
		if apiErr.StatusCode == 400 && strings.Contains(apiErr.Message, "HTTP request to an HTTPS server") {
			msg = fmt.Sprintf("TLS mismatch: %s speaks https but the URL says http; change the URL to https://", apiErr.URL)
		}
	case errors.As(err, &reqErr):
		details["error"] = string(reqErr.Kind)
	}
	b, _ := json.Marshal(details)
	return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: msg, JSONDetails: b}, nil
}

// thousands writes 4821 as 4,821.
func thousands(n int) string {
	s := strconv.Itoa(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
