package plugin

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// trafficHandler answers flows queries with format timeseries: the API has no time-bucketed
// endpoint, so records in the range are read from /flows and bucketed here. Alert rules get the
// same frames as panels.
func (d *Datasource) trafficHandler(ctx context.Context, r request) (data.Frames, error) {
	q := r.query
	set, err := d.fetchFlows(ctx, r.timeRange, q.Filters, "timestamp", "desc", d.settings.RowCap)
	if err != nil {
		return nil, err
	}
	res := buildSeries(set.flows, seriesSpec{
		metric: q.Metric, unit: q.Unit, groupBy: q.GroupBy, topN: q.TopN, other: q.Other,
		from: r.timeRange.From, to: r.timeRange.To, width: bucketWidth(r.interval), maxPoints: maxSeriesPoints,
	})
	frames := seriesFrames(res, q.Metric, q.Unit, strings.Join(set.requests, "\n"))
	for _, f := range frames {
		d.addSeriesLinks(f)
	}
	first := frames[0]
	if res.widenedFrom > 0 {
		addNotice(first, data.NoticeSeverityInfo, fmt.Sprintf(
			"Buckets widened from %s to %s: %d series × the range at %s would exceed %d points.",
			formatWidth(res.widenedFrom), formatWidth(res.width), len(res.series), formatWidth(res.widenedFrom), maxSeriesPoints))
	}
	if set.capped {
		addNotice(first, data.NoticeSeverityWarning, cappedNotice(set, "the series are partial: they count only the records read"))
	}
	return frames, nil
}

// seriesUnit is the Grafana unit for a metric: rates per second, or totals per bucket.
func seriesUnit(metric, unit string) string {
	switch {
	case unit == "rate" && metric == "bytes":
		return "bps"
	case unit == "rate" && metric == "packets":
		return "pps"
	case unit == "rate":
		return "cps" // flows per second
	case metric == "bytes":
		return "decbytes"
	default:
		return "short"
	}
}

// seriesFrames lays out the data plane's timeseries-multi kind: one frame per series with a
// time field and a value field named after the metric, labelled with the series' group.
func seriesFrames(res seriesResult, metric, unit, executed string) data.Frames {
	times := make([]time.Time, res.buckets)
	for b := range times {
		times[b] = res.start.Add(time.Duration(b) * res.width)
	}
	widthMs := float64(res.width.Milliseconds())
	frames := make(data.Frames, 0, len(res.series))
	for _, s := range res.series {
		timeField := data.NewField("time", nil, times)
		timeField.Config = &data.FieldConfig{Interval: widthMs}
		value := data.NewField(metric, s.labels, s.values)
		value.Config = &data.FieldConfig{Unit: seriesUnit(metric, unit), Interval: widthMs}
		if s.display != "" {
			value.Config.DisplayNameFromDS = s.display
		}
		f := data.NewFrame(metric, timeField, value)
		f.Meta = &data.FrameMeta{
			Type:                   data.FrameTypeTimeSeriesMulti,
			TypeVersion:            dataplaneVersion,
			PreferredVisualization: data.VisTypeGraph, // Explore draws it as a graph
			ExecutedQueryString:    executed,
			Custom:                 map[string]any{"bucketWidthSeconds": int(res.width.Seconds())},
		}
		frames = append(frames, f)
	}
	return frames
}
