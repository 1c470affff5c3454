package plugin

import (
	"context"
	"fmt"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/engine"
)

// trafficHandler answers flows queries with format timeseries: bucketed by the source's server
// where it can, otherwise from the records of the range, bucketed by the engine. Alert rules get
// the same frames as panels.
func (d *Datasource) trafficHandler(ctx context.Context, r request) (data.Frames, error) {
	q := r.query
	window := d.engine.Capabilities().WindowSize
	ans, err := d.engine.Series(ctx, engine.SeriesSpec{
		Metric: q.Metric, Unit: q.Unit, GroupBy: q.GroupBy, TopN: q.TopN, Other: q.Other,
		From: r.timeRange.From, To: r.timeRange.To, Width: engine.BucketWidth(r.interval, window), MaxPoints: engine.MaxSeriesPoints,
	}, filters(q.Filters))
	if err != nil {
		return nil, err
	}
	res := ans.Result
	if res.Approximate != "" && r.fromAlert {
		return nil, &engine.QueryError{Field: "groupBy", Value: q.GroupBy, Msg: res.Approximate + " An alert rule needs exact values: group by protocol or none, or add a filter"}
	}
	if res.Partial != "" && r.fromAlert {
		// An alert must never evaluate a partial series: unread time is not zero traffic.
		return nil, &engine.QueryError{Field: "timeRange", Msg: "the answer " + res.Partial + ", and an alert rule needs every bucket"}
	}
	frames := engine.SeriesFrames(res, q.Metric, q.Unit, ans.Executed)
	for _, f := range frames {
		d.addSeriesLinks(f)
	}
	if len(frames) == 0 {
		// No records in the range: no data, said as dataplane says it (a frame without fields).
		frames = data.Frames{data.NewFrame(q.Metric)}
		frames[0].Meta = &data.FrameMeta{Type: data.FrameTypeTimeSeriesMulti, TypeVersion: data.FrameTypeVersion{0, 1}, ExecutedQueryString: ans.Executed}
	}
	first := frames[0]
	if res.Dropped > 0 {
		engine.AddNotice(first, data.NoticeSeverityWarning, fmt.Sprintf(
			"%d records were left out: their time window lies outside the query's time range (the source sent them anyway).", res.Dropped))
	}
	switch {
	case res.WidenedFrom > 0 && res.WidenedWhy != "":
		engine.AddNotice(first, data.NoticeSeverityInfo, fmt.Sprintf("Buckets widened from %s to %s: %s.",
			engine.FormatWidth(res.WidenedFrom), engine.FormatWidth(res.Width), res.WidenedWhy))
	case res.WidenedFrom > 0:
		engine.AddNotice(first, data.NoticeSeverityInfo, fmt.Sprintf(
			"Buckets widened from %s to %s: %d series × the range at %s would exceed %d points.",
			engine.FormatWidth(res.WidenedFrom), engine.FormatWidth(res.Width), len(res.Series), engine.FormatWidth(res.WidenedFrom), engine.MaxSeriesPoints))
	}
	if res.Approximate != "" {
		engine.AddNotice(first, data.NoticeSeverityWarning, res.Approximate)
	}
	if res.Partial != "" {
		engine.AddNotice(first, data.NoticeSeverityWarning, "Partial: the series "+res.Partial+". Unread buckets are empty, not zero.")
	}
	if ans.Set != nil && ans.Set.Capped {
		engine.AddNotice(first, data.NoticeSeverityWarning, engine.CappedNotice(ans.Set, "the series are partial: they count only the records read"))
	}
	return frames, nil
}
