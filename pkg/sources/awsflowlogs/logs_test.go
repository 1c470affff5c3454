package awsflowlogs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/flowlens/flows-datasource/pkg/internal/motoserver"
	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// recordKey is a flow as text, built from the simulator's fields directly (not through the
// parser), to compare multisets of records.
func flowKey(f simulator.Flow) string {
	return fmt.Sprintf("%s|%s|%s|%d|%d|%d|%d|%d|%d|%d|%s", enis[f.ExporterIP], f.SrcIP, f.DstIP, f.SrcPort, f.DstPort,
		f.Protocol, f.Bytes, f.Packets, f.WindowStart/1000, f.WindowEnd/1000, vpcAction(f))
}

func recordKey(r Record) string {
	return fmt.Sprintf("%s|%s|%s|%d|%d|%d|%d|%d|%d|%d|%s", r.InterfaceID, r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort,
		r.Protocol, r.Bytes, r.Packets, r.Start.Unix(), r.End.Unix(), r.Action)
}

func TestFilterLogEventsReadsTheRecordsOfBothFormats(t *testing.T) {
	moto := motoserver.Get(t)
	c := newTestClient(t, moto.URL)
	ctx := context.Background()
	for _, g := range []string{groupDefault, groupCustom} {
		if _, err := c.logsIn("us-east-1").CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
	}
	start := dataStart()
	flows := simulatedFlows(start, 30)
	if len(flows) < 500 {
		t.Fatalf("only %d simulated flows; the test needs several pages", len(flows))
	}
	putRecords(t, c, "us-east-1", groupDefault, DefaultLogFormat, flows)
	putRecords(t, c, "us-east-1", groupCustom, customFormat, flows)

	for _, tc := range []struct {
		group, format string
		from, to      time.Time
		streams       []string
	}{
		{groupDefault, DefaultLogFormat, start, start.Add(30 * time.Minute), nil},
		{groupCustom, customFormat, start, start.Add(30 * time.Minute), nil},
		// A part of the range, one interface.
		{groupDefault, DefaultLogFormat, start.Add(10 * time.Minute), start.Add(17 * time.Minute), []string{"eni-0a00000001"}},
	} {
		t.Run(fmt.Sprintf("%s %s %v", tc.group, tc.from.Sub(start), tc.streams), func(t *testing.T) {
			var want []string
			for _, f := range flows {
				in := !time.UnixMilli(f.WindowStart).Before(tc.from) && time.UnixMilli(f.WindowStart).Before(tc.to)
				if in && (tc.streams == nil || slices.Contains(tc.streams, enis[f.ExporterIP])) {
					want = append(want, flowKey(f))
				}
			}
			format, err := ParseFormat(tc.format)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			res, err := c.filterLogEvents(ctx, "us-east-1", EventsQuery{LogGroup: tc.group, Start: tc.from, End: tc.to, Streams: tc.streams, MaxEvents: 1 << 20}, 400,
				func(ev Event) error {
					r, err := format.Parse(ev.Message)
					if err != nil {
						return err
					}
					if r.LogStatus != "OK" || ev.Stream != r.InterfaceID && format.Has("interface-id") {
						return fmt.Errorf("record %q in stream %s", ev.Message, ev.Stream)
					}
					if format.Has("vpc-id") && r.Other["vpc-id"] != "vpc-sim0001" {
						return fmt.Errorf("vpc-id of %q: %q", ev.Message, r.Other["vpc-id"])
					}
					got = append(got, recordKey(r))
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if res.Truncated || res.Events != len(want) {
				t.Fatalf("read %d events (truncated %v), want %d", res.Events, res.Truncated, len(want))
			}
			if min := (len(want) + 399) / 400; res.Pages < min {
				t.Fatalf("%d pages for %d events of at most 400: NextToken not followed", res.Pages, len(want))
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("records differ from the simulated flows (%d vs %d); first got %q, want %q", len(got), len(want), got[0], want[0])
			}
		})
	}

	t.Run("MaxEvents truncates", func(t *testing.T) {
		n := 0
		res, err := c.FilterLogEvents(ctx, "us-east-1", EventsQuery{LogGroup: groupDefault, Start: start, End: start.Add(time.Hour), MaxEvents: 250}, func(Event) error { n++; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if !res.Truncated || n != 250 {
			t.Fatalf("got %d events, truncated %v; want 250, true", n, res.Truncated)
		}
	})

	t.Run("missing log group", func(t *testing.T) {
		_, err := c.FilterLogEvents(ctx, "us-east-1", EventsQuery{LogGroup: groupMissing, Start: start, End: start.Add(time.Hour), MaxEvents: 10}, func(Event) error { return nil })
		var e *Error
		if !asError(err, &e) || e.Kind != KindNotFound || !strings.Contains(err.Error(), "logs:FilterLogEvents in region us-east-1") {
			t.Fatalf("error %v, want a not-found error naming the call and region", err)
		}
	})
}

func asError(err error, target **Error) bool { return errors.As(err, target) }
