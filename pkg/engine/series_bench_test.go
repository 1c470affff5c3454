package engine

import (
	"fmt"
	"testing"
	"time"
)

var benchNow = time.Date(2026, 4, 16, 12, 0, 30, 0, time.UTC)

// benchRecords makes n records over a day with a few thousand talkers, deterministically.
func benchRecords(n int) []Record {
	start := benchNow.Add(-24 * time.Hour).Truncate(time.Minute).UnixMilli()
	out := make([]Record, n)
	x := uint64(88172645463325252)
	next := func() uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
	for i := range out {
		ws := start + int64(i%1440)*60_000
		proto, name := uint8(6), "TCP"
		if next()%4 == 0 {
			proto, name = 17, "UDP"
		}
		out[i] = Record{
			ID: fmt.Sprint(i), TimeMs: ws + 60_000, StartMs: ws, EndMs: ws + 60_000,
			SrcIP: fmt.Sprintf("10.%d.%d.%d", next()%4, next()%16, next()%32), DstIP: fmt.Sprintf("198.51.%d.%d", next()%20, next()%250),
			DstPort: uint16(next() % 1024), Protocol: proto, ProtocolName: name,
			Bytes: int64(next()%1_000_000 + 40), Packets: int64(next()%1000 + 1), Exporter: "10.0.0.1",
		}
	}
	return out
}

// BenchmarkBuildSeries aggregates 1,000,000 records into grouped buckets (docs/performance.md).
func BenchmarkBuildSeries(b *testing.B) {
	flows := benchRecords(1_000_000)
	for _, groupBy := range []string{"none", "protocol", "src", "pair"} {
		b.Run(groupBy, func(b *testing.B) {
			spec := SeriesSpec{Metric: "bytes", Unit: "rate", GroupBy: groupBy, TopN: 10, Other: true,
				From: benchNow.Add(-24 * time.Hour), To: benchNow, Width: time.Minute, MaxPoints: MaxSeriesPoints, Window: time.Minute}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res := BuildSeries(flows, spec)
				if len(res.Series) == 0 {
					b.Fatal("no series")
				}
			}
			b.ReportMetric(float64(len(flows))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
