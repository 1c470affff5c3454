package calico_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/sources/calico"
	"github.com/flowlens/flows-datasource/pkg/sources/calico/internal/enginetest"
)

// The benchmark index: 7 days and 6 hours of traffic, just over 1,000,000 documents (91
// simulator flows a minute, ~1.07 documents each; the 7 days queried hold 979,082). Loading it
// takes minutes, so it is loaded once and kept by the engine; cmd/calico-loader -cluster bench
// -flows-per-minute 91 -end 2026-03-09T00:00:00Z -hours 174 loads the same documents.
var (
	benchEnd      = time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)
	benchFrom     = benchEnd.Add(-7 * 24 * time.Hour)
	benchLoadFrom = benchFrom.Add(-6 * time.Hour)
	benchCfg      = simulator.CalicoConfig{Cluster: "bench", FlowsPerMinute: 91}
)

const benchPattern = "tigera_secure_ee_flows.bench.*"

func benchSource(b *testing.B, e enginetest.Engine) (*calico.Source, *counter) {
	b.Helper()
	c := &counter{next: http.DefaultTransport}
	src, err := calico.New(calico.Settings{URL: e.URL, IndexPattern: benchPattern, TimeField: "end_time",
		FlushInterval: 300 * time.Second, Auth: e.Auth}, &http.Client{Transport: c, Timeout: 10 * time.Minute}, 1000)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	m, err := e.Client(b).MatchIndex(ctx, benchPattern)
	if err != nil {
		b.Fatal(err)
	}
	if m.Documents < 1_000_000 {
		b.Logf("%s: loading the 7-day index (has %d documents)", e, m.Documents)
		l := &simulator.CalicoBulkLoader{Client: e.HTTPClient(), BaseURL: e.URL}
		if err := l.PutTemplate(ctx); err != nil {
			b.Fatal(err)
		}
		if err := simulator.CalicoDocs(benchCfg, benchLoadFrom, benchEnd, func(d *simulator.CalicoDoc) error { return l.Add(ctx, d) }); err != nil {
			b.Fatal(err)
		}
		if _, err := l.Finish(ctx); err != nil {
			b.Fatal(err)
		}
		if m, err = e.Client(b).MatchIndex(ctx, benchPattern); err != nil || m.Documents < 1_000_000 {
			b.Fatalf("%s: the index holds %d documents after loading (%v)", e, m.Documents, err)
		}
	}
	b.Logf("%s: %d documents in %d shards", e, m.Documents, m.Shards)
	return src, c
}

// BenchmarkTraffic7Days is traffic over 7 days (bits per second, hourly buckets, top 10 +
// Other) by action and by source (addresses and, where masked, namespace/name) on the
// 1,000,000-document index: one search per query.
//
//	bash scripts/search-engines.sh run go test -run '^$' -bench Traffic7Days -benchtime 10x ./pkg/sources/calico/
func BenchmarkTraffic7Days(b *testing.B) {
	for _, e := range enginetest.Engines(b) {
		for _, groupBy := range []string{engine.GroupAction, engine.GroupSrc} {
			b.Run(e.String()+"/"+groupBy, func(b *testing.B) {
				src, reqs := benchSource(b, e)
				spec := engine.SeriesSpec{Metric: "bytes", Unit: "rate", GroupBy: groupBy, TopN: 10, Other: true,
					From: benchFrom, To: benchEnd, Width: time.Hour, MaxPoints: engine.MaxSeriesPoints}
				before := reqs.n.Load()
				b.ResetTimer()
				for b.Loop() {
					res, _, err := src.Series(context.Background(), spec, engine.Filters{})
					if err != nil {
						b.Fatal(err)
					}
					if res.Buckets < 7*24 || res.Buckets > 7*24+1 || len(res.Series) < 2 {
						b.Fatalf("%d buckets, %d series", res.Buckets, len(res.Series))
					}
				}
				b.StopTimer()
				if n := reqs.n.Load() - before; n != int64(b.N) {
					b.Fatalf("%d requests for %d queries", n, b.N)
				}
				b.ReportMetric(float64(reqs.n.Load()-before)/float64(b.N), "searches/op")
			})
		}
	}
}
