package awsflowlogs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// EventsQuery selects the log events of one log group by event time.
type EventsQuery struct {
	LogGroup string
	// Start and End bound the event timestamps: Start <= t < End.
	Start, End time.Time
	// Streams restricts the query to these log streams (for flow logs: network interface
	// IDs); empty reads every stream.
	Streams []string
	// MaxEvents stops reading after this many events (memory and API calls); must be > 0.
	MaxEvents int
}

// Event is one CloudWatch Logs event.
type Event struct {
	ID        string // unique within the log group
	Timestamp time.Time
	Stream    string
	Message   string
}

// ErrStop, returned by the callback of FilterLogEvents, stops reading without an error.
var ErrStop = errors.New("stop")

// EventsResult says how a FilterLogEvents read ended.
type EventsResult struct {
	Events    int
	Pages     int  // API calls made
	Truncated bool // MaxEvents was reached with more events left
}

// FilterLogEvents reads the events of q page by page (NextToken) and hands each to fn, in the
// order CloudWatch Logs returns them. It stops at q.MaxEvents (Truncated) or when fn returns
// ErrStop; any other error of fn is returned as is.
func (c *Client) FilterLogEvents(ctx context.Context, region string, q EventsQuery, fn func(Event) error) (EventsResult, error) {
	return c.filterLogEvents(ctx, region, q, 0, fn)
}

// filterLogEvents is FilterLogEvents with a page size (Limit); 0 is the AWS default, 10,000
// events or 1 MB per page.
func (c *Client) filterLogEvents(ctx context.Context, region string, q EventsQuery, pageSize int32, fn func(Event) error) (EventsResult, error) {
	var res EventsResult
	if q.LogGroup == "" {
		return res, fmt.Errorf("log group name is empty")
	}
	if q.MaxEvents <= 0 {
		return res, fmt.Errorf("MaxEvents must be > 0")
	}
	in := &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName: aws.String(q.LogGroup),
		StartTime:    aws.Int64(q.Start.UnixMilli()),
		// EndTime is inclusive in CloudWatch Logs.
		EndTime: aws.Int64(q.End.UnixMilli() - 1),
	}
	if pageSize > 0 {
		in.Limit = aws.Int32(pageSize)
	}
	if len(q.Streams) > 0 {
		in.LogStreamNames = q.Streams
	}
	pages := cloudwatchlogs.NewFilterLogEventsPaginator(c.logsIn(region), in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return res, classify(c.auth, region, "logs:FilterLogEvents", err)
		}
		res.Pages++
		for _, ev := range page.Events {
			if res.Events >= q.MaxEvents {
				res.Truncated = true
				return res, nil
			}
			res.Events++
			err := fn(Event{
				ID:        aws.ToString(ev.EventId),
				Timestamp: time.UnixMilli(aws.ToInt64(ev.Timestamp)).UTC(),
				Stream:    aws.ToString(ev.LogStreamName),
				Message:   aws.ToString(ev.Message),
			})
			if errors.Is(err, ErrStop) {
				return res, nil
			}
			if err != nil {
				return res, err
			}
		}
	}
	return res, nil
}
