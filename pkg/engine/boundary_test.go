package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// listSource is a source that only lists records, like the REST flow-log systems: it filters
// by source and destination port but not by "port on either side", has no exporter filter, and
// has a dimension of its own. It reads from memory, so the engine's composition can be checked
// against the records themselves.
type listSource struct {
	recs  []Record
	mu    sync.Mutex
	reads []Filter
}

func (s *listSource) Name() string { return "Listing" }

func (s *listSource) Capabilities() Capabilities {
	return Capabilities{
		QueryTypes: []string{QueryTypeFlows, QueryTypeTopTalkers, QueryTypeProtocols, QueryTypeVariableValues},
		Filters:    []string{FilterSrcIP, FilterDstIP, FilterSrcPort, FilterDstPort, FilterProtocol, "zone"},
		GroupBys:   []string{GroupNone, GroupProtocol, GroupSrc, "zone"},
		TalkerDims: []string{GroupSrc, GroupDst, GroupPair},
		Metrics:    []string{MetricBytes, MetricFlows},
		Variables:  []string{VariableSrcIP, "zone"},
		Dimensions: []Dimension{{Key: "zone", Label: "src_zone", Display: "Zone", Filter: true, GroupBy: true}},
		WindowSize: time.Minute,
		SortFields: []string{SortTime, SortBytes},
	}
}

func (s *listSource) ReadRecords(_ context.Context, r ReadRequest) (*ReadResult, error) {
	s.mu.Lock()
	s.reads = append(s.reads, r.Filter)
	s.mu.Unlock()
	if r.Filter.Port != nil || r.Filter.Exporter != "" {
		return nil, errors.New("listSource got a filter it does not declare")
	}
	var out []Record
	for _, rec := range s.recs {
		f := r.Filter
		if (f.SrcPort != nil && rec.SrcPort != *f.SrcPort) || (f.DstPort != nil && rec.DstPort != *f.DstPort) ||
			(f.SrcIP != "" && rec.SrcIP != f.SrcIP) || (f.Labels["zone"] != "" && rec.Labels["zone"] != f.Labels["zone"]) ||
			rec.TimeMs < r.From.UnixMilli() || rec.TimeMs > r.To.UnixMilli() {
			continue
		}
		out = append(out, rec)
	}
	SortRecords(out, r.Sort, r.Order)
	capped := len(out) > r.MaxRows
	if capped {
		out = out[:r.MaxRows]
	}
	return &ReadResult{Records: out, Total: -1, Capped: capped, Requests: []string{fmt.Sprintf("list %+v", r.Filter)}}, nil
}

func (s *listSource) CheckHealth(context.Context) HealthResult { return HealthResult{OK: true} }

var t0 = time.Date(2026, 4, 16, 12, 0, 0, 0, time.UTC)

func listRecords() []Record {
	var recs []Record
	ports := []uint16{443, 80, 53, 22}
	for i := range 40 {
		start := t0.Add(time.Duration(i%10) * time.Minute).UnixMilli()
		recs = append(recs, Record{
			ID: fmt.Sprint("r", i), TimeMs: start + 60_000, StartMs: start, EndMs: start + 60_000,
			SrcIP: fmt.Sprint("10.0.0.", i%5), DstIP: fmt.Sprint("10.0.1.", i%3),
			SrcPort: ports[i%4], DstPort: ports[(i/4)%4], Protocol: 6, ProtocolName: "TCP",
			Bytes: int64(100 + i), Packets: 1, Labels: map[string]string{"zone": []string{"a", "b"}[i%2]},
		})
	}
	return recs
}

// "Port on either side" is composed for a source that only filters by source or destination
// port: two reads per port, merged, each record once.
func TestPortOnEitherSideIsComposed(t *testing.T) {
	src := &listSource{recs: listRecords()}
	e := New(src, Common{RowCap: 1000, PageSize: 100})
	set, err := e.Read(context.Background(), t0, t0.Add(time.Hour), Filters{Port: []uint16{443, 53}}, SortBytes, OrderDesc, 1000)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, r := range src.recs {
		if r.SrcPort == 443 || r.DstPort == 443 || r.SrcPort == 53 || r.DstPort == 53 {
			want[r.ID] = true
		}
	}
	got := map[string]bool{}
	for _, r := range set.Records {
		if got[r.ID] {
			t.Fatalf("record %s twice", r.ID)
		}
		got[r.ID] = true
	}
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for id := range want {
		if !got[id] {
			t.Fatalf("record %s missing", id)
		}
	}
	if len(src.reads) != 4 || len(set.Requests) != 4 {
		t.Fatalf("reads %v, requests %v; want one by source port and one by destination port per port", src.reads, set.Requests)
	}
	if !slices.IsSortedFunc(set.Records, func(a, b Record) int { return int(b.Bytes - a.Bytes) }) {
		t.Fatal("merged records are not in the asked order")
	}
	if d := e.Describe("list"); !slices.Contains(d.Filters, FilterPort) || slices.Contains(d.NativeFilters, FilterPort) {
		t.Fatalf("description filters %v native %v: port must be offered as composed", d.Filters, d.NativeFilters)
	}
}

// What the source cannot do is refused with the source and the missing capability named.
func TestUnsupportedNamesSourceAndCapability(t *testing.T) {
	e := New(&listSource{recs: listRecords()}, Common{RowCap: 1000, PageSize: 100})
	ctx := context.Background()
	_, err := e.Read(ctx, t0, t0.Add(time.Hour), Filters{Exporter: []string{"10.0.0.2"}}, SortTime, OrderDesc, 10)
	wantUnsupported(t, err, "exporter: 'filter' is not available from the Listing source (it has no filter exporter)")
	_, err = e.Series(ctx, SeriesSpec{GroupBy: GroupExporter, From: t0, To: t0.Add(time.Hour), Width: time.Minute}, Filters{})
	wantUnsupported(t, err, "groupBy: 'exporter' is not available from the Listing source (it has no group-by exporter); it offers none, protocol, src, zone")
	_, err = e.Series(ctx, SeriesSpec{Metric: MetricPackets, GroupBy: GroupNone, From: t0, To: t0.Add(time.Hour), Width: time.Minute}, Filters{})
	wantUnsupported(t, err, "metric: 'packets' is not available from the Listing source (it has no packets counts); it offers bytes, flows")
	_, err = e.TopTalkers(ctx, TalkersQuery{From: t0, To: t0.Add(time.Hour), Dim: GroupSrc, By: MetricPackets, Limit: 5})
	wantUnsupported(t, err, "by: 'packets' is not available from the Listing source")
	_, err = e.Read(ctx, t0, t0.Add(time.Hour), Filters{}, SortPackets, OrderDesc, 10)
	wantUnsupported(t, err, "sort: 'packets' is not available from the Listing source (it has no sort by packets)")
	_, err = e.VariableOptions(ctx, ValuesQuery{From: t0, To: t0.Add(time.Hour), Variable: VariableExporter, Limit: 5})
	wantUnsupported(t, err, "variable: 'exporter' is not available from the Listing source")
}

func wantUnsupported(t *testing.T, err error, want string) {
	t.Helper()
	var u *UnsupportedError
	if !errors.As(err, &u) || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %v, want an UnsupportedError starting %q", err, want)
	}
}

// A source's own dimension groups series under its label, filters reads, and lists values.
func TestSourceDimensionGroupsFiltersAndLists(t *testing.T) {
	src := &listSource{recs: listRecords()}
	e := New(src, Common{RowCap: 1000, PageSize: 100})
	ctx := context.Background()
	ans, err := e.Series(ctx, SeriesSpec{Metric: "bytes", Unit: "total", GroupBy: "zone", TopN: 10, From: t0, To: t0.Add(11 * time.Minute), Width: time.Minute}, Filters{})
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]float64{}
	for _, r := range src.recs {
		sums[r.Labels["zone"]] += float64(r.Bytes)
	}
	if len(ans.Result.Series) != 2 {
		t.Fatalf("series %+v", ans.Result.Series)
	}
	for _, s := range ans.Result.Series {
		var total float64
		for _, v := range s.Values {
			total += v
		}
		if z := s.Labels["src_zone"]; total != sums[z] || z == "" {
			t.Fatalf("series %v totals %v, want %v", s.Labels, total, sums[z])
		}
	}
	set, err := e.Read(ctx, t0, t0.Add(time.Hour), Filters{Labels: map[string][]string{"zone": {"a"}}}, SortTime, OrderDesc, 1000)
	if err != nil || len(set.Records) != 20 {
		t.Fatalf("zone filter: %d records, %v", len(set.Records), err)
	}
	opts, err := e.VariableOptions(ctx, ValuesQuery{From: t0, To: t0.Add(time.Hour), Variable: "zone", Limit: 5})
	if err != nil || len(opts) != 2 || opts[0].Value != "b" { // zone b holds the odd records, the larger ones
		t.Fatalf("zone values %v, %v", opts, err)
	}
}

// Without server-side aggregation, top talkers are computed from records, and say so.
func TestTopTalkersComputedWhenTheSourceDoesNotAggregate(t *testing.T) {
	src := &listSource{recs: listRecords()}
	e := New(src, Common{RowCap: 1000, PageSize: 100})
	agg, err := e.TopTalkers(context.Background(), TalkersQuery{From: t0, To: t0.Add(time.Hour), Now: t0.Add(time.Hour), Dim: GroupSrc, By: SortBytes, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]int64{}
	for _, r := range src.recs {
		sums[r.SrcIP] += r.Bytes
	}
	if len(agg.Talkers) != 2 || agg.Talkers[0].Bytes != sums[agg.Talkers[0].Key] || agg.Talkers[0].Key != "10.0.0.4" {
		t.Fatalf("talkers %+v, sums %v", agg.Talkers, sums)
	}
	if !strings.Contains(agg.ComputedBecause, "the Listing source does not aggregate on its server") {
		t.Fatalf("computed because %q", agg.ComputedBecause)
	}
}
