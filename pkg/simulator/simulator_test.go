package simulator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var endpoints = []string{PathFlows, PathTopTalkers, PathProtocols}

func TestDeterminism(t *testing.T) {
	t.Parallel()
	urls := []string{
		PathFlows,
		PathFlows + "?sort=bytes&limit=200",
		PathFlows + "?sort=packets&order=asc&offset=30&limit=100",
		PathTopTalkers + "?dim=pair&limit=100",
		PathProtocols,
	}
	a, b := newTest(Config{Seed: 7}), newTest(Config{Seed: 7})
	other := newTest(Config{Seed: 8})
	for _, u := range urls {
		ba, bb := get(t, a, u), get(t, b, u)
		if ba != bb {
			t.Errorf("%s: same seed and clock gave different bodies", u)
		}
		if ba == get(t, other, u) {
			t.Errorf("%s: seeds 7 and 8 gave the same body", u)
		}
		if again := get(t, a, u); again != ba {
			t.Errorf("%s: repeated request differs", u)
		}
	}
}

// A window's records must not depend on what else was generated, or in which order.
func TestWindowIndependence(t *testing.T) {
	t.Parallel()
	q := fmt.Sprintf("from=%d&to=%d&limit=1000", t0.Add(-20*time.Minute).UnixMilli(), t0.UnixMilli())
	want := get(t, newTest(Config{History: time.Hour}), PathFlows+"?"+q)

	// Longer history: many more windows generated first.
	if got := get(t, newTest(Config{History: 30 * time.Hour}), PathFlows+"?"+q); got != want {
		t.Error("records depend on the history length")
	}
	// A clock that first runs far ahead, then comes back (windows generated in another order).
	c := newClock(t0.Add(5 * time.Hour))
	s := newTest(Config{Now: c.Now, History: 6 * time.Hour})
	get(t, s, PathFlows+"?sort=bytes")
	get(t, s, PathTopTalkers+"?window_secs=20000")
	c.Set(t0.Add(-2 * time.Hour))
	get(t, s, PathFlows)
	c.Set(t0)
	if got := get(t, s, PathFlows+"?"+q); got != want {
		t.Error("records depend on the order windows were generated in")
	}
	// Generator level: fresh generator vs one that generated other windows.
	m := t0.UnixMilli()/windowMs - 3
	g1 := newGenerator(5, 40, nil)
	g2 := newGenerator(5, 40, nil)
	for i := int64(0); i < 50; i++ {
		g2.window(m + 100 - i)
	}
	if !reflect.DeepEqual(g1.window(m), g2.window(m)) {
		t.Error("generator state leaks between windows")
	}
}

// TestFingerprint pins the generated data: integer-only generation must give
// the same records on every platform. Update the constant only when the
// generator is changed on purpose (it changes every dashboard and golden file).
func TestFingerprint(t *testing.T) {
	t.Parallel()
	s := newTest(Config{History: time.Hour})
	body := get(t, s, PathFlows+"?limit=1000&sort=bytes")
	sum := sha256.Sum256([]byte(body))
	got := hex.EncodeToString(sum[:8])
	const want = "12368f424cc1b01d"
	if got != want {
		t.Errorf("fingerprint of seed 1, 1 h at t0 = %s, want %s", got, want)
	}
}

func TestSpecDefaults(t *testing.T) {
	t.Parallel()
	s := newTest(Config{})
	cases := []struct{ def, explicit string }{
		{PathFlows, PathFlows + "?sort=timestamp&order=desc&limit=50&offset=0"},
		{PathFlows, PathFlows + fmt.Sprintf("?to=%d", t0.UnixMilli())},
		{PathTopTalkers, PathTopTalkers + "?window_secs=3600&by=bytes&dim=src&limit=20"},
		{PathProtocols, PathProtocols + "?window_secs=3600"},
	}
	for _, c := range cases {
		if a, b := get(t, s, c.def), get(t, s, c.explicit); a != b {
			t.Errorf("%s differs from %s", c.def, c.explicit)
		}
	}
	page := flows(t, s, "")
	if page.Limit != 50 || len(page.Flows) != 50 || page.Offset != 0 {
		t.Errorf("default page: limit %d, %d flows, offset %d", page.Limit, len(page.Flows), page.Offset)
	}
	for i := 1; i < len(page.Flows); i++ {
		a, b := page.Flows[i-1], page.Flows[i]
		if a.Timestamp < b.Timestamp || (a.Timestamp == b.Timestamp && a.ID > b.ID) {
			t.Fatalf("default order is not timestamp desc, id asc at %d", i)
		}
	}
	// Default window 3600 s: the protocols total equals /flows over the last hour.
	hour := flows(t, s, fmt.Sprintf("from=%d", t0.Add(-time.Hour).UnixMilli()))
	var n int64
	for _, p := range decode[[]ProtocolStat](t, get(t, s, PathProtocols)) {
		n += p.FlowCount
	}
	if n != int64(hour.Total) {
		t.Errorf("protocols flow_count sum %d, flows in the last hour %d", n, hour.Total)
	}
	if tt := decode[[]TopTalker](t, get(t, s, PathTopTalkers)); len(tt) != 20 {
		t.Errorf("default top-talkers rows %d, want 20", len(tt))
	}
}

func TestSortOrders(t *testing.T) {
	t.Parallel()
	s := newTest(Config{History: time.Hour, FlowsPerMinute: 20})
	base := all(t, s, url.Values{}, 1000)
	ids := func(fs []Flow) []string {
		out := make([]string, len(fs))
		for i, f := range fs {
			out[i] = f.ID
		}
		slices.Sort(out)
		return out
	}
	wantIDs := ids(base)
	for _, by := range []string{"timestamp", "bytes", "packets"} {
		for _, order := range []string{"asc", "desc"} {
			t.Run(by+"_"+order, func(t *testing.T) {
				got := all(t, s, url.Values{"sort": {by}, "order": {order}}, 97)
				if !slices.Equal(ids(got), wantIDs) {
					t.Fatal("sorting changed the set of records")
				}
				metric := func(f Flow) int64 {
					switch by {
					case "bytes":
						return f.Bytes
					case "packets":
						return f.Packets
					}
					return f.Timestamp
				}
				ties := 0
				for i := 1; i < len(got); i++ {
					a, b := metric(got[i-1]), metric(got[i])
					if order == "desc" {
						a, b = b, a
					}
					if a > b {
						t.Fatalf("not sorted by %s %s at %d", by, order, i)
					}
					if a == b {
						ties++
						if got[i-1].ID >= got[i].ID {
							t.Fatalf("tie at %d not broken by id ascending", i)
						}
					}
				}
				if ties == 0 {
					t.Error("no ties exercised")
				}
			})
		}
	}
}

func TestPaging(t *testing.T) {
	t.Parallel()
	s := newTest(Config{History: 15 * time.Minute})
	whole := flows(t, s, "limit=1000&sort=bytes")
	if whole.Total > 1000 || whole.Total < 300 {
		t.Fatalf("unexpected total %d", whole.Total)
	}
	for _, limit := range []int{1, 7, 50, 999} {
		got := all(t, s, url.Values{"sort": {"bytes"}}, limit)
		if !reflect.DeepEqual(got, whole.Flows) {
			t.Errorf("limit %d: pages differ from one big page", limit)
		}
	}
	// Past the end: empty page, total still reported.
	past := flows(t, s, fmt.Sprintf("offset=%d", whole.Total+5))
	if past.Total != whole.Total || len(past.Flows) != 0 || past.Flows == nil {
		t.Errorf("offset past the end: total %d, flows %v", past.Total, past.Flows)
	}
	if !strings.Contains(get(t, s, PathFlows+"?offset=100000"), `"flows":[]`) {
		t.Error("an empty page must encode flows as []")
	}
}

func TestMaxLimit(t *testing.T) {
	t.Parallel()
	s := newTest(Config{MaxLimit: 30, History: 30 * time.Minute})
	for q, want := range map[string]int64{"limit=500": 30, "": 30, "limit=30": 30, "limit=29": 29} {
		p := flows(t, s, q)
		if p.Limit != want || int64(len(p.Flows)) != want {
			t.Errorf("%q: limit %d, %d flows; want %d", q, p.Limit, len(p.Flows), want)
		}
	}
	if n := len(decode[[]TopTalker](t, get(t, s, PathTopTalkers+"?dim=pair&limit=500"))); n != 30 {
		t.Errorf("top-talkers rows %d, want the cap 30", n)
	}
	if n := len(decode[[]TopTalker](t, get(t, New(Config{Token: tok, MaxLimit: 5, Now: fixed(t0), Log: bytes.NewBuffer(nil)}), PathTopTalkers+"?limit=20"))); n != 5 {
		t.Errorf("top-talkers rows %d, want the cap 5", n)
	}
	// Paging advances by what was returned.
	got := all(t, s, url.Values{}, 1000)
	if len(got) != flows(t, s, "").Total {
		t.Error("paging under the cap lost records")
	}
}

func TestFilters(t *testing.T) {
	t.Parallel()
	s := newTest(Config{History: 2 * time.Hour, FlowsPerMinute: 20, MaxLimit: 100_000})
	base := all(t, s, url.Values{}, 100_000)
	filter := func(keep func(Flow) bool) []Flow {
		var out []Flow
		for _, f := range base {
			if keep(f) {
				out = append(out, f)
			}
		}
		return out
	}
	find := func(cond func(Flow) bool) Flow {
		for _, f := range base {
			if cond(f) {
				return f
			}
		}
		t.Fatal("no such record")
		return Flow{}
	}
	v6 := find(func(f Flow) bool { return strings.Contains(f.SrcIP, ":") })
	srcPort := find(func(f Flow) bool { return f.SrcPort > 30000 }).SrcPort
	win := base[len(base)/2].Timestamp

	cases := []struct {
		name  string
		query url.Values
		keep  func(Flow) bool
	}{
		{"src_ip v4", url.Values{"src_ip": {base[0].SrcIP}}, func(f Flow) bool { return f.SrcIP == base[0].SrcIP }},
		{"dst_ip v4", url.Values{"dst_ip": {"1.1.1.1"}}, func(f Flow) bool { return f.DstIP == "1.1.1.1" }},
		{"src_ip v6 upper case", url.Values{"src_ip": {strings.ToUpper(v6.SrcIP)}}, func(f Flow) bool { return f.SrcIP == v6.SrcIP }},
		{"dst_ip v6 long form", url.Values{"dst_ip": {"2606:4700:4700:0:0:0:0:1111"}}, func(f Flow) bool { return f.DstIP == "2606:4700:4700::1111" }},
		{"src_ip v4-mapped", url.Values{"src_ip": {"::ffff:" + base[0].SrcIP}}, func(f Flow) bool { return f.SrcIP == base[0].SrcIP }},
		{"src_ip unknown", url.Values{"src_ip": {"192.0.2.99"}}, func(f Flow) bool { return false }},
		{"port dst side", url.Values{"port": {"53"}}, func(f Flow) bool { return f.SrcPort == 53 || f.DstPort == 53 }},
		{"port src side", url.Values{"port": {fmt.Sprint(srcPort)}}, func(f Flow) bool { return f.SrcPort == srcPort || f.DstPort == srcPort }},
		{"protocol tcp", url.Values{"protocol": {"6"}}, func(f Flow) bool { return f.Protocol == 6 }},
		{"protocol icmpv6", url.Values{"protocol": {"58"}}, func(f Flow) bool { return f.Protocol == 58 }},
		{"protocol unnamed", url.Values{"protocol": {"253"}}, func(f Flow) bool { return f.Protocol == 253 }},
		{"protocol none", url.Values{"protocol": {"0"}}, func(f Flow) bool { return false }},
		{"exporter v4", url.Values{"exporter": {"10.0.1.1"}}, func(f Flow) bool { return f.ExporterIP == "10.0.1.1" }},
		{"exporter v6", url.Values{"exporter": {"FD00:0::1"}}, func(f Flow) bool { return f.ExporterIP == "fd00::1" }},
		{"exporter unknown", url.Values{"exporter": {"10.9.9.9"}}, func(f Flow) bool { return false }},
		{"from inclusive", url.Values{"from": {fmt.Sprint(win)}}, func(f Flow) bool { return f.Timestamp >= win }},
		{"to inclusive", url.Values{"to": {fmt.Sprint(win)}}, func(f Flow) bool { return f.Timestamp <= win }},
		{"one window", url.Values{"from": {fmt.Sprint(win)}, "to": {fmt.Sprint(win)}}, func(f Flow) bool { return f.Timestamp == win }},
		{"between windows", url.Values{"from": {fmt.Sprint(win - 59_999)}, "to": {fmt.Sprint(win - 1)}}, func(f Flow) bool { return false }},
		{"from after to", url.Values{"from": {fmt.Sprint(win)}, "to": {fmt.Sprint(win - 60_000)}}, func(f Flow) bool { return false }},
		{"combined", url.Values{"protocol": {"6"}, "port": {"443"}, "exporter": {"10.0.0.1"}, "from": {fmt.Sprint(win - 3_600_000)}},
			func(f Flow) bool {
				return f.Protocol == 6 && (f.SrcPort == 443 || f.DstPort == 443) && f.ExporterIP == "10.0.0.1" && f.Timestamp >= win-3_600_000
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := filter(c.keep)
			for _, sortBy := range []string{"timestamp", "bytes"} {
				q := url.Values{"sort": {sortBy}}
				for k, v := range c.query {
					q[k] = v
				}
				got := all(t, s, q, 100_000)
				gotIDs, wantIDs := map[string]bool{}, map[string]bool{}
				for _, f := range got {
					gotIDs[f.ID] = true
				}
				for _, f := range want {
					wantIDs[f.ID] = true
				}
				if !reflect.DeepEqual(gotIDs, wantIDs) {
					t.Fatalf("sort=%s: %d records, want %d", sortBy, len(got), len(want))
				}
			}
			if !strings.Contains(c.name, "none") && !strings.Contains(c.name, "unknown") &&
				!strings.Contains(c.name, "between") && !strings.Contains(c.name, "after") && len(want) == 0 {
				t.Error("filter matched nothing; the test exercises nothing")
			}
		})
	}
	// The port filter really matches on the source side.
	if len(filter(func(f Flow) bool { return f.SrcPort == srcPort && f.DstPort != srcPort })) == 0 {
		t.Error("no source-side port match")
	}
}

func TestAggregationInvariant(t *testing.T) {
	t.Parallel()
	for _, now := range []time.Time{t0, t0.Truncate(time.Minute), t0.Add(17*time.Minute + 59*time.Second)} {
		s := newTest(Config{History: 2 * time.Hour, FlowsPerMinute: 15, MaxLimit: 1_000_000, Now: fixed(now)})
		for _, w := range []int64{1, 59, 60, 61, 600, 3600, 3 * 3600} {
			recs := all(t, s, url.Values{"from": {fmt.Sprint(now.UnixMilli() - w*1000)}, "to": {fmt.Sprint(now.UnixMilli())}}, 1_000_000)
			for _, dim := range []string{"src", "dst", "pair"} {
				for _, by := range []string{"bytes", "packets"} {
					got := decode[[]TopTalker](t, get(t, s, fmt.Sprintf("%s?window_secs=%d&dim=%s&by=%s&limit=1000000", PathTopTalkers, w, dim, by)))
					if want := aggregate(recs, dim, by); !reflect.DeepEqual(got, want) {
						t.Fatalf("now %v window %d dim %s by %s: top-talkers differ from /flows (%d vs %d rows)", now, w, dim, by, len(got), len(want))
					}
					short := decode[[]TopTalker](t, get(t, s, fmt.Sprintf("%s?window_secs=%d&dim=%s&by=%s&limit=3", PathTopTalkers, w, dim, by)))
					if want := aggregate(recs, dim, by); len(want) > 3 && !reflect.DeepEqual(short, want[:3]) {
						t.Fatalf("limit=3 is not the first 3 rows")
					}
				}
			}
			got := decode[[]ProtocolStat](t, get(t, s, fmt.Sprintf("%s?window_secs=%d", PathProtocols, w)))
			if want := aggregateProtocols(recs); !reflect.DeepEqual(got, want) {
				t.Fatalf("now %v window %d: protocols differ from /flows: %v vs %v", now, w, got, want)
			}
		}
	}
}

func TestPairKey(t *testing.T) {
	t.Parallel()
	s := newTest(Config{})
	rows := decode[[]TopTalker](t, get(t, s, PathTopTalkers+"?dim=pair&limit=1000"))
	re := regexp.MustCompile(`^[0-9a-f.:]+ \x{2192} [0-9a-f.:]+$`)
	v6 := false
	for _, r := range rows {
		if !re.MatchString(r.Key) {
			t.Fatalf("pair key %q", r.Key)
		}
		v6 = v6 || strings.Contains(r.Key, ":")
	}
	if !v6 {
		t.Error("no IPv6 pair in the last hour")
	}
	if !strings.Contains(get(t, s, PathTopTalkers+"?dim=pair"), " → ") {
		t.Error("→ must be sent as UTF-8, not escaped")
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := newTest(Config{})
	for _, p := range endpoints {
		for name, hdr := range map[string]string{
			"missing": "", "wrong": "Bearer nope", "basic": "Basic dGVzdA==", "no token": "Bearer ",
			"prefix": "Bearer " + tok + "x",
		} {
			req := httptest.NewRequest(http.MethodGet, p, nil)
			if hdr != "" {
				req.Header.Set("Authorization", hdr)
			}
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("%s %s: status %d", p, name, rec.Code)
			}
			if !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s: WWW-Authenticate %q", p, name, rec.Header().Get("WWW-Authenticate"))
			}
			var e struct{ Error string }
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Errorf("%s %s: body %q", p, name, rec.Body.String())
			}
			if strings.Contains(rec.Body.String(), tok) {
				t.Errorf("%s %s: the token leaks into the error", p, name)
			}
		}
		req := httptest.NewRequest(http.MethodGet, p, nil)
		req.Header.Set("Authorization", "bearer "+tok)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("%s: lower-case scheme: status %d", p, rec.Code)
		}
	}
	if r := do(New(Config{Now: fixed(t0), Log: bytes.NewBuffer(nil)}), "GET", PathProtocols, "demo-token"); r.status != 200 {
		t.Errorf("default token demo-token: status %d", r.status)
	}
}

func TestBadRequests(t *testing.T) {
	t.Parallel()
	s := newTest(Config{})
	cases := []struct{ path, query, param string }{
		{PathFlows, "from=abc", "from"},
		{PathFlows, "from=1.5e12", "from"},
		{PathFlows, "to=yesterday", "to"},
		{PathFlows, "src_ip=10.0.0.300", "src_ip"},
		{PathFlows, "dst_ip=example.com", "dst_ip"},
		{PathFlows, "dst_ip=fe80::1%25eth0", "dst_ip"},
		{PathFlows, "port=70000", "port"},
		{PathFlows, "port=-1", "port"},
		{PathFlows, "port=http", "port"},
		{PathFlows, "protocol=300", "protocol"},
		{PathFlows, "protocol=tcp", "protocol"},
		{PathFlows, "exporter=10.0.0", "exporter"},
		{PathFlows, "sort=foo", "sort"},
		{PathFlows, "sort=Bytes", "sort"},
		{PathFlows, "order=up", "order"},
		{PathFlows, "offset=-1", "offset"},
		{PathFlows, "limit=0", "limit"},
		{PathFlows, "limit=-5", "limit"},
		{PathFlows, "limit=ten", "limit"},
		{PathFlows, "port=53&port=443", "port"},
		{PathFlows, "src_ip=", "src_ip"},
		{PathTopTalkers, "window_secs=0", "window_secs"},
		{PathTopTalkers, "window_secs=1h", "window_secs"},
		{PathTopTalkers, "by=flows", "by"},
		{PathTopTalkers, "dim=both", "dim"},
		{PathTopTalkers, "limit=0", "limit"},
		{PathProtocols, "window_secs=-60", "window_secs"},
	}
	for _, c := range cases {
		r := do(s, http.MethodGet, c.path+"?"+c.query, tok)
		var e struct{ Error string }
		if r.status != http.StatusBadRequest || json.Unmarshal([]byte(r.body), &e) != nil ||
			!strings.HasPrefix(e.Error, c.param+": ") || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s?%s: %d %s, want 400 with error %q…", c.path, c.query, r.status, r.body, c.param+": ")
		}
	}
	// Unknown parameters are ignored; huge windows cover everything.
	for _, u := range []string{PathFlows + "?foo=bar&format=table", PathTopTalkers + "?window_secs=9223372036854775807", PathProtocols + "?bar=1"} {
		if r := do(s, http.MethodGet, u, tok); r.status != http.StatusOK {
			t.Errorf("%s: status %d %s", u, r.status, r.body)
		}
	}
}

func TestNotFoundAndMethod(t *testing.T) {
	t.Parallel()
	s := newTest(Config{})
	for _, p := range []string{"/", "/api/v1/flow", "/api/v1/flows/", "/api/v1/flows/top_talkers"} {
		r := do(s, http.MethodGet, p, tok)
		if r.status != http.StatusNotFound || !json.Valid([]byte(r.body)) {
			t.Errorf("%s: %d %q", p, r.status, r.body)
		}
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodHead} {
		r := do(s, m, PathFlows, tok)
		if r.status != http.StatusMethodNotAllowed || r.header.Get("Allow") != "GET" {
			t.Errorf("%s: %d, Allow %q", m, r.status, r.header.Get("Allow"))
		}
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	s := newTest(Config{Fault: &Fault{Status: 503, RetryAfter: 1500 * time.Millisecond}})
	for _, p := range append(endpoints, "/nope") {
		r := do(s, http.MethodGet, p, tok)
		if r.status != 503 || r.header.Get("Retry-After") != "2" || r.body != `{"error":"injected fault"}` ||
			r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d Retry-After %q body %q", p, r.status, r.header.Get("Retry-After"), r.body)
		}
	}

	s.SetFault(&Fault{Status: 502, Body: "<html>bad gateway</html>", Paths: []string{PathTopTalkers}})
	r := do(s, http.MethodGet, PathTopTalkers, tok)
	if r.status != 502 || r.body != "<html>bad gateway</html>" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") ||
		r.header.Get("Retry-After") != "" {
		t.Errorf("html fault: %d %q %q", r.status, r.body, r.header.Get("Content-Type"))
	}
	if r := do(s, http.MethodGet, PathFlows, tok); r.status != 200 {
		t.Errorf("path not in Paths: status %d", r.status)
	}

	s.SetFault(&Fault{Malformed: true})
	for _, p := range endpoints {
		r := do(s, http.MethodGet, p, tok)
		if r.status != 200 || json.Valid([]byte(r.body)) || r.body == "" {
			t.Errorf("%s malformed: %d %q", p, r.status, r.body)
		}
	}

	s.SetFault(&Fault{Status: 429, RetryAfter: time.Second, Count: 2})
	var got []int
	for range 4 {
		got = append(got, do(s, http.MethodGet, PathFlows, tok).status)
	}
	if !slices.Equal(got, []int{429, 429, 200, 200}) {
		t.Errorf("Count 2: statuses %v", got)
	}
	s.SetFault(&Fault{Count: 1})
	if r := do(s, http.MethodGet, PathProtocols, tok); r.status != 500 {
		t.Errorf("default status: %d", r.status)
	}
	s.SetFault(nil)
	if r := do(s, http.MethodGet, PathProtocols, tok); r.status != 200 {
		t.Errorf("after SetFault(nil): %d", r.status)
	}

	// Count is exact under concurrency; SetFault is goroutine-safe.
	s.SetFault(&Fault{Status: 500, Count: 25})
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if do(s, http.MethodGet, PathProtocols, tok).status == 500 {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			s.SetFault(&Fault{Status: 500, Count: 25, Paths: []string{"/other"}})
			s.SetFault(&Fault{Status: 500, Count: 25})
		}
	})
	wg.Wait()
	s.SetFault(&Fault{Status: 500, Count: 25})
	failed = 0
	for range 8 {
		wg.Go(func() {
			for range 10 {
				if do(s, http.MethodGet, PathProtocols, tok).status == 500 {
					mu.Lock()
					failed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if failed != 25 {
		t.Errorf("Count 25 over 80 concurrent requests: %d failed", failed)
	}
}

func TestIdle(t *testing.T) {
	t.Parallel()
	idle := func(ws time.Time) bool { return ws.Minute()%10 < 3 }
	s := newTest(Config{Idle: idle, History: time.Hour})
	recs := all(t, s, url.Values{}, 1000)
	busy := map[int64]bool{}
	for _, f := range recs {
		if idle(time.UnixMilli(f.WindowStart)) {
			t.Fatalf("record %s in idle window %v", f.ID, time.UnixMilli(f.WindowStart).UTC())
		}
		busy[f.WindowStart] = true
	}
	if len(busy) < 60*7/10-2 {
		t.Errorf("only %d busy windows", len(busy))
	}
	// Idle stretches do not change the busy windows.
	plain := all(t, newTest(Config{History: time.Hour}), url.Values{}, 1000)
	var want []Flow
	for _, f := range plain {
		if !idle(time.UnixMilli(f.WindowStart)) {
			want = append(want, f)
		}
	}
	if !reflect.DeepEqual(recs, want) {
		t.Error("idle windows changed other windows")
	}

	always := newTest(Config{Idle: func(time.Time) bool { return true }})
	if p := flows(t, always, ""); p.Total != 0 || len(p.Flows) != 0 {
		t.Errorf("all idle: %d records", p.Total)
	}
	for _, p := range []string{PathTopTalkers, PathProtocols} {
		if b := strings.TrimSpace(get(t, always, p)); b != "[]" {
			t.Errorf("%s all idle: %s", p, b)
		}
	}
}

func TestGrowthAndRetention(t *testing.T) {
	t.Parallel()
	start := t0.Truncate(time.Minute)
	c := newClock(start.Add(-time.Millisecond))
	s := newTest(Config{Now: c.Now, History: time.Hour, FlowsPerMinute: 10})
	from := fmt.Sprint(start.Add(-30 * time.Minute).UnixMilli())

	before := flows(t, s, "limit=1000&from="+from)
	// Rolling retention: the oldest window is the first with window_start >= now - History.
	checkOldest := func(step int) {
		t.Helper()
		o := flows(t, s, "order=asc&limit=1")
		h := c.Now().Add(-time.Hour).UnixMilli()
		if want := (h + 59_999) / 60_000 * 60_000; len(o.Flows) == 0 || o.Flows[0].WindowStart != want {
			t.Fatalf("step %d: oldest window %+v, want %d", step, o.Flows, want)
		}
	}
	checkOldest(-1)
	for step := range 5 {
		c.Add(time.Millisecond) // exactly on the window end: published
		after := flows(t, s, "limit=1000&from="+from)
		newest := start.Add(time.Duration(step) * time.Minute).UnixMilli()
		added := 0
		for _, f := range after.Flows {
			if f.Timestamp == newest {
				added++
				if f.WindowStart != newest-60_000 {
					t.Fatalf("new record %s in window %d", f.ID, f.WindowStart)
				}
			} else if f.Timestamp > newest {
				t.Fatalf("unpublished record %s (timestamp %d > now %d)", f.ID, f.Timestamp, c.Now().UnixMilli())
			}
		}
		if added == 0 || after.Total != before.Total+added || !reflect.DeepEqual(after.Flows[added:], before.Flows[:len(after.Flows)-added]) {
			t.Fatalf("step %d: total %d → %d with %d new records", step, before.Total, after.Total, added)
		}
		checkOldest(step)
		// Within the window nothing new is published.
		c.Add(59_999 * time.Millisecond)
		if again := flows(t, s, "limit=1000&from="+from); again.Total != after.Total {
			t.Fatalf("step %d: total changed inside a window", step)
		}
		checkOldest(step)
		before = flows(t, s, "limit=1000&from="+from)
	}
	// History length in windows: 60 on a minute boundary, 59 between boundaries.
	for _, d := range []time.Duration{0, time.Millisecond, 30 * time.Second} {
		c.Set(start.Add(d))
		wins := map[int64]bool{}
		for _, f := range all(t, s, url.Values{}, 1000) {
			wins[f.WindowStart] = true
		}
		want := 60
		if d != 0 {
			want = 59
		}
		if len(wins) != want {
			t.Errorf("1 h history at +%v: %d windows, want %d", d, len(wins), want)
		}
	}
}

func TestRecords(t *testing.T) {
	t.Parallel()
	s := newTest(Config{History: 24 * time.Hour})
	var p FlowsResponse
	for _, w := range s.snapshot(t0).wins {
		for _, r := range w.recs {
			p.Flows = append(p.Flows, r.Flow)
		}
	}
	n := len(p.Flows)
	if mean := float64(n) / 1440; mean < 36 || mean > 44 {
		t.Errorf("mean %.1f records per window, want ≈ 40", mean)
	}
	idRe := regexp.MustCompile(`^[0-9a-f]{16}$`)
	ids := map[string]bool{}
	count := map[string]int{}
	named, unnamed := map[string]string{}, map[string]bool{}
	for _, f := range p.Flows {
		if !idRe.MatchString(f.ID) || ids[f.ID] {
			t.Fatalf("bad or duplicate id %q", f.ID)
		}
		ids[f.ID] = true
		if f.WindowStart%60_000 != 0 || f.WindowEnd != f.WindowStart+60_000 || f.Timestamp != f.WindowEnd {
			t.Fatalf("%s: window %d–%d timestamp %d", f.ID, f.WindowStart, f.WindowEnd, f.Timestamp)
		}
		if f.FirstSeenMs < f.WindowStart || f.LastSeenMs < f.FirstSeenMs || f.LastSeenMs >= f.WindowEnd {
			t.Fatalf("%s: seen %d–%d outside the window", f.ID, f.FirstSeenMs, f.LastSeenMs)
		}
		if f.Packets < 1 || f.Bytes < 40*f.Packets || f.Bytes > 1500*f.Packets {
			t.Fatalf("%s: %d bytes in %d packets", f.ID, f.Bytes, f.Packets)
		}
		if f.Protocol != 6 && f.TCPFlags != 0 {
			t.Fatalf("%s: tcp_flags %d on protocol %d", f.ID, f.TCPFlags, f.Protocol)
		}
		if ported := f.Protocol == 6 || f.Protocol == 17 || f.Protocol == 132; ported != (f.DstPort != 0) || ported != (f.SrcPort != 0) {
			t.Fatalf("%s: ports %d/%d on protocol %d", f.ID, f.SrcPort, f.DstPort, f.Protocol)
		}
		if (f.Protocol == 6 || f.Protocol == 17) && f.SrcPort < 32768 {
			t.Fatalf("%s: src port %d not ephemeral", f.ID, f.SrcPort)
		}
		v6 := strings.Contains(f.SrcIP, ":")
		if v6 != strings.Contains(f.DstIP, ":") || (v6 && f.Protocol == 1) || (!v6 && f.Protocol == 58) {
			t.Fatalf("%s: %s → %s protocol %d", f.ID, f.SrcIP, f.DstIP, f.Protocol)
		}
		if f.SrcIP == f.DstIP {
			t.Fatalf("%s: src == dst", f.ID)
		}
		if f.ProtocolName == nil {
			unnamed[fmt.Sprint(f.Protocol)] = true
		} else {
			named[fmt.Sprint(f.Protocol)] = *f.ProtocolName
		}
		want := map[string]int{"10.0.0.1": 9, "10.0.0.2": 9, "10.0.1.1": 10, "fd00::1": 10}[f.ExporterIP]
		if want == 0 || f.Version != want {
			t.Fatalf("%s: exporter %s version %d", f.ID, f.ExporterIP, f.Version)
		}
		count["proto"+fmt.Sprint(f.Protocol)]++
		count["exp"+f.ExporterIP]++
		if v6 {
			count["v6"]++
		}
		if f.DstHostname != nil {
			count["dsthost"]++
		}
		if f.DstIP == "1.1.1.1" && (f.DstHostname == nil || *f.DstHostname != "one.one.one.one") {
			t.Fatalf("1.1.1.1 hostname %v", f.DstHostname)
		}
		if f.SrcIP == "10.0.0.10" && (f.SrcHostname == nil || *f.SrcHostname != "nas.lab.internal") {
			t.Fatalf("10.0.0.10 hostname %v", f.SrcHostname)
		}
		if f.SrcIP == "10.0.0.5" && f.SrcHostname != nil {
			t.Fatalf("10.0.0.5 hostname %v", *f.SrcHostname)
		}
	}
	share := func(k string) float64 { return float64(count[k]) / float64(n) }
	for k, r := range map[string][2]float64{
		"proto6": {0.66, 0.74}, "proto17": {0.19, 0.25}, "v6": {0.12, 0.18},
		"proto1": {0.025, 0.045}, "proto58": {0.003, 0.01}, "proto47": {0.005, 0.02},
		"proto50": {0.005, 0.02}, "proto132": {0.003, 0.012}, "proto253": {0.003, 0.012},
		"expfd00::1": {0.12, 0.18}, "dsthost": {0.01, 0.5},
	} {
		if v := share(k); v < r[0] || v > r[1] {
			t.Errorf("share of %s = %.3f, want %.3f–%.3f", k, v, r[0], r[1])
		}
	}
	wantNames := map[string]string{"1": "ICMP", "6": "TCP", "17": "UDP", "47": "GRE", "50": "ESP", "58": "ICMPv6", "132": "SCTP"}
	if !reflect.DeepEqual(named, wantNames) || !reflect.DeepEqual(unnamed, map[string]bool{"253": true}) {
		t.Errorf("protocol names %v, unnamed %v", named, unnamed)
	}
	if !strings.Contains(get(t, s, PathFlows+"?protocol=253&limit=1"), `"protocol_name":null`) {
		t.Error("protocol_name must be null for 253")
	}
	if !strings.Contains(get(t, s, PathProtocols), `"protocol":"253"`) {
		t.Error("protocols must name 253 as \"253\"")
	}
	// Heavy tails: a few talkers dominate.
	top := decode[[]TopTalker](t, get(t, s, PathTopTalkers+"?window_secs=86400&by=packets&limit=100000"))
	var totalFlows, top5 int64
	counts := []int64{}
	for _, r := range top {
		totalFlows += r.FlowCount
		counts = append(counts, r.FlowCount)
	}
	slices.Sort(counts)
	slices.Reverse(counts)
	for _, c := range counts[:5] {
		top5 += c
	}
	if len(top) < 100 || float64(top5)/float64(totalFlows) < 0.25 {
		t.Errorf("%d sources, top 5 carry %.2f of the flows", len(top), float64(top5)/float64(totalFlows))
	}
}

func TestLatencyAndLog(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	s := newTest(Config{Latency: 30 * time.Millisecond, Log: &buf})
	start := time.Now()
	do(s, http.MethodGet, PathProtocols+"?window_secs=60&x="+tok, tok)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("latency not applied: %v", d)
	}
	do(s, http.MethodGet, PathFlows, "wrong")
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "GET "+PathProtocols+"?window_secs=60&x=REDACTED 200 ") ||
		!strings.Contains(lines[1], "GET "+PathFlows+" 401 ") {
		t.Errorf("log:\n%s", out)
	}
	if strings.Contains(out, tok) {
		t.Error("the token was logged")
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// Concurrent requests while the clock moves (run with -race).
func TestConcurrent(t *testing.T) {
	t.Parallel()
	c := newClock(t0)
	s := newTest(Config{Now: c.Now, History: 2 * time.Hour})
	srv := httptest.NewServer(s)
	defer srv.Close()
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			for j := range 15 {
				u := srv.URL + []string{PathFlows + "?sort=bytes", PathFlows, PathTopTalkers + "?dim=pair", PathProtocols}[(i+j)%4]
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := srv.Client().Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("%s: %d", u, resp.StatusCode)
				}
				if i == 0 {
					c.Add(time.Minute)
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkFlowsPage24h measures one /flows page over a warm 24 h history at 40/min (a speed
// figure for docs/performance.md, not a test: machines running the suite are shared).
func BenchmarkFlowsPage24h(b *testing.B) {
	s := newTest(Config{History: 24 * time.Hour})
	for _, q := range []string{"", "sort=bytes&limit=1000", "port=443", "sort=packets&order=asc&offset=20000&limit=1000", "src_ip=10.0.0.10&sort=bytes"} {
		b.Run(q, func(b *testing.B) {
			get(b, s, PathFlows+"?"+q)
			for b.Loop() {
				get(b, s, PathFlows+"?"+q)
			}
		})
	}
}

func BenchmarkColdStart24h(b *testing.B) {
	for b.Loop() {
		s := newTest(Config{History: 24 * time.Hour})
		get(b, s, PathFlows)
	}
}
