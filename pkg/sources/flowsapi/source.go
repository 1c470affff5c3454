package flowsapi

import (
	"context"
	"errors"
	"fmt"
	"github.com/flowlens/flows-datasource/pkg/engine/lookback"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flowlens/flows-datasource/pkg/engine"
)

// Type is the value of jsonData.source that selects this source (and the default).
const Type = "flowsapi"

// Source is the Flows API behind the engine's Source interface. It reads records from
// /api/v1/flows, and implements the optional LookbackAggregator (/top-talkers, /protocols),
// Counter (/flows?limit=1) and RequestDescriber.
type Source struct {
	client   *Client
	pageSize int
	now      func() time.Time
}

var (
	_ engine.Source             = (*Source)(nil)
	_ engine.LookbackAggregator = (*Source)(nil)
	_ engine.Counter            = (*Source)(nil)
	_ engine.ClockSampler       = (*Source)(nil)
	_ engine.RequestDescriber   = (*Source)(nil)
	_ engine.QueryScoper        = (*Source)(nil)
	_ engine.PageReader         = (*Source)(nil)
)

// BeginQuery implements engine.QueryScoper: one byte budget for all the requests of a query,
// and its retries and the server's misbehaviour reported with its answer.
func (s *Source) BeginQuery(ctx context.Context) (context.Context, func() engine.QueryNotes) {
	ctx, q := s.client.StartQuery(ctx)
	return ctx, func() engine.QueryNotes {
		q.Done()
		return engine.QueryNotes{Executed: q.Retries(), Warnings: q.Problems()}
	}
}

// NewSource is the engine.Factory of the Flows API.
func NewSource(_ context.Context, cfg engine.Config) (engine.Source, error) {
	s, err := LoadSettings(cfg.Instance)
	if err != nil {
		return nil, err
	}
	c, err := New(s.URL, s.Token, cfg.HTTPClient, cfg.Common.MaxConcurrency)
	if err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	c.SetClock(now)
	limits := DefaultLimits
	if cfg.Common.QueryBytes > 0 {
		limits.QueryBytes = cfg.Common.QueryBytes
	}
	if cfg.Common.InstanceBytes > 0 {
		limits.InstanceBytes = cfg.Common.InstanceBytes
	}
	c.SetLimits(limits)
	return &Source{client: c, pageSize: max(cfg.Common.PageSize, 1), now: now}, nil
}

// Client is the source's API client.
func (s *Source) Client() *Client { return s.client }

// Name implements engine.Source.
func (s *Source) Name() string { return "Flows API" }

var capabilities = engine.Capabilities{
	QueryTypes: []string{engine.QueryTypeFlows, engine.QueryTypeTopTalkers, engine.QueryTypeProtocols, engine.QueryTypeVariableValues},
	Filters:    []string{engine.FilterSrcIP, engine.FilterDstIP, engine.FilterExporter, engine.FilterPort, engine.FilterProtocol},
	GroupBys: []string{engine.GroupNone, engine.GroupProtocol, engine.GroupSrc, engine.GroupDst, engine.GroupPair,
		engine.GroupDstPort, engine.GroupExporter},
	TalkerDims: []string{engine.GroupSrc, engine.GroupDst, engine.GroupPair},
	Variables: []string{engine.VariableSrcIP, engine.VariableDstIP, engine.VariableExporter, engine.VariableProtocol,
		engine.VariablePort},
	WindowSize: WindowSize,
	SortFields: []string{engine.SortTime, engine.SortBytes, engine.SortPackets},
	Columns: []engine.Column{
		{Name: "timestamp", Field: engine.ColTime, Display: "Time"},
		{Name: "window_start", Field: engine.ColStart, Display: "Window start"},
		{Name: engine.LabelSrcIP, Field: engine.ColSrcIP, Display: "Source IP"},
		{Name: "src_hostname", Field: engine.ColSrcHostname, Display: "Source host"},
		{Name: "src_port", Field: engine.ColSrcPort, Display: "Source port"},
		{Name: engine.LabelDstIP, Field: engine.ColDstIP, Display: "Destination IP"},
		{Name: "dst_hostname", Field: engine.ColDstHostname, Display: "Destination host"},
		{Name: "dst_port", Field: engine.ColDstPort, Display: "Destination port"},
		{Name: engine.LabelProtocol, Field: engine.ColProtocol, Display: "Protocol"},
		{Name: "protocol_number", Field: engine.ColProtocolNumber, Display: "Protocol number"},
		{Name: "bytes", Field: engine.ColBytes, Display: "Bytes", Unit: "decbytes"},
		{Name: "packets", Field: engine.ColPackets, Display: "Packets", Unit: "short"},
		{Name: "tcp_flags", Field: engine.ColTCPFlags, Display: "TCP flags"},
		{Name: "first_seen", Field: engine.ColFirstSeen, Display: "First seen"},
		{Name: "last_seen", Field: engine.ColLastSeen, Display: "Last seen"},
		{Name: "exporter_ip", Field: engine.ColExporter, Display: "Exporter"},
		{Name: "version", Field: engine.ColVersion, Display: "Version"},
		{Name: "id", Field: engine.ColID, Display: "ID"},
	},
	RecordsFrom: FlowsPath,
}

// Capabilities implements engine.Source.
func (s *Source) Capabilities() engine.Capabilities { return capabilities }

func (s *Source) params(r engine.ReadRequest) (FlowsParams, error) {
	if r.Filter.SrcPort != nil || r.Filter.DstPort != nil || r.Filter.Action != "" || len(r.Filter.Labels) > 0 {
		return FlowsParams{}, fmt.Errorf("the Flows API reads take no source-port, destination-port, action or label filter (the engine composes or refuses them)")
	}
	return FlowsParams{
		From: r.From, To: r.To,
		Filter: Filter{SrcIP: r.Filter.SrcIP, DstIP: r.Filter.DstIP, Exporter: r.Filter.Exporter, Port: r.Filter.Port, Protocol: r.Filter.Protocol},
		Sort:   r.Sort, Order: r.Order, Limit: min(s.pageSize, r.MaxRows),
	}, nil
}

// ReadRecords implements engine.Source: /api/v1/flows page by page (see PageFlows).
func (s *Source) ReadRecords(ctx context.Context, r engine.ReadRequest) (*engine.ReadResult, error) {
	var recs []engine.Record
	res, err := s.readPages(ctx, r, func(page []Flow, expect int) error {
		if recs == nil {
			// Sized once from the server's total (bounded by the row cap).
			recs = make([]engine.Record, 0, expect)
		}
		recs = appendRecords(recs, page)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if recs == nil {
		recs = []engine.Record{}
	}
	res.Records = recs
	return res, nil
}

// ReadPages implements engine.PageReader: each page of /api/v1/flows is decoded as it arrives,
// turned into records and handed on, so a read holds one page at a time (plus, for a closed
// range read in parallel, the pages that arrived before their predecessors).
func (s *Source) ReadPages(ctx context.Context, r engine.ReadRequest, each func([]engine.Record) error) (*engine.ReadResult, error) {
	var recs []engine.Record
	return s.readPages(ctx, r, func(page []Flow, expect int) error {
		if recs == nil && r.Expect != nil {
			r.Expect(expect)
		}
		recs = appendRecords(recs[:0], page)
		return each(recs)
	})
}

func (s *Source) readPages(ctx context.Context, r engine.ReadRequest, each func(page []Flow, expect int) error) (*engine.ReadResult, error) {
	p, err := s.params(r)
	if err != nil {
		return nil, err
	}
	// each's error is returned as is, the client's are the API's.
	var eachErr error
	got, err := s.client.EachFlowPage(ctx, p, s.pageSize, r.MaxRows, func(page []Flow, expect int) error {
		eachErr = each(page, expect)
		return eachErr
	})
	if eachErr != nil {
		return nil, eachErr
	}
	if err != nil {
		return nil, downstream(err)
	}
	return &engine.ReadResult{Total: got.Total, Capped: got.Capped, Requests: describeRead(p, got), Pages: got.Pages}, nil
}

// describeRead is a read's requests, for ExecutedQueryString: one line, or, for an open range
// split at the closed boundary, its first page and then each part.
func describeRead(p FlowsParams, got *PagedFlows) []string {
	if len(got.Parts) == 0 {
		desc := RequestString(FlowsPath, p.Values())
		if got.Pages > 1 {
			desc += fmt.Sprintf(" (%d pages by offset)", got.Pages)
		}
		return []string{desc}
	}
	var out []string
	for _, part := range got.Parts {
		q := p
		q.From, q.To = part.From, part.To
		desc := RequestString(FlowsPath, q.Values())
		switch {
		case part.Probe:
			desc += " (the first page: more than a page, so the range is read in two parts)"
		case part.Closed:
			desc += fmt.Sprintf(" (closed windows: %d pages by offset, in parallel)", part.Pages)
		default:
			desc += fmt.Sprintf(" (the newest windows: %d pages by offset, one after another)", part.Pages)
		}
		out = append(out, desc)
	}
	return out
}

// Records maps API records to the engine's.
func Records(flows []Flow) []engine.Record {
	return appendRecords(make([]engine.Record, 0, len(flows)), flows)
}

// appendRecords appends the engine's records for flows to out.
func appendRecords(out []engine.Record, flows []Flow) []engine.Record {
	for i := range flows {
		f := &flows[i]
		out = append(out, engine.Record{
			ID:     f.ID,
			TimeMs: f.Timestamp, StartMs: f.WindowStart, EndMs: f.WindowEnd,
			FirstSeenMs: f.FirstSeenMs, LastSeenMs: f.LastSeenMs,
			SrcIP: f.SrcIP, DstIP: f.DstIP,
			SrcHostname: f.SrcHostname, DstHostname: f.DstHostname,
			SrcPort: f.SrcPort, DstPort: f.DstPort,
			Protocol: f.Protocol,
			Bytes:    f.Bytes, Packets: f.Packets,
			Exporter: f.ExporterIP,
			TCPFlags: f.TCPFlags,
			Version:  f.Version,
		})
		if f.ProtocolName != nil {
			out[len(out)-1].ProtocolName = *f.ProtocolName
		}
	}
	return out
}

// LookbackTopTalkers implements engine.LookbackAggregator with /top-talkers.
func (s *Source) LookbackTopTalkers(ctx context.Context, r engine.LookbackTalkersRequest) ([]engine.Talker, string, error) {
	p := TopTalkersParams{WindowSecs: r.WindowSecs, By: r.By, Dim: r.Dim, Limit: r.Limit}
	rows, err := s.client.TopTalkers(ctx, p)
	if err != nil {
		return nil, "", downstream(err)
	}
	out := make([]engine.Talker, len(rows))
	for i, t := range rows {
		out[i] = engine.Talker{Key: t.Key, Bytes: t.Bytes, Packets: t.Packets, Flows: t.FlowCount}
	}
	return out, RequestString(TopTalkersPath, p.Values()), nil
}

// LookbackProtocols implements engine.LookbackAggregator with /protocols.
func (s *Source) LookbackProtocols(ctx context.Context, windowSecs int64) ([]engine.ProtocolRow, string, error) {
	rows, err := s.client.Protocols(ctx, windowSecs)
	if err != nil {
		return nil, "", downstream(err)
	}
	out := make([]engine.ProtocolRow, len(rows))
	for i, p := range rows {
		out[i] = engine.ProtocolRow{Protocol: p.Protocol, Bytes: p.Bytes, Packets: p.Packets, Flows: p.FlowCount}
	}
	return out, RequestString(ProtocolsPath, ProtocolsValues(windowSecs)), nil
}

// SampleClock implements engine.ClockSampler with /flows?limit=1: the Date header and the
// newest window.
func (s *Source) SampleClock(ctx context.Context) (lookback.ClockSample, error) {
	page, date, sent, received, err := s.client.Edge(ctx, "desc")
	if err != nil {
		return lookback.ClockSample{}, downstream(err)
	}
	out := lookback.ClockSample{Sent: sent, Received: received, Date: date}
	if len(page.Flows) > 0 {
		out.NewestEnd = page.Flows[0].Timestamp
	}
	return out, nil
}

// OldestWindowEnd implements engine.ClockSampler with /flows?order=asc&limit=1.
func (s *Source) OldestWindowEnd(ctx context.Context) (int64, error) {
	page, _, _, _, err := s.client.Edge(ctx, "asc")
	if err != nil {
		return 0, downstream(err)
	}
	if len(page.Flows) == 0 {
		return 0, nil
	}
	return page.Flows[0].Timestamp, nil
}

// Count implements engine.Counter: /flows with limit=1 reports the total of a range and filter.
func (s *Source) Count(ctx context.Context, from, to time.Time, f engine.Filter) (int, string, error) {
	p, err := s.params(engine.ReadRequest{From: from, To: to, Filter: f, MaxRows: 1})
	if err != nil {
		return 0, "", err
	}
	page, err := s.client.Flows(ctx, p)
	if err != nil {
		return 0, "", downstream(err)
	}
	return page.Total, RequestString(FlowsPath, p.Values()), nil
}

// DescribeRead implements engine.RequestDescriber: the first page of a read.
func (s *Source) DescribeRead(r engine.ReadRequest) string {
	p, err := s.params(r)
	if err != nil {
		return err.Error()
	}
	return RequestString(FlowsPath, p.Values())
}

// DescribeLookbackTopTalkers implements engine.RequestDescriber.
func (s *Source) DescribeLookbackTopTalkers(r engine.LookbackTalkersRequest) string {
	return RequestString(TopTalkersPath, TopTalkersParams{WindowSecs: r.WindowSecs, By: r.By, Dim: r.Dim, Limit: r.Limit}.Values())
}

// DescribeLookbackProtocols implements engine.RequestDescriber.
func (s *Source) DescribeLookbackProtocols(windowSecs int64) string {
	return RequestString(ProtocolsPath, ProtocolsValues(windowSecs))
}

// CheckHealth implements engine.Source: one cheap /flows call (a single row of the last hour)
// that proves the URL, the token and the TLS settings, and says how much traffic the API holds.
func (s *Source) CheckHealth(ctx context.Context) engine.HealthResult {
	now := s.now()
	page, err := s.client.Flows(ctx, FlowsParams{From: now.Add(-time.Hour), To: now, Limit: 1})
	if err == nil && page.Total < 0 {
		// Issue 9, item 15: an impossible count is said, not printed as "-1,800 flows".
		return engine.HealthResult{OK: true,
			Message: fmt.Sprintf("Connected to the Flows API at %s, but it reports an impossible count of flows in the last hour (%d): its totals cannot be trusted, so the plugin counts records as it reads them.", s.client.BaseURL(), page.Total)}
	}
	if err == nil {
		return engine.HealthResult{OK: true,
			Message: fmt.Sprintf("Connected to the Flows API at %s: %s flows in the last hour.", s.client.BaseURL(), thousands(page.Total))}
	}
	details := map[string]any{"url": s.client.BaseURL() + FlowsPath}
	msg := err.Error()
	var apiErr *APIError
	var reqErr *RequestError
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
	return engine.HealthResult{Message: msg, Details: details}
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

// downstream tags the client's errors as the API's fault, with the status the query answer
// carries: the API's own for 400, 401, 403, 404 and 429, 504 for timeouts, else 502.
func downstream(err error) error {
	var apiErr *APIError
	var reqErr *RequestError
	var decErr *DecodeError
	var redirErr *RedirectError
	var budgetErr *BudgetError
	switch {
	case errors.As(err, &apiErr):
		return engine.Downstream(apiStatus(apiErr.StatusCode), err)
	case errors.As(err, &reqErr):
		st := http.StatusBadGateway
		if reqErr.Kind == KindTimeout || reqErr.Kind == KindCanceled {
			st = http.StatusGatewayTimeout
		}
		return engine.Downstream(st, err)
	case errors.As(err, &decErr), errors.As(err, &redirErr):
		return engine.Downstream(http.StatusBadGateway, err)
	case errors.As(err, &budgetErr):
		// The query asked for more than a query may read: the user narrows it. Or the other
		// queries hold the data source's budget: this one may be tried again.
		if budgetErr.Instance {
			return engine.Downstream(http.StatusServiceUnavailable, err)
		}
		return engine.Downstream(http.StatusBadRequest, err)
	default:
		return err
	}
}

func apiStatus(code int) int {
	switch code {
	case 400, 401, 403, 404, 429:
		return code
	case 504:
		return http.StatusGatewayTimeout
	default:
		return http.StatusBadGateway
	}
}
