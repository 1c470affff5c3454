package calico_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/sources/calico"
	"github.com/flowlens/flows-datasource/pkg/sources/calico/elastic"
	"github.com/flowlens/flows-datasource/pkg/sources/calico/internal/enginetest"
)

// Four hours of traffic: more than 10,000 counted flows, so the flows table pages past the
// 10,000 hits that from+size allows.
var (
	dataFrom = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	dataTo   = dataFrom.Add(4 * time.Hour)
	dataCfg  = simulator.CalicoConfig{Cluster: "adaptertest"}
)

const (
	pattern = "tigera_secure_ee_flows.adaptertest.*"
	flushS  = 300
)

// counter counts the requests that reach the engine, and logs them as "METHOD /path status".
type counter struct {
	n    atomic.Int64
	next http.RoundTripper

	mu  sync.Mutex
	log []string
	// afterSearch, when set, is called after each search answer (the count so far).
	afterSearch func(searches int)
}

func (c *counter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	resp, err := c.next.RoundTrip(r)
	status := "error"
	if err == nil {
		status = strconv.Itoa(resp.StatusCode)
	}
	c.mu.Lock()
	c.log = append(c.log, r.Method+" "+r.URL.Path+" "+status)
	searches := 0
	for _, l := range c.log {
		if strings.Contains(l, "/_search ") {
			searches++
		}
	}
	hook := c.afterSearch
	c.mu.Unlock()
	if hook != nil && strings.HasSuffix(r.URL.Path, "/_search") {
		hook(searches)
	}
	return resp, err
}

// since returns the requests logged from index i on.
func (c *counter) since(i int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.log[i:])
}

func (c *counter) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.log)
}

type fixture struct {
	engine enginetest.Engine
	src    *calico.Source
	reqs   *counter
	docs   []simulator.CalicoDoc
}

func fixtures(t *testing.T) []fixture {
	t.Helper()
	var out []fixture
	for _, e := range enginetest.Engines(t) {
		docs := enginetest.Load(t, e, dataCfg, dataFrom, dataTo)
		c := &counter{next: http.DefaultTransport}
		src, err := calico.New(calico.Settings{URL: e.URL, IndexPattern: pattern, TimeField: "end_time",
			FlushInterval: flushS * time.Second, Auth: e.Auth}, &http.Client{Transport: c, Timeout: 2 * time.Minute}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fixture{engine: e, src: src, reqs: c, docs: docs})
	}
	return out
}

// oneRequest runs fn and fails unless it made exactly one request to the engine.
func (f fixture) oneRequest(t *testing.T, what string, fn func()) {
	t.Helper()
	before := f.reqs.n.Load()
	fn()
	if n := f.reqs.n.Load() - before; n != 1 {
		t.Errorf("%s: %s made %d requests, want one search", f.engine, what, n)
	}
}

// The range of the tests: a whole number of hours inside the data, away from its edges.
var (
	qFrom = dataFrom.Add(30 * time.Minute)
	qTo   = dataTo.Add(-30 * time.Minute)
)

func TestSeriesEqualTheTruth(t *testing.T) {
	for _, f := range fixtures(t) {
		truthFlows := flowsOf(f.docs, qFrom.Unix(), qTo.Unix())
		for _, tc := range []struct {
			groupBy, metric string
			topN            int
			filters         engine.Filters
		}{
			{"action", "bytes", 5, engine.Filters{}},
			{"action", "flows", 5, engine.Filters{}},
			{calico.DimDstNamespace, "bytes", 3, engine.Filters{}},
			{calico.DimSrcNamespace, "packets", 4, engine.Filters{}},
			{"src", "bytes", 5, engine.Filters{}},
			{"dst", "packets", 5, engine.Filters{}},
			{"pair", "bytes", 4, engine.Filters{}},
			{"protocol", "bytes", 3, engine.Filters{}},
			{"none", "bytes", 0, engine.Filters{}},
		} {
			spec := engine.SeriesSpec{Metric: tc.metric, Unit: "total", GroupBy: tc.groupBy, TopN: tc.topN, Other: true,
				From: qFrom, To: qTo, Width: 10 * time.Minute, MaxPoints: engine.MaxSeriesPoints}
			var res *engine.SeriesResult
			var reqs []string
			f.oneRequest(t, "series by "+tc.groupBy, func() {
				var err error
				res, reqs, err = f.src.Series(context.Background(), spec, tc.filters)
				if err != nil {
					t.Fatalf("%s: series by %s: %v", f.engine, tc.groupBy, err)
				}
			})
			if len(reqs) == 0 || !strings.HasPrefix(reqs[0], "POST /"+pattern+"/_search {") {
				t.Errorf("%s: executed %q, want the search and its body", f.engine, reqs)
			}
			want := bucketTotals(truthFlows, tc.groupBy, tc.metric, max(tc.topN, 1), 600, flushS)
			got := map[string]map[int64]int64{}
			for _, s := range res.Series {
				key := s.Display
				if tc.groupBy == "none" {
					key = ""
				}
				got[key] = map[int64]int64{}
				for b, v := range s.Values {
					if v != 0 {
						got[key][res.Start.UnixMilli()+int64(b)*res.Width.Milliseconds()] = int64(v)
					}
				}
			}
			if !equalNested(got, want) {
				t.Errorf("%s: series by %s (%s, top %d):\n got %v\nwant %v", f.engine, tc.groupBy, tc.metric, tc.topN, got, want)
			}
		}
	}
}

func equalNested(a, b map[string]map[int64]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, av := range a {
		bv, ok := b[k]
		if !ok || len(av) != len(bv) {
			return false
		}
		for kk, v := range av {
			if bv[kk] != v {
				return false
			}
		}
	}
	return true
}

// Rates are per second of the bucket: bits per second for bytes.
func TestSeriesRates(t *testing.T) {
	for _, f := range fixtures(t) {
		spec := engine.SeriesSpec{Metric: "bytes", Unit: "rate", GroupBy: "none", From: qFrom, To: qTo, Width: 10 * time.Minute}
		res, _, err := f.src.Series(context.Background(), spec, engine.Filters{})
		if err != nil {
			t.Fatal(err)
		}
		want := bucketTotals(flowsOf(f.docs, qFrom.Unix(), qTo.Unix()), "none", "bytes", 1, 600, flushS)[""]
		for b, v := range res.Series[0].Values {
			start := res.Start.UnixMilli() + int64(b)*res.Width.Milliseconds()
			if start < qFrom.UnixMilli() || start+600_000 > qTo.UnixMilli()-flushS*1000 {
				continue // edge buckets divide by the windows they hold inside the range
			}
			if w := float64(want[start]) * 8 / 600; math.Abs(v-w) > 1e-9*w {
				t.Errorf("%s: bucket %d: %v bit/s, want %v", f.engine, start, v, w)
			}
		}
	}
}

func TestTopTalkersEqualTheTruth(t *testing.T) {
	for _, f := range fixtures(t) {
		truthFlows := flowsOf(f.docs, qFrom.Unix(), qTo.Unix())
		for _, dim := range []string{"src", "dst", "pair"} {
			for _, by := range []string{"bytes", "packets"} {
				var got *engine.Aggregate
				f.oneRequest(t, "top talkers", func() {
					var err error
					got, err = f.src.TopTalkers(context.Background(), engine.TalkersRequest{From: qFrom, To: qTo, Dim: dim, By: by, Limit: 15})
					if err != nil {
						t.Fatalf("%s: %v", f.engine, err)
					}
				})
				want := totals(truthFlows, dim, by)[:15]
				if len(got.Talkers) != len(want) {
					t.Fatalf("%s %s/%s: %d talkers, want %d", f.engine, dim, by, len(got.Talkers), len(want))
				}
				for i, w := range want {
					g := got.Talkers[i]
					if g.Key != w.key || g.Bytes != w.bytes || g.Packets != w.packets || g.Flows != w.flows {
						t.Errorf("%s %s/%s #%d: got %+v, want %+v", f.engine, dim, by, i, g, w)
					}
				}
			}
		}
	}
}

// Addresses hidden by aggregation (0.0.0.0 in the index) are never a talker: their traffic
// goes to namespace/name_aggr, and all of it is accounted for.
func TestMaskedAddressesAreNeverTalkers(t *testing.T) {
	for _, f := range fixtures(t) {
		truthFlows := flowsOf(f.docs, qFrom.Unix(), qTo.Unix())
		var all int64
		for _, fl := range truthFlows {
			all += fl.bytes()
		}
		maskedSeen := false
		for _, dim := range []string{"src", "dst", "pair"} {
			got, err := f.src.TopTalkers(context.Background(), engine.TalkersRequest{From: qFrom, To: qTo, Dim: dim, By: "bytes", Limit: 100000})
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			for _, tk := range got.Talkers {
				for _, part := range strings.Split(tk.Key, " → ") {
					if part == "0.0.0.0" || part == "-" || part == "" || part == "::" {
						t.Errorf("%s %s: talker %q", f.engine, dim, tk.Key)
					}
					if strings.Contains(part, "/") && strings.HasSuffix(part, "-*") {
						maskedSeen = true
					}
				}
				sum += tk.Bytes
			}
			// Pairs have more keys than one search returns (each source's destinations are
			// capped): then the answer says its ranking was made over part of the keys.
			noticed := slices.ContainsFunc(got.Requests, func(r string) bool { return strings.HasPrefix(r, "Notice: Ranked among the first") })
			if sum != all && !(dim == "pair" && noticed && sum < all) {
				t.Errorf("%s %s: talkers hold %d bytes, the range %d (notice %v)", f.engine, dim, sum, all, noticed)
			}
		}
		if !maskedSeen {
			t.Errorf("%s: no masked traffic was attributed to namespace/name_aggr", f.engine)
		}
	}
}

func TestProtocolsEqualTheTruth(t *testing.T) {
	for _, f := range fixtures(t) {
		var got *engine.Aggregate
		f.oneRequest(t, "protocols", func() {
			var err error
			got, err = f.src.Protocols(context.Background(), engine.ProtocolsRequest{From: qFrom, To: qTo})
			if err != nil {
				t.Fatal(err)
			}
		})
		want := totals(flowsOf(f.docs, qFrom.Unix(), qTo.Unix()), "protocol", "bytes")
		if len(got.Protocols) != len(want) {
			t.Fatalf("%s: %d protocols, want %d: %+v", f.engine, len(got.Protocols), len(want), got.Protocols)
		}
		for i, w := range want {
			g := got.Protocols[i]
			wantName := w.key
			if wantName == "ICMP6" {
				wantName = "ICMPv6"
			}
			if g.Protocol != wantName || g.Bytes != w.bytes || g.Packets != w.packets || g.Flows != w.flows {
				t.Errorf("%s #%d: got %+v, want %+v", f.engine, i, g, w)
			}
		}
	}
}

func TestVariableValues(t *testing.T) {
	for _, f := range fixtures(t) {
		truthFlows := flowsOf(f.docs, qFrom.Unix(), qTo.Unix())
		for _, tc := range []struct{ variable, groupBy string }{
			{calico.DimDstNamespace, "dstNamespace"}, {calico.DimSrcNamespace, "srcNamespace"}, {"action", "action"},
		} {
			var got []engine.Option
			f.oneRequest(t, "values", func() {
				var err error
				got, _, err = f.src.Values(context.Background(), engine.ValuesRequest{From: qFrom, To: qTo, Variable: tc.variable})
				if err != nil {
					t.Fatal(err)
				}
			})
			var want, have []string
			for _, r := range totals(truthFlows, tc.groupBy, "flows") {
				want = append(want, r.key)
			}
			for _, o := range got {
				have = append(have, o.Value)
			}
			slices.Sort(want)
			slices.Sort(have)
			if !slices.Equal(have, want) {
				t.Errorf("%s %s: %v, want %v", f.engine, tc.variable, have, want)
			}
		}
		// Policies: the names inside Calico's "order|tier|name|action|rule".
		got, _, err := f.src.Values(context.Background(), engine.ValuesRequest{From: qFrom, To: qTo, Variable: calico.DimPolicy})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(got, func(o engine.Option) bool { return o.Value == "security.block-internet" }) {
			t.Errorf("%s: policies %v lack security.block-internet", f.engine, got)
		}
	}
}

// The flows table: every flow once (its counted report), newest first, one search per page,
// past the 10,000 hits from+size allows, no document twice or missing across pages; and a
// flow allowed by its source but denied by its destination shows once, as denied. On
// Elasticsearch (7 and 8; 8 refuses to sort on _id) the pages are read in a point in time,
// opened before the first page and closed after the last; on OpenSearch they sort on _id.
func TestFlowsTableAndTheCountOnceRule(t *testing.T) {
	for _, f := range fixtures(t) {
		truthFlows := flowsOf(f.docs, dataFrom.Unix(), dataTo.Unix())
		if len(truthFlows) <= 10_000 {
			t.Fatalf("only %d flows: the test needs more than 10,000", len(truthFlows))
		}
		mark := f.reqs.mark()
		res, err := f.src.ReadRecords(context.Background(), engine.ReadRequest{From: dataFrom, To: dataTo, Sort: engine.SortTime, Order: engine.OrderDesc, MaxRows: 1_000_000})
		if err != nil {
			t.Fatalf("%s: %v", f.engine, err)
		}
		wantPages := len(truthFlows)/1000 + 1
		checkPaging(t, f, f.reqs.since(mark), res.Requests, wantPages)
		if len(res.Records) != len(truthFlows) || res.Total != len(truthFlows) || res.Capped {
			t.Fatalf("%s: %d records (total %d, capped %v), want %d flows", f.engine, len(res.Records), res.Total, res.Capped, len(truthFlows))
		}
		byFlow := map[string]engine.Record{}
		for i, r := range res.Records {
			if i > 0 && r.TimeMs > res.Records[i-1].TimeMs {
				t.Fatalf("%s: row %d is newer than row %d", f.engine, i, i-1)
			}
			id := r.ID[:strings.LastIndexByte(r.ID, '-')]
			if _, dup := byFlow[id]; dup {
				t.Fatalf("%s: flow %s shows twice (row %d, page %d)", f.engine, id, i, i/1000+1)
			}
			byFlow[id] = r
		}
		disagreeing := 0
		for _, fl := range truthFlows {
			r, ok := byFlow[fl.id]
			if !ok {
				t.Fatalf("%s: flow %s is missing", f.engine, fl.id)
			}
			if r.Action != fl.action() || r.Bytes != fl.bytes() || r.Packets != fl.packets() || r.Flows != fl.flows() {
				t.Errorf("%s: flow %s shows %s %d B %d pkts %d flows, want %s %d %d %d", f.engine, fl.id,
					r.Action, r.Bytes, r.Packets, r.Flows, fl.action(), fl.bytes(), fl.packets(), fl.flows())
			}
			if len(fl.reports) == 2 && fl.reports[0].Action != fl.reports[1].Action {
				disagreeing++
			}
			// The direction: source → destination is the forward traffic whichever end reported.
			src := fl.reports[0]
			for _, d := range fl.reports {
				if d.Reporter == "src" {
					src = d
				}
			}
			fwd := src.BytesOut
			if src.Reporter == "dst" {
				fwd = src.BytesIn
			}
			if r.Directional == nil || r.Directional.BytesOut != fwd {
				t.Errorf("%s: flow %s source → destination %+v, want %d bytes", f.engine, fl.id, r.Directional, fwd)
			}
		}
		if disagreeing == 0 {
			t.Errorf("%s: the data has no flow the two ends disagree on", f.engine)
		}
	}
}

// checkPaging checks the requests one read of the flows table made (log: "METHOD /path
// status"; GET / once per source, to learn the engine) and its ExecutedQueryString.
func checkPaging(t *testing.T, f fixture, log, executed []string, wantPages int) {
	t.Helper()
	var searches []string
	for _, l := range log {
		if strings.HasPrefix(l, "POST ") && strings.Contains(l, "/_search ") {
			searches = append(searches, l)
		}
	}
	if len(searches) != wantPages {
		t.Errorf("%s: %d searches, want %d pages: %q", f.engine, len(searches), wantPages, log)
	}
	if len(executed) != 1 {
		t.Fatalf("%s: executed %q, want one description", f.engine, executed)
	}
	if f.engine.Name == elastic.Elasticsearch {
		open, pages, closing := "POST /"+pattern+"/_pit 200", "POST /_search 200", "DELETE /_pit 200"
		i := slices.Index(log, open)
		if i < 0 || log[len(log)-1] != closing || len(log)-i != wantPages+2 || slices.ContainsFunc(log[i+1:len(log)-1], func(l string) bool { return l != pages }) {
			t.Errorf("%s: requests %q, want %q, %d × %q, %q", f.engine, log, open, wantPages, pages, closing)
		}
		want := "POST /" + pattern + "/_pit?keep_alive=1m, then POST /_search {"
		if !strings.HasPrefix(executed[0], want) || !strings.Contains(executed[0], `"pit":{"id":"`) || strings.Contains(executed[0], `"_id"`) ||
			!strings.HasSuffix(executed[0], fmt.Sprintf(" (%d pages by search_after in the point in time, then DELETE /_pit)", wantPages)) {
			t.Errorf("%s: executed %q", f.engine, executed[0])
		}
		return
	}
	if !strings.HasPrefix(executed[0], "POST /"+pattern+"/_search {") || !strings.Contains(executed[0], `{"_id":{"order":"asc"}}`) ||
		!strings.HasSuffix(executed[0], fmt.Sprintf(" (%d pages by search_after)", wantPages)) {
		t.Errorf("%s: executed %q", f.engine, executed[0])
	}
}

// A data source's user who may only read the Calico indices (not GET /, which needs the
// monitor privilege) still gets the flows table through a point in time on Elasticsearch,
// every flow of the range once.
func TestFlowsTableForAReadOnlyUser(t *testing.T) {
	for _, f := range fixtures(t) {
		if f.engine.Reader.Kind == "" {
			continue // OpenSearch: no security plugin in the test build
		}
		c := &counter{next: http.DefaultTransport}
		src, err := calico.New(calico.Settings{URL: f.engine.URL, IndexPattern: pattern, TimeField: "end_time",
			FlushInterval: flushS * time.Second, Auth: f.engine.Reader}, &http.Client{Transport: c, Timeout: 2 * time.Minute}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		from, to := qFrom, qFrom.Add(time.Hour)
		truthFlows := flowsOf(f.docs, from.Unix(), to.Unix())
		res, err := src.ReadRecords(context.Background(), engine.ReadRequest{From: from, To: to, Sort: engine.SortTime, Order: engine.OrderAsc})
		if err != nil {
			t.Fatalf("%s: %v", f.engine, err)
		}
		// Before the point in time: GET / refused (403), or on a build without the root
		// endpoint (405) the nodes info refused.
		log := c.since(0)
		if i := slices.Index(log, "POST /"+pattern+"/_pit 200"); i < 1 || !strings.HasPrefix(log[i-1], "GET /") || !strings.HasSuffix(log[i-1], " 403") {
			t.Errorf("%s: requests %q, want the engine learnt from a refusal, then the point in time", f.engine, log)
		}
		checkPaging(t, f, log, res.Requests, len(truthFlows)/1000+1)
		seen := map[string]bool{}
		for i, r := range res.Records {
			if i > 0 && r.TimeMs < res.Records[i-1].TimeMs {
				t.Fatalf("%s: row %d is older than row %d", f.engine, i, i-1)
			}
			if seen[r.ID] {
				t.Fatalf("%s: %s shows twice", f.engine, r.ID)
			}
			seen[r.ID] = true
		}
		for _, fl := range truthFlows {
			found := false
			for _, d := range fl.reports {
				found = found || seen[d.ID]
			}
			if !found {
				t.Fatalf("%s: flow %s is missing", f.engine, fl.id)
			}
		}
		if len(res.Records) != len(truthFlows) {
			t.Errorf("%s: %d rows, want %d flows", f.engine, len(res.Records), len(truthFlows))
		}
	}
}

// A read that fails or is cancelled half way still closes its point in time.
func TestFlowsTableClosesItsPointInTime(t *testing.T) {
	for _, f := range fixtures(t) {
		if f.engine.Name != elastic.Elasticsearch {
			continue // OpenSearch pages without one
		}
		ctx, cancel := context.WithCancel(context.Background())
		f.reqs.mu.Lock()
		f.reqs.afterSearch = func(searches int) {
			if searches == 2 {
				cancel()
			}
		}
		f.reqs.mu.Unlock()
		mark := f.reqs.mark()
		_, err := f.src.ReadRecords(ctx, engine.ReadRequest{From: dataFrom, To: dataTo, Sort: engine.SortTime, Order: engine.OrderDesc, MaxRows: 1_000_000})
		cancel()
		f.reqs.mu.Lock()
		f.reqs.afterSearch = nil
		f.reqs.mu.Unlock()
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: a cancelled read gave %v", f.engine, err)
		}
		log := f.reqs.since(mark)
		if len(log) == 0 || log[len(log)-1] != "DELETE /_pit 200" {
			t.Errorf("%s: requests %q, want the point in time closed last", f.engine, log)
		}
	}
}

// Filtering on the reporter turns the count-once rule off: each end's own reports.
func TestReporterFilterShowsOneEndsReports(t *testing.T) {
	for _, f := range fixtures(t) {
		var want int64
		for _, d := range f.docs {
			if d.Reporter == "src" && d.EndTime >= qFrom.Unix() && d.EndTime <= qTo.Unix() {
				want += d.NumFlows
			}
		}
		res, _, err := f.src.Series(context.Background(), engine.SeriesSpec{Metric: "flows", Unit: "total", GroupBy: "none",
			From: qFrom, To: qTo, Width: time.Hour}, engine.Filters{Labels: map[string][]string{calico.DimReporter: {"src"}}})
		if err != nil {
			t.Fatal(err)
		}
		var got float64
		for _, v := range res.Series[0].Values {
			got += v
		}
		if int64(got) != want {
			t.Errorf("%s: reporter=src holds %v flows, want %d", f.engine, got, want)
		}
	}
}

// "Denied flows by namespace": one series per namespace that denied anything, labelled by it.
func TestDeniedFlowsByNamespace(t *testing.T) {
	for _, f := range fixtures(t) {
		truth := map[string]int64{}
		for _, fl := range flowsOf(f.docs, qFrom.Unix(), qTo.Unix()) {
			if fl.denied {
				truth[fl.key("dstNamespace")] += fl.flows()
			}
		}
		res, _, err := f.src.Series(context.Background(), engine.SeriesSpec{Metric: "flows", Unit: "total", GroupBy: calico.DimDstNamespace,
			TopN: 100, Other: true, From: qFrom, To: qTo, Width: time.Hour}, engine.Filters{Action: []string{"deny"}})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		for _, s := range res.Series {
			ns := s.Labels["dest_namespace"]
			if ns == "" || len(s.Labels) != 1 {
				t.Errorf("%s: series labels %v", f.engine, s.Labels)
			}
			for _, v := range s.Values {
				got[ns] += int64(v)
			}
		}
		if len(got) != len(truth) {
			t.Errorf("%s: %d namespaces, want %d: %v vs %v", f.engine, len(got), len(truth), got, truth)
		}
		for ns, n := range truth {
			if got[ns] != n {
				t.Errorf("%s: %s denied %d flows, want %d", f.engine, ns, got[ns], n)
			}
		}
	}
}
