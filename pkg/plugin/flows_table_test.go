package plugin

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
)

// rangeWithTotal finds a range of whole windows holding exactly n records.
func rangeWithTotal(t *testing.T, e *env, n int) backend.TimeRange {
	t.Helper()
	raw := e.rawFlows(t, testNow.Add(-6*time.Hour), testNow)
	perTS := map[int64]int{}
	for _, f := range raw {
		perTS[f.Timestamp]++
	}
	var stamps []int64
	for ts := range perTS {
		stamps = append(stamps, ts)
	}
	slices.Sort(stamps)
	for i := range stamps {
		sum := 0
		for j := i; j < len(stamps) && sum < n; j++ {
			sum += perTS[stamps[j]]
			if sum == n {
				return backend.TimeRange{From: time.UnixMilli(stamps[i]), To: time.UnixMilli(stamps[j])}
			}
		}
	}
	t.Fatalf("no run of windows holds exactly %d records", n)
	return backend.TimeRange{}
}

func TestFlowsTablePagesPastServerLimitCap(t *testing.T) {
	e := newEnv(t, simulator.Config{MaxLimit: 100})
	tr := rangeWithTotal(t, e, 1050)
	ds := e.datasource(t, map[string]any{"pageSize": 1000})

	frame := one(t, ds, tr, `{"queryType":"flows","limit":5000}`)[0]
	ids := column[string](t, frame, "id")
	if len(ids) != 1050 {
		t.Fatalf("%d rows, want 1050", len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
	ts := column[time.Time](t, frame, "timestamp")
	for i, x := range ts {
		if x.Before(tr.From) || x.After(tr.To) {
			t.Fatalf("row %d at %v outside the range", i, x)
		}
		if i > 0 && x.After(ts[i-1]) {
			t.Fatalf("default order is timestamp desc; row %d is later than row %d", i, i-1)
		}
	}
	if !strings.Contains(frame.Meta.ExecutedQueryString, "(11 pages by offset)") {
		t.Fatalf("executed %q: expected 11 pages of the server's 100", frame.Meta.ExecutedQueryString)
	}
	if len(notices(frame)) != 0 {
		t.Fatalf("complete read should carry no notice: %v", notices(frame))
	}

	capped := e.datasource(t, map[string]any{"rowCap": 500})
	frame = one(t, capped, tr, `{"queryType":"flows","limit":5000}`)[0]
	if frame.Rows() != 500 {
		t.Fatalf("%d rows with row cap 500", frame.Rows())
	}
	ns := notices(frame)
	if len(ns) != 1 || !strings.HasPrefix(ns[0], "500 of 1050 flows") || frame.Meta.Notices[0].Severity.String() != "warning" {
		t.Fatalf("notices %v", frame.Meta.Notices)
	}
}

// New windows indexed while paging shift later pages: rows must still be unique and complete.
func TestFlowsTableDeduplicatesWhileNewWindowsArrive(t *testing.T) {
	var calls atomic.Int64
	e := newEnv(t, simulator.Config{MaxLimit: 50, Now: func() time.Time {
		// the simulator's clock moves a window ahead whenever it is read
		return testNow.Add(time.Duration(calls.Add(1)) * time.Minute)
	}})
	tr := backend.TimeRange{From: testNow.Add(-20 * time.Minute), To: testNow.Add(30 * time.Minute)}
	ds := e.datasource(t, nil)
	frame := one(t, ds, tr, `{"queryType":"flows","limit":100000}`)[0]
	ids := column[string](t, frame, "id")
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("duplicate id %s", id)
		}
		seen[id] = true
	}
	// Everything published before paging began must be there.
	before := e.rawFlows(t, tr.From, testNow)
	for _, f := range before {
		if f.Timestamp <= testNow.UnixMilli() && !seen[f.ID] {
			t.Fatalf("record %s (ts %d) missing", f.ID, f.Timestamp)
		}
	}
}

func TestFlowsTableSortAndLimit(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	for _, sortBy := range []string{"bytes", "packets", "timestamp"} {
		for _, order := range []string{"asc", "desc"} {
			frame := one(t, ds, lastHour(), fmt.Sprintf(`{"queryType":"flows","sort":%q,"order":%q,"limit":37}`, sortBy, order))[0]
			if frame.Rows() != 37 {
				t.Fatalf("%s %s: %d rows, want 37", sortBy, order, frame.Rows())
			}
			var keys []int64
			switch sortBy {
			case "timestamp":
				for _, x := range column[time.Time](t, frame, "timestamp") {
					keys = append(keys, x.UnixMilli())
				}
			default:
				keys = column[int64](t, frame, sortBy)
			}
			for i := 1; i < len(keys); i++ {
				if (order == "asc" && keys[i] < keys[i-1]) || (order == "desc" && keys[i] > keys[i-1]) {
					t.Fatalf("%s %s: row %d out of order", sortBy, order, i)
				}
			}
		}
	}
}

func matching(raw []flowsapi.Flow, keep func(f flowsapi.Flow) bool) map[string]bool {
	out := map[string]bool{}
	for _, f := range raw {
		if keep(f) {
			out[f.ID] = true
		}
	}
	return out
}

func TestFiltersNarrowResults(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	raw := e.rawFlows(t, testNow.Add(-time.Hour), testNow)
	// Pick real values from the data so every filter has matches.
	var v6src, v4dst, exporter string
	for _, f := range raw {
		if v6src == "" && strings.Contains(f.SrcIP, ":") {
			v6src = f.SrcIP
		}
		if v4dst == "" && !strings.Contains(f.DstIP, ":") {
			v4dst = f.DstIP
		}
		if exporter == "" {
			exporter = f.ExporterIP
		}
	}
	if v6src == "" {
		t.Fatal("simulator produced no IPv6 source in an hour")
	}
	cases := []struct {
		name, filter string
		keep         func(f flowsapi.Flow) bool
	}{
		{"IPv6 source", fmt.Sprintf(`"srcIp":%q`, strings.ToUpper(v6src)), func(f flowsapi.Flow) bool { return f.SrcIP == v6src }},
		{"IPv4 destination", fmt.Sprintf(`"dstIp":%q`, v4dst), func(f flowsapi.Flow) bool { return f.DstIP == v4dst }},
		{"exporter", fmt.Sprintf(`"exporter":%q`, exporter), func(f flowsapi.Flow) bool { return f.ExporterIP == exporter }},
		{"port either side", `"port":"443"`, func(f flowsapi.Flow) bool { return f.SrcPort == 443 || f.DstPort == 443 }},
		{"protocol by name", `"protocol":"udp"`, func(f flowsapi.Flow) bool { return f.Protocol == 17 }},
		{"protocol by upper-case name", `"protocol":"ICMP"`, func(f flowsapi.Flow) bool { return f.Protocol == 1 }},
		{"protocol by number", `"protocol":6`, func(f flowsapi.Flow) bool { return f.Protocol == 6 }},
		{"protocol by numeric string", `"protocol":"6"`, func(f flowsapi.Flow) bool { return f.Protocol == 6 }},
		{"two filters", `"protocol":"tcp","port":443`, func(f flowsapi.Flow) bool { return f.Protocol == 6 && (f.SrcPort == 443 || f.DstPort == 443) }},
		{"multi-value source", fmt.Sprintf(`"srcIp":[%q,%q]`, v6src, raw[0].SrcIP), func(f flowsapi.Flow) bool { return f.SrcIP == v6src || f.SrcIP == raw[0].SrcIP }},
		{"All is no filter", `"srcIp":[],"port":""`, func(f flowsapi.Flow) bool { return true }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			want := matching(raw, c.keep)
			if len(want) == 0 || (len(want) == len(raw) && c.name != "All is no filter") {
				t.Fatalf("filter selects %d of %d records: not a useful test", len(want), len(raw))
			}
			frame := one(t, ds, lastHour(), `{"queryType":"flows","limit":100000,`+c.filter+`}`)[0]
			got := column[string](t, frame, "id")
			if len(got) != len(want) {
				t.Fatalf("%d rows, want %d", len(got), len(want))
			}
			for _, id := range got {
				if !want[id] {
					t.Fatalf("row %s does not match the filter", id)
				}
			}
		})
	}
}
