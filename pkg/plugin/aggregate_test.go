package plugin

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// frameRows renders a frame's rows as comparable strings.
func frameRows(f *data.Frame) []string {
	rows := make([]string, f.Rows())
	for i := range rows {
		var parts []string
		for _, fl := range f.Fields {
			parts = append(parts, fmt.Sprint(fl.At(i)))
		}
		rows[i] = strings.Join(parts, "|")
	}
	return rows
}

// The aggregate endpoints and our aggregation of /flows must agree for the same window: the
// data source uses the first when the range ends now and the second otherwise.
func TestAggregatesFromEndpointsEqualAggregatesFromFlows(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	atNow := e.datasource(t, nil)
	// Five minutes ahead of the simulator: the same range no longer ends "now" for it.
	later := e.datasource(t, nil)
	later.now = func() time.Time { return testNow.Add(5 * time.Minute) }

	cases := []string{`{"queryType":"protocols"}`}
	for _, dim := range []string{"src", "dst", "pair"} {
		for _, by := range []string{"bytes", "packets"} {
			cases = append(cases, fmt.Sprintf(`{"queryType":"topTalkers","dim":%q,"by":%q,"limit":25}`, dim, by))
		}
	}
	for _, q := range cases {
		t.Run(q, func(t *testing.T) {
			fromEndpoint := one(t, atNow, lastHour(), q)[0]
			fromFlows := one(t, later, lastHour(), q)[0]
			if ex := fromEndpoint.Meta.ExecutedQueryString; !strings.Contains(ex, "/api/v1/flows/") || !strings.Contains(ex, "window_secs=3600") {
				t.Fatalf("range ending now should use the aggregate endpoint with window_secs=3600, executed %q", ex)
			}
			if ex := fromFlows.Meta.ExecutedQueryString; !strings.HasPrefix(ex, "GET /api/v1/flows?") {
				t.Fatalf("range in the past should be computed from /flows, executed %q", ex)
			}
			if fromEndpoint.Rows() < 5 {
				t.Fatalf("expected a real ranking, got %d rows", fromEndpoint.Rows())
			}
			if a, b := frameRows(fromEndpoint), frameRows(fromFlows); !reflect.DeepEqual(a, b) {
				t.Fatalf("endpoint and /flows aggregation differ:\nendpoint %v\nflows    %v", a, b)
			}
			if ns := notices(fromFlows); len(ns) == 0 || !strings.Contains(ns[0], "Computed from /api/v1/flows") {
				t.Fatalf("computed result should say so in a notice, got %v", ns)
			}
			if len(notices(fromEndpoint)) != 0 {
				t.Fatalf("endpoint result should carry no notice, got %v", notices(fromEndpoint))
			}
		})
	}
}

// A filter forces the /flows path even when the range ends now, and the result equals an
// aggregation the test computes itself from the raw records.
func TestTopTalkersWithFilterAreComputedFromFilteredFlows(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	raw := e.rawFlows(t, testNow.Add(-time.Hour), testNow)
	want := map[string]int64{}
	for _, f := range raw {
		if f.Protocol == 17 {
			want[f.DstIP] += f.Bytes
		}
	}
	frame := one(t, ds, lastHour(), `{"queryType":"topTalkers","dim":"dst","protocol":"udp","limit":1000}`)[0]
	if !strings.Contains(frame.Meta.ExecutedQueryString, "protocol=17") {
		t.Fatalf("executed %q", frame.Meta.ExecutedQueryString)
	}
	ips, bytes := column[string](t, frame, "dst_ip"), column[int64](t, frame, "bytes")
	if len(ips) != len(want) {
		t.Fatalf("%d destinations, want %d", len(ips), len(want))
	}
	for i, ip := range ips {
		if bytes[i] != want[ip] {
			t.Errorf("%s: %d bytes, want %d", ip, bytes[i], want[ip])
		}
		if i > 0 && bytes[i] > bytes[i-1] {
			t.Errorf("not ranked by bytes at row %d", i)
		}
	}
}
