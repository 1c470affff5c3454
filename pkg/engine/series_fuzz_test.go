package engine

import (
	"math"
	"testing"
	"time"
)

// Whatever the range and the records' times (absurd, reversed, at the ends of int64), building
// series never panics, never makes more points than the cap, and counts every record kept
// exactly once: the values add up to the kept records' bytes.
func FuzzBuildSeriesExtremeTimes(f *testing.F) {
	f.Add(int64(1776340800000), int64(1776344400000), int64(1776342000000), int64(9e15), int64(60_000), uint8(3))
	f.Add(int64(-9e15), int64(9e15), int64(0), int64(-9e15), int64(60_000), uint8(0))
	f.Add(int64(math.MaxInt64), int64(math.MinInt64), int64(math.MinInt64), int64(math.MaxInt64), int64(1), uint8(1))
	f.Add(int64(0), int64(3_600_000), int64(1_800_000), int64(1_800_001), int64(math.MaxInt64), uint8(200))
	f.Fuzz(func(t *testing.T, from, to, start1, start2, widthMs int64, topN uint8) {
		width := time.Duration(min(max(widthMs, 1), int64(365*24*time.Hour/time.Millisecond))) * time.Millisecond
		recs := []Record{
			{ID: "a", StartMs: start1, SrcIP: "10.0.0.1", Bytes: 100},
			{ID: "b", StartMs: start2, SrcIP: "10.0.0.2", Bytes: 10},
			{ID: "c", StartMs: from/2 + to/2, SrcIP: "10.0.0.3", Bytes: 1},
		}
		spec := SeriesSpec{Metric: "bytes", Unit: "total", GroupBy: GroupSrc, TopN: int(topN%5) + 1, Other: true,
			From: time.UnixMilli(from), To: time.UnixMilli(to), Width: width, MaxPoints: MaxSeriesPoints, Window: time.Minute}
		res := BuildSeries(recs, spec)
		if len(res.Series)*res.Buckets > MaxSeriesPoints {
			t.Fatalf("%d series × %d buckets", len(res.Series), res.Buckets)
		}
		sum := 0.0
		for _, s := range res.Series {
			if len(s.Values) != res.Buckets {
				t.Fatalf("%d values for %d buckets", len(s.Values), res.Buckets)
			}
			for _, v := range s.Values {
				sum += v
			}
		}
		if res.Dropped == 0 && res.Buckets > 0 && sum != 111 {
			t.Fatalf("values add up to %v, the records to 111", sum)
		}
		if sum > 111 {
			t.Fatalf("values add up to %v, more than the records", sum)
		}
	})
}
