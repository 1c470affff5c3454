package lookback

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/simulator/simref"
)

func TestSecsLandsMidWindow(t *testing.T) {
	now := int64(1_776_340_812_345)
	for _, end := range []int64{1_776_340_800_000, 1_776_340_740_000, 1_776_337_200_000} {
		s := Secs(now, end)
		edge := now - s*1000
		if edge > end-30_000 || edge <= end-31_000 {
			t.Errorf("end %d: look-back %d s starts at %d, want within 1 s before %d", end, s, edge, end-30_000)
		}
	}
	if s := Secs(now, 1_776_340_860_000); s != 0 {
		t.Errorf("a window ending after now needs no look-back, got %d", s)
	}
}

func TestBoundaries(t *testing.T) {
	// 10:00:20 – 10:14:50, 5 min buckets: windows end 10:01 … 10:14.
	base := time.Date(2026, 4, 16, 10, 0, 0, 0, time.UTC).UnixMilli()
	b, start := Boundaries(base+20_000, base+14*60_000+50_000, 5*time.Minute)
	m := func(min int64) int64 { return base + min*60_000 }
	want := []int64{m(1), m(6), m(11), m(15)}
	if fmt.Sprint(b) != fmt.Sprint(want) || start != base {
		t.Errorf("boundaries %v start %d, want %v start %d", b, start, want, base)
	}
}

func TestOffset(t *testing.T) {
	local := time.Date(2026, 4, 16, 10, 0, 10, 0, time.UTC)
	for _, off := range []time.Duration{40 * time.Second, -40 * time.Second, 0, 3 * time.Hour} {
		server := local.Add(off)
		got, unc := Offset(ClockSample{Sent: local.Add(-20 * time.Millisecond), Received: local.Add(20 * time.Millisecond),
			Date: server.Truncate(time.Second), NewestEnd: server.Truncate(time.Minute).UnixMilli()})
		if d := got - off; d < -unc || d > unc || unc > Tolerance {
			t.Errorf("offset %v: estimated %v ± %v", off, got, unc)
		}
		// Without a Date header the newest window brackets the server's now, too loosely to
		// place look-back edges.
		got, unc = Offset(ClockSample{Sent: local, Received: local, NewestEnd: server.Truncate(time.Minute).UnixMilli()})
		if d := got - off; d < -unc || d > unc || unc <= Tolerance {
			t.Errorf("offset %v without Date: estimated %v ± %v", off, got, unc)
		}
	}
}

// sim is a simulator with a settable caller clock and a clock offset.
type sim struct {
	mu   sync.Mutex // the plan calls concurrently: one request at a time
	cmu  sync.Mutex // guards now
	t    testing.TB
	srv  *simulator.Server
	now  time.Time // the caller's clock
	cfg  simulator.Config
	last ClockSample
	// onCall runs after each request, under mu.
	onCall func()
}

func newSim(t testing.TB, cfg simulator.Config, now time.Time) *sim {
	s := &sim{t: t, now: now}
	cfg.Now = s.clock
	cfg.Log = io.Discard
	s.cfg = cfg
	s.srv = simulator.New(cfg)
	return s
}

// clock is the caller's clock.
func (s *sim) clock() time.Time {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	return s.now
}

// advance moves the caller's clock on.
func (s *sim) advance(d time.Duration) {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	s.now = s.now.Add(d)
}

func (s *sim) get(path string, out any) {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set("Authorization", "Bearer "+simulator.DefaultToken)
	rec := httptest.NewRecorder()
	s.srv.ServeHTTP(rec, req)
	if rec.Code != 200 {
		s.t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
	}
	date, _ := http.ParseTime(rec.Header().Get("Date"))
	now := s.clock()
	s.last = ClockSample{Sent: now, Received: now, Date: date}
	if s.onCall != nil {
		s.onCall()
	}
	if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
		s.t.Fatal(err)
	}
}

func (s *sim) cum(sourceNow, end int64, dim string, limit int) *Cum {
	secs := Secs(sourceNow, end)
	if secs == 0 {
		return EmptyCum()
	}
	var protos []simulator.ProtocolStat
	s.get(fmt.Sprintf("%s?window_secs=%d", simulator.PathProtocols, secs), &protos)
	var total Row
	for _, p := range protos {
		total.Bytes += p.Bytes
		total.Packets += p.Packets
		total.Flows += p.FlowCount
	}
	var rows []Row
	if dim != "" {
		var talkers []simulator.TopTalker
		s.get(fmt.Sprintf("%s?window_secs=%d&dim=%s&limit=%d", simulator.PathTopTalkers, secs, dim, limit), &talkers)
		for _, r := range talkers {
			rows = append(rows, Row{Key: r.Key, Bytes: r.Bytes, Packets: r.Packets, Flows: r.FlowCount})
		}
	}
	return NewCum(rows, total, "bytes")
}

// A past interval as the difference of two look-backs equals every record of the interval,
// with the server's clock 40 s ahead or behind ours, once the offset is estimated from the
// Date header. Without the estimate the same arithmetic is wrong, which is the pitfall.
func TestDifferencesExactWithClockOffset(t *testing.T) {
	local := time.Date(2026, 4, 16, 10, 0, 10, 0, time.UTC)
	from, to := local.Add(-5*time.Hour), local.Add(-2*time.Hour-7*time.Minute)
	tr := simulator.NewTraffic(1, 200, nil)
	want := simref.Totals(tr, from, to, simref.BySrc)
	for _, off := range []time.Duration{40 * time.Second, -40 * time.Second} {
		s := newSim(t, simulator.Config{FlowsPerMinute: 200, History: 6 * time.Hour, ClockOffset: off}, local)
		var page simulator.FlowsResponse
		s.get(simulator.PathFlows+"?limit=1", &page)
		sample := s.last
		sample.NewestEnd = page.Flows[0].Timestamp
		est, _ := Offset(sample)
		check := func(offset time.Duration) (wrong int) {
			sourceNow := local.Add(offset).UnixMilli()
			a := s.cum(sourceNow, FirstEnd(from.UnixMilli()), "src", 1000)
			b := s.cum(sourceNow, LastEnd(to.UnixMilli())+WindowMs, "src", 1000)
			if !a.Complete || !b.Complete {
				t.Fatalf("offset %v: src lists must be complete (400 hosts < limit 1000)", off)
			}
			for k, w := range want {
				if v := Diff(a, b, k, "bytes"); !v.Exact() || v.Lo != w.Bytes {
					wrong++
				}
			}
			if TotalDiff(a, b, "flows") != sumFlows(want) {
				wrong++
			}
			return wrong
		}
		if wrong := check(est); wrong != 0 {
			t.Errorf("server clock %v: %d of %d keys wrong with the estimated offset %v", off, wrong, len(want), est)
		}
		if wrong := check(0); wrong == 0 {
			t.Errorf("server clock %v: ignoring the offset should have been wrong (the test would not catch the pitfall)", off)
		}
	}
}

func sumFlows(m map[string]simref.Sum) (n int64) {
	for _, s := range m {
		n += s.Flows
	}
	return n
}

// A server that cuts /top-talkers lists: values are exact where a key is in both lists, and
// otherwise an interval that holds the true value.
func TestDiffBoundsWithCutLists(t *testing.T) {
	local := time.Date(2026, 4, 16, 10, 0, 10, 0, time.UTC)
	from, to := local.Add(-3*time.Hour), local.Add(-time.Hour)
	tr := simulator.NewTraffic(1, 100, nil)
	want := simref.Totals(tr, from, to, simref.ByPair)
	s := newSim(t, simulator.Config{FlowsPerMinute: 100, History: 4 * time.Hour, TopTalkersMaxLimit: 50}, local)
	now := local.UnixMilli()
	a := s.cum(now, FirstEnd(from.UnixMilli()), "pair", 1000)
	b := s.cum(now, LastEnd(to.UnixMilli())+WindowMs, "pair", 1000)
	if a.Complete || len(a.Rows) != 50 {
		t.Fatalf("the capped list must be detected as cut: %d rows, complete %v", len(a.Rows), a.Complete)
	}
	exact := 0
	for k, w := range want {
		for _, metric := range []string{"bytes", "packets", "flows"} {
			v := Diff(a, b, k, metric)
			if x := w.Metric(metric); x < v.Lo || x > v.Hi {
				t.Fatalf("%s %s: true %d outside [%d, %d]", k, metric, x, v.Lo, v.Hi)
			}
			if v.Exact() {
				exact++
			}
		}
	}
	if exact == 0 {
		t.Error("no key exact: the top pairs are in both lists")
	}
}

func TestCostPrefersTheCheaperPlan(t *testing.T) {
	now := int64(1_776_340_812_345)
	hour := int64(3_600_000)
	// Few records over a long range: paging is cheaper than 2 look-backs per hour boundary.
	var ends []int64
	for i := int64(0); i <= 168; i++ {
		ends = append(ends, LastEnd(now)-i*hour)
	}
	sparse := LookbackEstimate(ends, now, 2, 40)
	if DefaultCosts.Of(PagingEstimate(40*60*168, 1000)) >= DefaultCosts.Of(sparse) {
		t.Error("40 flows/min over 7 d: paging should be cheaper than 338 look-backs")
	}
	// Dense: two look-backs beat reading 240,000 records.
	dense := LookbackEstimate([]int64{LastEnd(now) - hour}, now, 2, 4000)
	if DefaultCosts.Of(dense) >= DefaultCosts.Of(PagingEstimate(4000*60, 1000)) {
		t.Error("4000 flows/min over 1 h: look-backs should be cheaper than paging")
	}
}
