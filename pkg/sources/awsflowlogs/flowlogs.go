package awsflowlogs

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// FlowLog is one flow-log configuration, as DescribeFlowLogs reports it, plus its region.
type FlowLog struct {
	ID                     string
	Region                 string
	ResourceID             string // VPC, subnet, network interface, transit gateway (attachment)
	TrafficType            string // ACCEPT, REJECT or ALL
	DestinationType        string // cloud-watch-logs, s3 or kinesis-data-firehose
	Destination            string // ARN of the log group, bucket or delivery stream
	LogGroupName           string // CloudWatch Logs destinations only
	LogFormat              string
	MaxAggregationInterval int // seconds: 60 or 600
	Status                 string
	DeliverLogsStatus      string // SUCCESS or FAILED
	DeliverLogsError       string // "Rate limited", "Access error", "Unknown error"
	DeliverLogsRoleARN     string
	CreationTime           time.Time
	Tags                   map[string]string
}

// Failed reports whether delivery of the flow log's records fails.
func (f FlowLog) Failed() bool { return f.DeliverLogsStatus == "FAILED" }

// FlowLogFilter narrows DescribeFlowLogs. Each list matches any of its values; the lists and
// tags all have to match. Empty matches everything.
type FlowLogFilter struct {
	IDs                []string
	ResourceIDs        []string
	TrafficTypes       []string
	DestinationTypes   []string
	DeliverLogsStatus  []string
	LogGroupNames      []string
	Tags               map[string][]string // tag key -> any of these values
	TagKeys            []string            // has a tag with this key, whatever its value
	MaxFlowLogsInTotal int                 // 0: DefaultMaxFlowLogs
}

// DefaultMaxFlowLogs bounds the configurations one call reads (memory): far above the AWS
// quota of flow logs per account and region in practice.
const DefaultMaxFlowLogs = 100000

// pageSize is DescribeFlowLogs' MaxResults (AWS allows up to 1000).
const pageSize = 1000

// ec2Filters are the server-side filters. deliver-log-status is left out on purpose: moto
// 5.2.5 matches it against "SUCCESS" whatever the flow log's status; matchFilter applies it
// (and, defensively, every other filter) to what comes back.
func (f FlowLogFilter) ec2Filters() []types.Filter {
	var out []types.Filter
	add := func(name string, values []string) {
		if len(values) > 0 {
			out = append(out, types.Filter{Name: aws.String(name), Values: values})
		}
	}
	add("resource-id", f.ResourceIDs)
	add("traffic-type", f.TrafficTypes)
	add("log-destination-type", f.DestinationTypes)
	add("log-group-name", f.LogGroupNames)
	add("tag-key", f.TagKeys)
	keys := make([]string, 0, len(f.Tags))
	for k := range f.Tags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		add("tag:"+k, f.Tags[k])
	}
	return out
}

func (f FlowLogFilter) match(fl FlowLog) bool {
	in := func(values []string, v string) bool { return len(values) == 0 || slices.Contains(values, v) }
	if !in(f.IDs, fl.ID) || !in(f.ResourceIDs, fl.ResourceID) || !in(f.TrafficTypes, fl.TrafficType) ||
		!in(f.DestinationTypes, fl.DestinationType) || !in(f.DeliverLogsStatus, fl.DeliverLogsStatus) ||
		!in(f.LogGroupNames, fl.LogGroupName) {
		return false
	}
	for _, k := range f.TagKeys {
		if _, ok := fl.Tags[k]; !ok {
			return false
		}
	}
	for k, values := range f.Tags {
		v, ok := fl.Tags[k]
		if !ok || (len(values) > 0 && !slices.Contains(values, v)) {
			return false
		}
	}
	return true
}

// DescribeFlowLogs lists the flow logs of one region that match f, reading every page
// (NextToken). The answer is sorted by flow log ID.
func (c *Client) DescribeFlowLogs(ctx context.Context, region string, f FlowLogFilter) ([]FlowLog, error) {
	limit := f.MaxFlowLogsInTotal
	if limit <= 0 {
		limit = DefaultMaxFlowLogs
	}
	in := &ec2.DescribeFlowLogsInput{Filter: f.ec2Filters(), MaxResults: aws.Int32(pageSize)}
	if len(f.IDs) > 0 {
		in.FlowLogIds = f.IDs
	}
	var out []FlowLog
	seen := 0
	pages := ec2.NewDescribeFlowLogsPaginator(c.ec2In(region), in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, classify(c.auth, region, "ec2:DescribeFlowLogs", err)
		}
		for _, raw := range page.FlowLogs {
			seen++
			if seen > limit {
				return nil, fmt.Errorf("AWS ec2:DescribeFlowLogs in region %s: more than %d flow logs; narrow the query with filters", region, limit)
			}
			fl := convertFlowLog(region, raw)
			if f.match(fl) {
				out = append(out, fl)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func convertFlowLog(region string, raw types.FlowLog) FlowLog {
	fl := FlowLog{
		ID:                     aws.ToString(raw.FlowLogId),
		Region:                 region,
		ResourceID:             aws.ToString(raw.ResourceId),
		TrafficType:            string(raw.TrafficType),
		DestinationType:        string(raw.LogDestinationType),
		Destination:            aws.ToString(raw.LogDestination),
		LogGroupName:           aws.ToString(raw.LogGroupName),
		LogFormat:              aws.ToString(raw.LogFormat),
		MaxAggregationInterval: int(aws.ToInt32(raw.MaxAggregationInterval)),
		Status:                 aws.ToString(raw.FlowLogStatus),
		DeliverLogsStatus:      aws.ToString(raw.DeliverLogsStatus),
		DeliverLogsError:       aws.ToString(raw.DeliverLogsErrorMessage),
		DeliverLogsRoleARN:     aws.ToString(raw.DeliverLogsPermissionArn),
		CreationTime:           aws.ToTime(raw.CreationTime).UTC(),
		Tags:                   map[string]string{},
	}
	if fl.DestinationType == "" && fl.LogGroupName != "" {
		fl.DestinationType = "cloud-watch-logs"
	}
	if fl.LogGroupName == "" && fl.DestinationType == "cloud-watch-logs" {
		fl.LogGroupName = LogGroupFromARN(fl.Destination)
	}
	if fl.Destination == "" {
		// AWS reports the log group's ARN; moto reports only its name.
		fl.Destination = fl.LogGroupName
	}
	for _, t := range raw.Tags {
		fl.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return fl
}

// LogGroupFromARN returns the log group name of a CloudWatch Logs log group ARN
// (arn:aws:logs:REGION:ACCOUNT:log-group:NAME, optionally followed by ":*"); "" otherwise.
func LogGroupFromARN(arn string) string {
	const marker = ":log-group:"
	i := strings.Index(arn, marker)
	if !strings.HasPrefix(arn, "arn:") || i < 0 {
		return ""
	}
	return strings.TrimSuffix(arn[i+len(marker):], ":*")
}

// RegionFromARN returns the region field of an ARN; "" when it has none.
func RegionFromARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || parts[0] != "arn" {
		return ""
	}
	return parts[3]
}
