// Command editor-playground serves the editor playground (playground/, see
// docs/frontend.md "Editor playground"): the page that mounts the plugin's config, query and
// variable editors in a browser, and the few Grafana HTTP APIs those editors reach, answered by
// the plugin's own backend (pkg/plugin) rather than by a Grafana server:
//
//	GET  /api/datasources/uid/{uid}                 the data source's settings (secrets only as secureJsonFields)
//	PUT  /api/datasources/uid/{uid}                 save settings (the data source instance is rebuilt)
//	GET  /api/datasources/uid/{uid}/health          Save & test: the plugin's CheckHealth
//	*    /api/datasources/uid/{uid}/resources/{...} the plugin's CallResource (capabilities, tag-values, preview)
//	POST /api/ds/query                              the plugin's QueryData
//
// The upstream is the project's simulator (pkg/simulator) on a second loopback port, and the
// data source starts configured for it. On start the command prints one JSON line to stdout:
// {"url": <the page>, "simulator": <the simulator's base URL>, "token": <its bearer token>}.
//
//	go run ./cmd/editor-playground -static playground/dist
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"

	"github.com/flowlens/flows-datasource/pkg/plugin"
	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/sources"
)

// The data source the page edits, as Grafana would identify it.
const (
	dataSourceUID  = "playground"
	dataSourceName = "Flows API"
	pluginID       = "flowlens-flows-datasource"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "editor-playground:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("editor-playground", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:0", "address of the page and the Grafana APIs (port 0: a free port)")
	static := fs.String("static", "playground/dist", "directory holding the built page (index.html, playground.js)")
	token := fs.String("token", simulator.DefaultToken, "the simulator's bearer token")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if _, err := os.Stat(*static); err != nil {
		return fmt.Errorf("-static: %w (build the page first: node playground/build.mjs)", err)
	}

	simLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sim := &http.Server{Handler: simulator.New(simulator.Config{Token: *token, Log: io.Discard}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = sim.Serve(simLn) }()
	defer sim.Close()
	simURL := "http://" + simLn.Addr().String()

	g := &grafana{sources: plugin.Sources{Factories: sources.Factories(), Default: sources.Default}}
	if err := g.save(ctx, savedSettings{URL: simURL, JSONData: json.RawMessage(`{}`), Secure: map[string]string{"apiToken": *token}}); err != nil {
		return err
	}
	defer g.dispose()

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: g.routes(http.FileServer(http.Dir(*static))), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	info, _ := json.Marshal(map[string]string{"url": "http://" + ln.Addr().String() + "/", "simulator": simURL, "token": *token})
	fmt.Fprintln(stdout, string(info))
	<-ctx.Done()
	return nil
}

// savedSettings is what Grafana keeps of a data source: the secrets decrypted, as the plugin
// receives them.
type savedSettings struct {
	URL      string
	JSONData json.RawMessage
	Secure   map[string]string
}

// instance is what the plugin's instance factory returns for a data source.
type instance interface {
	backend.QueryDataHandler
	backend.CheckHealthHandler
	backend.CallResourceHandler
	instancemgmt.InstanceDisposer
}

// grafana stands in for the parts of a Grafana server the editors reach: one data source, its
// settings, and its plugin instance.
type grafana struct {
	sources plugin.Sources

	mu       sync.Mutex
	settings savedSettings
	inst     instance
}

func (g *grafana) instanceSettings() backend.DataSourceInstanceSettings {
	return backend.DataSourceInstanceSettings{
		ID: 1, UID: dataSourceUID, Name: dataSourceName, Type: pluginID, URL: g.settings.URL,
		JSONData: g.settings.JSONData, DecryptedSecureJSONData: maps.Clone(g.settings.Secure), Updated: time.Now(),
	}
}

// save stores the settings and builds a new plugin instance from them, as Grafana does when a
// data source's settings change.
func (g *grafana) save(ctx context.Context, s savedSettings) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.settings
	g.settings = s
	inst, err := plugin.New(g.sources)(ctx, g.instanceSettings())
	if err != nil {
		g.settings = old
		return err
	}
	if g.inst != nil {
		g.inst.Dispose()
	}
	g.inst = inst.(instance)
	return nil
}

func (g *grafana) dispose() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.inst != nil {
		g.inst.Dispose()
	}
}

// current returns the plugin instance and the plugin context Grafana would send with a call.
func (g *grafana) current() (instance, backend.PluginContext) {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.instanceSettings()
	return g.inst, backend.PluginContext{PluginID: pluginID, DataSourceInstanceSettings: &s}
}

func (g *grafana) routes(static http.Handler) http.Handler {
	mux := http.NewServeMux()
	base := "/api/datasources/uid/" + dataSourceUID
	mux.HandleFunc("GET "+base, g.getSettings)
	mux.HandleFunc("PUT "+base, g.putSettings)
	mux.HandleFunc("GET "+base+"/health", g.health)
	mux.HandleFunc(base+"/resources/{path...}", g.resource)
	mux.HandleFunc("POST /api/ds/query", g.query)
	mux.Handle("/", static)
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// settingsJSON is the data source as Grafana's API returns it: secrets only as
// secureJsonFields.
func (g *grafana) settingsJSON() map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	fields := map[string]bool{}
	for k := range g.settings.Secure {
		fields[k] = true
	}
	return map[string]any{
		"id": 1, "uid": dataSourceUID, "name": dataSourceName, "type": pluginID, "typeName": "Flows API",
		"access": "proxy", "url": g.settings.URL, "jsonData": g.settings.JSONData, "secureJsonFields": fields,
		"readOnly": false, "isDefault": true,
	}
}

func (g *grafana) getSettings(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, g.settingsJSON())
}

// putSettings saves what the config editor holds. As in Grafana: a secret in secureJsonData
// replaces the stored one, a secret whose secureJsonFields entry is false (reset) is removed,
// and the others are kept.
func (g *grafana) putSettings(w http.ResponseWriter, r *http.Request) {
	var body struct {
		URL              string            `json:"url"`
		JSONData         json.RawMessage   `json:"jsonData"`
		SecureJSONData   map[string]string `json:"secureJsonData"`
		SecureJSONFields map[string]bool   `json:"secureJsonFields"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "invalid settings: " + err.Error()})
		return
	}
	if len(body.JSONData) == 0 || string(body.JSONData) == "null" {
		body.JSONData = json.RawMessage(`{}`)
	}
	g.mu.Lock()
	secure := maps.Clone(g.settings.Secure)
	g.mu.Unlock()
	for k, set := range body.SecureJSONFields {
		if !set {
			delete(secure, k)
		}
	}
	for k, v := range body.SecureJSONData {
		if v != "" {
			secure[k] = v
		}
	}
	if err := g.save(r.Context(), savedSettings{URL: body.URL, JSONData: body.JSONData, Secure: secure}); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"message": "Datasource updated", "datasource": g.settingsJSON()})
}

// health answers as Grafana's /health endpoint: 200 with status OK, or 400 with status ERROR,
// the message and the details.
func (g *grafana) health(w http.ResponseWriter, r *http.Request) {
	inst, pc := g.current()
	res, err := inst.CheckHealth(r.Context(), &backend.CheckHealthRequest{PluginContext: pc})
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": "Plugin health check failed"})
		return
	}
	out := map[string]any{"status": res.Status.String(), "message": res.Message}
	if len(res.JSONDetails) > 0 {
		out["details"] = json.RawMessage(res.JSONDetails)
	}
	status := http.StatusOK
	if res.Status != backend.HealthStatusOk {
		status = http.StatusBadRequest
	}
	writeJSON(w, status, out)
}

// resource passes the call to the plugin's CallResource as Grafana does: the path under
// resources/ and the query string.
func (g *grafana) resource(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
		return
	}
	inst, pc := g.current()
	path := r.PathValue("path")
	u := path
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	req := &backend.CallResourceRequest{PluginContext: pc, Path: path, Method: r.Method, URL: u, Headers: r.Header, Body: body}
	err = inst.CallResource(r.Context(), req, backend.CallResourceResponseSenderFunc(func(res *backend.CallResourceResponse) error {
		for k, vs := range res.Headers {
			for _, v := range vs {
				w.Header().Add(k, v)
			}
		}
		w.WriteHeader(res.Status)
		_, err := w.Write(res.Body)
		return err
	}))
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
	}
}

// query is /api/ds/query: the queries of one panel, with the panel's time range in epoch
// milliseconds (as strings, as Grafana's frontend sends them).
func (g *grafana) query(w http.ResponseWriter, r *http.Request) {
	var body struct {
		From    string            `json:"from"`
		To      string            `json:"to"`
		Queries []json.RawMessage `json:"queries"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "invalid query request: " + err.Error()})
		return
	}
	from, errFrom := strconv.ParseInt(body.From, 10, 64)
	to, errTo := strconv.ParseInt(body.To, 10, 64)
	if err := errors.Join(errFrom, errTo); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": "from/to are not epoch milliseconds: " + err.Error()})
		return
	}
	inst, pc := g.current()
	req := &backend.QueryDataRequest{PluginContext: pc}
	for _, raw := range body.Queries {
		var q struct {
			RefID         string `json:"refId"`
			QueryType     string `json:"queryType"`
			IntervalMs    int64  `json:"intervalMs"`
			MaxDataPoints int64  `json:"maxDataPoints"`
		}
		if err := json.Unmarshal(raw, &q); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"message": "invalid query: " + err.Error()})
			return
		}
		req.Queries = append(req.Queries, backend.DataQuery{
			RefID: q.RefID, QueryType: q.QueryType, JSON: raw, MaxDataPoints: q.MaxDataPoints,
			Interval:  time.Duration(q.IntervalMs) * time.Millisecond,
			TimeRange: backend.TimeRange{From: time.UnixMilli(from), To: time.UnixMilli(to)},
		})
	}
	res, err := inst.QueryData(r.Context(), req)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"message": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, res)
}
