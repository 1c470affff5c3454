package awsflowlogs

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/internal/motoserver"
	"github.com/flowlens/flows-datasource/pkg/plugin"
	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// instanceSettings is a data source of this source pointed at moto, over both test regions.
func instanceSettings(endpoint string, jsonData map[string]any) backend.DataSourceInstanceSettings {
	base := map[string]any{"source": Type, "authType": "keys", "defaultRegion": "us-east-1",
		"regions": []string{"us-east-1", "eu-west-1"}, "endpoint": endpoint}
	for k, v := range jsonData {
		base[k] = v
	}
	raw, _ := json.Marshal(base)
	return backend.DataSourceInstanceSettings{UID: "aws-test", Name: "AWS flow logs", JSONData: raw,
		DecryptedSecureJSONData: map[string]string{"accessKey": testAccessKey, "secretKey": testSecretKey}}
}

// testDatasource is the plugin as Grafana runs it, with this source alone in the registry.
func testDatasource(t *testing.T, endpoint string, jsonData map[string]any) *plugin.Datasource {
	t.Helper()
	return testDatasourceFrom(t, instanceSettings(endpoint, jsonData))
}

func testDatasourceFrom(t *testing.T, s backend.DataSourceInstanceSettings) *plugin.Datasource {
	t.Helper()
	inst, err := plugin.New(plugin.Sources{Factories: map[string]engine.Factory{Type: NewSource}, Default: Type})(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return inst.(*plugin.Datasource)
}

// query runs one query through QueryData and returns its response; alert marks it as coming
// from an alert rule.
func query(t *testing.T, ds *plugin.Datasource, queryType string, model map[string]any, from, to time.Time, alert bool) backend.DataResponse {
	t.Helper()
	model["queryType"] = queryType
	raw, _ := json.Marshal(model)
	req := &backend.QueryDataRequest{Queries: []backend.DataQuery{{RefID: "A", QueryType: queryType, JSON: raw,
		TimeRange: backend.TimeRange{From: from, To: to}, Interval: time.Minute, MaxDataPoints: 1000}}}
	if alert {
		req.Headers = map[string]string{backend.FromAlertHeaderName: "true"}
	}
	resp, err := ds.QueryData(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(resp)
	noSecret(t, string(b), testAccessKey, testSecretKey)
	return resp.Responses["A"]
}

func stringColumn(t *testing.T, f *data.Frame, name string) []string {
	t.Helper()
	field, _ := f.FieldByName(name)
	if field == nil {
		t.Fatalf("frame %s has no field %s", f.Name, name)
	}
	out := make([]string, field.Len())
	for i := range out {
		v := field.At(i)
		if p, ok := v.(*string); ok {
			v = "<nil>"
			if p != nil {
				v = *p
			}
		}
		out[i] = fmt.Sprint(v)
	}
	return out
}

func TestFlowLogConfigsQuery(t *testing.T) {
	moto := motoserver.Get(t)
	fx := createConfigs(t, newTestClient(t, moto.URL), moto.URL)
	ds := testDatasource(t, moto.URL, nil)
	now := time.Now()
	ids := func(names ...string) []string {
		var out []string
		for _, n := range names {
			out = append(out, fx.byName[n].ID)
		}
		slices.Sort(out)
		return out
	}

	t.Run("table lists every flow log of both regions", func(t *testing.T) {
		res := query(t, ds, QueryTypeFlowLogConfigs, map[string]any{}, now.Add(-time.Hour), now, false)
		if res.Error != nil {
			t.Fatal(res.Error)
		}
		f := res.Frames[0]
		if f.Rows() != 4 {
			t.Fatalf("%d rows, want 4", f.Rows())
		}
		for i := range f.Rows() {
			id := stringColumn(t, f, "flow_log_id")[i]
			var want FlowLog
			for _, fl := range fx.byName {
				if fl.ID == id {
					want = fl
				}
			}
			if want.Destination == "" {
				want.Destination = want.LogGroupName // moto reports only the log group's name
			}
			failed := "0"
			if want.DeliverLogsStatus == "FAILED" {
				failed = "1"
			}
			for col, v := range map[string]string{
				"region": want.Region, "resource_id": want.ResourceID, "traffic_type": want.TrafficType,
				"destination_type": want.DestinationType, "destination": want.Destination, "log_format": want.LogFormat,
				"max_aggregation_interval": fmt.Sprint(want.MaxAggregationInterval), "status": "ACTIVE",
				"deliver_logs_status": want.DeliverLogsStatus, "deliver_logs_error": want.DeliverLogsError,
				"delivery_failed": failed, "tags": tagsText(want.Tags),
			} {
				if got := stringColumn(t, f, col)[i]; got != v {
					t.Errorf("%s %s = %q, want %q", id, col, got, v)
				}
			}
			created, _ := f.FieldByName("creation_time")
			if ct := created.At(i).(time.Time); ct.Before(now.Add(-10*time.Minute)) || ct.After(now.Add(time.Minute)) {
				t.Errorf("%s created %v", id, ct)
			}
		}
		if !strings.Contains(f.Meta.ExecutedQueryString, "ec2:DescribeFlowLogs region=eu-west-1") {
			t.Errorf("executed query string %q", f.Meta.ExecutedQueryString)
		}
	})

	for _, tc := range []struct {
		name  string
		model map[string]any
		want  []string
	}{
		{"delivery failed", map[string]any{"deliverLogsStatus": []string{"FAILED"}}, ids("failing")},
		{"tag", map[string]any{"tags": []string{"env=prod"}}, ids("vpcAll", "failing")},
		{"tag key", map[string]any{"tags": []string{"team"}}, ids("vpcAll")},
		{"resource", map[string]any{"resourceId": []string{fx.byName["subnetReject"].ResourceID}}, ids("subnetReject")},
		{"traffic type", map[string]any{"trafficType": []string{"ACCEPT"}}, ids("s3")},
		{"destination type", map[string]any{"destinationType": []string{"cloud-watch-logs"}}, ids("vpcAll", "subnetReject", "failing")},
		{"region", map[string]any{"regions": []string{"eu-west-1"}}, ids("failing", "s3")},
	} {
		t.Run("filter "+tc.name, func(t *testing.T) {
			res := query(t, ds, QueryTypeFlowLogConfigs, tc.model, now.Add(-time.Hour), now, false)
			if res.Error != nil {
				t.Fatal(res.Error)
			}
			got := stringColumn(t, res.Frames[0], "flow_log_id")
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}

	t.Run("alert form: one instance per flow log, firing for the failing one", func(t *testing.T) {
		res := query(t, ds, QueryTypeFlowLogConfigs, map[string]any{}, now.Add(-time.Hour), now, true)
		if res.Error != nil {
			t.Fatal(res.Error)
		}
		f := res.Frames[0]
		if f.Meta == nil || f.Meta.Type != data.FrameTypeNumericLong || f.Rows() != 4 {
			t.Fatalf("alert frame: %d rows, meta %+v", f.Rows(), f.Meta)
		}
		ids, regions, resources, errs := stringColumn(t, f, "flow_log_id"), stringColumn(t, f, "region"), stringColumn(t, f, "resource_id"), stringColumn(t, f, "error")
		values := stringColumn(t, f, "delivery_failed")
		for i := range ids {
			var fl FlowLog
			for _, x := range fx.byName {
				if x.ID == ids[i] {
					fl = x
				}
			}
			wantValue := "0"
			if fl.ID == fx.byName["failing"].ID {
				wantValue = "1"
			}
			if values[i] != wantValue || regions[i] != fl.Region || resources[i] != fl.ResourceID || errs[i] != fl.DeliverLogsError {
				t.Errorf("instance %s: value %s region %s resource %s error %q; want %s %s %s %q",
					ids[i], values[i], regions[i], resources[i], errs[i], wantValue, fl.Region, fl.ResourceID, fl.DeliverLogsError)
			}
		}
	})

	t.Run("bad filter names field and value", func(t *testing.T) {
		res := query(t, ds, QueryTypeFlowLogConfigs, map[string]any{"trafficType": []string{"DROPPED"}}, now.Add(-time.Hour), now, false)
		if res.Error == nil || !strings.Contains(res.Error.Error(), "trafficType: 'DROPPED' is not one of ACCEPT, REJECT, ALL") ||
			res.ErrorSource != backend.ErrorSourceDownstream || res.Status != backend.StatusBadRequest {
			t.Fatalf("error %v (source %s, status %d)", res.Error, res.ErrorSource, res.Status)
		}
	})

	t.Run("variables", func(t *testing.T) {
		src, err := NewSource(context.Background(), engine.Config{Instance: instanceSettings(moto.URL, nil), Common: engine.Common{RowCap: 1000, PageSize: 100}})
		if err != nil {
			t.Fatal(err)
		}
		e := engine.New(src, engine.Common{RowCap: 1000, PageSize: 100})
		for variable, want := range map[string][]string{
			DimFlowLog:       ids("vpcAll", "subnetReject", "failing", "s3"),
			VariableResource: {fx.byName["vpcAll"].ResourceID, fx.byName["subnetReject"].ResourceID, fx.byName["failing"].ResourceID, fx.byName["s3"].ResourceID},
			VariableRegion:   {"eu-west-1", "us-east-1"},
		} {
			opts, err := e.VariableOptions(context.Background(), engine.ValuesQuery{From: now.Add(-time.Hour), To: now, Now: now, Variable: variable, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range opts {
				got = append(got, o.Value)
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("variable %s: %v, want %v", variable, got, want)
			}
		}
	})
}

// ---------------------------------------------------------------------------------------------
// Traffic from CloudWatch Logs against the ground truth of the simulated flows.

// truth aggregates simulated flows independently of the engine.
type truth struct{ flows []simulator.Flow }

func protoLabel(f simulator.Flow) string {
	if f.ProtocolName != nil {
		return *f.ProtocolName
	}
	return fmt.Sprint(f.Protocol)
}

func engineActionOf(f simulator.Flow) string {
	if vpcAction(f) == "REJECT" {
		return "deny"
	}
	return "allow"
}

func (tr truth) sumBy(key func(simulator.Flow) string) map[string]int64 {
	out := map[string]int64{}
	for _, f := range tr.flows {
		out[key(f)] += f.Bytes
	}
	return out
}

// ranked returns the keys by bytes descending, ties by key.
func ranked(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	return keys
}

func TestTrafficFromCloudWatchLogsEqualsTheGroundTruth(t *testing.T) {
	moto := motoserver.Get(t)
	c := newTestClient(t, moto.URL)
	fx := createConfigs(t, c, moto.URL)
	start := dataStart()
	flows := simulatedFlows(start, 30)
	putRecords(t, c, "us-east-1", groupDefault, DefaultLogFormat, flows)
	putRecords(t, c, "us-east-1", groupCustom, customFormat, flows)
	tr := truth{flows: flows}
	from, to := start, start.Add(30*time.Minute) // record times (window ends) in (start, start+30m]
	ctx := context.Background()

	src, err := NewSource(ctx, engine.Config{Instance: instanceSettings(moto.URL, nil)})
	if err != nil {
		t.Fatal(err)
	}
	e := engine.New(src, engine.Common{RowCap: 200000, PageSize: 1000})

	for _, name := range []string{"vpcAll", "subnetReject"} { // default format, custom format
		flowLog := fx.byName[name].ID
		f := engine.Filters{Labels: map[string][]string{DimFlowLog: {flowLog}}}
		t.Run(name, func(t *testing.T) {
			t.Run("flows table", func(t *testing.T) {
				set, err := e.Read(ctx, from, to, f, engine.SortBytes, engine.OrderDesc, 50)
				if err != nil {
					t.Fatal(err)
				}
				if set.Total != len(flows) || !set.Capped || len(set.Records) != 50 {
					t.Fatalf("total %d capped %v rows %d; want %d true 50", set.Total, set.Capped, len(set.Records), len(flows))
				}
				byBytes := slices.Clone(flows)
				slices.SortStableFunc(byBytes, func(a, b simulator.Flow) int { return cmp.Compare(b.Bytes, a.Bytes) })
				for i, r := range set.Records {
					w := byBytes[i]
					if r.Bytes != w.Bytes {
						t.Fatalf("row %d: %d bytes, want %d", i, r.Bytes, w.Bytes)
					}
					if r.Labels[DimFlowLog] != flowLog || r.Labels[DimLogStatus] != "OK" || r.Labels[DimInterface] == "" || r.Action == "" {
						t.Fatalf("row %d: %+v", i, r)
					}
				}
			})
			t.Run("top talkers by source", func(t *testing.T) {
				agg, err := e.TopTalkers(ctx, engine.TalkersQuery{From: from, To: to, Now: time.Now(), Filters: f, Dim: engine.GroupSrc, By: engine.SortBytes, Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				want := tr.sumBy(func(f simulator.Flow) string { return f.SrcIP })
				keys := ranked(want)[:10]
				for i, row := range agg.Talkers {
					if row.Key != keys[i] || row.Bytes != want[keys[i]] {
						t.Fatalf("talker %d: %s %d, want %s %d", i, row.Key, row.Bytes, keys[i], want[keys[i]])
					}
				}
				if len(agg.Talkers) != 10 {
					t.Fatalf("%d talkers", len(agg.Talkers))
				}
			})
			t.Run("protocols", func(t *testing.T) {
				agg, err := e.Protocols(ctx, engine.ProtocolsQuery{From: from, To: to, Now: time.Now(), Filters: f})
				if err != nil {
					t.Fatal(err)
				}
				want := tr.sumBy(protoLabel)
				got := map[string]int64{}
				for _, row := range agg.Protocols {
					got[row.Protocol] = row.Bytes
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("protocols %v, want %v", got, want)
				}
			})
			t.Run("traffic over time by action", func(t *testing.T) {
				ans, err := e.Series(ctx, engine.SeriesSpec{Metric: "bytes", Unit: "total", GroupBy: engine.GroupAction, TopN: 10, From: from, To: to, Width: time.Minute, MaxPoints: 1000}, f)
				if err != nil {
					t.Fatal(err)
				}
				checkSeries(t, ans.Result, flows, engineActionOf, 0, false)
			})
			t.Run("traffic over time by source, top 5 and Other", func(t *testing.T) {
				ans, err := e.Series(ctx, engine.SeriesSpec{Metric: "bytes", Unit: "total", GroupBy: engine.GroupSrc, TopN: 5, Other: true, From: from, To: to, Width: time.Minute, MaxPoints: 1000}, f)
				if err != nil {
					t.Fatal(err)
				}
				checkSeries(t, ans.Result, flows, func(f simulator.Flow) string { return f.SrcIP }, 5, true)
			})
			t.Run("filter by action", func(t *testing.T) {
				set, err := e.Read(ctx, from, to, engine.Filters{Action: []string{"REJECT"}, Labels: f.Labels}, engine.SortTime, engine.OrderDesc, 100000)
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, fl := range flows {
					if vpcAction(fl) == "REJECT" {
						n++
					}
				}
				if len(set.Records) != n || n == 0 {
					t.Fatalf("%d rejected records, want %d", len(set.Records), n)
				}
			})
		})
	}

	t.Run("traffic over time by action through the plugin", func(t *testing.T) {
		ds := testDatasource(t, moto.URL, nil)
		res := query(t, ds, "flows", map[string]any{"format": "timeseries", "metric": "bytes", "unit": "total", "groupBy": "action",
			"labels": map[string]any{DimFlowLog: fx.byName["subnetReject"].ID}}, from, to, false)
		if res.Error != nil {
			t.Fatal(res.Error)
		}
		want := tr.sumBy(engineActionOf)
		got := map[string]int64{}
		for _, f := range res.Frames {
			for _, field := range f.Fields {
				if field.Type() != data.FieldTypeFloat64 && field.Type() != data.FieldTypeNullableFloat64 {
					continue
				}
				for i := range field.Len() {
					if v, ok := field.ConcreteAt(i); ok {
						got[field.Labels["action"]] += int64(v.(float64))
					}
				}
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("bytes by action %v, want %v", got, want)
		}
		res = query(t, ds, "flows", map[string]any{"format": "table", "action": "drop"}, from, to, false)
		if res.Error == nil || !strings.Contains(res.Error.Error(), "action: 'drop' is not allow, deny, ACCEPT or REJECT") {
			t.Fatalf("bad action: %v", res.Error)
		}
	})

	t.Run("flows table through the plugin, every flow log", func(t *testing.T) {
		ds := testDatasource(t, moto.URL, nil)
		res := query(t, ds, "flows", map[string]any{"format": "table", "sort": "bytes", "order": "desc", "limit": 5}, from, to, false)
		if res.Error != nil {
			t.Fatal(res.Error)
		}
		f := res.Frames[0]
		// Both log groups hold the same flows: every flow twice.
		byBytes := slices.Clone(flows)
		slices.SortStableFunc(byBytes, func(a, b simulator.Flow) int { return cmp.Compare(b.Bytes, a.Bytes) })
		got := stringColumn(t, f, "bytes")
		for i := range 4 {
			if got[i] != fmt.Sprint(byBytes[i/2].Bytes) {
				t.Fatalf("row %d: %s bytes, want %d", i, got[i], byBytes[i/2].Bytes)
			}
		}
		if !strings.Contains(f.Meta.ExecutedQueryString, "logs:FilterLogEvents region=eu-west-1 logGroupName="+groupMissing) ||
			!strings.Contains(f.Meta.ExecutedQueryString, "log group does not exist") {
			t.Fatalf("executed: %s", f.Meta.ExecutedQueryString)
		}
		// (account_id is null in the rows of the custom format, which has no ${account-id})
		accounts := stringColumn(t, f, "account_id")
		if !slices.Contains(accounts, testAccount) {
			t.Errorf("account_id column %v has no %s", accounts, testAccount)
		}
		for _, col := range []string{"interface_id", "action", "log_status", "flow_log_id"} {
			if v := stringColumn(t, f, col)[0]; v == "" || v == "<nil>" {
				t.Errorf("column %s is empty", col)
			}
		}
	})
}

// checkSeries compares per-minute sums of bytes by key with the engine's series (top N by
// total bytes, the rest as Other when asked).
func checkSeries(t *testing.T, res engine.SeriesResult, flows []simulator.Flow, key func(simulator.Flow) string, topN int, other bool) {
	t.Helper()
	totals := map[string]int64{}
	for _, f := range flows {
		totals[key(f)] += f.Bytes
	}
	keys := ranked(totals)
	if topN > 0 && len(keys) > topN {
		keys = keys[:topN]
	}
	want := map[string]map[int64]float64{} // series -> bucket start ms -> bytes
	for _, f := range flows {
		k := key(f)
		if !slices.Contains(keys, k) {
			if !other {
				continue
			}
			k = "Other"
		}
		if want[k] == nil {
			want[k] = map[int64]float64{}
		}
		want[k][f.WindowStart] += float64(f.Bytes)
	}
	if len(res.Series) != len(want) {
		names := []string{}
		for _, s := range res.Series {
			names = append(names, s.Display)
		}
		t.Fatalf("%d series %v, want %d", len(res.Series), names, len(want))
	}
	for _, s := range res.Series {
		name := s.Display
		w, ok := want[name]
		if !ok {
			t.Fatalf("unexpected series %q (labels %v)", name, s.Labels)
		}
		for i, v := range s.Values {
			bucket := res.Start.Add(time.Duration(i) * res.Width).UnixMilli()
			if v != w[bucket] {
				t.Fatalf("series %s bucket %s: %v, want %v", name, time.UnixMilli(bucket).UTC(), v, w[bucket])
			}
		}
	}
}
