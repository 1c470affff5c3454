package plugin

import (
	"fmt"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
)

// benchFlows makes n records over a day with a few thousand talkers, deterministically.
func benchFlows(n int) []flowsapi.Flow {
	tcp, udp := "TCP", "UDP"
	start := testNow.Add(-24 * time.Hour).Truncate(time.Minute).UnixMilli()
	out := make([]flowsapi.Flow, n)
	x := uint64(88172645463325252)
	next := func() uint64 { x ^= x << 13; x ^= x >> 7; x ^= x << 17; return x }
	for i := range out {
		ws := start + int64(i%1440)*60_000
		proto, name := uint8(6), &tcp
		if next()%4 == 0 {
			proto, name = 17, &udp
		}
		out[i] = flowsapi.Flow{
			ID: fmt.Sprint(i), Timestamp: ws + 60_000, WindowStart: ws, WindowEnd: ws + 60_000,
			SrcIP: fmt.Sprintf("10.%d.%d.%d", next()%4, next()%16, next()%32), DstIP: fmt.Sprintf("198.51.%d.%d", next()%20, next()%250),
			DstPort: uint16(next() % 1024), Protocol: proto, ProtocolName: name,
			Bytes: int64(next()%1_000_000 + 40), Packets: int64(next()%1000 + 1), ExporterIP: "10.0.0.1",
		}
	}
	return out
}

// BenchmarkBuildSeries aggregates 1,000,000 records into grouped buckets (docs/performance.md).
func BenchmarkBuildSeries(b *testing.B) {
	flows := benchFlows(1_000_000)
	for _, groupBy := range []string{"none", "protocol", "src", "pair"} {
		b.Run(groupBy, func(b *testing.B) {
			spec := seriesSpec{metric: "bytes", unit: "rate", groupBy: groupBy, topN: 10, other: true,
				from: testNow.Add(-24 * time.Hour), to: testNow, width: time.Minute, maxPoints: maxSeriesPoints}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				res := buildSeries(flows, spec)
				if len(res.series) == 0 {
					b.Fatal("no series")
				}
			}
			b.ReportMetric(float64(len(flows))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
