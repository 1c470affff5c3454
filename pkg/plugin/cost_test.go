package plugin

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/simulator/simref"
)

// Issue 8, item 1: above the row cap the planner chooses by cost between look-back differences
// and paging through every record, aggregated page by page as it arrives (never held).

var planRequests = regexp.MustCompile(`^plan: ([0-9]+) requests?;`)

// planCount is the request count ExecutedQueryString states.
func planCount(t *testing.T, executed string) int64 {
	t.Helper()
	m := planRequests.FindStringSubmatch(executed)
	if m == nil {
		t.Fatalf("ExecutedQueryString shows no plan: %q", executed)
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n
}

// checkSeriesCells compares series frames (bytes, total or rate) with the reference cell by
// cell; Other is the reference's total minus the series shown.
func checkSeriesCells(t *testing.T, name string, frames data.Frames, ref *simref.Series, label, unit string, topN int) {
	t.Helper()
	totals := map[string]simref.Sum{}
	for k, v := range ref.ByKey {
		for _, s := range v {
			totals[k] = simref.Sum{Bytes: totals[k].Bytes + s.Bytes}
		}
	}
	ranked := simref.Ranked(totals, "bytes")
	want := map[string]bool{}
	for _, k := range ranked[:min(topN, len(ranked))] {
		want[k] = true
	}
	if len(ranked) > topN {
		want["Other"] = true
	}
	if len(frames) != len(want) {
		t.Fatalf("%s: %d series, reference %d", name, len(frames), len(want))
	}
	for _, f := range frames {
		key := f.Fields[1].Labels[label]
		if !want[key] {
			t.Fatalf("%s: series %q is not in the reference's top %d + Other", name, key, topN)
		}
		if f.Rows() != ref.Buckets || !f.Fields[0].At(0).(time.Time).Equal(ref.Start) {
			t.Fatalf("%s %s: %d buckets from %v, reference %d from %v", name, key, f.Rows(), f.Fields[0].At(0), ref.Buckets, ref.Start)
		}
		for b := range f.Rows() {
			var sum simref.Sum
			if key == "Other" {
				sum = ref.Total[b]
				for k := range want {
					if k != "Other" {
						sum.Bytes -= ref.ByKey[k][b].Bytes
					}
				}
			} else {
				sum = ref.ByKey[key][b]
			}
			w := float64(sum.Bytes)
			if unit == "rate" {
				w = ref.Rate(sum, "bytes", b)
			}
			v, ok := f.Fields[1].ConcreteAt(b)
			if !ok || !sameValue(toFloat(v), w) {
				t.Fatalf("%s %s bucket %d: %v, reference %v", name, key, b, v, w)
			}
		}
	}
}

// 40 flows/min over the last 24 h is 57,600 records, more than the default row cap (50,000):
// paging takes 56 pages where look-backs would take ~1,440 (2 min buckets), so the series are read by paging,
// aggregated page by page, and equal the reference cell by cell (by source, top 10 + Other,
// total; by protocol, rate). The plan and its request count are in ExecutedQueryString and
// equal the requests made (plus the count).
func TestPagingWinsStreamedExact(t *testing.T) {
	e, g := scaleEnv(t, simulator.Config{FlowsPerMinute: 40, History: 25 * time.Hour})
	ds := e.datasource(t, nil)
	traffic := simulator.NewTraffic(42, 40, nil)
	tr := backend.TimeRange{From: testNow.Add(-24 * time.Hour), To: testNow}
	cases := []struct {
		name, q, label, unit string
		key                  simref.Key
		topN                 int
	}{
		{"by source", `{"queryType":"flows","format":"timeseries","groupBy":"src","topN":10,"other":true,"metric":"bytes","unit":"total"}`, "src_ip", "total", simref.BySrc, 10},
		{"by protocol", `{"queryType":"flows","format":"timeseries","groupBy":"protocol","topN":10,"metric":"bytes","unit":"rate"}`, "protocol", "rate", simref.ByProtocol, 10},
	}
	for _, c := range cases {
		before := g.Total.Load()
		frames := runSeries(t, ds, tr, 2*time.Minute, c.q, nil)
		made := g.Total.Load() - before
		ref := simref.BucketSeries(traffic, tr.From, tr.To, 2*time.Minute, c.key)
		checkSeriesCells(t, c.name, frames, ref, c.label, c.unit, c.topN)
		executed := frames[0].Meta.ExecutedQueryString
		if !strings.Contains(executed, "chosen by cost: paging") || !strings.Contains(executed, "aggregated as each arrives") {
			t.Fatalf("%s: the plan should be paging, chosen by cost: %q", c.name, executed)
		}
		// Each query counts the range first (one request): a count under twice the row cap is
		// not reused, since the range may have crossed the cap since.
		const count = 1
		if n := planCount(t, executed); n+count != made || n < 55 || n > 60 {
			t.Fatalf("%s: the plan says %d requests, %d were made (with %d for the count): %q", c.name, n, made, count, executed)
		}
		for _, n := range notices(frames[0]) {
			t.Fatalf("%s: notice %q on an exact answer", c.name, n)
		}
	}

	// The editor's preview, the range counted: it names the paging plan and its request count,
	// which the query then makes.
	status, raw := callResource(t, ds, http.MethodPost, "preview", map[string]any{
		"query": json.RawMessage(cases[0].q), "from": tr.From.UnixMilli(), "to": tr.To.UnixMilli(), "intervalMs": 120_000})
	var p struct{ Notes []string }
	if err := json.Unmarshal(raw, &p); status != 200 || err != nil {
		t.Fatalf("preview: %d %s", status, raw)
	}
	var note string
	for _, n := range p.Notes {
		if strings.HasPrefix(n, "Paging plan:") {
			note = n
		}
	}
	m := aboutRequests.FindStringSubmatch(note)
	if m == nil || !strings.Contains(note, "chosen by cost: paging") {
		t.Fatalf("the preview names no paging plan: %q", p.Notes)
	}
	// About: the range is open, and its first page, which shows it holds more than a page, is
	// read again with the newest windows or the closed ones (two parts: one or two requests
	// more than the pages its records fill).
	before := g.Total.Load()
	runSeries(t, ds, tr, 2*time.Minute, cases[0].q, nil)
	est, _ := strconv.ParseInt(m[1], 10, 64)
	if made := g.Total.Load() - before; made < est || made > est+2 {
		t.Fatalf("the preview said about %d requests, the query made %d: %q", est, made, note)
	}
}

// 4000 flows/min over 1 h is 240,000 records: look-backs at the minute boundaries (scanning at
// most an hour each on the server) cost less than 240 pages, so they answer, exactly.
func TestLookbacksWinAtHighRate(t *testing.T) {
	e, _ := scaleEnv(t, simulator.Config{FlowsPerMinute: 4000, History: 90 * time.Minute})
	ds := e.datasource(t, nil)
	tr := backend.TimeRange{From: testNow.Add(-time.Hour), To: testNow}
	frames := runSeries(t, ds, tr, time.Minute, protocolSeriesQuery, nil)
	ref := simref.BucketSeries(simulator.NewTraffic(42, 4000, nil), tr.From, tr.To, time.Minute, simref.ByProtocol)
	checkSeriesExact(t, "4000 flows/min, 1 h", frames, ref, "protocol")
	executed := frames[0].Meta.ExecutedQueryString
	if !strings.Contains(executed, "chosen by cost: look-backs") || !strings.Contains(executed, "against paging") {
		t.Fatalf("the plan should be look-backs, chosen by cost: %q", executed)
	}
}

// A filtered query whose range holds more records than the row cap cannot use look-backs (the
// aggregate endpoints take no filter): when its pages fit the request budget it pages through
// them and is exact; when they do not, it is today's read of the row cap, with its warning.
func TestFilteredAboveRowCapIsExactWhenPagesFit(t *testing.T) {
	e, ds := pitfallEnv(t, simulator.Config{}, nil)
	tr := backend.TimeRange{From: testNow.Add(-5 * time.Hour), To: testNow.Add(-time.Hour)}
	// Only TCP: the key of every other record is left out of the reference.
	const out = "\x00not tcp"
	tcp := func(k simref.Key) simref.Key {
		return func(r *simulator.Record) string {
			if r.Protocol != 6 {
				return out
			}
			return k(r)
		}
	}
	ref := simref.BucketSeries(pitfallTraffic, tr.From, tr.To, 10*time.Minute, tcp(simref.ByDst))
	other := ref.ByKey[out]
	delete(ref.ByKey, out)
	for b := range ref.Total {
		ref.Total[b].Bytes -= other[b].Bytes
	}
	q := `{"queryType":"flows","format":"timeseries","groupBy":"dst","topN":5,"other":true,"metric":"bytes","unit":"total","protocol":"tcp"}`
	r := askQuery(t, ds, tr, 10*time.Minute, false, q)
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	checkSeriesCells(t, "filtered series", r.Frames, ref, "dst_ip", "total", 5)
	executed := r.Frames[0].Meta.ExecutedQueryString
	if !strings.Contains(executed, "aggregated as each arrives") || !strings.Contains(executed, "more than the row cap, 1000") {
		t.Fatalf("the filtered series should be paged: %q", executed)
	}
	if ns := notices(r.Frames[0]); len(ns) != 0 {
		t.Fatalf("notices %q on an exact answer", ns)
	}

	// Top talkers of the same filtered range, row by row.
	totals := simref.Totals(pitfallTraffic, tr.From, tr.To, tcp(simref.BySrc))
	delete(totals, out)
	r = askQuery(t, ds, tr, 10*time.Minute, false, `{"queryType":"topTalkers","dim":"src","by":"bytes","limit":10,"protocol":"tcp"}`)
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	checkTalkersExact(t, "filtered top talkers", r.Frames[0], totals, 10)
	if executed := r.Frames[0].Meta.ExecutedQueryString; !strings.Contains(executed, "aggregated as each arrives") {
		t.Fatalf("the filtered top talkers should be paged: %q", executed)
	}
	for _, n := range notices(r.Frames[0]) {
		if !strings.HasPrefix(n, "Computed from /api/v1/flows") {
			t.Fatalf("notice %q on an exact answer", n)
		}
	}

	// A request budget below the pages: the row cap's read, flagged, as before.
	ds.engine.UsePlanner(e.clock.Now, 8)
	r = askQuery(t, ds, tr, 10*time.Minute, false, q)
	if r.Error != nil {
		t.Fatal(r.Error)
	}
	if ns := strings.Join(notices(r.Frames[0]), " | "); !strings.Contains(ns, "of ") || !strings.Contains(ns, "row cap stopped the read") {
		t.Fatalf("pages over the budget: notices %q", ns)
	}
}
