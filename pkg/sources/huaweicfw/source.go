package huaweicfw

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flowlens/flows-datasource/pkg/engine"
)

// Type is the value of jsonData.source that selects this source.
const Type = "huaweiCfw"

// Dimension keys of CFW records (Record.Labels), also their filter and group-by keys.
const (
	DimDirection   = "direction"
	DimLogType     = "logType"
	DimApp         = "app"
	DimDstHost     = "dstHost"
	DimSrcRegion   = "srcRegion"
	DimDstRegion   = "dstRegion"
	DimSrcProvince = "srcProvince"
	DimDstProvince = "dstProvince"
	DimSrcCity     = "srcCity"
	DimDstCity     = "dstCity"
)

// Source is Huawei Cloud Firewall's ListFlowLogs behind the engine's Source interface. It
// aggregates nothing here: the engine computes every panel from its records.
type Source struct {
	client   *Client
	fw       string
	epsID    string
	pageSize int
	slots    chan struct{}
	now      func() time.Time
}

var _ engine.Source = (*Source)(nil)

// NewSource is the engine.Factory of Huawei Cloud Firewall.
func NewSource(_ context.Context, cfg engine.Config) (engine.Source, error) {
	s, err := LoadSettings(cfg.Instance)
	if err != nil {
		return nil, err
	}
	conf := Config{Endpoint: s.Endpoint, Region: s.Region, ProjectID: s.ProjectID, Credentials: s.Credentials, Timeout: cfg.Common.Timeout}
	if cfg.HTTPClient != nil {
		conf.Transport = cfg.HTTPClient.Transport
	}
	c, err := New(conf)
	if err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Source{client: c, fw: s.FwInstanceID, epsID: s.EnterpriseProjectID, pageSize: min(max(cfg.Common.PageSize, 1), MaxPageSize),
		slots: make(chan struct{}, max(cfg.Common.MaxConcurrency, 1)), now: now}, nil
}

// Name implements engine.Source.
func (s *Source) Name() string { return "Huawei Cloud Firewall" }

var dimensions = []engine.Dimension{
	{Key: DimDirection, Label: "direction", Display: "Direction", Filter: true, GroupBy: true},
	{Key: DimLogType, Label: "log_type", Display: "Log type", Filter: true}, // records do not say it
	{Key: DimApp, Label: "app", Display: "Application", Filter: true, GroupBy: true},
	{Key: DimDstHost, Label: "dst_host", Display: "Destination host", Filter: true, GroupBy: true},
	{Key: DimSrcRegion, Label: "src_region", Display: "Source region", Filter: true, GroupBy: true},
	{Key: DimDstRegion, Label: "dst_region", Display: "Destination region", Filter: true, GroupBy: true},
	{Key: DimSrcProvince, Label: "src_province", Display: "Source province", Filter: true, GroupBy: true},
	{Key: DimDstProvince, Label: "dst_province", Display: "Destination province", Filter: true, GroupBy: true},
	{Key: DimSrcCity, Label: "src_city", Display: "Source city", Filter: true, GroupBy: true},
	{Key: DimDstCity, Label: "dst_city", Display: "Destination city", Filter: true, GroupBy: true},
}

func dimKeys(keep func(engine.Dimension) bool) []string {
	var out []string
	for _, d := range dimensions {
		if keep(d) {
			out = append(out, d.Key)
		}
	}
	return out
}

var capabilities = engine.Capabilities{
	QueryTypes: []string{engine.QueryTypeFlows, engine.QueryTypeTopTalkers, engine.QueryTypeProtocols, engine.QueryTypeVariableValues},
	// Port on either side is not native: the engine composes it from src_port and dst_port reads.
	Filters: append([]string{engine.FilterSrcIP, engine.FilterDstIP, engine.FilterSrcPort, engine.FilterDstPort, engine.FilterProtocol},
		dimKeys(func(d engine.Dimension) bool { return d.Filter })...),
	GroupBys: append([]string{engine.GroupNone, engine.GroupProtocol, engine.GroupSrc, engine.GroupDst, engine.GroupPair, engine.GroupDstPort},
		dimKeys(func(d engine.Dimension) bool { return d.GroupBy })...),
	TalkerDims: []string{engine.GroupSrc, engine.GroupDst, engine.GroupPair},
	Variables: append([]string{engine.VariableSrcIP, engine.VariableDstIP, engine.VariableProtocol, engine.VariablePort},
		dimKeys(func(d engine.Dimension) bool { return d.GroupBy })...),
	Dimensions:     dimensions,
	WindowSize:     time.Minute,
	MaxRowsPerRead: MaxPageSize,
	SortFields:     []string{engine.SortTime},
	Columns: []engine.Column{
		{Name: "start", Field: engine.ColStart, Display: "Start"},
		{Name: "end", Field: engine.ColEnd, Display: "End"},
		{Name: engine.LabelSrcIP, Field: engine.ColSrcIP, Display: "Source IP"},
		{Name: "src_port", Field: engine.ColSrcPort, Display: "Source port"},
		{Name: "src_region", Field: engine.ColLabelPrefix + DimSrcRegion, Display: "Source region"},
		{Name: engine.LabelDstIP, Field: engine.ColDstIP, Display: "Destination IP"},
		{Name: "dst_host", Field: engine.ColDstHostname, Display: "Destination host"},
		{Name: "dst_port", Field: engine.ColDstPort, Display: "Destination port"},
		{Name: "dst_region", Field: engine.ColLabelPrefix + DimDstRegion, Display: "Destination region"},
		{Name: engine.LabelProtocol, Field: engine.ColProtocol, Display: "Protocol"},
		{Name: "app", Field: engine.ColLabelPrefix + DimApp, Display: "Application"},
		{Name: "direction", Field: engine.ColLabelPrefix + DimDirection, Display: "Direction"},
		{Name: "bytes", Field: engine.ColBytes, Display: "Bytes", Unit: "decbytes"},
		{Name: "packets", Field: engine.ColPackets, Display: "Packets", Unit: "short"},
		{Name: "log_id", Field: engine.ColID, Display: "Log ID"},
	},
	RecordsFrom: "/v1/{project_id}/cfw/logs/flow",
}

// Capabilities implements engine.Source.
func (s *Source) Capabilities() engine.Capabilities { return capabilities }

// protocolText is the API's protocol parameter for an IANA number.
func protocolText(n uint8) string {
	switch n {
	case 6:
		return "TCP"
	case 17:
		return "UDP"
	case 1:
		return "ICMP"
	case 58:
		return "ICMPV6"
	}
	return strconv.Itoa(int(n))
}

func (s *Source) query(r engine.ReadRequest) (Query, error) {
	f := r.Filter
	if f.Port != nil || f.Exporter != "" || f.Action != "" {
		return Query{}, errors.New("huawei CFW reads take no either-side port, exporter or action filter (the engine composes or refuses them)")
	}
	q := Query{FwInstanceID: s.fw, From: r.From, To: r.To, PageSize: s.pageSize, EnterpriseProjectID: s.epsID}
	q.Filter = Filter{SrcIP: f.SrcIP, DstIP: f.DstIP, SrcPort: f.SrcPort, DstPort: f.DstPort}
	if f.Protocol != nil {
		q.Filter.Protocol = protocolText(*f.Protocol)
	}
	for k, v := range f.Labels {
		switch k {
		case DimDirection:
			q.Filter.Direction = v
		case DimLogType:
			q.Filter.LogType = v
		case DimApp:
			q.Filter.App = v
		case DimDstHost:
			q.Filter.DstHost = v
		case DimSrcRegion:
			q.Filter.SrcRegionName = v
		case DimDstRegion:
			q.Filter.DstRegionName = v
		case DimSrcProvince:
			q.Filter.SrcProvinceName = v
		case DimDstProvince:
			q.Filter.DstProvinceName = v
		case DimSrcCity:
			q.Filter.SrcCityName = v
		case DimDstCity:
			q.Filter.DstCityName = v
		default:
			return Query{}, &engine.UnsupportedError{Source: s.Name(), Field: k, Value: v, Missing: "filter " + k,
				Choices: dimKeys(func(d engine.Dimension) bool { return d.Filter })}
		}
	}
	if err := q.Validate(); err != nil {
		return Query{}, &engine.QueryError{Field: "filters", Msg: strings.TrimPrefix(err.Error(), "huaweicfw: ")}
	}
	return q, nil
}

// ReadRecords implements engine.Source. CFW lists newest first: oldest first is served by
// reversing a read that holds the whole range, and refused when the row budget cuts it.
func (s *Source) ReadRecords(ctx context.Context, r engine.ReadRequest) (*engine.ReadResult, error) {
	q, err := s.query(r)
	if err != nil {
		return nil, err
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	case <-ctx.Done():
		return nil, engine.Downstream(http.StatusGatewayTimeout, ctx.Err())
	}
	res, err := s.client.Read(ctx, q, r.MaxRows)
	if err != nil {
		return nil, downstream(err)
	}
	if r.Order == engine.OrderAsc && res.Truncated {
		return nil, &engine.QueryError{Field: "order", Value: "asc", Msg: fmt.Sprintf(
			"needs the whole range, but it holds more than %d flow logs and Huawei Cloud Firewall lists newest first only: sort newest first or narrow the range", r.MaxRows)}
	}
	recs := make([]engine.Record, len(res.Flows))
	for i := range res.Flows {
		recs[i] = Record(&res.Flows[i], s.fw)
	}
	if r.Order == engine.OrderAsc {
		slices.Reverse(recs)
	}
	desc := res.Requests[0]
	if n := len(res.Requests); n > 1 {
		desc += fmt.Sprintf(" (%d pages by log_id/next_date cursor)", n)
	}
	return &engine.ReadResult{Records: recs, Total: res.Total, Capped: res.Truncated, Requests: []string{desc}}, nil
}

var protocolNumbers = map[string]uint8{"TCP": 6, "UDP": 17, "ICMP": 1, "ICMPV6": 58}

// Record maps a flow log to the engine's record. fw is the firewall instance (the exporter).
func Record(f *FlowLog, fw string) engine.Record {
	r := engine.Record{ID: f.LogID, Exporter: fw}
	r.StartMs, r.EndMs = f.Start.UnixMilli(), f.End.UnixMilli()
	r.TimeMs, r.FirstSeenMs, r.LastSeenMs = r.StartMs, r.StartMs, r.EndMs
	r.SrcIP, r.DstIP = f.SrcIP, f.DstIP
	r.SrcPort, r.DstPort = clampPort(f.SrcPort), clampPort(f.DstPort)
	p := strings.ToUpper(strings.TrimSpace(f.Protocol))
	if n, ok := protocolNumbers[p]; ok {
		r.Protocol = n
		r.ProtocolName = map[uint8]string{6: "TCP", 17: "UDP", 1: "ICMP", 58: "ICMPv6"}[n]
	} else if n, err := strconv.Atoi(p); err == nil && n >= 0 && n <= 255 {
		r.Protocol = uint8(n)
	} else {
		r.ProtocolName = f.Protocol // -1 (any) or a name we do not know: shown as the API says it
	}
	r.Bytes = int64(math.Round(f.Bytes))
	r.Packets = f.Packets
	if f.DstHost != "" {
		h := f.DstHost
		r.DstHostname = &h
	}
	r.Labels = map[string]string{}
	for k, v := range map[string]string{DimDirection: f.Direction, DimApp: f.App, DimDstHost: f.DstHost,
		DimSrcRegion: f.SrcRegionName, DimDstRegion: f.DstRegionName, DimSrcProvince: f.SrcProvinceName,
		DimDstProvince: f.DstProvinceName, DimSrcCity: f.SrcCityName, DimDstCity: f.DstCityName} {
		if v != "" {
			r.Labels[k] = v
		}
	}
	return r
}

func clampPort(p int32) uint16 {
	if p < 0 || p > 65535 {
		return 0
	}
	return uint16(p)
}

// CheckHealth implements engine.Source: one record of the last hour proves the endpoint, the
// project, the firewall instance and the credential; data.total says how much the hour holds.
func (s *Source) CheckHealth(ctx context.Context) engine.HealthResult {
	now := s.now()
	q := Query{FwInstanceID: s.fw, From: now.Add(-time.Hour), To: now, PageSize: 1, EnterpriseProjectID: s.epsID}
	details := map[string]any{"endpoint": s.client.Endpoint(), "projectId": s.client.projectID, "fwInstanceId": s.fw}
	res, err := s.client.Read(ctx, q, 1)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			details["status"] = ae.Status
			details["errorCode"] = ae.Code
			details["apiError"] = ae.Message
		}
		return engine.HealthResult{Message: err.Error(), Details: details}
	}
	held := fmt.Sprintf("%d flow logs", res.Total)
	if res.Total < 0 {
		held = fmt.Sprintf("%d+ flow logs", len(res.Flows))
	}
	return engine.HealthResult{OK: true, Details: details, Message: fmt.Sprintf(
		"Connected to Huawei Cloud Firewall at %s (project %s, firewall %s): %s started in the last hour.", s.client.Endpoint(), s.client.projectID, s.fw, held)}
}

// downstream tags client errors as the service's fault, with the status the answer carries.
func downstream(err error) error {
	var ae *APIError
	switch {
	case errors.As(err, &ae):
		st := http.StatusBadGateway
		switch ae.Status {
		case 400, 401, 403, 404, 429:
			st = ae.Status
		case 504:
			st = http.StatusGatewayTimeout
		}
		return engine.Downstream(st, err)
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return engine.Downstream(http.StatusGatewayTimeout, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return engine.Downstream(http.StatusGatewayTimeout, err)
	}
	return engine.Downstream(http.StatusBadGateway, err)
}
