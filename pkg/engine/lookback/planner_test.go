package lookback

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/simulator/simref"
)

// simSource is the planner's Source over the simulator, counting requests.
type simSource struct {
	simCaller
}

func (c *simSource) Clock(context.Context) (ClockSample, error) {
	var page simulator.FlowsResponse
	c.s.get(simulator.PathFlows+"?limit=1", &page)
	sample := c.s.last
	if len(page.Flows) > 0 {
		sample.NewestEnd = page.Flows[0].Timestamp
	}
	return sample, nil
}

func (c *simSource) OldestEnd(context.Context) (int64, error) {
	var page simulator.FlowsResponse
	c.s.get(simulator.PathFlows+"?limit=1&order=asc", &page)
	if len(page.Flows) == 0 {
		return 0, nil
	}
	return page.Flows[0].Timestamp, nil
}

// big is 400 flows/min with 8 days of history and default settings: the planner's own tests.
// The acceptance setting (4000 flows/min) is checked through the plugin (TestExactAtScale in
// pkg/plugin); doing both would double the -race time.
func big(t *testing.T, local time.Time, cfg simulator.Config) (*sim, *simSource, *Planner) {
	cfg.FlowsPerMinute = 400
	cfg.History = 8 * 24 * time.Hour
	s := newSim(t, cfg, local)
	src := &simSource{*newCaller(s, 0, 0)}
	s.onCall = src.after
	p := NewPlanner(src, Config{Now: s.clock})
	return s, src, p
}

var bigTraffic = simulator.NewTraffic(simulator.DefaultSeed, 400, nil)

// checkSeries compares a planned series with the reference cell by cell: per protocol, total
// and rate (the rate follows from the total and the windows per bucket, as the plugin draws it).
func checkSeries(t *testing.T, name string, sp *SeriesPlan, ref *simref.Series) {
	t.Helper()
	if len(sp.Intervals) != ref.Buckets || sp.Start != ref.Start.UnixMilli() {
		t.Fatalf("%s: %d buckets from %d, reference %d from %v", name, len(sp.Intervals), sp.Start, ref.Buckets, ref.Start)
	}
	for b, iv := range sp.Intervals {
		if iv == nil {
			t.Fatalf("%s: bucket %d unread", name, b)
		}
		for k, v := range ref.ByKey {
			got := iv.Lo[k]
			if got.Bytes != v[b].Bytes || got.Packets != v[b].Packets || got.Flows != v[b].Flows || iv.Hi[k] != got {
				t.Fatalf("%s: bucket %d %s: %+v, reference %+v", name, b, k, got, v[b])
			}
			if ref.Rate(v[b], "bytes", b) != ref.Rate(simref.Sum{Bytes: got.Bytes}, "bytes", b) {
				t.Fatalf("%s: bucket %d %s: rate differs", name, b, k)
			}
		}
		for k := range iv.Lo {
			if _, ok := ref.ByKey[k]; !ok && iv.Hi[k] != (Row{Key: k}) {
				t.Fatalf("%s: bucket %d: %s is not in the reference", name, b, k)
			}
		}
	}
}

// Traffic by protocol over the last 24 h with 8 days of history: every
// bucket of every protocol equals the reference. Refreshing a minute later reads only what is
// new: at most 5 requests.
func TestProtocolSeries24hExactAndRefresh(t *testing.T) {
	local := time.Date(2026, 4, 16, 13, 0, 10, 0, time.UTC)
	s, src, p := big(t, local, simulator.Config{})
	q := SeriesQuery{From: local.Add(-24 * time.Hour), To: local, Width: 2 * time.Minute, GroupBy: "protocol"}
	sp, err := p.Series(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if sp.WidenedFrom != 0 || sp.Reason != "" {
		t.Fatalf("default budget should read 24 h at 2 min: widened from %v, %q", sp.WidenedFrom, sp.Reason)
	}
	checkSeries(t, "24h", sp, simref.BucketSeries(bigTraffic, q.From, q.To, q.Width, simref.ByProtocol))
	t.Logf("24 h: %d requests (%s)", sp.Requests, sp.Executed)

	s.now = local.Add(time.Minute)
	before := src.calls
	q2 := SeriesQuery{From: s.now.Add(-24 * time.Hour), To: s.now, Width: 2 * time.Minute, GroupBy: "protocol"}
	sp2, err := p.Series(context.Background(), q2)
	if err != nil {
		t.Fatal(err)
	}
	if n := src.calls - before; n > 5 || n != sp2.Requests {
		t.Errorf("refresh a minute later: %d requests (plan says %d), want at most 5", n, sp2.Requests)
	}
	checkSeries(t, "refresh", sp2, simref.BucketSeries(bigTraffic, q2.From, q2.To, q2.Width, simref.ByProtocol))
}

// Top talkers by src, dst and pair over a past 24 h range equal the reference row by row.
func TestPastTalkers24hExact(t *testing.T) {
	local := time.Date(2026, 4, 16, 13, 0, 10, 0, time.UTC)
	_, _, p := big(t, local, simulator.Config{})
	from, to := local.Add(-30*time.Hour), local.Add(-6*time.Hour)
	refs := simref.TotalsBy(bigTraffic, from, to, simref.BySrc, simref.ByDst, simref.ByPair)
	for i, dim := range []string{"src", "dst", "pair"} {
		tot, err := p.RangeTotals(context.Background(), from, to, dim, "bytes", 20, 1000, nil)
		if err != nil {
			t.Fatal(err)
		}
		ref := refs[i]
		if !tot.Exact {
			// At 400 flows/min the pairs are too many for two lists of 1000 to prove a top 20
			// (the plugin reads the records then); the rows must still hold the truth.
			if dim != "pair" {
				t.Fatalf("%s: not exact with complete lists", dim)
			}
			for j, r := range tot.Rows {
				if w := ref[r.Key].Bytes; w < r.Bytes || w > tot.Hi[j].Bytes {
					t.Fatalf("pair %s: true %d outside [%d, %d]", r.Key, w, r.Bytes, tot.Hi[j].Bytes)
				}
			}
			continue
		}
		ranked := simref.Ranked(ref, "bytes")[:20]
		for i, r := range tot.Rows {
			w := ref[ranked[i]]
			if r.Key != ranked[i] || r.Bytes != w.Bytes || r.Packets != w.Packets || r.Flows != w.Flows {
				t.Fatalf("%s row %d: %+v, reference %s %+v", dim, i, r, ranked[i], w)
			}
		}
		if tot.Plan.Requests > 8 {
			t.Errorf("%s: %d requests", dim, tot.Plan.Requests)
		}
	}
}

// The server's clock 40 s ahead or behind ours: with the offset estimated from the Date header
// the buckets stay exact.
func TestSeriesWithServerClockOffset(t *testing.T) {
	local := time.Date(2026, 4, 16, 13, 0, 10, 0, time.UTC)
	tr := simulator.NewTraffic(simulator.DefaultSeed, 300, nil)
	for _, off := range []time.Duration{40 * time.Second, -40 * time.Second} {
		s := newSim(t, simulator.Config{FlowsPerMinute: 300, History: 3 * time.Hour, ClockOffset: off}, local)
		p := newPlanner(s, Config{Now: s.clock})
		// A past range, so that the server's newest windows are not part of it either way.
		q := SeriesQuery{From: local.Add(-2 * time.Hour), To: local.Add(-10 * time.Minute), Width: 5 * time.Minute, GroupBy: "src", By: "bytes", Limit: 1000}
		sp, err := p.Series(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		checkSeries(t, fmt.Sprint("offset ", off), sp, simref.BucketSeries(tr, q.From, q.To, q.Width, simref.BySrc))
	}
}

// A budget below the range: the plan widens first; when even the widest buckets do not fit,
// the unread buckets are nil (drawn as no data, never 0) and the reason names the budget.
func TestTinyBudgetLeavesUnreadBucketsNull(t *testing.T) {
	local := time.Date(2026, 4, 16, 13, 0, 10, 0, time.UTC)
	tr := simulator.NewTraffic(simulator.DefaultSeed, 300, nil)
	s := newSim(t, simulator.Config{FlowsPerMinute: 300, History: 8 * time.Hour}, local)
	widths := []time.Duration{5 * time.Minute, 10 * time.Minute, time.Hour}
	q := SeriesQuery{From: local.Add(-6 * time.Hour), To: local, Width: time.Minute, GroupBy: "protocol", Widths: widths}

	wide := newPlanner(s, Config{MaxRequests: 40, Now: s.clock})
	sp, err := wide.Series(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Width != 10*time.Minute || sp.WidenedFrom != time.Minute || sp.Reason != "" {
		t.Fatalf("budget 40: width %v widened from %v (%q), want the first width that fits, 10m", sp.Width, sp.WidenedFrom, sp.Reason)
	}
	checkSeries(t, "widened", sp, simref.BucketSeries(tr, q.From, q.To, sp.Width, simref.ByProtocol))

	tiny := newPlanner(s, Config{MaxRequests: 5, Now: s.clock})
	sp, err = tiny.Series(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	ref := simref.BucketSeries(tr, q.From, q.To, sp.Width, simref.ByProtocol)
	read := 0
	for b, iv := range sp.Intervals {
		if iv == nil {
			if sp.Start+int64(b+1)*sp.Width.Milliseconds() > sp.CoveredFrom {
				t.Fatalf("bucket %d is inside the covered span but unread", b)
			}
			continue
		}
		read++
		for k, v := range ref.ByKey {
			if iv.Lo[k].Bytes != v[b].Bytes {
				t.Fatalf("bucket %d %s: %d, reference %d", b, k, iv.Lo[k].Bytes, v[b].Bytes)
			}
		}
	}
	if read == 0 || read == len(sp.Intervals) || !strings.Contains(sp.Reason, "5 requests") || sp.Requests > 5 {
		t.Fatalf("budget 5: %d of %d buckets read with %d requests, reason %q", read, len(sp.Intervals), sp.Requests, sp.Reason)
	}
}

// A range older than the server's retention is not read as zero traffic.
func TestRangeOlderThanRetention(t *testing.T) {
	local := time.Date(2026, 4, 16, 13, 0, 10, 0, time.UTC)
	s := newSim(t, simulator.Config{FlowsPerMinute: 100, History: 8 * time.Hour, Retention: 2 * time.Hour}, local)
	p := newPlanner(s, Config{Now: s.clock})
	sp, err := p.Series(context.Background(), SeriesQuery{From: local.Add(-3 * time.Hour), To: local.Add(-time.Hour), Width: 10 * time.Minute, GroupBy: "none"})
	if err != nil {
		t.Fatal(err)
	}
	unread := 0
	for b, iv := range sp.Intervals {
		end := sp.Start + int64(b+1)*sp.Width.Milliseconds()
		if end <= local.Add(-2*time.Hour).UnixMilli() && iv != nil {
			t.Fatalf("bucket %d is older than the retention but was read as %+v", b, iv.Total)
		}
		if iv == nil {
			unread++
		}
	}
	if unread == 0 || !strings.Contains(sp.Reason, "retention") {
		t.Fatalf("%d buckets unread, reason %q", unread, sp.Reason)
	}
}

// A server that caps limit on /top-talkers: the cut is detected (the rows no longer add up to
// the total), and values are exact or bounded, never silently low.
func TestTopTalkersCapIsDetected(t *testing.T) {
	local := time.Date(2026, 4, 16, 13, 0, 10, 0, time.UTC)
	tr := simulator.NewTraffic(simulator.DefaultSeed, 300, nil)
	s := newSim(t, simulator.Config{FlowsPerMinute: 300, History: 8 * time.Hour, TopTalkersMaxLimit: 5}, local)
	p := newPlanner(s, Config{Now: s.clock})
	from, to := local.Add(-4*time.Hour), local.Add(-time.Hour)
	tot, err := p.RangeTotals(context.Background(), from, to, "src", "bytes", 10, 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tot.Exact {
		t.Fatal("5 rows per list cannot prove a top 10 exact")
	}
	ref := simref.Totals(tr, from, to, simref.BySrc)
	for i, r := range tot.Rows {
		if w := ref[r.Key].Bytes; w < r.Bytes || w > tot.Hi[i].Bytes {
			t.Fatalf("%s: true %d outside [%d, %d]", r.Key, w, r.Bytes, tot.Hi[i].Bytes)
		}
	}
}

func newPlanner(s *sim, cfg Config) *Planner {
	src := &simSource{simCaller{s: s}}
	s.onCall = src.after
	return NewPlanner(src, cfg)
}
