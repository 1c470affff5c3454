package plugin

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// One simulated traffic, looked at through the Flows API, Trustgrid and Huawei Cloud Firewall:
// every query type gives the same numbers through each source, apart from what a source
// cannot express, which each test lists.
//
// The APIs select a record differently at the edges of a range (the Flows API by the end of
// its 60 s window, Trustgrid and CFW by the flow's start), so the windows at the edges of the
// range are idle: then all three hold the same records.

// crossRange is a closed range in the past, so that every source computes from records.
var crossRange = backend.TimeRange{From: testNow.Add(-90 * time.Minute).Truncate(time.Minute), To: testNow.Add(-30 * time.Minute).Truncate(time.Minute)}

func crossIdle(ws time.Time) bool {
	from, to := crossRange.From, crossRange.To
	return ws.Equal(from.Add(-time.Minute)) || ws.Equal(to.Add(-time.Minute)) || ws.Equal(to)
}

type crossSources struct {
	env                      *env
	flows, trustgrid, huawei *Datasource
}

func newCrossSources(t *testing.T) *crossSources {
	t.Helper()
	e := newEnv(t, simulator.Config{FlowsPerMinute: 30, Idle: crossIdle})
	mk := func(jsonData map[string]any, secure map[string]string) *Datasource {
		raw, _ := json.Marshal(jsonData)
		return newInstance(t, backend.DataSourceInstanceSettings{
			UID: "cross-" + fmt.Sprint(jsonData["source"]), Name: "cross", Type: "flowlens-flows-datasource",
			URL: e.srv.URL, JSONData: raw, DecryptedSecureJSONData: secure,
		}, e.clock.Now)
	}
	return &crossSources{
		env:   e,
		flows: mk(map[string]any{"source": "flowsapi"}, map[string]string{"apiToken": testToken}),
		trustgrid: mk(map[string]any{"source": "trustgrid", "trustgridClientId": simulator.DefaultTrustgridClientID},
			map[string]string{"trustgridClientSecret": simulator.DefaultTrustgridSecret}),
		huawei: mk(map[string]any{"source": "huaweiCfw", "cfwProjectId": simulator.DefaultCFWProjectID, "cfwFwInstanceId": simulator.DefaultCFWFwInstanceID},
			map[string]string{"cfwAccessKey": simulator.DefaultCFWAccessKey, "cfwSecretKey": simulator.DefaultCFWSecretKey}),
	}
}

func (c *crossSources) each(t *testing.T, q string, check func(name string, frames data.Frames)) {
	t.Helper()
	for _, s := range []struct {
		name string
		ds   *Datasource
	}{{"flowsapi", c.flows}, {"trustgrid", c.trustgrid}, {"huaweiCfw", c.huawei}} {
		r := query(t, s.ds, crossRange, nil, q)["A"]
		if r.Error != nil {
			t.Fatalf("%s: %s: %v", s.name, q, r.Error)
		}
		check(s.name, r.Frames)
	}
}

// trustgridProtocol is what Trustgrid calls a protocol the Flows API names: it knows only TCP,
// UDP and ICMP (ICMPv6 included); everything else is UNKNOWN.
func trustgridProtocol(name string) string {
	switch name {
	case "TCP", "UDP", "ICMP":
		return name
	case "ICMPv6":
		return "ICMP"
	}
	return "UNKNOWN"
}

// huaweiProtocol is what CFW calls a protocol the Flows API names: names for TCP, UDP, ICMP
// and ICMPv6, the IANA number for the rest.
func huaweiProtocol(name string) string {
	if n, ok := map[string]string{"GRE": "47", "ESP": "50", "SCTP": "132"}[name]; ok {
		return n
	}
	return name
}

// protocolOf says how each source names the Flows API's protocol name.
var protocolOf = map[string]func(string) string{
	"flowsapi": func(s string) string { return s }, "trustgrid": trustgridProtocol, "huaweiCfw": huaweiProtocol,
}

func value(v any) any {
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return nil
		}
		return rv.Elem().Interface()
	}
	return v
}

func fieldValues(t *testing.T, f *data.Frame, name string) []string {
	t.Helper()
	field, idx := f.FieldByName(name)
	if idx < 0 {
		t.Fatalf("frame %q has no field %q", f.Name, name)
	}
	out := make([]string, field.Len())
	for i := range out {
		out[i] = fmt.Sprint(value(field.At(i)))
	}
	return out
}

func TestCrossSourceFlowsTable(t *testing.T) {
	c := newCrossSources(t)
	// Not compared: packets (Trustgrid has none), the time columns (the Flows API's window,
	// the others' flow start), hostnames and exporter (each system has its own).
	var want []string
	c.each(t, `{"queryType":"flows","format":"table","limit":20000}`, func(name string, frames data.Frames) {
		f := frames[0]
		src, dst := fieldValues(t, f, "src_ip"), fieldValues(t, f, "dst_ip")
		sp, dp, by := fieldValues(t, f, "src_port"), fieldValues(t, f, "dst_port"), fieldValues(t, f, "bytes")
		proto := fieldValues(t, f, "protocol")
		rows := make([]string, len(src))
		for i := range rows {
			rows[i] = strings.Join([]string{src[i], sp[i], dst[i], dp[i], by[i]}, "|")
		}
		sort.Strings(rows)
		if want == nil {
			want = rows
			if len(want) < 1000 {
				t.Fatalf("only %d flows in the range", len(want))
			}
			return
		}
		if !slices.Equal(rows, want) {
			t.Fatalf("%s: %d rows differ from the Flows API's %d", name, len(rows), len(want))
		}
		if name == "trustgrid" && !slices.Contains(proto, "UNKNOWN") {
			t.Errorf("trustgrid: no UNKNOWN protocol among %d rows", len(proto))
		}
	})
}

// seriesOf reads time-series frames as label → values per bucket.
func seriesOf(t *testing.T, frames data.Frames, relabel func(data.Labels) string) map[string][]float64 {
	t.Helper()
	out := map[string][]float64{}
	for _, f := range frames {
		var times []time.Time
		for _, fl := range f.Fields {
			if fl.Type() == data.FieldTypeTime {
				for i := range fl.Len() {
					times = append(times, fl.At(i).(time.Time))
				}
			}
		}
		for _, fl := range f.Fields {
			if !fl.Type().Numeric() {
				continue
			}
			key := relabel(fl.Labels)
			vals := out[key]
			if vals == nil {
				vals = make([]float64, len(times))
			}
			for i := range fl.Len() {
				v, _ := fl.FloatAt(i)
				vals[i] += v
			}
			out[key] = vals
		}
	}
	return out
}

func TestCrossSourceTrafficByProtocol(t *testing.T) {
	c := newCrossSources(t)
	q := `{"queryType":"flows","format":"timeseries","metric":"bytes","unit":"total","groupBy":"protocol","topN":50}`
	var flows data.Frames
	c.each(t, q, func(name string, frames data.Frames) {
		if name == "flowsapi" {
			flows = frames
			return
		}
		// What the Flows API shows, as this source names the protocols (Trustgrid merges
		// everything but TCP, UDP and ICMP into UNKNOWN).
		want := seriesOf(t, flows, func(l data.Labels) string { return protocolOf[name](l["protocol"]) })
		got := seriesOf(t, frames, func(l data.Labels) string { return l["protocol"] })
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: series differ:\n got %v\nwant %v", name, keys(got), keys(want))
		}
	})
	// Packets: the same through CFW; Trustgrid has no packet counts and refuses the metric.
	qp := strings.Replace(q, `"metric":"bytes"`, `"metric":"packets"`, 1)
	want := seriesOf(t, one(t, c.flows, crossRange, qp), func(l data.Labels) string { return huaweiProtocol(l["protocol"]) })
	if got := seriesOf(t, one(t, c.huawei, crossRange, qp), func(l data.Labels) string { return l["protocol"] }); !reflect.DeepEqual(got, want) {
		t.Fatalf("huaweiCfw packets: series differ")
	}
	r := query(t, c.trustgrid, crossRange, nil, qp)["A"]
	if r.Error == nil || !strings.Contains(r.Error.Error(), "Trustgrid") || !strings.Contains(r.Error.Error(), "packets") {
		t.Fatalf("trustgrid packets: %v", r.Error)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestCrossSourceTrafficBySourceTopNAndOther(t *testing.T) {
	c := newCrossSources(t)
	q := `{"queryType":"flows","format":"timeseries","metric":"bytes","unit":"rate","groupBy":"src","topN":5,"other":true}`
	var want map[string][]float64
	c.each(t, q, func(name string, frames data.Frames) {
		got := seriesOf(t, frames, func(l data.Labels) string { return l["src_ip"] })
		if want == nil {
			want = got
			if len(want) != 6 || want["Other"] == nil {
				t.Fatalf("flowsapi: series %v, want top 5 + Other", keys(want))
			}
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: series %v differ from the Flows API's %v", name, keys(got), keys(want))
		}
	})
}

func TestCrossSourceTopTalkers(t *testing.T) {
	c := newCrossSources(t)
	for _, dim := range []string{"src", "dst", "pair"} {
		t.Run(dim, func(t *testing.T) {
			var want []string
			q := fmt.Sprintf(`{"queryType":"topTalkers","dim":%q,"by":"bytes","limit":10}`, dim)
			c.each(t, q, func(name string, frames data.Frames) {
				rows := talkerRows(t, frames[0], false)
				if want == nil {
					want = rows
					if len(want) != 10 {
						t.Fatalf("flowsapi: %d rows", len(want))
					}
					return
				}
				if !slices.Equal(rows, want) {
					t.Fatalf("%s:\n got %v\nwant %v", name, rows, want)
				}
				if _, i := frames[0].FieldByName("packets"); (i >= 0) != (name != "trustgrid") {
					t.Errorf("%s: packets column present = %v; Trustgrid has no packet counts, the others do", name, i >= 0)
				}
			})
			// By packets: the same through CFW; Trustgrid has no packet counts.
			qp := strings.Replace(q, `"by":"bytes"`, `"by":"packets"`, 1)
			if got, want := talkerRows(t, one(t, c.huawei, crossRange, qp)[0], true), talkerRows(t, one(t, c.flows, crossRange, qp)[0], true); !slices.Equal(got, want) {
				t.Fatalf("huaweiCfw by packets:\n got %v\nwant %v", got, want)
			}
			if r := query(t, c.trustgrid, crossRange, nil, qp)["A"]; r.Error == nil || !strings.Contains(r.Error.Error(), "packets") {
				t.Fatalf("trustgrid by packets: %v", r.Error)
			}
		})
	}
}

// talkerRows renders a top-talkers table as "key|bytes|flows" (and packets when asked).
func talkerRows(t *testing.T, f *data.Frame, packets bool) []string {
	t.Helper()
	var keyField string
	for _, fl := range f.Fields {
		if fl.Type() == data.FieldTypeString || fl.Type() == data.FieldTypeNullableString {
			keyField = fl.Name
			break
		}
	}
	key := fieldValues(t, f, keyField)
	if keyField == "src_ip" {
		if _, i := f.FieldByName("dst_ip"); i >= 0 { // pairs: two address columns
			dst := fieldValues(t, f, "dst_ip")
			for i := range key {
				key[i] += " → " + dst[i]
			}
		}
	}
	by, fl := fieldValues(t, f, "bytes"), fieldValues(t, f, "flows")
	rows := make([]string, len(key))
	for i := range rows {
		rows[i] = key[i] + "|" + by[i] + "|" + fl[i]
		if packets {
			rows[i] += "|" + fieldValues(t, f, "packets")[i]
		}
	}
	return rows
}

func TestCrossSourceProtocols(t *testing.T) {
	c := newCrossSources(t)
	var flows *data.Frame
	c.each(t, `{"queryType":"protocols"}`, func(name string, frames data.Frames) {
		f := frames[0]
		if name == "flowsapi" {
			flows = f
			return
		}
		// The Flows API's rows, summed under this source's names.
		want := map[string][2]float64{}
		names, by, fl := fieldValues(t, flows, "protocol"), floats(t, flows, "bytes"), floats(t, flows, "flows")
		for i, n := range names {
			w := want[protocolOf[name](n)]
			want[protocolOf[name](n)] = [2]float64{w[0] + by[i], w[1] + fl[i]}
		}
		got := map[string][2]float64{}
		gn, gb, gf := fieldValues(t, f, "protocol"), floats(t, f, "bytes"), floats(t, f, "flows")
		for i, n := range gn {
			got[n] = [2]float64{gb[i], gf[i]}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s:\n got %v\nwant %v", name, got, want)
		}
	})
}

func floats(t *testing.T, f *data.Frame, name string) []float64 {
	t.Helper()
	field, idx := f.FieldByName(name)
	if idx < 0 {
		t.Fatalf("frame %q has no field %q", f.Name, name)
	}
	out := make([]float64, field.Len())
	for i := range out {
		out[i], _ = field.FloatAt(i)
	}
	return out
}

func TestCrossSourceVariables(t *testing.T) {
	c := newCrossSources(t)
	for _, v := range []string{"srcIp", "dstIp", "protocol", "port"} {
		var want []string
		c.each(t, fmt.Sprintf(`{"queryType":"variableValues","variable":%q,"limit":15}`, v), func(name string, frames data.Frames) {
			got := fieldValues(t, frames[0], "value")
			if v == "protocol" {
				// As this source names the protocols, as a set.
				if want == nil {
					want = got
					return
				}
				names := map[string]bool{}
				for _, n := range want {
					names[protocolOf[name](n)] = true
				}
				for _, n := range got {
					if !names[n] {
						t.Errorf("%s: protocol %q is not among the Flows API's %v", name, n, want)
					}
				}
				return
			}
			if want == nil {
				want = got
				if len(want) != 15 {
					t.Fatalf("flowsapi %s: %d values", v, len(want))
				}
				return
			}
			if !slices.Equal(got, want) {
				t.Errorf("%s %s:\n got %v\nwant %v", name, v, got, want)
			}
		})
	}
}
