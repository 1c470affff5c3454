package plugin

import (
	"time"

	"context"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
	"github.com/flowlens/flows-datasource/pkg/models"
)

// aggregation is a top-talkers or protocols answer with how it was obtained.
type aggregation struct {
	talkers   []flowsapi.TopTalker
	protocols []flowsapi.ProtocolStat
	executed  string
	// computedBecause is set when the answer was computed from /flows, with set the records read.
	computedBecause string
	set             *flowSet
}

// topTalkers ranks talkers from /top-talkers when the range ends now and no filter is set,
// otherwise computes the same ranking from /flows over exactly the range.
func (d *Datasource) topTalkers(ctx context.Context, tr backend.TimeRange, now time.Time, f models.Filters, dim, by string, limit int) (*aggregation, error) {
	if secs, reason := aggregateWindow(tr, now, f); secs > 0 {
		p := flowsapi.TopTalkersParams{WindowSecs: secs, By: by, Dim: dim, Limit: limit}
		rows, err := d.client.TopTalkers(ctx, p)
		if err != nil {
			return nil, err
		}
		return &aggregation{talkers: rows, executed: flowsapi.RequestString(flowsapi.TopTalkersPath, p.Values())}, nil
	} else {
		set, err := d.fetchFlows(ctx, tr, f, "timestamp", "desc", d.settings.RowCap)
		if err != nil {
			return nil, err
		}
		return &aggregation{talkers: talkersFromFlows(set.flows, dim, by, limit), executed: strings.Join(set.requests, "\n"), computedBecause: reason, set: set}, nil
	}
}

// protocols is /protocols, or the same breakdown computed from /flows, by the same rule.
func (d *Datasource) protocols(ctx context.Context, tr backend.TimeRange, now time.Time, f models.Filters) (*aggregation, error) {
	if secs, reason := aggregateWindow(tr, now, f); secs > 0 {
		rows, err := d.client.Protocols(ctx, secs)
		if err != nil {
			return nil, err
		}
		return &aggregation{protocols: rows, executed: flowsapi.RequestString(flowsapi.ProtocolsPath, flowsapi.ProtocolsValues(secs))}, nil
	} else {
		set, err := d.fetchFlows(ctx, tr, f, "timestamp", "desc", d.settings.RowCap)
		if err != nil {
			return nil, err
		}
		return &aggregation{protocols: protocolsFromFlows(set.flows), executed: strings.Join(set.requests, "\n"), computedBecause: reason, set: set}, nil
	}
}

// addNotices says on a frame that an aggregation was computed from /flows, and warns when the
// row cap left it partial.
func (a *aggregation) addNotices(frame *data.Frame, tr backend.TimeRange, consequence string) {
	if a.computedBecause == "" {
		return
	}
	addNotice(frame, data.NoticeSeverityInfo, computedNotice(tr, a.computedBecause))
	if a.set.capped {
		addNotice(frame, data.NoticeSeverityWarning, cappedNotice(a.set, consequence))
	}
}

// topTalkersHandler answers queryType topTalkers.
func (d *Datasource) topTalkersHandler(ctx context.Context, r request) (data.Frames, error) {
	q := r.query
	agg, err := d.topTalkers(ctx, r.timeRange, r.now, q.Filters, q.Dim, q.By, q.Limit)
	if err != nil {
		return nil, err
	}
	// Alert rules need numbers per talker, so they get the numeric frame whatever the format.
	if q.Format == "nodegraph" && !r.fromAlert {
		frames := nodeGraphFrames(agg.talkers, q.By, agg.executed)
		d.addNodeGraphLinks(frames[0], frames[1])
		agg.addNotices(frames[0], r.timeRange, "the graph covers only the records read")
		return frames, nil
	}
	frame := talkersFrame(agg.talkers, q.Dim, q.By, r.fromAlert, agg.executed)
	d.addDrillDownLinks(frame)
	agg.addNotices(frame, r.timeRange, "the top talkers cover only the records read")
	return data.Frames{frame}, nil
}

// protocolsHandler answers queryType protocols.
func (d *Datasource) protocolsHandler(ctx context.Context, r request) (data.Frames, error) {
	q := r.query
	agg, err := d.protocols(ctx, r.timeRange, r.now, q.Filters)
	if err != nil {
		return nil, err
	}
	frame := protocolsFrame(agg.protocols, q.By, r.fromAlert, agg.executed)
	agg.addNotices(frame, r.timeRange, "the protocol totals cover only the records read")
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
	rows := min(q.Limit, d.settings.RowCap)
	set, err := d.fetchFlows(ctx, r.timeRange, q.Filters, q.Sort, q.Order, rows)
	if err != nil {
		return nil, err
	}
	frame := flowsTableFrame(set.flows, strings.Join(set.requests, "\n"))
	d.addDrillDownLinks(frame)
	if q.Limit > d.settings.RowCap && set.capped {
		addNotice(frame, data.NoticeSeverityWarning, cappedNotice(set, "the table shows the first rows in the chosen order"))
	}
	return data.Frames{frame}, nil
}
