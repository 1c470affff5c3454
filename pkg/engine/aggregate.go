package engine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Aggregation is a top-talkers or protocols answer with how it was obtained.
type Aggregation struct {
	Talkers   []Talker
	Protocols []ProtocolRow
	Executed  string
	// ComputedBecause is set when the answer was computed from records, with Set the records read.
	ComputedBecause string
	Set             *RecordSet
	// Approximate is set when a look-back plan could only bound some values (a warning).
	Approximate string
}

// TalkersQuery asks for top talkers; Now is the batch's now (a look-back ends there).
type TalkersQuery struct {
	From, To, Now time.Time
	Filters       Filters
	Dim, By       string
	Limit         int
}

// TopTalkers ranks talkers: from a look-back aggregate when the range ends now and no filter
// is set, from the source's own aggregation when it has one, otherwise computed from the
// records of exactly the range.
func (e *Engine) TopTalkers(ctx context.Context, q TalkersQuery) (*Aggregation, error) {
	if !slices.Contains(e.caps.TalkerDims, q.Dim) {
		return nil, &UnsupportedError{Source: e.src.Name(), Field: "dim", Value: q.Dim, Missing: "top talkers by " + q.Dim, Choices: e.caps.TalkerDims}
	}
	if err := e.needMetric("by", q.By); err != nil {
		return nil, err
	}
	reason := e.noServerAggregation()
	if lb, ok := e.src.(LookbackAggregator); ok {
		var secs int64
		if secs, reason = e.LookbackWindow(q.From, q.To, q.Now, q.Filters); secs > 0 {
			rows, req, err := lb.LookbackTopTalkers(ctx, LookbackTalkersRequest{WindowSecs: secs, Dim: q.Dim, By: q.By, Limit: q.Limit})
			if err != nil {
				return nil, err
			}
			return &Aggregation{Talkers: rows, Executed: req}, nil
		}
	}
	if agg, err := e.plannedTotals(ctx, q.From, q.To, q.Filters, q.Dim, q.By, q.Limit, reason); agg != nil || err != nil {
		return agg, err
	}
	if ta, ok := e.src.(TalkersAggregator); ok {
		agg, err := ta.TopTalkers(ctx, TalkersRequest{From: q.From, To: q.To, Filters: q.Filters, Dim: q.Dim, By: q.By, Limit: q.Limit})
		if err != nil {
			return nil, err
		}
		return &Aggregation{Talkers: agg.Talkers, Executed: strings.Join(agg.Requests, "\n")}, nil
	}
	set, err := e.Read(ctx, q.From, q.To, q.Filters, SortTime, OrderDesc, e.rowCap)
	if err != nil {
		return nil, err
	}
	return &Aggregation{Talkers: TalkersFromRecords(set.Records, q.Dim, q.By, q.Limit), Executed: strings.Join(set.Requests, "\n"), ComputedBecause: reason, Set: set}, nil
}

// ProtocolsQuery asks for the protocol breakdown.
type ProtocolsQuery struct {
	From, To, Now time.Time
	Filters       Filters
}

// Protocols is the protocol breakdown, obtained by the same rule as TopTalkers.
func (e *Engine) Protocols(ctx context.Context, q ProtocolsQuery) (*Aggregation, error) {
	reason := e.noServerAggregation()
	if lb, ok := e.src.(LookbackAggregator); ok {
		var secs int64
		if secs, reason = e.LookbackWindow(q.From, q.To, q.Now, q.Filters); secs > 0 {
			rows, req, err := lb.LookbackProtocols(ctx, secs)
			if err != nil {
				return nil, err
			}
			return &Aggregation{Protocols: rows, Executed: req}, nil
		}
	}
	if agg, err := e.plannedTotals(ctx, q.From, q.To, q.Filters, "", MetricBytes, 1000, reason); agg != nil || err != nil {
		return agg, err
	}
	if pa, ok := e.src.(ProtocolsAggregator); ok {
		agg, err := pa.Protocols(ctx, ProtocolsRequest{From: q.From, To: q.To, Filters: q.Filters})
		if err != nil {
			return nil, err
		}
		return &Aggregation{Protocols: agg.Protocols, Executed: strings.Join(agg.Requests, "\n")}, nil
	}
	set, err := e.Read(ctx, q.From, q.To, q.Filters, SortTime, OrderDesc, e.rowCap)
	if err != nil {
		return nil, err
	}
	return &Aggregation{Protocols: ProtocolsFromRecords(set.Records), Executed: strings.Join(set.Requests, "\n"), ComputedBecause: reason, Set: set}, nil
}

// CheckMetric refuses a metric the source's records do not carry, naming the query field; an
// empty metric (the query's default) passes.
func (e *Engine) CheckMetric(field, metric string) error {
	if metric == "" {
		return nil
	}
	return e.needMetric(field, metric)
}

// DropMissingMetrics removes from an aggregation frame the value columns of metrics the
// source's records do not carry, so that a table does not show zeros nobody measured.
func (e *Engine) DropMissingMetrics(frame *data.Frame) {
	kept := frame.Fields[:0]
	for _, f := range frame.Fields {
		if (f.Name == MetricBytes || f.Name == MetricPackets || f.Name == MetricFlows) && !slices.Contains(e.Metrics(), f.Name) {
			continue
		}
		kept = append(kept, f)
	}
	frame.Fields = kept
}

func (e *Engine) noServerAggregation() string {
	return fmt.Sprintf("the %s source does not aggregate on its server", e.src.Name())
}

// LookbackWindow decides whether a look-back aggregate answers a range. It takes only a
// look-back from the source's now and no filters, so it fits only a range that ends at now
// (within one window) with no filter set. It returns the look-back in seconds, or 0 and the
// reason the answer must be computed from records instead.
func (e *Engine) LookbackWindow(from, to, now time.Time, f Filters) (int64, string) {
	if !f.IsEmpty() {
		return 0, "filters are set and the aggregate endpoints take none"
	}
	window := max(e.caps.WindowSize, time.Second)
	if d := now.Sub(to); d >= window || d <= -window {
		return 0, "the time range does not end now and the aggregate endpoints only look back from now"
	}
	ms := now.Sub(from).Milliseconds()
	secs := (ms + 999) / 1000
	return max(secs, int64(window/time.Second)), ""
}

// ComputedNotice says that an aggregation was computed from records, and why.
func (e *Engine) ComputedNotice(from, to time.Time, reason string) string {
	return fmt.Sprintf("Computed from %s over %s – %s because %s.", e.recordsFrom(),
		from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), reason)
}

func (e *Engine) recordsFrom() string {
	if e.caps.RecordsFrom != "" {
		return e.caps.RecordsFrom
	}
	return "the " + e.src.Name() + " records"
}

// AddNotices says on a frame that an aggregation was computed from records, and warns when
// the row cap left it partial.
func (e *Engine) AddNotices(a *Aggregation, frame *data.Frame, from, to time.Time, consequence string) {
	if a.Approximate != "" {
		AddNotice(frame, data.NoticeSeverityWarning, a.Approximate)
	}
	if a.ComputedBecause == "" {
		return
	}
	AddNotice(frame, data.NoticeSeverityInfo, e.ComputedNotice(from, to, a.ComputedBecause))
	if a.Set.Capped {
		AddNotice(frame, data.NoticeSeverityWarning, CappedNotice(a.Set, consequence))
	}
}

// TalkerKey is a record's key for a top-talker dimension.
func TalkerKey(r *Record, dim string) string {
	switch dim {
	case GroupDst:
		return r.DstIP
	case GroupPair:
		return r.SrcIP + PairSeparator + r.DstIP
	default:
		return r.SrcIP
	}
}

// TalkersFromRecords ranks talkers from records: per key the sums of bytes and packets and the
// flow count, ranked by `by` (ties by key), first `limit` rows.
func TalkersFromRecords(recs []Record, dim, by string, limit int) []Talker {
	sums := make(map[string]*Talker)
	for i := range recs {
		r := &recs[i]
		key := TalkerKey(r, dim)
		t := sums[key]
		if t == nil {
			t = &Talker{Key: key}
			sums[key] = t
		}
		t.Bytes += r.Bytes
		t.Packets += r.Packets
		t.Flows += r.FlowCount()
	}
	return rankTalkers(sums, by, limit)
}

// rankTalkers orders summed talkers by bytes or packets (ties by key) and keeps the first limit.
func rankTalkers(sums map[string]*Talker, by string, limit int) []Talker {
	rows := make([]Talker, 0, len(sums))
	for _, t := range sums {
		rows = append(rows, *t)
	}
	metric := func(t Talker) int64 {
		if by == SortPackets {
			return t.Packets
		}
		return t.Bytes
	}
	slices.SortFunc(rows, func(a, b Talker) int {
		if c := cmp.Compare(metric(b), metric(a)); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	if len(rows) > limit {
		rows = rows[:limit]
	}
	return rows
}

// ProtocolsFromRecords sums records by protocol, by bytes (ties by name).
func ProtocolsFromRecords(recs []Record) []ProtocolRow {
	sums := make(map[string]*ProtocolRow)
	for i := range recs {
		name := recs[i].ProtocolLabel()
		s := sums[name]
		if s == nil {
			s = &ProtocolRow{Protocol: name}
			sums[name] = s
		}
		s.Bytes += recs[i].Bytes
		s.Packets += recs[i].Packets
		s.Flows += recs[i].FlowCount()
	}
	rows := make([]ProtocolRow, 0, len(sums))
	for _, s := range sums {
		rows = append(rows, *s)
	}
	slices.SortFunc(rows, func(a, b ProtocolRow) int {
		if c := cmp.Compare(b.Bytes, a.Bytes); c != 0 {
			return c
		}
		return strings.Compare(a.Protocol, b.Protocol)
	})
	return rows
}
