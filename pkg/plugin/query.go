package plugin

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/engine"
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

func isFromAlert(req *backend.QueryDataRequest) bool {
	return req.Headers[backend.FromAlertHeaderName] != "" || req.GetHTTPHeader(backend.FromAlertHeaderName) != ""
}

// serve answers the queries the mux routes to one handler, each with its own response, so one
// bad query never fails the others. QueryData hands it one query at a time.
func (d *Datasource) serve(h queryHandler) backend.QueryDataHandlerFunc {
	return func(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
		fromAlert := isFromAlert(req)
		resp := backend.NewQueryDataResponse()
		now := d.batchNow(ctx)
		for _, dq := range req.Queries {
			resp.Responses[dq.RefID] = d.answer(ctx, dq, func(ctx context.Context) (data.Frames, error) {
				q, err := models.ParseQuery(dq)
				if err != nil {
					return nil, err
				}
				caps := d.engine.Capabilities()
				if !slices.Contains(caps.QueryTypes, q.QueryType) {
					return nil, &engine.UnsupportedError{Source: d.engine.Source().Name(), Field: "queryType", Value: q.QueryType,
						Missing: "query type " + q.QueryType, Choices: caps.QueryTypes}
				}
				return h(ctx, request{query: q, timeRange: dq.TimeRange, interval: dq.Interval, fromAlert: fromAlert, now: now})
			})
		}
		return resp, nil
	}
}

// serveSource hands queries of a type only the source knows to the source.
func (d *Datasource) serveSource(h engine.QueryTypeHandler) backend.QueryDataHandlerFunc {
	return func(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
		fromAlert := isFromAlert(req)
		resp := backend.NewQueryDataResponse()
		now := d.batchNow(ctx)
		for _, dq := range req.Queries {
			resp.Responses[dq.RefID] = d.answer(ctx, dq, func(ctx context.Context) (data.Frames, error) {
				return h.HandleQuery(ctx, engine.SourceQuery{RefID: dq.RefID, QueryType: dq.QueryType, JSON: dq.JSON,
					From: dq.TimeRange.From, To: dq.TimeRange.To, Interval: dq.Interval, FromAlert: fromAlert, Now: now})
			})
		}
		return resp, nil
	}
}

// answer runs one query's handler and turns its outcome into the query's response, safe to
// send (clean.go).
func (d *Datasource) answer(ctx context.Context, dq backend.DataQuery, run func(context.Context) (data.Frames, error)) (res backend.DataResponse) {
	defer func() { res = cleanResponse(d.redactor, res) }()
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
	var notes engine.QueryNotes
	if scoper, ok := d.engine.Source().(engine.QueryScoper); ok {
		var end func() engine.QueryNotes
		ctx, end = scoper.BeginQuery(ctx)
		frames, err := run(ctx)
		notes = end()
		return d.framed(dq, frames, err, notes)
	}
	frames, err := run(ctx)
	return d.framed(dq, frames, err, notes)
}

// framed is a handler's outcome as the query's response, with what the source's accounting
// says: requests retried in ExecutedQueryString, the server's misbehaviour as warnings.
func (d *Datasource) framed(dq backend.DataQuery, frames data.Frames, err error, notes engine.QueryNotes) backend.DataResponse {
	if err != nil {
		return errorResponse(err)
	}
	for _, f := range frames {
		f.RefID = dq.RefID
	}
	if len(frames) > 0 {
		first := frames[0]
		if len(notes.Executed) > 0 {
			if first.Meta == nil {
				first.Meta = &data.FrameMeta{}
			}
			first.Meta.ExecutedQueryString = strings.TrimSpace(first.Meta.ExecutedQueryString + "\n" + strings.Join(notes.Executed, "\n"))
		}
		for _, w := range notes.Warnings {
			engine.AddNotice(first, data.NoticeSeverityWarning, w+".")
		}
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

// errorResponse tags an error with its source: what the user wrote, what the source cannot do
// and what the source's system answered are downstream; anything else is our bug.
func errorResponse(err error) backend.DataResponse {
	var qe *models.QueryError
	var eqe *engine.QueryError
	var unsupported *engine.UnsupportedError
	var down *engine.DownstreamError
	switch {
	case errors.As(err, &qe), errors.As(err, &eqe), errors.As(err, &unsupported):
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
	case errors.As(err, &down):
		return backend.ErrDataResponseWithSource(backend.Status(down.Status), backend.ErrorSourceDownstream, err.Error())
	default:
		return backend.ErrDataResponseWithSource(backend.StatusInternal, backend.ErrorSourcePlugin, err.Error())
	}
}

// filters turns the query model's filters into the engine's.
func filters(f models.Filters) engine.Filters {
	return engine.Filters{SrcIP: f.SrcIP, DstIP: f.DstIP, Exporter: f.Exporter, Port: f.Port, Protocol: f.Protocol,
		Action: f.Action, Labels: f.Labels}
}
