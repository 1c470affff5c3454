package plugin

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// A multi-value variable becomes one request per value; the answers merge into what the union
// of those values holds, for aggregations and series as for tables.
func TestMultiValueFiltersFanOutAndMerge(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	raw := e.rawFlows(t, testNow.Add(-time.Hour), testNow)
	top := column[string](t, one(t, ds, lastHour(), `{"queryType":"topTalkers","dim":"src","limit":3}`)[0], "src_ip")
	chosen := map[string]bool{top[1]: true, top[2]: true}
	dstBytes, total := map[string]int64{}, 0.0
	for _, f := range raw {
		if chosen[f.SrcIP] {
			dstBytes[f.DstIP] += f.Bytes
			total += float64(f.Bytes)
		}
	}
	list := fmt.Sprintf(`[%q,%q]`, top[1], top[2])

	frame := one(t, ds, lastHour(), `{"queryType":"topTalkers","dim":"dst","limit":1000,"srcIp":`+list+`}`)[0]
	if n := strings.Count(frame.Meta.ExecutedQueryString, "GET /api/v1/flows?"); n != 2 {
		t.Fatalf("%d requests for two values:\n%s", n, frame.Meta.ExecutedQueryString)
	}
	dst, bytes := column[string](t, frame, "dst_ip"), column[int64](t, frame, "bytes")
	if len(dst) != len(dstBytes) {
		t.Fatalf("%d destinations, want %d", len(dst), len(dstBytes))
	}
	for i, ip := range dst {
		if bytes[i] != dstBytes[ip] {
			t.Fatalf("%s: %d bytes, want %d", ip, bytes[i], dstBytes[ip])
		}
	}

	series := runSeries(t, ds, lastHour(), time.Minute, `{"queryType":"flows","format":"timeseries","unit":"total","srcIp":`+list+`}`, nil)
	sum := 0.0
	for _, v := range seriesByName(t, series)[""].values {
		sum += v
	}
	if !near(sum, total) {
		t.Fatalf("series total %v, want %v", sum, total)
	}
}
