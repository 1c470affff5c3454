package awsflowlogs

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/flowlens/flows-datasource/pkg/engine"
)

// Type is the value of jsonData.source that selects this source.
const Type = "awsFlowLogs"

// Dimension keys of the AWS records (Record.Labels), also filter, group-by and variable keys.
const (
	DimFlowLog   = "flowLogId"
	DimInterface = "interfaceId"
	DimAccount   = "account"
	DimLogStatus = "logStatus"
)

// Variables listed from the inventory rather than from records.
const (
	VariableResource = "resourceId"
	VariableRegion   = "region"
)

// inventoryTTL is how long the flow-log inventory a traffic query needs (which log group, which
// format) is reused: traffic panels of one dashboard refresh would otherwise each call
// DescribeFlowLogs in every region.
const inventoryTTL = time.Minute

// eventMargin widens the event-time window read from CloudWatch Logs: an event's timestamp is
// near its record's capture window (start..end, up to the 600 s aggregation interval), and the
// records are then selected by their own end time.
const eventMargin = 15 * time.Minute

// DefaultMaxScan bounds the log events one read scans (API calls: about one per 10,000 events),
// whatever the row budget: a read over more must be narrowed.
const DefaultMaxScan = 2_000_000

// Source is AWS VPC flow logs behind the engine's Source interface: flow records from the
// CloudWatch Logs log groups the flow logs deliver to, and the flowLogConfigs query type (the
// inventory) answered by the source itself.
type Source struct {
	client   *Client
	settings Settings
	now      func() time.Time
	maxScan  int

	mu        sync.Mutex
	inventory []FlowLog
	invAt     time.Time
}

var (
	_ engine.Source             = (*Source)(nil)
	_ engine.QueryTypeHandler   = (*Source)(nil)
	_ engine.PartialValueLister = (*Source)(nil)
)

// NewSource is the engine.Factory of AWS flow logs.
func NewSource(ctx context.Context, cfg engine.Config) (engine.Source, error) {
	s, err := LoadSettings(cfg.Instance)
	if err != nil {
		return nil, err
	}
	s.Auth.Timeout = cfg.Common.Timeout
	return newSource(ctx, s, cfg.Now)
}

func newSource(ctx context.Context, s Settings, now func() time.Time) (*Source, error) {
	c, err := NewClient(ctx, s.Auth)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Source{client: c, settings: s, now: now, maxScan: DefaultMaxScan}, nil
}

// Name implements engine.Source.
func (s *Source) Name() string { return "AWS VPC flow logs" }

var capabilities = engine.Capabilities{
	QueryTypes: []string{engine.QueryTypeFlows, engine.QueryTypeTopTalkers, engine.QueryTypeProtocols,
		engine.QueryTypeVariableValues, QueryTypeFlowLogConfigs},
	// The network interface is a dimension, not the exporter: exporters are addresses in the
	// query model, interfaces are IDs (eni-…).
	Filters: []string{engine.FilterSrcIP, engine.FilterDstIP, engine.FilterSrcPort,
		engine.FilterDstPort, engine.FilterProtocol, engine.FilterAction, DimFlowLog, DimInterface, DimAccount, DimLogStatus},
	GroupBys: []string{engine.GroupNone, engine.GroupProtocol, engine.GroupSrc, engine.GroupDst, engine.GroupPair,
		engine.GroupDstPort, engine.GroupAction, DimFlowLog, DimInterface, DimAccount, DimLogStatus},
	TalkerDims: []string{engine.GroupSrc, engine.GroupDst, engine.GroupPair},
	Variables: []string{engine.VariableSrcIP, engine.VariableDstIP, engine.VariableProtocol,
		engine.VariablePort, engine.VariableAction, DimFlowLog, DimInterface, DimAccount, DimLogStatus, VariableResource, VariableRegion},
	Dimensions: []engine.Dimension{
		{Key: DimFlowLog, Label: "flow_log_id", Display: "Flow log", Filter: true, GroupBy: true},
		{Key: DimInterface, Label: "interface_id", Display: "Interface", Filter: true, GroupBy: true},
		{Key: DimAccount, Label: "account_id", Display: "Account", Filter: true, GroupBy: true},
		{Key: DimLogStatus, Label: "log_status", Display: "Log status", Filter: true, GroupBy: true},
	},
	// Records cover their capture window (60 or 600 s); series bucket them by its start.
	WindowSize: time.Minute,
	SortFields: []string{engine.SortTime, engine.SortBytes, engine.SortPackets},
	Columns: []engine.Column{
		{Name: "end", Field: engine.ColTime, Display: "End"},
		{Name: "start", Field: engine.ColStart, Display: "Start"},
		{Name: "interface_id", Field: engine.ColLabelPrefix + DimInterface, Display: "Interface"},
		{Name: engine.LabelSrcIP, Field: engine.ColSrcIP, Display: "Source IP"},
		{Name: "src_port", Field: engine.ColSrcPort, Display: "Source port"},
		{Name: engine.LabelDstIP, Field: engine.ColDstIP, Display: "Destination IP"},
		{Name: "dst_port", Field: engine.ColDstPort, Display: "Destination port"},
		{Name: engine.LabelProtocol, Field: engine.ColProtocol, Display: "Protocol"},
		{Name: "bytes", Field: engine.ColBytes, Display: "Bytes", Unit: "decbytes"},
		{Name: "packets", Field: engine.ColPackets, Display: "Packets", Unit: "short"},
		{Name: "action", Field: engine.ColAction, Display: "Action"},
		{Name: "account_id", Field: engine.ColLabelPrefix + DimAccount, Display: "Account"},
		{Name: "log_status", Field: engine.ColLabelPrefix + DimLogStatus, Display: "Log status"},
		{Name: "flow_log_id", Field: engine.ColLabelPrefix + DimFlowLog, Display: "Flow log"},
		{Name: "tcp_flags", Field: engine.ColTCPFlags, Display: "TCP flags"},
		{Name: "version", Field: engine.ColVersion, Display: "Version"},
		{Name: "id", Field: engine.ColID, Display: "Event ID"},
	},
	RecordsFrom: "CloudWatch Logs (FilterLogEvents)",
}

// Capabilities implements engine.Source.
func (s *Source) Capabilities() engine.Capabilities { return capabilities }

// Actions: the engine's words for verdicts, and AWS's.
func engineAction(aws string) string {
	switch aws {
	case "ACCEPT":
		return "allow"
	case "REJECT":
		return "deny"
	}
	return ""
}

// matchAction accepts either vocabulary: allow/deny (every source) or ACCEPT/REJECT (AWS).
func matchAction(filter, action string) bool {
	switch strings.ToUpper(filter) {
	case "ALLOW", "ACCEPT":
		return action == "allow"
	case "DENY", "REJECT":
		return action == "deny"
	}
	return false
}

// flowLogs returns the inventory of the settings' regions, reusing it for inventoryTTL.
func (s *Source) flowLogs(ctx context.Context) ([]FlowLog, []string, error) {
	s.mu.Lock()
	if s.inventory != nil && s.now().Sub(s.invAt) < inventoryTTL {
		inv := s.inventory
		s.mu.Unlock()
		return inv, nil, nil
	}
	s.mu.Unlock()
	inv, reqs, err := s.describe(ctx, s.settings.Regions, FlowLogFilter{})
	if err != nil {
		return nil, reqs, err
	}
	s.mu.Lock()
	s.inventory, s.invAt = inv, s.now()
	s.mu.Unlock()
	return inv, reqs, nil
}

// describe calls DescribeFlowLogs in each region at once; the answer is sorted by region, id.
func (s *Source) describe(ctx context.Context, regions []string, f FlowLogFilter) ([]FlowLog, []string, error) {
	results := make([][]FlowLog, len(regions))
	errs := make([]error, len(regions))
	var wg sync.WaitGroup
	for i, region := range regions {
		wg.Go(func() { results[i], errs[i] = s.client.DescribeFlowLogs(ctx, region, f) })
	}
	wg.Wait()
	var out []FlowLog
	var reqs []string
	for i, region := range regions {
		if errs[i] != nil {
			return nil, reqs, downstream(errs[i])
		}
		reqs = append(reqs, fmt.Sprintf("ec2:DescribeFlowLogs region=%s%s", region, describeFilterText(f)))
		out = append(out, results[i]...)
	}
	return out, reqs, nil
}

func describeFilterText(f FlowLogFilter) string {
	var parts []string
	for _, flt := range f.ec2Filters() {
		parts = append(parts, fmt.Sprintf("%s=%s", *flt.Name, strings.Join(flt.Values, ",")))
	}
	if len(f.DeliverLogsStatus) > 0 {
		parts = append(parts, "deliver-log-status="+strings.Join(f.DeliverLogsStatus, ",")+" (checked by the plugin)")
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}

// logGroup is one log group to read and the flow log whose records it holds.
type logGroup struct {
	region, name string
	flowLog      FlowLog
	format       Format
}

// groupsFor picks the log groups of a read: the flow log of the flowLogId filter, or every flow
// log of the regions that delivers to CloudWatch Logs. A log group several flow logs deliver to
// is read once, its records attributed to the first of them by ID.
func (s *Source) groupsFor(ctx context.Context, flowLogID string) ([]logGroup, []string, error) {
	inv, reqs, err := s.flowLogs(ctx)
	if err != nil {
		return nil, reqs, err
	}
	seen := map[string]bool{}
	var out []logGroup
	for _, fl := range inv {
		if flowLogID != "" && fl.ID != flowLogID {
			continue
		}
		if fl.DestinationType != "cloud-watch-logs" || fl.LogGroupName == "" {
			if flowLogID != "" {
				return nil, reqs, &engine.QueryError{Field: DimFlowLog, Value: flowLogID,
					Msg: fmt.Sprintf("delivers to %s (%s), not to CloudWatch Logs; only CloudWatch Logs records can be read", fl.DestinationType, fl.Destination)}
			}
			continue
		}
		key := fl.Region + "\x00" + fl.LogGroupName
		if seen[key] {
			continue
		}
		seen[key] = true
		format, err := ParseFormat(fl.LogFormat)
		if err != nil {
			return nil, reqs, engine.Downstream(http.StatusBadGateway, fmt.Errorf("flow log %s: %w", fl.ID, err))
		}
		out = append(out, logGroup{region: fl.Region, name: fl.LogGroupName, flowLog: fl, format: format})
	}
	if flowLogID != "" && len(out) == 0 {
		return nil, reqs, &engine.QueryError{Field: DimFlowLog, Value: flowLogID,
			Msg: fmt.Sprintf("is not a flow log of the regions %s", strings.Join(s.settings.Regions, ", "))}
	}
	return out, reqs, nil
}

// ReadRecords implements engine.Source: every event of the log groups in [From − margin,
// To + margin] is scanned (FilterLogEvents, paged), parsed, and kept when its record's time is
// in [From, To] and it matches the filter; the best MaxRows by the sort are returned.
func (s *Source) ReadRecords(ctx context.Context, r engine.ReadRequest) (*engine.ReadResult, error) {
	if r.Filter.Action != "" && !matchAction(r.Filter.Action, "allow") && !matchAction(r.Filter.Action, "deny") {
		return nil, &engine.QueryError{Field: "action", Value: r.Filter.Action, Msg: "is not allow, deny, ACCEPT or REJECT"}
	}
	groups, reqs, err := s.groupsFor(ctx, r.Filter.Labels[DimFlowLog])
	if err != nil {
		return nil, err
	}
	keep := newBest(r.Sort, r.Order, r.MaxRows)
	total := 0
	labels := labelCache{}
	for _, g := range groups {
		if err := g.format.Require("srcaddr", "dstaddr", "bytes"); err != nil {
			return nil, &engine.QueryError{Field: DimFlowLog, Value: g.flowLog.ID, Msg: err.Error()}
		}
		q := EventsQuery{LogGroup: g.name, Start: r.From.Add(-eventMargin), End: r.To.Add(eventMargin + time.Millisecond), MaxEvents: s.maxScan}
		var parseErr error
		res, err := s.client.FilterLogEvents(ctx, g.region, q, func(ev Event) error {
			rec, err := g.format.Parse(ev.Message)
			if err != nil {
				parseErr = fmt.Errorf("log group %s (flow log %s), stream %s: %w", g.name, g.flowLog.ID, ev.Stream, err)
				return ErrStop
			}
			er := engineRecord(&rec, ev, g, labels)
			if er.TimeMs < r.From.UnixMilli() || er.TimeMs > r.To.UnixMilli() || !matches(&er, r.Filter) {
				return nil
			}
			total++
			keep.add(er)
			return nil
		})
		desc := fmt.Sprintf("logs:FilterLogEvents region=%s logGroupName=%s startTime=%d endTime=%d", g.region, g.name, q.Start.UnixMilli(), q.End.UnixMilli()-1)
		if res.Pages > 1 {
			desc += fmt.Sprintf(" (%d pages by nextToken)", res.Pages)
		}
		var awsErr *Error
		if err != nil && errors.As(err, &awsErr) && awsErr.Kind == KindNotFound && r.Filter.Labels[DimFlowLog] == "" {
			// Reading every flow log: one whose log group is missing (its delivery fails) has
			// no records; the flowLogConfigs query and its alert show why.
			reqs = append(reqs, desc+" (log group does not exist: no records)")
			continue
		}
		reqs = append(reqs, desc)
		if err != nil {
			return nil, downstream(err)
		}
		if parseErr != nil {
			return nil, engine.Downstream(http.StatusBadGateway, parseErr)
		}
		if res.Truncated {
			return nil, &engine.QueryError{Field: "time range", Msg: fmt.Sprintf(
				"log group %s holds more than %d events in the range; choose a shorter range or one flow log", g.name, s.maxScan)}
		}
	}
	return &engine.ReadResult{Records: keep.sorted(), Total: total, Capped: total > r.MaxRows, Requests: reqs}, nil
}

// labelCache shares one Labels map between records with the same dimension values (the engine
// only reads them): a few maps instead of one per record.
type labelCache map[[4]string]map[string]string

func (c labelCache) get(flowLog, iface, account, status string) map[string]string {
	k := [4]string{flowLog, iface, account, status}
	m := c[k]
	if m == nil {
		m = map[string]string{DimFlowLog: flowLog, DimInterface: iface}
		if account != "" {
			m[DimAccount] = account
		}
		if status != "" {
			m[DimLogStatus] = status
		}
		c[k] = m
	}
	return m
}

func engineRecord(rec *Record, ev Event, g logGroup, labels labelCache) engine.Record {
	out := engine.Record{
		ID:       g.region + "/" + g.name + "/" + ev.ID,
		SrcIP:    rec.SrcAddr,
		DstIP:    rec.DstAddr,
		SrcPort:  rec.SrcPort,
		DstPort:  rec.DstPort,
		Protocol: rec.Protocol,
		Bytes:    rec.Bytes,
		Packets:  rec.Packets,
		Action:   engineAction(rec.Action),
		TCPFlags: rec.TCPFlags,
		Version:  rec.Version,
	}
	iface := rec.InterfaceID
	if iface == "" {
		iface = ev.Stream // each interface has its own log stream
	}
	out.Labels = labels.get(g.flowLog.ID, iface, rec.AccountID, rec.LogStatus)
	if name := protocolNames[out.Protocol]; name != "" && rec.Has("protocol") {
		out.ProtocolName = name
	}
	// The record's time is the end of its capture window (as the Flows API's timestamp is its
	// window's end), else its start, else the event's time.
	switch {
	case rec.Has("end"):
		out.TimeMs = rec.End.UnixMilli()
	case rec.Has("start"):
		out.TimeMs = rec.Start.UnixMilli()
	default:
		out.TimeMs = ev.Timestamp.UnixMilli()
	}
	out.StartMs, out.EndMs = out.TimeMs, out.TimeMs
	if rec.Has("start") {
		out.StartMs = rec.Start.UnixMilli()
	}
	if rec.Has("end") {
		out.EndMs = rec.End.UnixMilli()
	}
	return out
}

// protocolNames are the names the Flows API (and its simulator) gives; other numbers stay
// numbers. VPC flow log records carry only the number.
var protocolNames = map[uint8]string{1: "ICMP", 6: "TCP", 17: "UDP", 47: "GRE", 50: "ESP", 58: "ICMPv6", 132: "SCTP"}

func matches(r *engine.Record, f engine.Filter) bool {
	switch {
	case f.SrcIP != "" && r.SrcIP != f.SrcIP,
		f.DstIP != "" && r.DstIP != f.DstIP,
		f.Port != nil && r.SrcPort != *f.Port && r.DstPort != *f.Port,
		f.SrcPort != nil && r.SrcPort != *f.SrcPort,
		f.DstPort != nil && r.DstPort != *f.DstPort,
		f.Protocol != nil && r.Protocol != *f.Protocol,
		f.Action != "" && !matchAction(f.Action, r.Action):
		return false
	}
	for k, v := range f.Labels {
		if k != DimFlowLog && r.Labels[k] != v {
			return false
		}
	}
	// Records without traffic (NODATA, SKIPDATA) only when asked for by their log status.
	if r.Labels[DimLogStatus] != "" && r.Labels[DimLogStatus] != "OK" && f.Labels[DimLogStatus] == "" {
		return false
	}
	return true
}

// best keeps the first n records by a sort order, in O(n) memory however many are offered.
type best struct {
	less func(a, b *engine.Record) bool // a before b in the answer
	n    int
	h    recHeap
}

func newBest(sortBy, order string, n int) *best {
	key := func(r *engine.Record) int64 { return r.TimeMs }
	switch sortBy {
	case engine.SortBytes:
		key = func(r *engine.Record) int64 { return r.Bytes }
	case engine.SortPackets:
		key = func(r *engine.Record) int64 { return r.Packets }
	}
	desc := order != engine.OrderAsc
	less := func(a, b *engine.Record) bool {
		ka, kb := key(a), key(b)
		if ka != kb {
			return (ka > kb) == desc
		}
		return a.ID < b.ID
	}
	b := &best{less: less, n: max(n, 0)}
	b.h.worse = func(a, c *engine.Record) bool { return less(c, a) }
	return b
}

func (b *best) add(r engine.Record) {
	if b.n == 0 {
		return
	}
	if len(b.h.recs) < b.n {
		heap.Push(&b.h, r)
		return
	}
	if b.less(&r, &b.h.recs[0]) {
		b.h.recs[0] = r
		heap.Fix(&b.h, 0)
	}
}

func (b *best) sorted() []engine.Record {
	out := b.h.recs
	slices.SortFunc(out, func(x, y engine.Record) int {
		if b.less(&x, &y) {
			return -1
		}
		if b.less(&y, &x) {
			return 1
		}
		return 0
	})
	return out
}

// recHeap has the worst kept record on top.
type recHeap struct {
	recs  []engine.Record
	worse func(a, b *engine.Record) bool
}

func (h recHeap) Len() int           { return len(h.recs) }
func (h recHeap) Less(i, j int) bool { return h.worse(&h.recs[i], &h.recs[j]) }
func (h recHeap) Swap(i, j int)      { h.recs[i], h.recs[j] = h.recs[j], h.recs[i] }
func (h *recHeap) Push(x any)        { h.recs = append(h.recs, x.(engine.Record)) }
func (h *recHeap) Pop() any {
	r := h.recs[len(h.recs)-1]
	h.recs = h.recs[:len(h.recs)-1]
	return r
}

// downstream tags an AWS failure with the status the query answer should carry.
func downstream(err error) error {
	var e *Error
	if !errors.As(err, &e) {
		return engine.Downstream(http.StatusBadGateway, err)
	}
	status := http.StatusBadGateway
	switch e.Kind {
	case KindCredentials:
		status = http.StatusUnauthorized
	case KindAccess:
		status = http.StatusForbidden
	case KindNotFound:
		status = http.StatusNotFound
	case KindThrottled:
		status = http.StatusTooManyRequests
	case KindUnreachable, KindCanceled:
		status = http.StatusGatewayTimeout
	}
	return engine.Downstream(status, err)
}

// CheckHealth implements engine.Source: DescribeFlowLogs in each region of the settings, then
// sts:GetCallerIdentity for the account's number.
func (s *Source) CheckHealth(ctx context.Context) engine.HealthResult {
	// DescribeFlowLogs in every region proves the credentials, the permission and each
	// region's access at once; the account is then only for the message.
	inv, _, err := s.describe(ctx, s.settings.Regions, FlowLogFilter{})
	if err != nil {
		return engine.HealthResult{Message: healthMessage(err)}
	}
	account := "(account unknown: sts:GetCallerIdentity failed)"
	if id, err := s.client.CallerIdentity(ctx, s.settings.Auth.DefaultRegion); err == nil {
		account = id.Account
	}
	s.mu.Lock()
	s.inventory, s.invAt = inv, s.now()
	s.mu.Unlock()
	failed, cw := 0, 0
	for _, fl := range inv {
		if fl.Failed() {
			failed++
		}
		if fl.DestinationType == "cloud-watch-logs" {
			cw++
		}
	}
	msg := fmt.Sprintf("Connected to AWS account %s: %d flow logs in %s (%d deliver to CloudWatch Logs)",
		account, len(inv), strings.Join(s.settings.Regions, ", "), cw)
	if failed > 0 {
		msg += fmt.Sprintf("; %d fail to deliver their logs", failed)
	}
	return engine.HealthResult{OK: true, Message: msg, Details: map[string]any{
		"account": account, "regions": s.settings.Regions, "flowLogs": len(inv), "failedDelivery": failed,
	}}
}

func healthMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Error()
	}
	return err.Error()
}

// sortFlowLogs orders the inventory as the table shows it: region, then id.
func sortFlowLogs(fls []FlowLog) {
	slices.SortFunc(fls, func(a, b FlowLog) int { return cmp.Or(cmp.Compare(a.Region, b.Region), cmp.Compare(a.ID, b.ID)) })
}
