package trustgrid

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/flowlens/flows-datasource/pkg/engine"
)

// Type is the value of jsonData.source that selects this source.
const Type = "trustgrid"

// Dimension keys of Trustgrid records (Record.Labels), also their filter and group-by keys.
const (
	DimSrcNode  = "srcNode"
	DimDstNode  = "dstNode"
	DimTCPFlags = "tcpFlags"
	DimFlags    = "flags"
)

// defunctFlags is every flow flag that marks a blocked or rejected flow (the spec's list).
const defunctFlags = 65536 | 131072 | 262144 | 524288 | 67108864 | 134217728 | 268435456 | 536870912

// Source is Trustgrid's flow-log search behind the engine's Source interface. It aggregates
// nothing: the engine computes every panel from its records.
type Source struct {
	client   *Client
	pageSize int
	slots    chan struct{}
	now      func() time.Time
}

var _ engine.Source = (*Source)(nil)

// NewSource is the engine.Factory of Trustgrid.
func NewSource(_ context.Context, cfg engine.Config) (engine.Source, error) {
	s, err := LoadSettings(cfg.Instance)
	if err != nil {
		return nil, err
	}
	c, err := New(s.URL, s.Credentials, cfg.HTTPClient)
	if err != nil {
		return nil, err
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Source{client: c, pageSize: max(cfg.Common.PageSize, 1), slots: make(chan struct{}, max(cfg.Common.MaxConcurrency, 1)), now: now}, nil
}

// Name implements engine.Source.
func (s *Source) Name() string { return "Trustgrid" }

var capabilities = engine.Capabilities{
	QueryTypes: []string{engine.QueryTypeFlows, engine.QueryTypeTopTalkers, engine.QueryTypeProtocols, engine.QueryTypeVariableValues},
	// Port on either side is not native: the engine composes it from srcPort and dstPort reads.
	Filters: []string{engine.FilterSrcIP, engine.FilterDstIP, engine.FilterSrcPort, engine.FilterDstPort, engine.FilterProtocol,
		engine.FilterExporter, DimSrcNode, DimDstNode, DimTCPFlags},
	GroupBys: []string{engine.GroupNone, engine.GroupProtocol, engine.GroupSrc, engine.GroupDst, engine.GroupPair,
		engine.GroupDstPort, engine.GroupExporter, engine.GroupAction, DimSrcNode, DimDstNode, DimTCPFlags},
	TalkerDims: []string{engine.GroupSrc, engine.GroupDst, engine.GroupPair},
	Variables: []string{engine.VariableSrcIP, engine.VariableDstIP, engine.VariableExporter, engine.VariableProtocol,
		engine.VariablePort, engine.VariableAction, DimSrcNode, DimDstNode, DimTCPFlags},
	Dimensions: []engine.Dimension{
		{Key: DimSrcNode, Label: "src_node", Display: "Source node", Filter: true, GroupBy: true},
		{Key: DimDstNode, Label: "dst_node", Display: "Destination node", Filter: true, GroupBy: true},
		{Key: DimTCPFlags, Label: "tcp_flags", Display: "TCP flags", Filter: true, GroupBy: true},
		{Key: DimFlags, Label: "flags", Display: "Flow flags"},
	},
	WindowSize: time.Minute,
	SortFields: []string{engine.SortTime},
	// Flow logs carry bytes per direction but no packet counts.
	Metrics: []string{engine.MetricBytes, engine.MetricFlows},
	Columns: []engine.Column{
		{Name: "start", Field: engine.ColStart, Display: "Start"},
		{Name: "end", Field: engine.ColEnd, Display: "End"},
		{Name: engine.LabelSrcIP, Field: engine.ColSrcIP, Display: "Source IP"},
		{Name: "src_node", Field: engine.ColLabelPrefix + DimSrcNode, Display: "Source node"},
		{Name: "src_port", Field: engine.ColSrcPort, Display: "Source port"},
		{Name: engine.LabelDstIP, Field: engine.ColDstIP, Display: "Destination IP"},
		{Name: "dst_node", Field: engine.ColLabelPrefix + DimDstNode, Display: "Destination node"},
		{Name: "dst_port", Field: engine.ColDstPort, Display: "Destination port"},
		{Name: engine.LabelProtocol, Field: engine.ColProtocol, Display: "Protocol"},
		{Name: "bytes", Field: engine.ColBytes, Display: "Bytes", Unit: "decbytes"},
		{Name: "source_bytes", Field: engine.ColBytesOut, Display: "Source bytes", Unit: "decbytes"},
		{Name: "dest_bytes", Field: engine.ColBytesIn, Display: "Destination bytes", Unit: "decbytes"},
		{Name: "tcp_flags", Field: engine.ColTCPFlags, Display: "TCP flags"},
		{Name: "action", Field: engine.ColAction, Display: "Action"},
		{Name: "flags", Field: engine.ColLabelPrefix + DimFlags, Display: "Flow flags"},
		{Name: "node_id", Field: engine.ColExporter, Display: "Node"},
	},
	RecordsFrom: FlowLogsPath,
}

// Capabilities implements engine.Source.
func (s *Source) Capabilities() engine.Capabilities { return capabilities }

// query maps a read request to the API's query. Errors name the filter.
func (s *Source) query(r engine.ReadRequest) (Query, error) {
	f := r.Filter
	if f.Port != nil || f.Action != "" {
		return Query{}, errors.New("trustgrid reads take no either-side port or action filter (the engine composes or refuses them)")
	}
	q := Query{From: r.From, To: r.To, PageSize: s.pageSize}
	if r.Order == engine.OrderDesc {
		q.Reverse = true // newest first
	}
	q.Filter = Filter{SrcIP: f.SrcIP, DstIP: f.DstIP, Node: f.Exporter}
	if f.SrcPort != nil {
		q.Filter.SrcPort = &PortMatch{Port: *f.SrcPort, Op: OpEq}
	}
	if f.DstPort != nil {
		q.Filter.DstPort = &PortMatch{Port: *f.DstPort, Op: OpEq}
	}
	if f.Protocol != nil {
		name, ok := protocolName(*f.Protocol)
		if !ok {
			return Query{}, &engine.UnsupportedError{Source: s.Name(), Field: "protocol", Value: strconv.Itoa(int(*f.Protocol)),
				Missing: "filter for that protocol (it names only TCP, UDP and ICMP)", Choices: []string{"TCP (6)", "UDP (17)", "ICMP (1)"}}
		}
		q.Filter.Protocol = name
	}
	for k, v := range f.Labels {
		switch k {
		case DimSrcNode:
			q.Filter.SrcNode = v
		case DimDstNode:
			q.Filter.DstNode = v
		case DimTCPFlags:
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 8)
			if err != nil {
				return Query{}, &engine.QueryError{Field: DimTCPFlags, Value: v, Msg: "is not a decimal TCP flag bitmask (2 SYN, 16 ACK, 18 SYN+ACK, 1 FIN, 4 RST)"}
			}
			q.Filter.TCPFlags = []uint8{uint8(n)}
		default:
			return Query{}, &engine.UnsupportedError{Source: s.Name(), Field: k, Value: v, Missing: "filter " + k, Choices: []string{DimSrcNode, DimDstNode, DimTCPFlags}}
		}
	}
	return q, q.Validate()
}

// protocolName is the API's protocol name for an IANA number: only TCP, UDP and ICMP have one
// (Trustgrid reports everything else as UNKNOWN, which is no single protocol).
func protocolName(n uint8) (string, bool) {
	switch n {
	case 6:
		return "TCP", true
	case 17:
		return "UDP", true
	case 1:
		return "ICMP", true
	}
	return "", false
}

// protocolNumbers maps the API's protocol names to the numbers records carry.
var protocolNumbers = map[string]uint8{"TCP": 6, "UDP": 17, "ICMP": 1}

// ReadRecords implements engine.Source.
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
	recs := make([]engine.Record, 0, len(res.Flows))
	total := res.Total
	for i := range res.Flows {
		rec, err := Record(&res.Flows[i])
		if err != nil {
			return nil, engine.Downstream(http.StatusBadGateway, fmt.Errorf("trustgrid: flow %d of %s: %v", i+1, RequestString(q.Values()), err))
		}
		// Trustgrid's tcpFlags filter matches flows that have the bits; the plugin's means
		// exactly these flags, as the group-by and the column show them.
		if len(q.Filter.TCPFlags) > 0 && rec.TCPFlags != q.Filter.TCPFlags[0] {
			total = -1
			continue
		}
		recs = append(recs, rec)
	}
	desc := RequestString(q.Values())
	if n := len(res.Requests); n > 1 {
		desc += fmt.Sprintf(" (%d pages of %d by page number)", n, q.PageSize)
	}
	return &engine.ReadResult{Records: recs, Total: total, Capped: res.Truncated, Requests: []string{desc}}, nil
}

// Record maps a flow log to the engine's record. Trustgrid flows carry no ID, so the record's
// ID is a digest of everything the flow says (the engine merges composed reads by ID).
func Record(f *FlowLog) (engine.Record, error) {
	var r engine.Record
	tcp, err := f.TCPFlagBits()
	if err != nil {
		return r, err
	}
	flags, err := f.FlagBits()
	if err != nil {
		return r, err
	}
	if f.StartTime.IsZero() {
		return r, errors.New("no startTime")
	}
	if f.SourceBytes < 0 || f.DestBytes < 0 {
		return r, fmt.Errorf("negative bytes (sourceBytes %d, destBytes %d)", f.SourceBytes, f.DestBytes)
	}
	if f.SourcePort < 0 || f.SourcePort > 65535 || f.DestPort < 0 || f.DestPort > 65535 {
		return r, fmt.Errorf("port out of range (sourcePort %d, destPort %d)", f.SourcePort, f.DestPort)
	}
	r.StartMs = f.StartTime.UnixMilli()
	r.TimeMs = r.StartMs
	r.EndMs = r.StartMs
	if !f.EndTime.IsZero() {
		r.EndMs = f.EndTime.UnixMilli()
	}
	r.FirstSeenMs, r.LastSeenMs = r.StartMs, r.EndMs
	r.SrcIP, r.DstIP = f.SourceIP, f.DestIP
	r.SrcPort, r.DstPort = uint16(f.SourcePort), uint16(f.DestPort)
	proto := strings.ToUpper(f.Protocol)
	if n, ok := protocolNumbers[proto]; ok {
		r.Protocol, r.ProtocolName = n, proto
	} else {
		// UNKNOWN: no number; the name is what Trustgrid says.
		r.ProtocolName = "UNKNOWN"
		if proto != "" && proto != "UNKNOWN" {
			r.ProtocolName = proto
		}
	}
	r.Bytes = f.SourceBytes + f.DestBytes
	r.Directional = &engine.Directional{BytesOut: f.SourceBytes, BytesIn: f.DestBytes}
	r.TCPFlags = tcp
	r.Exporter = f.NodeID
	r.Action = "allow"
	if flags&defunctFlags != 0 {
		r.Action = "deny"
	}
	r.Labels = map[string]string{DimTCPFlags: strconv.Itoa(int(tcp)), DimFlags: strconv.FormatUint(flags, 10)}
	if f.SourceNode != "" {
		r.Labels[DimSrcNode] = f.SourceNode
	}
	if f.DestNode != "" {
		r.Labels[DimDstNode] = f.DestNode
	}
	h := sha256.Sum256([]byte(strings.Join([]string{f.NodeID, f.StartTime.UTC().Format(time.RFC3339Nano), f.EndTime.UTC().Format(time.RFC3339Nano),
		f.SourceIP, strconv.Itoa(f.SourcePort), f.DestIP, strconv.Itoa(f.DestPort), f.Protocol,
		strconv.FormatInt(f.SourceBytes, 10), strconv.FormatInt(f.DestBytes, 10), f.TCPFlags, f.Flags}, "|")))
	r.ID = hex.EncodeToString(h[:8])
	return r, nil
}

// CheckHealth implements engine.Source: one page of one flow from the last hour proves the URL
// and the credential, and x-total-count says how much the last hour holds.
func (s *Source) CheckHealth(ctx context.Context) engine.HealthResult {
	now := s.now()
	q := Query{From: now.Add(-time.Hour), To: now}
	details := map[string]any{"url": s.client.BaseURL() + FlowLogsPath}
	p, err := s.client.FetchPage(ctx, q.Values(), 1, 1)
	if err != nil {
		var ae *APIError
		if errors.As(err, &ae) {
			details["status"] = ae.Status
			details["apiError"] = ae.Message
		}
		return engine.HealthResult{Message: err.Error(), Details: details}
	}
	held := "flows"
	if p.Total >= 0 {
		held = fmt.Sprintf("%d flows", p.Total)
	} else {
		held = fmt.Sprintf("%d+ flows (the API sent no x-total-count)", len(p.Flows))
	}
	return engine.HealthResult{OK: true, Message: fmt.Sprintf("Connected to Trustgrid at %s: %s started in the last hour.", s.client.BaseURL(), held), Details: details}
}

// downstream tags client errors as Trustgrid's fault, with the status the answer carries.
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
	case errors.Is(err, ErrRepeatedPage):
		return engine.Downstream(http.StatusBadGateway, err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return engine.Downstream(http.StatusGatewayTimeout, err)
	}
	// Everything else the client returns is about the answer or the connection.
	return engine.Downstream(http.StatusBadGateway, err)
}
