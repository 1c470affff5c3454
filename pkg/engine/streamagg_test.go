package engine

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// feedPages hands records to add in pages of size, each page but the first repeating the last
// `repeat` records of the previous one, as a read sorted newest first repeats rows when a window
// is indexed while it pages.
func feedPages(recs []Record, size, repeat int, add func([]Record) error) error {
	for i := 0; i < len(recs); i += size {
		lo := max(i-repeat, 0)
		if i == 0 {
			lo = 0
		}
		if err := add(recs[lo:min(i+size, len(recs))]); err != nil {
			return err
		}
	}
	return nil
}

// Aggregating page by page gives what bucketing all the records at once gives, for every
// group-by and unit, with Other and without, whatever rows a page repeats from the previous one.
func TestStreamedSeriesEqualsRecords(t *testing.T) {
	recs := benchRecords(20_000)
	SortRecords(recs, SortTime, OrderDesc)
	for _, groupBy := range []string{GroupNone, GroupProtocol, GroupSrc, GroupDst, GroupPair, GroupDstPort, GroupExporter} {
		for _, unit := range []string{"total", "rate"} {
			for _, other := range []bool{true, false} {
				spec := SeriesSpec{Metric: MetricBytes, Unit: unit, GroupBy: groupBy, TopN: 3, Other: other,
					From: benchNow.Add(-24 * time.Hour), To: benchNow.Add(-90 * time.Second), Width: 5 * time.Minute, MaxPoints: MaxSeriesPoints, Window: time.Minute}
				want := BuildSeries(recs, spec)
				acc := newSeriesAccumulator(spec)
				if err := feedPages(recs, 700, 40, acc.page); err != nil {
					t.Fatal(err)
				}
				got := acc.result()
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s %s other=%v: streamed %d series × %d buckets from %v, records %d × %d from %v",
						groupBy, unit, other, len(got.Series), got.Buckets, got.Start, len(want.Series), want.Buckets, want.Start)
				}
			}
		}
	}
	// The point cap: 31 series of 1 min buckets over a day exceed it; the records path widens to
	// the next nice width, the streamed one to a multiple of the width it read (here the same).
	spec := SeriesSpec{Metric: MetricBytes, Unit: "total", GroupBy: GroupSrc, TopN: 30, Other: true,
		From: benchNow.Add(-24 * time.Hour), To: benchNow, Width: time.Minute, MaxPoints: MaxSeriesPoints, Window: time.Minute}
	acc := newSeriesAccumulator(spec)
	if err := feedPages(recs, 1000, 0, acc.page); err != nil {
		t.Fatal(err)
	}
	got, want := acc.result(), BuildSeries(recs, spec)
	if got.WidenedFrom != time.Minute || got.Width != want.Width || !reflect.DeepEqual(got.Series, want.Series) {
		t.Fatalf("widened: streamed %v from %v, records %v", got.Width, got.WidenedFrom, want.Width)
	}
}

// Top talkers and protocols page by page equal those computed from all the records.
func TestStreamedTotalsEqualRecords(t *testing.T) {
	recs := benchRecords(20_000)
	SortRecords(recs, SortTime, OrderDesc)
	for _, dim := range []string{GroupSrc, GroupDst, GroupPair} {
		for _, by := range []string{MetricBytes, MetricPackets} {
			acc := newTotalsAccumulator(dim)
			if err := feedPages(recs, 999, 25, acc.page); err != nil {
				t.Fatal(err)
			}
			if got, want := acc.talkers(by, 20), TalkersFromRecords(recs, dim, by, 20); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s by %s: streamed %v, records %v", dim, by, got, want)
			}
		}
	}
	acc := newTotalsAccumulator("")
	if err := feedPages(recs, 999, 25, acc.page); err != nil {
		t.Fatal(err)
	}
	if got, want := acc.protocols(), ProtocolsFromRecords(recs); !reflect.DeepEqual(got, want) {
		t.Fatalf("protocols: streamed %v, records %v", got, want)
	}
}

// Past the aggregate budget the read stops with an error naming the group-by and the budget,
// never an answer from part of the records.
func TestStreamedAggregateBudget(t *testing.T) {
	defer func(n int) { MaxAggregateCells = n }(MaxAggregateCells)
	MaxAggregateCells = 500
	recs := benchRecords(5_000)
	spec := SeriesSpec{Metric: MetricBytes, Unit: "total", GroupBy: GroupPair, TopN: 10, Other: true,
		From: benchNow.Add(-24 * time.Hour), To: benchNow, Width: time.Hour, MaxPoints: MaxSeriesPoints, Window: time.Minute}
	err := feedPages(recs, 1000, 0, newSeriesAccumulator(spec).page)
	var qe *QueryError
	if !errors.As(err, &qe) || qe.Field != "groupBy" || qe.Value != GroupPair || !strings.Contains(err.Error(), "more than 500 (series, bucket) cells") {
		t.Fatalf("series over the budget: %v", err)
	}
	err = feedPages(recs, 1000, 0, newTotalsAccumulator(GroupPair).page)
	if !errors.As(err, &qe) || qe.Field != "dim" || !strings.Contains(err.Error(), "more than 500 distinct keys") {
		t.Fatalf("talkers over the budget: %v", err)
	}
}
