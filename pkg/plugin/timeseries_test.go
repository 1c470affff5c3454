package plugin

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/grafana/dataplane/sdata/reader"
	"github.com/grafana/dataplane/sdata/timeseries"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
)

var allGroupBys = []string{"none", "protocol", "src", "dst", "pair", "dstPort", "exporter"}

// runSeries runs one traffic query at a panel interval and fails on error.
func runSeries(t *testing.T, ds *Datasource, tr backend.TimeRange, interval time.Duration, q string, headers map[string]string) data.Frames {
	t.Helper()
	resp, err := ds.QueryData(context.Background(), &backend.QueryDataRequest{Headers: headers, Queries: []backend.DataQuery{{
		RefID: "A", QueryType: "flows", JSON: json.RawMessage(q), TimeRange: tr, Interval: interval,
	}}})
	if err != nil {
		t.Fatal(err)
	}
	r := resp.Responses["A"]
	if r.Error != nil {
		t.Fatalf("%s: %v", q, r.Error)
	}
	return r.Frames
}

// seriesByName maps each frame's legend name (its labels) to its points.
type points struct {
	times  []time.Time
	values []float64
}

func seriesByName(t *testing.T, frames data.Frames) map[string]points {
	t.Helper()
	out := map[string]points{}
	for _, f := range frames {
		if len(f.Fields) != 2 {
			t.Fatalf("frame %q has %d fields", f.Name, len(f.Fields))
		}
		p := points{times: column[time.Time](t, f, "time")}
		v := f.Fields[1]
		for i := range v.Len() {
			p.values = append(p.values, v.At(i).(float64))
		}
		out[v.Labels.String()] = p
	}
	return out
}

// independentLabels computes a record's series labels without the code under test.
func independentLabels(f flowsapi.Flow, groupBy string) string {
	var l data.Labels
	switch groupBy {
	case "protocol":
		name := strconv.Itoa(int(f.Protocol))
		if f.ProtocolName != nil {
			name = *f.ProtocolName
		}
		l = data.Labels{"protocol": name}
	case "src":
		l = data.Labels{"src_ip": f.SrcIP}
	case "dst":
		l = data.Labels{"dst_ip": f.DstIP}
	case "pair":
		l = data.Labels{"src_ip": f.SrcIP, "dst_ip": f.DstIP}
	case "dstPort":
		l = data.Labels{"dst_port": strconv.Itoa(int(f.DstPort))}
	case "exporter":
		l = data.Labels{"exporter": f.ExporterIP}
	}
	return l.String()
}

func metricValue(f flowsapi.Flow, metric string) float64 {
	switch metric {
	case "packets":
		return float64(f.Packets)
	case "flows":
		return 1
	}
	return float64(f.Bytes)
}

func near(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}

// Every bucket value equals a sum the test computes from the raw records, for every group-by,
// metric and unit; the top-N series are the N largest groups and Other holds the rest.
func TestSeriesEqualIndependentSums(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	tr := backend.TimeRange{From: testNow.Add(-2 * time.Hour), To: testNow}
	raw := e.rawFlows(t, tr.From, tr.To)
	const topN = 4
	for _, groupBy := range allGroupBys {
		for _, metric := range []string{"bytes", "packets", "flows"} {
			for _, unit := range []string{"total", "rate"} {
				t.Run(groupBy+"/"+metric+"/"+unit, func(t *testing.T) {
					width := 5 * time.Minute
					sums := map[string]map[int64]float64{}
					totals := map[string]float64{}
					for _, f := range raw {
						k := independentLabels(f, groupBy)
						b := f.WindowStart - f.WindowStart%width.Milliseconds()
						if sums[k] == nil {
							sums[k] = map[int64]float64{}
						}
						sums[k][b] += metricValue(f, metric)
						totals[k] += metricValue(f, metric)
					}
					keys := make([]string, 0, len(totals))
					for k := range totals {
						keys = append(keys, k)
					}
					slices.SortFunc(keys, func(a, b string) int {
						if totals[a] != totals[b] {
							if totals[a] > totals[b] {
								return -1
							}
							return 1
						}
						return strings.Compare(a, b)
					})
					top := keys
					if groupBy != "none" && len(keys) > topN {
						top = keys[:topN]
					}
					scale := 1.0
					if unit == "rate" {
						scale = 1 / width.Seconds()
						if metric == "bytes" {
							scale *= 8
						}
					}
					q := fmt.Sprintf(`{"queryType":"flows","format":"timeseries","metric":%q,"unit":%q,"groupBy":%q,"topN":%d}`, metric, unit, groupBy, topN)
					frames := runSeries(t, ds, tr, width, q, nil)
					got := seriesByName(t, frames)
					wantNames := slices.Clone(top)
					if len(keys) > len(top) {
						wantNames = append(wantNames, "Other")
					}
					if len(got) != len(wantNames) {
						t.Fatalf("%d series, want %d", len(got), len(wantNames))
					}
					for _, k := range top {
						p, ok := got[k]
						if !ok {
							t.Fatalf("series %s missing", k)
						}
						for i, ts := range p.times {
							if want := sums[k][ts.UnixMilli()] * scale; !near(p.values[i], want) {
								t.Fatalf("%s at %v: %v, want %v", k, ts, p.values[i], want)
							}
						}
					}
					for name, p := range got {
						if !slices.Contains(top, name) { // the Other series
							for i, ts := range p.times {
								want := 0.0
								for _, k := range keys[len(top):] {
									want += sums[k][ts.UnixMilli()]
								}
								if !near(p.values[i], want*scale) {
									t.Fatalf("Other at %v: %v, want %v", ts, p.values[i], want*scale)
								}
							}
						}
					}
				})
			}
		}
	}
}

// Top-N plus Other equals the ungrouped total in every bucket.
func TestTopNPlusOtherEqualsTotal(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	tr := lastHour()
	total := seriesByName(t, runSeries(t, ds, tr, time.Minute, `{"queryType":"flows","format":"timeseries","groupBy":"none"}`, nil))[""]
	if len(total.values) < 59 {
		t.Fatalf("%d buckets for an hour", len(total.values))
	}
	for _, groupBy := range allGroupBys[1:] {
		got := seriesByName(t, runSeries(t, ds, tr, time.Minute, fmt.Sprintf(`{"queryType":"flows","format":"timeseries","groupBy":%q,"topN":3}`, groupBy), nil))
		if len(got) != 4 {
			t.Fatalf("%s: %d series, want top 3 + Other", groupBy, len(got))
		}
		for i, ts := range total.times {
			sum := 0.0
			for _, p := range got {
				if !p.times[i].Equal(ts) {
					t.Fatalf("%s: series have different time fields", groupBy)
				}
				sum += p.values[i]
			}
			if !near(sum, total.values[i]) {
				t.Fatalf("%s at %v: top-N + Other = %v, total %v", groupBy, ts, sum, total.values[i])
			}
		}
	}
}

// bps does not depend on the bucket width: the same range at 60 s and 300 s gives the same
// average, and each 300 s value is the mean of its five 60 s values. At the edges of an
// unaligned range a 300 s bucket holds fewer windows and is the mean of those.
func TestRateIsIndependentOfBucketWidth(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	aligned := testNow.Truncate(5 * time.Minute).Add(-time.Hour)
	ranges := map[string]backend.TimeRange{
		// Records are selected by their end: this range holds the windows starting in [aligned, aligned+1h).
		"aligned":   {From: aligned.Add(time.Minute), To: aligned.Add(time.Hour)},
		"unaligned": {From: aligned.Add(3*time.Minute + 20*time.Second), To: aligned.Add(time.Hour + 2*time.Minute + 10*time.Second)},
	}
	for rangeName, tr := range ranges {
		for _, groupBy := range []string{"none", "protocol"} {
			q := fmt.Sprintf(`{"queryType":"flows","format":"timeseries","metric":"bytes","unit":"rate","groupBy":%q,"topN":3}`, groupBy)
			fine := seriesByName(t, runSeries(t, ds, tr, time.Minute, q, nil))
			coarse := seriesByName(t, runSeries(t, ds, tr, 5*time.Minute, q, nil))
			for name, c := range coarse {
				f := fine[name]
				if rangeName == "aligned" && (len(c.values) != 12 || len(f.values) != 60) {
					t.Fatalf("%s: %d coarse and %d fine buckets, want 12 and 60", name, len(c.values), len(f.values))
				}
				var sumFine, weightedCoarse float64
				for i, v := range c.values {
					var inside []float64
					for j, ft := range f.times {
						if !ft.Before(c.times[i]) && ft.Before(c.times[i].Add(5*time.Minute)) {
							inside = append(inside, f.values[j])
						}
					}
					mean := 0.0
					for _, x := range inside {
						mean += x / float64(len(inside))
					}
					if len(inside) == 0 || !near(v, mean) {
						t.Fatalf("%s %s bucket %v: %v bps at 300 s, mean of its %d 60 s buckets %v", rangeName, name, c.times[i], v, len(inside), mean)
					}
					weightedCoarse += v * float64(len(inside))
				}
				for _, v := range f.values {
					sumFine += v
				}
				if sumFine == 0 || !near(sumFine/float64(len(f.values)), weightedCoarse/float64(len(f.values))) {
					t.Fatalf("%s %s: average %v bps at 60 s, %v at 300 s", rangeName, name, sumFine/float64(len(f.values)), weightedCoarse/float64(len(f.values)))
				}
			}
		}
	}
}

// An idle stretch reads as explicit zeros, not missing points.
func TestIdleStretchIsZeroNotMissing(t *testing.T) {
	idleFrom, idleTo := testNow.Add(-40*time.Minute).Truncate(time.Minute), testNow.Add(-25*time.Minute).Truncate(time.Minute)
	e := newEnv(t, simulator.Config{Idle: func(w time.Time) bool { return !w.Before(idleFrom) && w.Before(idleTo) }})
	ds := e.datasource(t, nil)
	for _, groupBy := range []string{"none", "protocol"} {
		got := seriesByName(t, runSeries(t, ds, lastHour(), time.Minute,
			fmt.Sprintf(`{"queryType":"flows","format":"timeseries","groupBy":%q}`, groupBy), nil))
		for name, p := range got {
			if len(p.times) != 60 {
				t.Fatalf("%s: %d points for 60 windows", name, len(p.times))
			}
			zeros := 0
			for i, ts := range p.times {
				if i > 0 && ts.Sub(p.times[i-1]) != time.Minute {
					t.Fatalf("%s: gap between %v and %v", name, p.times[i-1], ts)
				}
				if !ts.Before(idleFrom) && ts.Before(idleTo) {
					if p.values[i] != 0 {
						t.Fatalf("%s: idle window %v has %v", name, ts, p.values[i])
					}
					zeros++
				}
			}
			if zeros != 15 {
				t.Fatalf("%s: %d idle zeros, want 15", name, zeros)
			}
		}
	}
}

// Grafana's own reader accepts the frames with validation on, for panels and for alerts.
func TestSeriesAreValidTimeseriesMulti(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	alert := map[string]string{backend.FromAlertHeaderName: "true"}
	for _, groupBy := range allGroupBys {
		q := fmt.Sprintf(`{"queryType":"flows","format":"timeseries","groupBy":%q,"topN":5}`, groupBy)
		panel := runSeries(t, ds, lastHour(), time.Minute, q, nil)
		alerted := runSeries(t, ds, lastHour(), time.Minute, q, alert)
		if !reflect.DeepEqual(frameRowsAll(panel), frameRowsAll(alerted)) {
			t.Fatalf("%s: alert frames differ from panel frames", groupBy)
		}
		kind, err := reader.CanReadBasedOnMeta(panel)
		if err != nil || kind.Kind() != data.KindTimeSeries {
			t.Fatalf("%s: kind %v, %v", groupBy, kind, err)
		}
		cr, err := timeseries.CollectionReaderFromFrames(panel)
		if err != nil {
			t.Fatal(err)
		}
		c, err := cr.GetCollection(true)
		if err != nil {
			t.Fatalf("%s: %v", groupBy, err)
		}
		if c.Warning != nil {
			t.Fatalf("%s: %v", groupBy, c.Warning)
		}
		if len(c.Refs) != len(panel) || (groupBy != "none" && len(c.Refs) < 4) || (groupBy == "none" && len(c.Refs) != 1) {
			t.Fatalf("%s: %d series read from %d frames", groupBy, len(c.Refs), len(panel))
		}
		for _, ref := range c.Refs {
			if ref.GetMetricName() != "bytes" || (groupBy != "none" && len(ref.GetLabels()) == 0) {
				t.Fatalf("%s: series %s%v", groupBy, ref.GetMetricName(), ref.GetLabels())
			}
		}
		f := panel[0]
		if f.Fields[1].Config.Unit != "bps" || f.Meta.Custom.(map[string]any)["bucketWidthSeconds"] != 60 {
			t.Fatalf("%s: unit %q meta %v", groupBy, f.Fields[1].Config.Unit, f.Meta.Custom)
		}
	}
}

func frameRowsAll(fs data.Frames) [][]string {
	var out [][]string
	for _, f := range fs {
		out = append(out, frameRows(f))
	}
	return out
}

// Series identity is stable: the same labels in the same order on every refresh, so colours
// and overrides hold even when the ranking changes.
func TestSeriesOrderFollowsLabelsNotRank(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	frames := runSeries(t, ds, lastHour(), time.Minute, `{"queryType":"flows","format":"timeseries","groupBy":"protocol","topN":10}`, nil)
	var names []string
	for _, f := range frames {
		names = append(names, f.Fields[1].Labels["protocol"])
	}
	if names[len(names)-1] == "Other" {
		names = names[:len(names)-1]
	}
	if !slices.IsSorted(names) || len(names) < 4 {
		t.Fatalf("series order %v", names)
	}
}

// A 30-day range at a 60 s interval would be 43,200 buckets per series: the buckets widen
// until series × buckets fits the cap, and a notice says so. The range holds more records than
// the row cap, so the look-back planner answers: exactly for the day the simulator holds, and
// the days before its retention are unread (null, not 0), which a warning says.
func TestLongRangeIsCoarsenedBelowCap(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, map[string]any{"rowCap": 3000})
	tr := backend.TimeRange{From: testNow.Add(-30 * 24 * time.Hour), To: testNow}
	for _, groupBy := range []string{"none", "protocol"} {
		frames := runSeries(t, ds, tr, time.Minute, fmt.Sprintf(`{"queryType":"flows","format":"timeseries","groupBy":%q,"topN":10}`, groupBy), nil)
		points := 0
		for _, f := range frames {
			points += f.Rows()
		}
		width := time.Duration(frames[0].Meta.Custom.(map[string]any)["bucketWidthSeconds"].(int)) * time.Second
		if points > engine.MaxSeriesPoints || width <= time.Minute {
			t.Fatalf("%s: %d points at %v for cap %d", groupBy, points, width, engine.MaxSeriesPoints)
		}
		ns := notices(frames[0])
		if len(ns) != 2 || !strings.HasPrefix(ns[0], "Buckets widened from 1m to "+engine.FormatWidth(width)+":") || !strings.Contains(ns[1], "retention") {
			t.Fatalf("%s: notices %q", groupBy, ns)
		}
		// Before the retention: null; inside it: numbers.
		vals := frames[0].Fields[1]
		oldest := testNow.Add(-24 * time.Hour)
		nulls, numbers := 0, 0
		for i := range vals.Len() {
			v, read := vals.ConcreteAt(i)
			at := frames[0].Fields[0].At(i).(time.Time)
			switch {
			case !read && at.Before(oldest):
				nulls++ // before the retention, or partly: a partial bucket is not drawn low
			case !read:
				t.Fatalf("%s: bucket %v inside the retention is null", groupBy, at)
			case at.Add(width).Before(oldest):
				t.Fatalf("%s: bucket %v before the retention reads %v", groupBy, at, v)
			default:
				numbers++
			}
		}
		if nulls == 0 || numbers == 0 {
			t.Fatalf("%s: %d null and %d read buckets", groupBy, nulls, numbers)
		}
	}
}
