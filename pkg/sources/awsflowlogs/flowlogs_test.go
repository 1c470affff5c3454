package awsflowlogs

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/internal/motoserver"
)

func TestDescribeFlowLogsListsEveryConfigurationOfEachRegion(t *testing.T) {
	moto := motoserver.Get(t)
	c := newTestClient(t, moto.URL)
	fx := createConfigs(t, c, moto.URL)
	created := time.Now()

	for region, names := range map[string][]string{"us-east-1": {"vpcAll", "subnetReject"}, "eu-west-1": {"failing", "s3"}} {
		got, err := c.DescribeFlowLogs(context.Background(), region, FlowLogFilter{})
		if err != nil {
			t.Fatal(err)
		}
		var want []FlowLog
		for _, n := range names {
			want = append(want, fx.byName[n])
		}
		slices.SortFunc(want, func(a, b FlowLog) int { return strings.Compare(a.ID, b.ID) })
		if len(got) != len(want) {
			t.Fatalf("%s: %d flow logs, want %d: %+v", region, len(got), len(want), got)
		}
		for i := range want {
			checkFlowLog(t, got[i], want[i], created)
		}
	}
}

// checkFlowLog compares what DescribeFlowLogs returned with what the test created.
func checkFlowLog(t *testing.T, got, want FlowLog, created time.Time) {
	t.Helper()
	if want.Destination == "" && want.DestinationType == "cloud-watch-logs" {
		// moto reports no logDestination for CloudWatch Logs flow logs (AWS reports the log
		// group's ARN); the destination is then the log group's name.
		want.Destination = want.LogGroupName
	}
	if got.CreationTime.IsZero() || got.CreationTime.After(created.Add(time.Minute)) || got.CreationTime.Before(created.Add(-10*time.Minute)) {
		t.Errorf("%s: creation time %v, want about %v", want.ID, got.CreationTime, created)
	}
	want.CreationTime = got.CreationTime
	if !maps.Equal(got.Tags, want.Tags) {
		t.Errorf("%s: tags %v, want %v", want.ID, got.Tags, want.Tags)
	}
	got.Tags, want.Tags = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flow log\n got %+v\nwant %+v", got, want)
	}
}

func TestDescribeFlowLogsFilters(t *testing.T) {
	moto := motoserver.Get(t)
	c := newTestClient(t, moto.URL)
	fx := createConfigs(t, c, moto.URL)
	id := func(n string) string { return fx.byName[n].ID }

	for _, tc := range []struct {
		name   string
		filter FlowLogFilter
		want   []string // fixture names, over both regions
	}{
		{"resource", FlowLogFilter{ResourceIDs: []string{fx.byName["vpcAll"].ResourceID}}, []string{"vpcAll"}},
		{"traffic type", FlowLogFilter{TrafficTypes: []string{"REJECT", "ACCEPT"}}, []string{"subnetReject", "s3"}},
		{"destination type", FlowLogFilter{DestinationTypes: []string{"s3"}}, []string{"s3"}},
		{"delivery failed", FlowLogFilter{DeliverLogsStatus: []string{"FAILED"}}, []string{"failing"}},
		{"delivery works", FlowLogFilter{DeliverLogsStatus: []string{"SUCCESS"}}, []string{"vpcAll", "subnetReject", "s3"}},
		{"tag value", FlowLogFilter{Tags: map[string][]string{"env": {"prod"}}}, []string{"vpcAll", "failing"}},
		{"tag key", FlowLogFilter{TagKeys: []string{"team"}}, []string{"vpcAll"}},
		{"id", FlowLogFilter{IDs: []string{id("failing"), id("subnetReject")}}, []string{"failing", "subnetReject"}},
		{"combined", FlowLogFilter{Tags: map[string][]string{"env": {"prod"}}, DeliverLogsStatus: []string{"FAILED"}}, []string{"failing"}},
		{"nothing", FlowLogFilter{ResourceIDs: []string{"vpc-00000000"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, region := range []string{"us-east-1", "eu-west-1"} {
				fls, err := c.DescribeFlowLogs(context.Background(), region, tc.filter)
				if err != nil {
					t.Fatal(err)
				}
				for _, fl := range fls {
					got = append(got, fl.ID)
				}
			}
			var want []string
			for _, n := range tc.want {
				want = append(want, id(n))
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v (%v)", got, want, tc.want)
			}
		})
	}
}

// moto 5.2.5 answers DescribeFlowLogs in one page whatever MaxResults says, so paging is tested
// against a recorded three-page answer served over HTTP: testdata/describe-flow-logs-page*.xml
// are moto's XML for three flow logs, split into pages with the NextToken AWS would add.
func TestDescribeFlowLogsFollowsNextToken(t *testing.T) {
	var mu sync.Mutex
	var tokens []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Error(err)
		}
		if r.Form.Get("Action") != "DescribeFlowLogs" || r.Form.Get("MaxResults") != "1000" {
			t.Errorf("unexpected request %v", r.Form)
		}
		if !strings.Contains(r.Header.Get("Authorization"), "/us-west-2/ec2/aws4_request") {
			t.Errorf("request not signed for us-west-2/ec2: %q", r.Header.Get("Authorization"))
		}
		mu.Lock()
		tokens = append(tokens, r.Form.Get("NextToken"))
		mu.Unlock()
		page := map[string]string{"": "1", "page-2-token": "2", "page-3-token": "3"}[r.Form.Get("NextToken")]
		if page == "" {
			http.Error(w, "unknown token", http.StatusBadRequest)
			return
		}
		b, err := os.ReadFile(filepath.Join("testdata", "describe-flow-logs-page"+page+".xml"))
		if err != nil {
			t.Error(err)
		}
		w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
		_, _ = w.Write(b)
	}))
	defer srv.Close()

	c := newTestClient(t, srv.URL)
	got, err := c.DescribeFlowLogs(context.Background(), "us-west-2", FlowLogFilter{TrafficTypes: []string{"ALL", "REJECT", "ACCEPT"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"", "page-2-token", "page-3-token"}; !slices.Equal(tokens, want) {
		t.Fatalf("NextToken sent: %q, want %q", tokens, want)
	}
	var ids []string
	for _, fl := range got {
		ids = append(ids, fl.ID)
	}
	if want := []string{"fl-0a1b2c3d4e5f00001", "fl-0a1b2c3d4e5f00002", "fl-0a1b2c3d4e5f00003"}; !slices.Equal(ids, want) {
		t.Fatalf("flow logs %v, want %v", ids, want)
	}
	if got[2].DeliverLogsStatus != "FAILED" || got[2].DeliverLogsError != "Rate limited" || got[2].Region != "us-west-2" {
		t.Fatalf("third page's flow log: %+v", got[2])
	}
}

func TestLogGroupFromARN(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:logs:us-east-1:123456789012:log-group:/vpc/flow-logs:*": "/vpc/flow-logs",
		"arn:aws:logs:us-east-1:123456789012:log-group:my-group":         "my-group",
		"arn:aws:s3:::bucket": "",
		"my-group":            "",
	} {
		if got := LogGroupFromARN(arn); got != want {
			t.Errorf("LogGroupFromARN(%q) = %q, want %q", arn, got, want)
		}
	}
}
