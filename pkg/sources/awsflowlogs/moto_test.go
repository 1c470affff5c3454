package awsflowlogs

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/flowlens/flows-datasource/pkg/internal/motoserver"
	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// The package's tests run against moto_server on a port of 19600-19649 (the AWS helper's range;
// the adapter's tests use 19650-19699).
func TestMain(m *testing.M) { motoserver.Main(m, 19600, 19649) }

// Credentials for the emulator. moto accepts any; these are recognisable so the tests can
// assert they never leak.
const (
	testAccessKey = "AKIAFLOWTESTKEY12345"
	testSecretKey = "flowtest/Secret+Key0123456789abcdefghijk"
	testAccount   = "123456789012" // moto's default account
)

func testAuth(endpoint string) Auth {
	return Auth{AuthType: AuthKeys, AccessKey: testAccessKey, SecretKey: testSecretKey,
		DefaultRegion: "us-east-1", Endpoint: endpoint, Timeout: 30 * time.Second}
}

func newTestClient(t *testing.T, endpoint string) *Client {
	t.Helper()
	c, err := NewClient(context.Background(), testAuth(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ---------------------------------------------------------------------------------------------
// Flow-log configurations created through the EC2 API.

// configFixture is the inventory the tests create: two regions, CloudWatch Logs and S3
// destinations, and one flow log whose log group is missing (moto then reports FAILED,
// "Access error").
type configFixture struct {
	byName map[string]FlowLog // expected configuration per name
}

const (
	groupDefault = "/vpc/flow-logs/default"
	groupCustom  = "/vpc/flow-logs/custom"
	groupMissing = "/vpc/flow-logs/missing"
	testBucket   = "flow-log-bucket"
	roleARN      = "arn:aws:iam::123456789012:role/flow-logs-delivery"
)

// customFormat is the custom logFormat of the tests: other order, extra fields, no account-id.
const customFormat = "${version} ${vpc-id} ${interface-id} ${flow-direction} ${srcaddr} ${srcport} ${dstaddr} ${dstport} ${protocol} ${tcp-flags} ${bytes} ${packets} ${start} ${end} ${action} ${log-status}"

func createConfigs(t *testing.T, c *Client, endpoint string) configFixture {
	t.Helper()
	ctx := context.Background()
	fx := configFixture{byName: map[string]FlowLog{}}

	east, west := c.ec2In("us-east-1"), c.ec2In("eu-west-1")
	vpcEast := mustVPC(t, east, "10.0.0.0/16")
	subnetEast, err := east.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: aws.String(vpcEast), CidrBlock: aws.String("10.0.1.0/24")})
	if err != nil {
		t.Fatal(err)
	}
	vpcWest := mustVPC(t, west, "10.1.0.0/16")
	vpcWest2 := mustVPC(t, west, "10.2.0.0/16")

	for _, g := range []string{groupDefault, groupCustom} {
		if _, err := c.logsIn("us-east-1").CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
	}
	mustBucket(t, endpoint, "eu-west-1", testBucket)

	create := func(name, region string, in *ec2.CreateFlowLogsInput, want FlowLog) {
		out, err := c.ec2In(region).CreateFlowLogs(ctx, in)
		if err != nil {
			t.Fatalf("CreateFlowLogs %s: %v", name, err)
		}
		if len(out.FlowLogIds) != 1 || len(out.Unsuccessful) != 0 {
			t.Fatalf("CreateFlowLogs %s: ids %v, unsuccessful %+v", name, out.FlowLogIds, out.Unsuccessful)
		}
		want.ID, want.Region = out.FlowLogIds[0], region
		want.ResourceID = in.ResourceIds[0]
		want.TrafficType = string(in.TrafficType)
		want.Status = "ACTIVE"
		fx.byName[name] = want
	}
	tags := func(kv ...string) []types.TagSpecification {
		var ts []types.Tag
		for i := 0; i < len(kv); i += 2 {
			ts = append(ts, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		return []types.TagSpecification{{ResourceType: types.ResourceTypeVpcFlowLog, Tags: ts}}
	}
	create("vpcAll", "us-east-1", &ec2.CreateFlowLogsInput{
		ResourceIds: []string{vpcEast}, ResourceType: types.FlowLogsResourceTypeVpc, TrafficType: types.TrafficTypeAll,
		LogGroupName: aws.String(groupDefault), DeliverLogsPermissionArn: aws.String(roleARN),
		MaxAggregationInterval: aws.Int32(60), TagSpecifications: tags("env", "prod", "team", "network"),
	}, FlowLog{DestinationType: "cloud-watch-logs", LogGroupName: groupDefault, LogFormat: DefaultLogFormat,
		MaxAggregationInterval: 60, DeliverLogsStatus: "SUCCESS", DeliverLogsRoleARN: roleARN,
		Tags: map[string]string{"env": "prod", "team": "network"}})
	create("subnetReject", "us-east-1", &ec2.CreateFlowLogsInput{
		ResourceIds: []string{aws.ToString(subnetEast.Subnet.SubnetId)}, ResourceType: types.FlowLogsResourceTypeSubnet,
		TrafficType: types.TrafficTypeReject, LogGroupName: aws.String(groupCustom), DeliverLogsPermissionArn: aws.String(roleARN),
		LogFormat: aws.String(customFormat), TagSpecifications: tags("env", "dev"),
	}, FlowLog{DestinationType: "cloud-watch-logs", LogGroupName: groupCustom, LogFormat: customFormat,
		MaxAggregationInterval: 600, DeliverLogsStatus: "SUCCESS", DeliverLogsRoleARN: roleARN,
		Tags: map[string]string{"env": "dev"}})
	create("failing", "eu-west-1", &ec2.CreateFlowLogsInput{
		ResourceIds: []string{vpcWest}, ResourceType: types.FlowLogsResourceTypeVpc, TrafficType: types.TrafficTypeAll,
		LogGroupName: aws.String(groupMissing), DeliverLogsPermissionArn: aws.String(roleARN),
		TagSpecifications: tags("env", "prod"),
	}, FlowLog{DestinationType: "cloud-watch-logs", LogGroupName: groupMissing, LogFormat: DefaultLogFormat,
		MaxAggregationInterval: 600, DeliverLogsStatus: "FAILED", DeliverLogsError: "Access error", DeliverLogsRoleARN: roleARN,
		Tags: map[string]string{"env": "prod"}})
	create("s3", "eu-west-1", &ec2.CreateFlowLogsInput{
		ResourceIds: []string{vpcWest2}, ResourceType: types.FlowLogsResourceTypeVpc, TrafficType: types.TrafficTypeAccept,
		LogDestinationType: types.LogDestinationTypeS3, LogDestination: aws.String("arn:aws:s3:::" + testBucket),
	}, FlowLog{DestinationType: "s3", Destination: "arn:aws:s3:::" + testBucket, LogFormat: DefaultLogFormat,
		MaxAggregationInterval: 600, DeliverLogsStatus: "SUCCESS", Tags: map[string]string{}})
	return fx
}

func mustVPC(t *testing.T, c *ec2.Client, cidr string) string {
	t.Helper()
	out, err := c.CreateVpc(context.Background(), &ec2.CreateVpcInput{CidrBlock: aws.String(cidr)})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Vpc.VpcId)
}

// mustBucket creates an S3 bucket with a plain path-style PUT (moto does not check the
// signature), so that the tests need not compile service/s3.
func mustBucket(t *testing.T, endpoint, region, name string) {
	t.Helper()
	body := fmt.Sprintf(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>%s</LocationConstraint></CreateBucketConfiguration>`, region)
	req, _ := http.NewRequest(http.MethodPut, endpoint+"/"+name, strings.NewReader(body))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAccessKey+"/20250101/"+region+"/s3/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("creating bucket %s: HTTP %d %s", name, resp.StatusCode, b)
	}
}

// ---------------------------------------------------------------------------------------------
// Flow records: the simulator's deterministic traffic, written as VPC flow log records.

// enis maps the simulator's exporters to network interfaces, one log stream each.
var enis = map[string]string{
	"10.0.0.1": "eni-0a00000001", "10.0.0.2": "eni-0a00000002", "10.0.1.1": "eni-0a00010001", "fd00::1": "eni-0fd0000001",
}

// vpcAction is how the tests map a simulator flow to ACCEPT/REJECT: connection attempts that
// never got past SYN (tcp flags 2) were rejected.
func vpcAction(f simulator.Flow) string {
	if f.Protocol == 6 && f.TCPFlags == 2 {
		return "REJECT"
	}
	return "ACCEPT"
}

// recordLine writes f as a record of the given logFormat, field by field, without the
// package's parser.
func recordLine(logFormat string, f simulator.Flow) string {
	var vals []string
	for _, tok := range strings.Fields(logFormat) {
		name := strings.TrimSuffix(strings.TrimPrefix(tok, "${"), "}")
		var v string
		switch name {
		case "version":
			v = "2"
		case "account-id":
			v = testAccount
		case "interface-id":
			v = enis[f.ExporterIP]
		case "vpc-id":
			v = "vpc-sim0001"
		case "flow-direction":
			v = "egress"
		case "srcaddr":
			v = f.SrcIP
		case "dstaddr":
			v = f.DstIP
		case "srcport":
			v = strconv.Itoa(f.SrcPort)
		case "dstport":
			v = strconv.Itoa(f.DstPort)
		case "protocol":
			v = strconv.Itoa(f.Protocol)
		case "tcp-flags":
			v = strconv.Itoa(f.TCPFlags)
		case "bytes":
			v = strconv.FormatInt(f.Bytes, 10)
		case "packets":
			v = strconv.FormatInt(f.Packets, 10)
		case "start":
			v = strconv.FormatInt(f.WindowStart/1000, 10)
		case "end":
			v = strconv.FormatInt(f.WindowEnd/1000, 10)
		case "action":
			v = vpcAction(f)
		case "log-status":
			v = "OK"
		default:
			panic("recordLine: no value for " + name)
		}
		vals = append(vals, v)
	}
	return strings.Join(vals, " ")
}

// simulatedFlows returns the simulator's records of the minutes [from, from+minutes).
func simulatedFlows(from time.Time, minutes int) []simulator.Flow {
	sim := simulator.New(simulator.Config{Seed: 42, Log: io.Discard})
	var out []simulator.Flow
	for m := range minutes {
		out = append(out, sim.WindowFlows(from.Add(time.Duration(m)*time.Minute))...)
	}
	return out
}

// dataStart is the first minute of the test traffic: recent, because CloudWatch Logs (and
// moto) reject events older than 14 days.
func dataStart() time.Time { return time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour) }

// putRecords writes flows into group as flow log records of logFormat, one log stream per
// network interface, with the record's start as the event time (what CloudWatch Logs shows).
func putRecords(t *testing.T, c *Client, region, group, logFormat string, flows []simulator.Flow) {
	t.Helper()
	ctx := context.Background()
	logs := c.logsIn(region)
	byStream := map[string][]cwtypes.InputLogEvent{}
	for _, f := range flows {
		s := enis[f.ExporterIP]
		byStream[s] = append(byStream[s], cwtypes.InputLogEvent{
			Timestamp: aws.Int64(f.WindowStart), Message: aws.String(recordLine(logFormat, f))})
	}
	streams := make([]string, 0, len(byStream))
	for s := range byStream {
		streams = append(streams, s)
	}
	sort.Strings(streams)
	for _, s := range streams {
		if _, err := logs.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(group), LogStreamName: aws.String(s)}); err != nil {
			t.Fatal(err)
		}
		evs := byStream[s]
		slices.SortStableFunc(evs, func(a, b cwtypes.InputLogEvent) int { return int(aws.ToInt64(a.Timestamp) - aws.ToInt64(b.Timestamp)) })
		for len(evs) > 0 {
			n := min(len(evs), 5000)
			out, err := logs.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(group), LogStreamName: aws.String(s), LogEvents: evs[:n]})
			if err != nil {
				t.Fatal(err)
			}
			if out.RejectedLogEventsInfo != nil {
				t.Fatalf("PutLogEvents rejected events: %+v", out.RejectedLogEventsInfo)
			}
			evs = evs[n:]
		}
	}
}
