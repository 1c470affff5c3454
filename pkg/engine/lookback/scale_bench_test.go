package lookback

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/simulator/simref"
)

// BenchmarkScale runs the planner against the simulator at 40, 400 and 4000 flows/min over
// 1 h, 6 h, 24 h and 7 d (8 days of history), for traffic by protocol, traffic by source and
// past top talkers by pair, and prints requests, time, peak heap and whether each answer equals
// the reference computed from every record. SCALE_RATES / SCALE_RANGES narrow it down
// (e.g. SCALE_RATES=40,400 SCALE_RANGES=1h,6h).
//
//	go test ./pkg/engine/lookback -run XXX -bench Scale -benchtime 1x
func BenchmarkScale(b *testing.B) {
	rates := pick(os.Getenv("SCALE_RATES"), "40,400,4000")
	ranges := pick(os.Getenv("SCALE_RANGES"), "1h,6h,24h,168h")
	local := time.Date(2026, 4, 16, 13, 0, 10, 0, time.UTC)
	fmt.Println("| flows/min | range | query | requests | time | peak heap | exact |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	for range b.N {
		for _, rate := range rates {
			var perMin int
			fmt.Sscan(rate, &perMin)
			tr := simulator.NewTraffic(simulator.DefaultSeed, perMin, nil)
			for _, rs := range ranges {
				span, _ := time.ParseDuration(rs)
				s := newSimB(b, simulator.Config{FlowsPerMinute: perMin, History: 8 * 24 * time.Hour}, local)
				src := &simSource{simCaller{s: s.sim}}
				s.onCall = src.after
				p := NewPlanner(src, Config{Now: s.clock})
				width := panelWidth(span)
				from, to := local.Add(-span), local
				widths := []time.Duration{5 * time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 3 * time.Hour, 6 * time.Hour, 24 * time.Hour}

				run := func(name string, f func() (int, bool)) {
					runtime.GC()
					peak := startPeak()
					start := time.Now()
					n, exact := f()
					d := time.Since(start)
					fmt.Printf("| %d | %s | %s | %d | %v | %d MB | %v |\n", perMin, rs, name, n, d.Round(time.Millisecond), peak()>>20, exact)
				}
				run("traffic by protocol", func() (int, bool) {
					q := SeriesQuery{From: from, To: to, Width: width, GroupBy: "protocol", Widths: widths}
					sp, err := p.Series(context.Background(), q)
					if err != nil {
						b.Fatal(err)
					}
					return sp.Requests, seriesEqual(sp, simref.BucketSeries(tr, from, to, sp.Width, simref.ByProtocol), false)
				})
				run("traffic by source", func() (int, bool) {
					q := SeriesQuery{From: from, To: to, Width: width, GroupBy: "src", By: "bytes", Limit: 1000, Widths: widths}
					sp, err := p.Series(context.Background(), q)
					if err != nil {
						b.Fatal(err)
					}
					return sp.Requests, seriesEqual(sp, simref.BucketSeries(tr, from, to, sp.Width, simref.BySrc), true)
				})
				run("past top talkers (pair)", func() (int, bool) {
					pf, pt := from.Add(-span), to.Add(-span)
					if span > 4*24*time.Hour {
						pf, pt = local.Add(-8*24*time.Hour+time.Hour), local.Add(-time.Hour)
					}
					tot, err := p.RangeTotals(context.Background(), pf, pt, "pair", "bytes", 20, 1000)
					if err != nil {
						b.Fatal(err)
					}
					ref := simref.Totals(tr, pf, pt, simref.ByPair)
					ranked := simref.Ranked(ref, "bytes")
					ok := tot.Exact
					for i, r := range tot.Rows {
						if i >= len(ranked) || r.Key != ranked[i] || r.Bytes != ref[r.Key].Bytes {
							ok = false
						}
					}
					return tot.Plan.Requests, ok
				})
			}
		}
	}
}

type simB struct{ *sim }

func newSimB(b *testing.B, cfg simulator.Config, now time.Time) simB {
	return simB{newSim(b, cfg, now)}
}

func pick(v, def string) []string {
	if v == "" {
		v = def
	}
	return strings.Split(v, ",")
}

// panelWidth is the interval Grafana gives a ~1000 px panel, rounded to whole minutes.
func panelWidth(span time.Duration) time.Duration {
	return max(time.Minute, (span/1000+time.Minute-1)/time.Minute*time.Minute)
}

func seriesEqual(sp *SeriesPlan, ref *simref.Series, allowBounds bool) bool {
	if len(sp.Intervals) != ref.Buckets {
		return false
	}
	for b, iv := range sp.Intervals {
		if iv == nil {
			return false
		}
		for k, v := range ref.ByKey {
			if iv.Lo[k].Bytes != v[b].Bytes || iv.Hi[k].Bytes != v[b].Bytes {
				return false
			}
		}
	}
	return true
}

// startPeak samples the heap until stopped and returns the peak.
func startPeak() func() uint64 {
	done := make(chan struct{})
	res := make(chan uint64)
	go func() {
		var peak uint64
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			peak = max(peak, m.HeapAlloc)
			select {
			case <-done:
				res <- peak
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return func() uint64 { close(done); return <-res }
}
