package plugin

import (
	"context"
	"strings"

	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/flowsapi"
	"github.com/flowlens/flows-datasource/pkg/models"
)

// topTalkersHandler answers queryType topTalkers: from /top-talkers when the range ends now and
// no filter is set, otherwise the same ranking computed from /flows over exactly the range.
func (d *Datasource) topTalkersHandler(ctx context.Context, r request) (data.Frames, error) {
	q := r.query
	if secs, reason := aggregateWindow(r.timeRange, r.now, q.Filters); secs > 0 {
		p := flowsapi.TopTalkersParams{WindowSecs: secs, By: q.By, Dim: q.Dim, Limit: q.Limit}
		rows, err := d.client.TopTalkers(ctx, p)
		if err != nil {
			return nil, err
		}
		return data.Frames{talkersFrame(rows, q.Dim, q.By, r.fromAlert, flowsapi.RequestString(flowsapi.TopTalkersPath, p.Values()))}, nil
	} else {
		set, err := d.fetchFlows(ctx, r.timeRange, q.Filters, "timestamp", "desc", d.settings.RowCap)
		if err != nil {
			return nil, err
		}
		frame := talkersFrame(talkersFromFlows(set.flows, q.Dim, q.By, q.Limit), q.Dim, q.By, r.fromAlert, strings.Join(set.requests, "\n"))
		addComputedNotices(frame, r, reason, set, "the top talkers cover only the records read")
		return data.Frames{frame}, nil
	}
}

// protocolsHandler answers queryType protocols, by the same rule as top talkers.
func (d *Datasource) protocolsHandler(ctx context.Context, r request) (data.Frames, error) {
	q := r.query
	if secs, reason := aggregateWindow(r.timeRange, r.now, q.Filters); secs > 0 {
		rows, err := d.client.Protocols(ctx, secs)
		if err != nil {
			return nil, err
		}
		executed := flowsapi.RequestString(flowsapi.ProtocolsPath, map[string][]string{"window_secs": {itoa64(secs)}})
		return data.Frames{protocolsFrame(rows, q.By, r.fromAlert, executed)}, nil
	} else {
		set, err := d.fetchFlows(ctx, r.timeRange, q.Filters, "timestamp", "desc", d.settings.RowCap)
		if err != nil {
			return nil, err
		}
		frame := protocolsFrame(protocolsFromFlows(set.flows), q.By, r.fromAlert, strings.Join(set.requests, "\n"))
		addComputedNotices(frame, r, reason, set, "the protocol totals cover only the records read")
		return data.Frames{frame}, nil
	}
}

func addComputedNotices(frame *data.Frame, r request, reason string, set *flowSet, consequence string) {
	addNotice(frame, data.NoticeSeverityInfo, computedNotice(r.timeRange, reason))
	if set.capped {
		addNotice(frame, data.NoticeSeverityWarning, cappedNotice(set, consequence))
	}
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
	if q.Limit > d.settings.RowCap && set.capped {
		addNotice(frame, data.NoticeSeverityWarning, cappedNotice(set, "the table shows the first rows in the chosen order"))
	}
	return data.Frames{frame}, nil
}
