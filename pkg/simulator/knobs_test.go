package simulator

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"testing"
	"time"
)

// A server whose clock runs ahead publishes the windows of its own now, and says so in the
// Date header; behind, it has not yet published the newest windows of the caller's now.
func TestClockOffset(t *testing.T) {
	t.Parallel()
	now := t0.Truncate(time.Minute).Add(10 * time.Second) // caller's clock: hh:mm:10
	for _, off := range []time.Duration{40 * time.Second, -40 * time.Second, 0} {
		s := newTest(Config{Now: fixed(now), ClockOffset: off, History: time.Hour})
		r := do(s, http.MethodGet, PathFlows+"?limit=1", tok)
		date, err := http.ParseTime(r.header.Get("Date"))
		if err != nil {
			t.Fatalf("offset %v: Date header %q: %v", off, r.header.Get("Date"), err)
		}
		if want := now.Add(off).Truncate(time.Second); !date.Equal(want) {
			t.Errorf("offset %v: Date %v, want the server's now %v", off, date, want)
		}
		newest := decode[FlowsResponse](t, r.body).Flows[0].Timestamp
		if want := now.Add(off).Truncate(time.Minute).UnixMilli(); newest != want {
			t.Errorf("offset %v: newest window ends at %d, want %d (the server's now, floored to the minute)", off, newest, want)
		}
		// A look-back of 60 s ends at the server's now: it holds the newest window whatever
		// the caller's clock says.
		one := decode[[]ProtocolStat](t, get(t, s, PathProtocols+"?window_secs=60"))
		ref := flows(t, s, fmt.Sprintf("from=%d&to=%d", now.Add(off).UnixMilli()-60_000, now.Add(off).UnixMilli()))
		var n int64
		for _, p := range one {
			n += p.FlowCount
		}
		if n != int64(ref.Total) || n == 0 {
			t.Errorf("offset %v: 60 s look-back holds %d records, the server's last minute %d", off, n, ref.Total)
		}
	}
}

// Retention shorter than the history: old windows leave the index, for every endpoint.
func TestRetention(t *testing.T) {
	t.Parallel()
	s := newTest(Config{History: 3 * time.Hour, Retention: time.Hour})
	full := newTest(Config{History: time.Hour})
	oldest := flows(t, s, "order=asc&limit=1").Flows[0]
	if want := flows(t, full, "order=asc&limit=1").Flows[0]; oldest.ID != want.ID {
		t.Errorf("oldest record %s at %d, want %s at %d (now - retention)", oldest.ID, oldest.WindowStart, want.ID, want.WindowStart)
	}
	old := fmt.Sprintf("from=%d&to=%d", t0.Add(-150*time.Minute).UnixMilli(), t0.Add(-90*time.Minute).UnixMilli())
	if n := flows(t, s, old).Total; n != 0 {
		t.Errorf("a range older than the retention holds %d records, want 0", n)
	}
	for _, p := range []string{PathTopTalkers + "?window_secs=10800&dim=pair&limit=1000", PathProtocols + "?window_secs=10800"} {
		if got, want := get(t, s, p), get(t, full, p); got != want {
			t.Errorf("%s: a 3 h look-back must cover only the retained hour", p)
		}
	}
}

func TestTopTalkersMaxLimit(t *testing.T) {
	t.Parallel()
	s := newTest(Config{TopTalkersMaxLimit: 7, History: time.Hour})
	if n := len(decode[[]TopTalker](t, get(t, s, PathTopTalkers+"?dim=pair&limit=500"))); n != 7 {
		t.Errorf("top-talkers rows %d, want the cap 7", n)
	}
	if p := flows(t, s, "limit=500"); p.Limit != 500 || len(p.Flows) != 500 {
		t.Errorf("/flows must keep its own cap: limit %d, %d rows", p.Limit, len(p.Flows))
	}
}

// Look-backs over days add cached hour and day summaries; they must equal the records.
func TestLongLookBackEqualsRecords(t *testing.T) {
	t.Parallel()
	now := t0.Add(7*time.Minute + 30*time.Second)
	s := newTest(Config{History: 50 * time.Hour, FlowsPerMinute: 3, MaxLimit: 1_000_000, Now: fixed(now)})
	for _, w := range []int64{26*3600 + 1234, 49 * 3600} {
		recs := all(t, s, url.Values{"from": {fmt.Sprint(now.UnixMilli() - w*1000)}}, 1_000_000)
		for _, dim := range []string{"src", "dst", "pair"} {
			got := decode[[]TopTalker](t, get(t, s, fmt.Sprintf("%s?window_secs=%d&dim=%s&limit=1000000", PathTopTalkers, w, dim)))
			if want := aggregate(recs, dim, "bytes"); !reflect.DeepEqual(got, want) {
				t.Fatalf("window %d dim %s: top-talkers differ from /flows (%d vs %d rows)", w, dim, len(got), len(want))
			}
		}
		got := decode[[]ProtocolStat](t, get(t, s, fmt.Sprintf("%s?window_secs=%d", PathProtocols, w)))
		if want := aggregateProtocols(recs); !reflect.DeepEqual(got, want) {
			t.Fatalf("window %d: protocols differ from /flows", w)
		}
	}
}

// Eight days at 4000 flows/min are 46 M records: the server answers counts, newest pages and
// protocol look-backs without holding them, within its cache budgets.
func TestLargeHistoryIsLazy(t *testing.T) {
	t.Parallel()
	s := newTest(Config{History: 8 * 24 * time.Hour, FlowsPerMinute: 4000})
	all := flows(t, s, "limit=1000")
	if all.Total < 30_000_000 || len(all.Flows) != 1000 {
		t.Fatalf("8 days at 4000/min: total %d, %d rows", all.Total, len(all.Flows))
	}
	old := flows(t, s, fmt.Sprintf("to=%d&limit=5", t0.Add(-7*24*time.Hour).UnixMilli()))
	if len(old.Flows) != 5 || old.Flows[0].Timestamp > t0.Add(-7*24*time.Hour).UnixMilli() {
		t.Fatalf("an old page: %+v", old.Flows)
	}
	s.ix.mu.Lock()
	defer s.ix.mu.Unlock()
	if s.ix.full.used > maxCachedRecords {
		t.Errorf("%d records cached, budget %d", s.ix.full.used, maxCachedRecords)
	}
	if s.snap != nil || len(s.cache) > 0 {
		t.Error("the Flows API endpoints materialised the history")
	}
}
