package engine

import (
	"cmp"
	"context"
	"fmt"
	"github.com/flowlens/flows-datasource/pkg/engine/lookback"
	"slices"
	"strings"
	"sync"
	"time"
)

// Engine answers queries from one source.
type Engine struct {
	src  Source
	caps Capabilities
	// rowCap bounds the records held for one query; pageSize is the page a read asks for.
	rowCap, pageSize int
	// planner answers from look-back differences (UsePlanner); nil without.
	planner *lookback.Planner
	countMu sync.Mutex
	counts  map[time.Duration]countSeen // by range length
}

// New returns the engine for a source with the data source's common settings.
func New(src Source, c Common) *Engine {
	return &Engine{src: src, caps: src.Capabilities(), rowCap: c.RowCap, pageSize: c.PageSize}
}

// Source is the engine's source.
func (e *Engine) Source() Source { return e.src }

// Capabilities are the source's capabilities.
func (e *Engine) Capabilities() Capabilities { return e.caps }

// Metrics are the metrics the source's records carry.
func (e *Engine) Metrics() []string {
	if len(e.caps.Metrics) == 0 {
		return []string{MetricBytes, MetricPackets, MetricFlows}
	}
	return e.caps.Metrics
}

func (e *Engine) needMetric(field, metric string) error {
	if slices.Contains(e.Metrics(), metric) {
		return nil
	}
	return &UnsupportedError{Source: e.src.Name(), Field: field, Value: metric, Missing: metric + " counts", Choices: e.Metrics()}
}

// RowCap is the most records one query holds.
func (e *Engine) RowCap() int { return e.rowCap }

// maxFilterCombinations bounds the fan-out of multi-value filters: each combination of values
// is one paged read.
const maxFilterCombinations = 64

// RecordSet is the merged result of reading every filter combination.
type RecordSet struct {
	Records []Record
	// Total is the sum of the totals the source reported (with several combinations a record
	// can match two, so it is an upper bound), or -1 when the source did not say.
	Total    int
	Capped   bool
	Requests []string
	// Pages is how many requests the reads made (0: a source did not say).
	Pages int
}

// Combinations expands multi-value filters into the single-value filters a source's reads
// take, composing what the source lacks natively where it can: "port on either side" becomes
// a source-port read and a destination-port read, merged. A filter neither native nor
// composable is an UnsupportedError.
func (e *Engine) Combinations(f Filters) ([]Filter, error) {
	out := []Filter{{}}
	expand := func(n int, set func(*Filter, int)) {
		if n == 0 {
			return
		}
		next := make([]Filter, 0, len(out)*n)
		for _, base := range out {
			for i := range n {
				c := base
				c.Labels = cloneLabels(base.Labels)
				set(&c, i)
				next = append(next, c)
			}
		}
		out = next
	}
	need := func(key string, n int) error {
		if n == 0 || slices.Contains(e.caps.Filters, key) {
			return nil
		}
		return e.unsupportedFilter(key)
	}
	for _, c := range []struct {
		key string
		n   int
	}{
		{FilterSrcIP, len(f.SrcIP)}, {FilterDstIP, len(f.DstIP)}, {FilterExporter, len(f.Exporter)},
		{FilterSrcPort, len(f.SrcPort)}, {FilterDstPort, len(f.DstPort)}, {FilterProtocol, len(f.Protocol)},
		{FilterAction, len(f.Action)},
	} {
		if err := need(c.key, c.n); err != nil {
			return nil, err
		}
	}
	expand(len(f.SrcIP), func(c *Filter, i int) { c.SrcIP = f.SrcIP[i] })
	expand(len(f.DstIP), func(c *Filter, i int) { c.DstIP = f.DstIP[i] })
	expand(len(f.Exporter), func(c *Filter, i int) { c.Exporter = f.Exporter[i] })
	switch {
	case len(f.Port) == 0:
	case slices.Contains(e.caps.Filters, FilterPort):
		expand(len(f.Port), func(c *Filter, i int) { c.Port = &f.Port[i] })
	case e.composesPort():
		// Either side: one read by source port and one by destination port per value; a
		// record matching both is kept once when merged.
		expand(2*len(f.Port), func(c *Filter, i int) {
			if i%2 == 0 {
				c.SrcPort = &f.Port[i/2]
			} else {
				c.DstPort = &f.Port[i/2]
			}
		})
	default:
		return nil, e.unsupportedFilter(FilterPort)
	}
	expand(len(f.SrcPort), func(c *Filter, i int) { c.SrcPort = &f.SrcPort[i] })
	expand(len(f.DstPort), func(c *Filter, i int) { c.DstPort = &f.DstPort[i] })
	expand(len(f.Protocol), func(c *Filter, i int) { c.Protocol = &f.Protocol[i] })
	expand(len(f.Action), func(c *Filter, i int) { c.Action = f.Action[i] })
	keys := make([]string, 0, len(f.Labels))
	for k := range f.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vals := f.Labels[k]
		if err := need(k, len(vals)); err != nil {
			return nil, err
		}
		expand(len(vals), func(c *Filter, i int) {
			if c.Labels == nil {
				c.Labels = map[string]string{}
			}
			c.Labels[k] = vals[i]
		})
	}
	if len(out) > maxFilterCombinations {
		return nil, &QueryError{Field: "filters", Msg: fmt.Sprintf(
			"select fewer values: the multi-value filters make %d combinations and each is one series of API requests (at most %d)",
			len(out), maxFilterCombinations)}
	}
	return out, nil
}

func (e *Engine) composesPort() bool {
	return slices.Contains(e.caps.Filters, FilterSrcPort) && slices.Contains(e.caps.Filters, FilterDstPort)
}

// ComposedFilters are the filters the engine offers for the source: native ones, and those it
// composes from them.
func (e *Engine) ComposedFilters() []string {
	out := slices.Clone(e.caps.Filters)
	if !slices.Contains(out, FilterPort) && e.composesPort() {
		out = append(out, FilterPort)
	}
	return out
}

func (e *Engine) unsupportedFilter(key string) error {
	return &UnsupportedError{Source: e.src.Name(), Field: key, Value: "filter", Missing: "filter " + key, Choices: e.ComposedFilters()}
}

func cloneLabels(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Read reads the records in [from, to] that match the filters, sorted as asked, at most
// maxRows of them. Each filter combination is read concurrently (the source bounds its
// requests); records matched by several are kept once.
func (e *Engine) Read(ctx context.Context, from, to time.Time, f Filters, sortBy, order string, maxRows int) (*RecordSet, error) {
	if !slices.Contains(e.caps.SortFields, sortBy) {
		return nil, &UnsupportedError{Source: e.src.Name(), Field: "sort", Value: sortBy, Missing: "sort by " + sortBy, Choices: e.caps.SortFields}
	}
	combos, err := e.Combinations(f)
	if err != nil {
		return nil, err
	}
	results := make([]*ReadResult, len(combos))
	errs := make([]error, len(combos))
	if len(combos) == 1 {
		results[0], errs[0] = e.src.ReadRecords(ctx, ReadRequest{From: from, To: to, Filter: combos[0], Sort: sortBy, Order: order, MaxRows: maxRows})
	} else {
		// The row cap is the query's, not each combination's (issue 9, item 6: 8 port values
		// read 8 × the cap): the combinations are read one after another, each with what the
		// cap leaves. Each read still pages in parallel where its source does.
		held := 0
		for i, c := range combos {
			if held >= maxRows {
				results[i] = &ReadResult{Capped: true, Total: -1}
				continue
			}
			results[i], errs[i] = e.src.ReadRecords(ctx, ReadRequest{From: from, To: to, Filter: c, Sort: sortBy, Order: order, MaxRows: maxRows - held})
			if errs[i] != nil {
				break
			}
			held += len(results[i].Records)
		}
	}
	set := &RecordSet{}
	for i, r := range results {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if r == nil {
			continue
		}
		if r.Total < 0 || set.Total < 0 {
			set.Total = -1
		} else {
			set.Total += r.Total
		}
		set.Capped = set.Capped || r.Capped
		set.Requests = append(set.Requests, r.Requests...)
		set.Pages += r.Pages
	}
	if len(combos) == 1 {
		// A source returns each record of one read once.
		set.Records = results[0].Records
		return set, nil
	}
	// Several combinations can match one record (port 80 and port 443 both match 80 → 443).
	seen := make(map[string]struct{})
	for _, r := range results {
		if r == nil {
			continue
		}
		for _, rec := range r.Records {
			if k := recordKey(&rec); !seenBefore(seen, k) {
				set.Records = append(set.Records, rec)
			}
		}
	}
	SortRecords(set.Records, sortBy, order)
	if len(set.Records) > maxRows {
		set.Records = set.Records[:maxRows]
		set.Capped = true
	}
	return set, nil
}

// ReadEach is Read without holding the records: each receives the records of [from, to] that
// match f, page by page in sort order (filter combinations merged and de-duplicated as Read
// does), at most maxRows in all. The returned RecordSet has Total, Capped, Requests; no Records.
//
// A single filter combination streams from a source that implements PageReader; other sources
// are read whole and handed over at once. Several combinations are read whole too: their
// records are merged, de-duplicated and sorted again across combinations, which needs them all.
// each must not keep the slice; an error from it stops the read and is returned as is.
func (e *Engine) ReadEach(ctx context.Context, from, to time.Time, f Filters, sortBy, order string, maxRows int, each func([]Record) error) (*RecordSet, error) {
	return e.ReadEachSized(ctx, from, to, f, sortBy, order, maxRows, nil, each)
}

// ReadEachSized is ReadEach that first tells expect (when not nil) how many records it will
// hand over at most, when that is known before the first page: from the source's total (the
// Flows API's), or from the records read whole.
func (e *Engine) ReadEachSized(ctx context.Context, from, to time.Time, f Filters, sortBy, order string, maxRows int, expect func(rows int), each func([]Record) error) (*RecordSet, error) {
	if !slices.Contains(e.caps.SortFields, sortBy) {
		return nil, &UnsupportedError{Source: e.src.Name(), Field: "sort", Value: sortBy, Missing: "sort by " + sortBy, Choices: e.caps.SortFields}
	}
	combos, err := e.Combinations(f)
	if err != nil {
		return nil, err
	}
	pr, pages := e.src.(PageReader)
	if len(combos) > 1 || !pages {
		set, err := e.Read(ctx, from, to, f, sortBy, order, maxRows)
		if err != nil {
			return nil, err
		}
		recs := set.Records
		set.Records = nil
		if len(recs) > 0 {
			if expect != nil {
				expect(len(recs))
			}
			if err := each(recs); err != nil {
				return nil, err
			}
		}
		return set, nil
	}
	r, err := pr.ReadPages(ctx, ReadRequest{From: from, To: to, Filter: combos[0], Sort: sortBy, Order: order, MaxRows: maxRows, Expect: expect}, func(page []Record) error {
		if len(page) == 0 {
			return nil
		}
		return each(page)
	})
	if err != nil {
		return nil, err
	}
	return &RecordSet{Total: r.Total, Capped: r.Capped, Requests: r.Requests, Pages: r.Pages}, nil
}

// SortRecords orders records as a source orders one read: by the sort field, ties by id.
func SortRecords(recs []Record, sortBy, order string) {
	key := func(r *Record) int64 {
		switch sortBy {
		case SortBytes:
			return r.Bytes
		case SortPackets:
			return r.Packets
		default:
			return r.TimeMs
		}
	}
	slices.SortStableFunc(recs, func(a, b Record) int {
		c := cmp.Compare(key(&a), key(&b))
		if order == OrderDesc {
			c = -c
		}
		if c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// CappedNotice is the warning shown when the row cap stopped a read.
func CappedNotice(set *RecordSet, consequence string) string {
	return CappedNoticeOf(len(set.Records), set, consequence)
}

// CappedNoticeOf is CappedNotice for a read whose records were handed over (ReadEach): rows
// were read.
func CappedNoticeOf(rows int, set *RecordSet, consequence string) string {
	if set.Total < 0 {
		return fmt.Sprintf("%d flows read, and there are more: the data source's row cap stopped the read; %s. Narrow the time range or filters, or raise the row cap.",
			rows, consequence)
	}
	return fmt.Sprintf("%d of %d flows: the data source's row cap stopped the read; %s. Narrow the time range or filters, or raise the row cap.",
		rows, set.Total, consequence)
}

// recordKey identifies a record across combinations: its id, or, for a record without one (a
// server sending null ids), its content, so that records without ids are not merged into one.
func recordKey(r *Record) string {
	if r.ID != "" {
		return r.ID
	}
	return fmt.Sprintf("\x00%d|%d|%d|%s|%s|%d|%d|%d|%d|%d|%s|%d|%d", r.TimeMs, r.StartMs, r.EndMs, r.SrcIP, r.DstIP,
		r.SrcPort, r.DstPort, r.Protocol, r.Bytes, r.Packets, r.Exporter, r.FirstSeenMs, r.LastSeenMs)
}

// seenBefore says whether k is in seen, and adds it.
func seenBefore(seen map[string]struct{}, k string) bool {
	if _, ok := seen[k]; ok {
		return true
	}
	seen[k] = struct{}{}
	return false
}
