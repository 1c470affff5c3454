// Package plugin is the Grafana side of the data source: it turns settings into a source (one
// of pkg/sources, chosen by jsonData.source), parses queries, answers each query type with one
// handler through pkg/engine, and serves the editor's resources and the health check. It knows
// Grafana and no source's wire format.
package plugin

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/datasource"
	"github.com/grafana/grafana-plugin-sdk-go/backend/httpclient"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/internal/redact"
	"github.com/flowlens/flows-datasource/pkg/models"
)

// Datasource is one configured data source.
type Datasource struct {
	// uid and name identify this data source in the drill-down links it puts on frames.
	uid, name string
	// sourceType is jsonData.source, defaulted.
	sourceType string
	settings   models.Settings
	// settingsErr is kept rather than failing instance creation, so that Save & test and every
	// query can say exactly which setting is wrong.
	settingsErr error
	httpClient  *http.Client
	// transport is the connection pool under httpClient: the SDK wraps it in middlewares,
	// which hide its CloseIdleConnections from httpClient's.
	transport *http.Transport
	// redactor knows the data source's secrets; everything sent to Grafana passes it.
	redactor  *redact.Redactor
	engine    *engine.Engine
	handler   backend.QueryDataHandler
	resources backend.CallResourceHandler
	// now is the clock the time-range rules compare against; tests fix it.
	now func() time.Time
}

var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// Sources is the registry of sources: jsonData.source → factory, and the source of a data
// source saved without jsonData.source.
type Sources struct {
	Factories map[string]engine.Factory
	Default   string
}

// New returns the instance factory given to datasource.Manage.
func New(sources Sources) datasource.InstanceFactoryFunc {
	return func(ctx context.Context, s backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
		return newDatasource(ctx, s, sources)
	}
}

func newDatasource(ctx context.Context, s backend.DataSourceInstanceSettings, sources Sources) (*Datasource, error) {
	ds := &Datasource{uid: s.UID, name: s.Name, now: time.Now, redactor: redact.New(secretsOf(s)...)}
	ds.settings, ds.settingsErr = models.LoadSettings(s)
	ds.sourceType = cmp.Or(ds.settings.Source, sources.Default)
	factory, known := sources.Factories[ds.sourceType]
	if ds.settingsErr == nil && !known {
		ds.settingsErr = fmt.Errorf("source (jsonData.source): %q is not a source this plugin knows; choose one of %s",
			ds.settings.Source, strings.Join(slices.Sorted(maps.Keys(sources.Factories)), ", "))
	}
	if ds.settingsErr == nil {
		opts, err := s.HTTPClientOptions(ctx)
		if err != nil {
			return nil, err
		}
		if opts.Timeouts == nil {
			t := httpclient.DefaultTimeoutOptions
			opts.Timeouts = &t
		}
		opts.Timeouts.Timeout = ds.settings.Timeout
		configure := opts.ConfigureTransport
		opts.ConfigureTransport = func(o httpclient.Options, t *http.Transport) {
			ds.transport = t
			if configure != nil {
				configure(o, t)
			}
		}
		if ds.httpClient, err = httpclient.New(opts); err != nil {
			return nil, err
		}
		common := engine.Common{Timeout: ds.settings.Timeout, PageSize: ds.settings.PageSize, RowCap: ds.settings.RowCap, MaxConcurrency: ds.settings.MaxConcurrency,
			QueryBytes: int64(ds.settings.QueryBudgetMB) << 20, InstanceBytes: int64(ds.settings.DataSourceBudgetMB) << 20}
		src, err := factory(ctx, engine.Config{Instance: s, HTTPClient: ds.httpClient, Common: common, Now: func() time.Time { return ds.now() }})
		if err != nil {
			ds.settingsErr = err
		} else {
			ds.engine = engine.New(src, common)
			ds.engine.UsePlanner(func() time.Time { return ds.now() }, 0)
		}
	}
	ds.handler = ds.newMux()
	ds.resources = ds.newResourceHandler()
	return ds, nil
}

func (d *Datasource) newMux() *datasource.QueryTypeMux {
	mux := datasource.NewQueryTypeMux()
	mux.Handle(models.QueryTypeFlows, d.serve(d.flowsHandler))
	mux.Handle(models.QueryTypeTopTalkers, d.serve(d.topTalkersHandler))
	mux.Handle(models.QueryTypeProtocols, d.serve(d.protocolsHandler))
	mux.Handle(models.QueryTypeVariableValues, d.serve(d.variableValuesHandler))
	// Query types only the source knows go to the source whole.
	if d.engine != nil {
		if h, ok := d.engine.Source().(engine.QueryTypeHandler); ok {
			for _, qt := range h.SourceQueryTypes() {
				mux.Handle(qt, d.serveSource(h))
			}
		}
	}
	// A query saved without a type, or with one we do not know, goes to the same parser,
	// which defaults the first and names the second in its error.
	mux.Handle("", d.serve(d.byParsedType))
	return mux
}

// QueryData answers a batch of queries; each query gets its own frames or error. The queries
// run at once, whatever their types (the mux would run one type after another); the source
// bounds what reaches its system.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	resp := backend.NewQueryDataResponse()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	// One now for the batch, so that its panels agree on what "the last hour" is.
	ctx = context.WithValue(ctx, batchNowKey{}, d.now())
	for _, q := range req.Queries {
		wg.Go(func() {
			one := *req
			one.Queries = []backend.DataQuery{q}
			r, err := d.handler.QueryData(ctx, &one)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				firstErr = cmp.Or(firstErr, err)
				return
			}
			maps.Copy(resp.Responses, r.Responses)
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return resp, nil
}

// CallResource serves the editor's resource calls (see resources.go).
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	return d.resources.CallResource(ctx, req, cleanSender{r: d.redactor, next: sender})
}

type batchNowKey struct{}

// batchNow is the instant a batch of queries treats as now.
func (d *Datasource) batchNow(ctx context.Context) time.Time {
	if t, ok := ctx.Value(batchNowKey{}).(time.Time); ok {
		return t
	}
	return d.now()
}

// Dispose closes idle connections when Grafana replaces this instance (settings changed), on
// the transport itself: through the SDK's middlewares httpClient.CloseIdleConnections reaches
// nothing, and each replaced instance would keep its connections' goroutines.
func (d *Datasource) Dispose() {
	if d.transport != nil {
		d.transport.CloseIdleConnections()
	}
	if d.httpClient != nil {
		d.httpClient.CloseIdleConnections()
	}
}
