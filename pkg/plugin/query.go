package plugin

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
	"github.com/flowlens/flows-datasource/pkg/models"
)

// request is one parsed query with what it needs from its batch.
type request struct {
	query     models.Query
	timeRange backend.TimeRange
	interval  time.Duration
	fromAlert bool
	now       time.Time
}

type queryHandler func(ctx context.Context, r request) (data.Frames, error)

// serve answers the queries the mux routes to one handler, each with its own response, so one
// bad query never fails the others. QueryData hands it one query at a time.
func (d *Datasource) serve(h queryHandler) backend.QueryDataHandlerFunc {
	return func(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
		fromAlert := req.Headers[backend.FromAlertHeaderName] != "" || req.GetHTTPHeader(backend.FromAlertHeaderName) != ""
		resp := backend.NewQueryDataResponse()
		now := d.batchNow(ctx)
		for _, dq := range req.Queries {
			resp.Responses[dq.RefID] = d.answer(ctx, h, dq, fromAlert, now)
		}
		return resp, nil
	}
}

func (d *Datasource) answer(ctx context.Context, h queryHandler, dq backend.DataQuery, fromAlert bool, now time.Time) (res backend.DataResponse) {
	defer func() {
		if p := recover(); p != nil {
			log.DefaultLogger.Error("query panicked", "refId", dq.RefID, "panic", p, "stack", string(debug.Stack()))
			res = backend.ErrDataResponseWithSource(backend.StatusInternal, backend.ErrorSourcePlugin,
				fmt.Sprintf("internal error in the Flows API plugin while answering query %s: %v", dq.RefID, p))
		}
	}()
	if d.settingsErr != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream,
			"data source settings: "+d.settingsErr.Error())
	}
	q, err := models.ParseQuery(dq)
	if err != nil {
		return errorResponse(err)
	}
	frames, err := h(ctx, request{query: q, timeRange: dq.TimeRange, interval: dq.Interval, fromAlert: fromAlert, now: now})
	if err != nil {
		return errorResponse(err)
	}
	for _, f := range frames {
		f.RefID = dq.RefID
	}
	return backend.DataResponse{Frames: frames}
}

// byParsedType routes a query whose type the mux did not match: an empty type defaults (see
// models.ParseQuery); an unknown one fails in the parser with a message naming it.
func (d *Datasource) byParsedType(ctx context.Context, r request) (data.Frames, error) {
	switch r.query.QueryType {
	case models.QueryTypeFlows:
		return d.flowsHandler(ctx, r)
	case models.QueryTypeProtocols:
		return d.protocolsHandler(ctx, r)
	case models.QueryTypeVariableValues:
		return d.variableValuesHandler(ctx, r)
	default:
		return d.topTalkersHandler(ctx, r)
	}
}

// errorResponse tags an error with its source: what the user wrote and what the API answered
// are downstream; anything else is our bug.
func errorResponse(err error) backend.DataResponse {
	var qe *models.QueryError
	var apiErr *flowsapi.APIError
	var reqErr *flowsapi.RequestError
	var decErr *flowsapi.DecodeError
	switch {
	case errors.As(err, &qe):
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
	case errors.As(err, &apiErr):
		return backend.ErrDataResponseWithSource(apiStatus(apiErr.StatusCode), backend.ErrorSourceDownstream, err.Error())
	case errors.As(err, &reqErr):
		st := backend.StatusBadGateway
		if reqErr.Kind == flowsapi.KindTimeout || reqErr.Kind == flowsapi.KindCanceled {
			st = backend.StatusTimeout
		}
		return backend.ErrDataResponseWithSource(st, backend.ErrorSourceDownstream, err.Error())
	case errors.As(err, &decErr):
		return backend.ErrDataResponseWithSource(backend.StatusBadGateway, backend.ErrorSourceDownstream, err.Error())
	default:
		return backend.ErrDataResponseWithSource(backend.StatusInternal, backend.ErrorSourcePlugin, err.Error())
	}
}

func apiStatus(code int) backend.Status {
	switch code {
	case 400, 401, 403, 404, 429:
		return backend.Status(code)
	case 504:
		return backend.StatusTimeout
	default:
		return backend.StatusBadGateway
	}
}
