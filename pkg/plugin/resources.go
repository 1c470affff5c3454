package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/models"
)

// adhocKeys maps ad-hoc filter keys (as the frontend offers them) to variable names.
var adhocKeys = map[string]string{
	"src_ip": "srcIp", "dst_ip": "dstIp", "port": "port", "protocol": "protocol", "exporter": "exporter",
}

// newResourceHandler serves the editor: GET capabilities (what the source can do), GET tag-values (ad-hoc filter values) and POST preview
// (the requests a query will make).
func (d *Datasource) newResourceHandler() backend.CallResourceHandler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /capabilities", d.handleCapabilities)
	mux.HandleFunc("GET /tag-values", d.handleTagValues)
	mux.HandleFunc("POST /preview", d.handlePreview)
	return httpadapter.New(mux)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with the same message a query would get, and a status that says whose
// fault it is: 400 for the request, 502 for the Flows API.
func writeError(w http.ResponseWriter, err error) {
	status := http.StatusBadGateway
	var qe *models.QueryError
	var eqe *engine.QueryError
	var unsupported *engine.UnsupportedError
	if errors.As(err, &qe) || errors.As(err, &eqe) || errors.As(err, &unsupported) {
		status = http.StatusBadRequest
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func msParam(r *http.Request, name string, def time.Time) (time.Time, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return def, nil
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, &models.QueryError{Field: name, Value: s, Msg: "is not a time in epoch milliseconds"}
	}
	return time.UnixMilli(ms).UTC(), nil
}

// handleCapabilities tells the editors what the data source's source can do, so that they
// offer only that.
func (d *Datasource) handleCapabilities(w http.ResponseWriter, _ *http.Request) {
	if d.settingsErr != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "data source settings: " + d.settingsErr.Error()})
		return
	}
	writeJSON(w, http.StatusOK, d.engine.Describe(d.sourceType))
}

func (d *Datasource) handleTagValues(w http.ResponseWriter, r *http.Request) {
	if d.settingsErr != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "data source settings: " + d.settingsErr.Error()})
		return
	}
	key := r.URL.Query().Get("key")
	variable, ok := adhocKeys[key]
	if !ok {
		writeError(w, &models.QueryError{Field: "key", Value: key, Msg: "is not one of src_ip, dst_ip, port, protocol, exporter"})
		return
	}
	now := d.now()
	from, err := msParam(r, "from", now.Add(-time.Hour))
	if err != nil {
		writeError(w, err)
		return
	}
	to, err := msParam(r, "to", now)
	if err != nil {
		writeError(w, err)
		return
	}
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 1000 {
			writeError(w, &models.QueryError{Field: "limit", Value: s, Msg: "must be a whole number from 1 to 1000"})
			return
		}
	}
	opts, err := d.engine.VariableOptions(r.Context(), engine.ValuesQuery{From: from, To: to, Now: now, Variable: variable, Limit: limit})
	if err != nil {
		writeError(w, err)
		return
	}
	if opts == nil {
		opts = []engine.Option{}
	}
	writeJSON(w, http.StatusOK, opts)
}

type previewRequest struct {
	Query      json.RawMessage `json:"query"`
	From       int64           `json:"from"`
	To         int64           `json:"to"`
	IntervalMs int64           `json:"intervalMs"`
}

func (d *Datasource) handlePreview(w http.ResponseWriter, r *http.Request) {
	if d.settingsErr != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "data source settings: " + d.settingsErr.Error()})
		return
	}
	var req previewRequest
	if r.Body == nil || r.Body == http.NoBody {
		// Grafana passes no body at all for an empty one (issue 9, item 10: this was a panic).
		writeError(w, &models.QueryError{Field: "body", Msg: `is empty: send {"query": <the query>, "from": <epoch ms>, "to": <epoch ms>, "intervalMs": <ms>}`})
		return
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, &models.QueryError{Field: "body", Msg: fmt.Sprintf("is not a preview request: %v", err)})
		return
	}
	var probe struct {
		QueryType string `json:"queryType"`
	}
	_ = json.Unmarshal(req.Query, &probe)
	q, err := models.ParseQuery(backend.DataQuery{QueryType: probe.QueryType, JSON: req.Query})
	if err != nil {
		writeError(w, err)
		return
	}
	tr := backend.TimeRange{From: time.UnixMilli(req.From).UTC(), To: time.UnixMilli(req.To).UTC()}
	p, err := d.plan(q, tr, time.Duration(req.IntervalMs)*time.Millisecond, d.now())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// plan says which requests a query will make for a range, by the same rules the handlers
// follow, without making them.
func (d *Datasource) plan(q models.Query, tr backend.TimeRange, interval time.Duration, now time.Time) (*engine.Preview, error) {
	return d.engine.Preview(engine.PreviewQuery{
		QueryType: q.QueryType, Format: q.Format, From: tr.From, To: tr.To, Now: now, Interval: interval,
		Filters: filters(q.Filters), Sort: q.Sort, Order: q.Order, Limit: q.Limit, Dim: q.Dim, By: q.By, Variable: q.Variable,
		GroupBy: q.GroupBy, TopN: q.TopN, Metric: q.Metric,
	})
}
