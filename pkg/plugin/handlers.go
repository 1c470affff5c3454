package plugin

import (
	"context"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/models"
)

// topTalkersHandler answers queryType topTalkers.
func (d *Datasource) topTalkersHandler(ctx context.Context, r request) (data.Frames, error) {
	q := r.query
	agg, err := d.engine.TopTalkers(ctx, engine.TalkersQuery{From: r.timeRange.From, To: r.timeRange.To, Now: r.now,
		Filters: filters(q.Filters), Dim: q.Dim, By: q.By, Limit: q.Limit})
	if err != nil {
		return nil, err
	}
	if agg.Approximate != "" && r.fromAlert {
		return nil, &engine.QueryError{Field: "timeRange", Msg: agg.Approximate + " An alert rule needs exact values: use a range that ends now, or add a filter"}
	}
	// Alert rules need numbers per talker, so they get the numeric frame whatever the format.
	if q.Format == "nodegraph" && !r.fromAlert {
		frames := engine.NodeGraphFrames(agg.Talkers, q.By, agg.Executed)
		d.addNodeGraphLinks(frames[0], frames[1])
		d.engine.AddNotices(agg, frames[0], r.timeRange.From, r.timeRange.To, "the graph covers only the records read")
		return frames, nil
	}
	frame := engine.TalkersFrame(agg.Talkers, q.Dim, q.By, r.fromAlert, agg.Executed)
	d.engine.DropMissingMetrics(frame)
	d.addDrillDownLinks(frame)
	d.engine.AddNotices(agg, frame, r.timeRange.From, r.timeRange.To, "the top talkers cover only the records read")
	return data.Frames{frame}, nil
}

// protocolsHandler answers queryType protocols.
func (d *Datasource) protocolsHandler(ctx context.Context, r request) (data.Frames, error) {
	q := r.query
	if err := d.engine.CheckMetric("by", q.By); err != nil {
		return nil, err
	}
	agg, err := d.engine.Protocols(ctx, engine.ProtocolsQuery{From: r.timeRange.From, To: r.timeRange.To, Now: r.now, Filters: filters(q.Filters)})
	if err != nil {
		return nil, err
	}
	if agg.Approximate != "" && r.fromAlert {
		return nil, &engine.QueryError{Field: "timeRange", Msg: agg.Approximate + " An alert rule needs exact values: use a range that ends now"}
	}
	frame := engine.ProtocolsFrame(agg.Protocols, q.By, r.fromAlert, agg.Executed)
	d.engine.DropMissingMetrics(frame)
	d.engine.AddNotices(agg, frame, r.timeRange.From, r.timeRange.To, "the protocol totals cover only the records read")
	return data.Frames{frame}, nil
}

// flowsHandler answers queryType flows: a table of records, or traffic over time.
func (d *Datasource) flowsHandler(ctx context.Context, r request) (data.Frames, error) {
	q := r.query
	if q.Format == "timeseries" {
		return d.trafficHandler(ctx, r)
	}
	if r.fromAlert {
		return nil, &models.QueryError{Field: "queryType", Value: "flows",
			Msg: "with format 'table' cannot be used in an alert rule: it returns raw records, not numbers. Use Top talkers, Protocols, or Flows with format 'timeseries'"}
	}
	rowCap := d.engine.RowCap()
	// The frame's columns are filled page by page as the records are read, sized once from the
	// source's total: the records themselves are never all held (docs/performance.md).
	table := engine.NewTableBuilder(d.engine.Capabilities().Columns, 0)
	set, err := d.engine.ReadEachSized(ctx, r.timeRange.From, r.timeRange.To, filters(q.Filters), q.Sort, q.Order, min(q.Limit, rowCap),
		table.Grow, func(page []engine.Record) error {
			table.Add(page)
			return nil
		})
	if err != nil {
		return nil, err
	}
	frame := table.Frame(strings.Join(set.Requests, "\n"))
	d.addDrillDownLinks(frame)
	if q.Limit > rowCap && set.Capped {
		engine.AddNotice(frame, data.NoticeSeverityWarning, engine.CappedNoticeOf(table.Rows(), set, "the table shows the first rows in the chosen order"))
	}
	return data.Frames{frame}, nil
}
