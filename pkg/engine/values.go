package engine

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend/log"
)

// Variables whose values every record has; a source's dimensions add their keys.
const (
	VariableSrcIP    = "srcIp"
	VariableDstIP    = "dstIp"
	VariableProtocol = "protocol"
	VariableExporter = "exporter"
	VariablePort     = "port"
	VariableAction   = "action"
)

// variableScanRows bounds the read behind exporter, port and dimension values: the largest
// records of the range, by bytes (the newest from a source that sorts by time only). A variable or an ad-hoc filter must never start an
// unbounded scan.
const variableScanRows = 5000

// hostnameRows bounds the extra read that names addresses: one page of the largest records.
const hostnameRows = 1000

// ValuesQuery asks for the values of a variable over a range.
type ValuesQuery struct {
	From, To, Now time.Time
	Filters       Filters
	Variable      string
	Limit         int
}

// VariableOptions lists the values of a variable over the time range, busiest first, at most
// limit: from the source's own value listing when it has one; otherwise addresses from the top
// talkers, protocols from the protocol breakdown, and everything else from the largest records.
func (e *Engine) VariableOptions(ctx context.Context, q ValuesQuery) ([]Option, error) {
	if !slices.Contains(e.caps.Variables, q.Variable) {
		return nil, &UnsupportedError{Source: e.src.Name(), Field: "variable", Value: q.Variable, Missing: "values of " + q.Variable, Choices: e.caps.Variables}
	}
	if vl, ok := e.src.(ValueLister); ok && listsValues(vl, q.Variable) {
		opts, _, err := vl.Values(ctx, ValuesRequest{From: q.From, To: q.To, Filters: q.Filters, Variable: q.Variable, Limit: q.Limit})
		return opts, err
	}
	var out []Option
	switch q.Variable {
	case VariableSrcIP, VariableDstIP:
		dim := GroupSrc
		if q.Variable == VariableDstIP {
			dim = GroupDst
		}
		agg, err := e.TopTalkers(ctx, TalkersQuery{From: q.From, To: q.To, Now: q.Now, Filters: q.Filters, Dim: dim, By: SortBytes, Limit: q.Limit})
		if err != nil {
			return nil, err
		}
		names := e.hostnames(ctx, q.From, q.To, agg)
		for _, t := range agg.Talkers {
			text := t.Key
			if name := names[t.Key]; name != "" {
				text += " (" + name + ")"
			}
			out = append(out, Option{Text: text, Value: t.Key})
		}
	case VariableProtocol:
		agg, err := e.Protocols(ctx, ProtocolsQuery{From: q.From, To: q.To, Now: q.Now, Filters: q.Filters})
		if err != nil {
			return nil, err
		}
		for _, p := range agg.Protocols {
			out = append(out, Option{Text: p.Protocol, Value: p.Protocol})
		}
	default:
		set, err := e.Read(ctx, q.From, q.To, q.Filters, e.scanSort(), OrderDesc, min(variableScanRows, e.rowCap))
		if err != nil {
			return nil, err
		}
		out = rankValues(set.Records, func(r *Record) string {
			switch q.Variable {
			case VariableExporter:
				return r.Exporter
			case VariablePort:
				return strconv.Itoa(int(r.DstPort))
			case VariableAction:
				return r.Action
			default:
				return r.Labels[q.Variable]
			}
		})
	}
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// hostnames maps addresses to the host names the source gives for them (field note 9: show
// names, keep the address as the value). Records read for the aggregation are used as they
// are; otherwise one page of the range's largest records is read. Names are a help, not the
// answer: if that read fails, the options are listed without them.
func (e *Engine) hostnames(ctx context.Context, from, to time.Time, agg *Aggregation) map[string]string {
	var recs []Record
	if agg.Set != nil {
		recs = agg.Set.Records
	} else {
		res, err := e.src.ReadRecords(ctx, e.hostnameRead(from, to))
		if err != nil {
			log.DefaultLogger.Debug("variable options without host names", "error", err.Error())
			return nil
		}
		recs = res.Records
	}
	names := map[string]string{}
	for i := range recs {
		if h := recs[i].SrcHostname; h != nil && *h != "" {
			names[recs[i].SrcIP] = *h
		}
		if h := recs[i].DstHostname; h != nil && *h != "" {
			names[recs[i].DstIP] = *h
		}
	}
	return names
}

// hostnameRead is the read that names addresses when the aggregation read no records.
func (e *Engine) hostnameRead(from, to time.Time) ReadRequest {
	return ReadRequest{From: from, To: to, Sort: e.scanSort(), Order: OrderDesc, MaxRows: min(hostnameRows, e.pageSize)}
}

// scanSort is the order of the bounded reads behind values: the largest records first, or the
// newest first from a source that sorts by time only (Trustgrid, Huawei CFW).
func (e *Engine) scanSort() string {
	if slices.Contains(e.caps.SortFields, SortBytes) {
		return SortBytes
	}
	return SortTime
}

// rankValues orders the distinct values of records by their bytes, largest first.
func rankValues(recs []Record, value func(*Record) string) []Option {
	bytes := map[string]int64{}
	for i := range recs {
		bytes[value(&recs[i])] += recs[i].Bytes
	}
	keys := make([]string, 0, len(bytes))
	for k := range bytes {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if c := cmp.Compare(bytes[b], bytes[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	out := make([]Option, len(keys))
	for i, k := range keys {
		out[i] = Option{Text: k, Value: k}
	}
	return out
}

// listsValues reports whether a ValueLister lists the values of variable itself.
func listsValues(vl ValueLister, variable string) bool {
	if p, ok := vl.(PartialValueLister); ok {
		return p.ListsValues(variable)
	}
	return true
}
