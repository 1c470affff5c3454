// Package calico is the Calico source: Calico Enterprise / Cloud flow logs in Elasticsearch
// or OpenSearch (tigera_secure_ee_flows.*). Every query is one search answered by the
// engine's own aggregations (terms, date_histogram, sum), and the flows table one search per
// page (search_after). The package's elastic client knows the search engines; this package
// knows Calico's fields and meaning (docs/calico.md): each flow counted once although both
// ends report it, bytes in both directions, masked addresses attributed to aggregated names.
package calico

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/internal/intconv"
	"github.com/flowlens/flows-datasource/pkg/sources/calico/elastic"
)

// Type is the value of jsonData.source that selects this source.
const Type = "calico"

// Source is Calico behind the engine's Source interface, with every server-side aggregation.
type Source struct {
	settings Settings
	client   *elastic.Client
	pageSize int

	// How the flows table pages on this cluster, found out by its first read (the engine
	// does not change under a data source).
	pagingMu sync.Mutex
	paging   paging
}

var (
	_ engine.Source              = (*Source)(nil)
	_ engine.TalkersAggregator   = (*Source)(nil)
	_ engine.ProtocolsAggregator = (*Source)(nil)
	_ engine.SeriesAggregator    = (*Source)(nil)
	_ engine.ValueLister         = (*Source)(nil)
)

// maxPageSize is index.max_result_window's default: no page may reach past it (search_after
// pages do not count from the start, so any number of pages may follow).
const maxPageSize = 10_000

// NewSource is the engine.Factory of Calico.
func NewSource(_ context.Context, cfg engine.Config) (engine.Source, error) {
	s, err := LoadSettings(cfg.Instance)
	if err != nil {
		return nil, err
	}
	return New(s, cfg.HTTPClient, cfg.Common.PageSize)
}

// New builds a source from settings; httpClient carries Grafana's TLS, proxy and timeout
// settings (nil: http.DefaultClient).
func New(s Settings, httpClient *http.Client, pageSize int) (*Source, error) {
	c, err := elastic.New(s.URL, httpClient, s.Auth)
	if err != nil {
		return nil, fmt.Errorf("URL: %v", err)
	}
	if pageSize <= 0 {
		pageSize = 1000
	}
	return &Source{settings: s, client: c, pageSize: min(pageSize, maxPageSize)}, nil
}

// Name implements engine.Source.
func (s *Source) Name() string { return "Calico" }

// Capabilities implements engine.Source.
func (s *Source) Capabilities() engine.Capabilities {
	c := engine.Capabilities{
		QueryTypes: []string{engine.QueryTypeFlows, engine.QueryTypeTopTalkers, engine.QueryTypeProtocols, engine.QueryTypeVariableValues},
		Filters: []string{engine.FilterSrcIP, engine.FilterDstIP, engine.FilterPort, engine.FilterSrcPort, engine.FilterDstPort,
			engine.FilterProtocol, engine.FilterExporter, engine.FilterAction},
		GroupBys: []string{engine.GroupNone, engine.GroupAction, engine.GroupProtocol, engine.GroupSrc, engine.GroupDst,
			engine.GroupPair, engine.GroupDstPort, engine.GroupExporter},
		TalkerDims: []string{engine.GroupSrc, engine.GroupDst, engine.GroupPair},
		Variables: []string{engine.VariableSrcIP, engine.VariableDstIP, engine.VariableProtocol, engine.VariableExporter,
			engine.VariablePort, engine.VariableAction},
		WindowSize:     s.settings.FlushInterval,
		MaxRowsPerRead: s.pageSize,
		SortFields:     []string{engine.SortTime},
		Columns:        columns,
		RecordsFrom:    s.settings.IndexPattern,
	}
	for _, d := range dimensions {
		c.Dimensions = append(c.Dimensions, d.Dimension)
		c.Variables = append(c.Variables, d.Key)
		if d.Filter {
			c.Filters = append(c.Filters, d.Key)
		}
		if d.GroupBy {
			c.GroupBys = append(c.GroupBys, d.Key)
		}
	}
	return c
}

var columns = []engine.Column{
	{Name: "end_time", Field: engine.ColTime, Display: "End"},
	{Name: "start_time", Field: engine.ColStart, Display: "Start"},
	{Name: "action", Field: engine.ColAction, Display: "Action"},
	{Name: "source_namespace", Field: engine.ColLabelPrefix + DimSrcNamespace, Display: "Source namespace"},
	{Name: "source_name_aggr", Field: engine.ColLabelPrefix + DimSrcName, Display: "Source"},
	{Name: engine.LabelSrcIP, Field: engine.ColSrcIP, Display: "Source IP"},
	{Name: "source_port", Field: engine.ColSrcPort, Display: "Source port"},
	{Name: "dest_namespace", Field: engine.ColLabelPrefix + DimDstNamespace, Display: "Destination namespace"},
	{Name: "dest_name_aggr", Field: engine.ColLabelPrefix + DimDstName, Display: "Destination"},
	{Name: engine.LabelDstIP, Field: engine.ColDstIP, Display: "Destination IP"},
	{Name: "dest_port", Field: engine.ColDstPort, Display: "Destination port"},
	{Name: engine.LabelProtocol, Field: engine.ColProtocol, Display: "Protocol"},
	{Name: "bytes", Field: engine.ColBytes, Display: "Bytes", Unit: "decbytes"},
	{Name: "bytes_src_to_dst", Field: engine.ColBytesOut, Display: "Bytes source → destination", Unit: "decbytes"},
	{Name: "bytes_dst_to_src", Field: engine.ColBytesIn, Display: "Bytes destination → source", Unit: "decbytes"},
	{Name: "packets", Field: engine.ColPackets, Display: "Packets", Unit: "short"},
	{Name: "num_flows", Field: engine.ColFlows, Display: "Flows", Unit: "short"},
	{Name: "reporter", Field: engine.ColLabelPrefix + DimReporter, Display: "Reporter"},
	{Name: "host", Field: engine.ColExporter, Display: "Node"},
	{Name: "source_type", Field: engine.ColLabelPrefix + DimSrcType, Display: "Source type"},
	{Name: "dest_type", Field: engine.ColLabelPrefix + DimDstType, Display: "Destination type"},
	{Name: "policies", Field: engine.ColLabelPrefix + DimPolicy, Display: "Policies"},
	{Name: "id", Field: engine.ColID, Display: "ID"},
}

// search runs one search and returns its answer with the request as ExecutedQueryString
// shows it (the body as sent; credentials travel only in a header).
func (s *Source) search(ctx context.Context, body obj) (*elastic.SearchResponse, string, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, "", err
	}
	desc := elastic.SearchPath(s.settings.IndexPattern) + " " + string(raw)
	r, err := s.client.Search(ctx, s.settings.IndexPattern, raw)
	if err != nil {
		return nil, desc, downstream(err)
	}
	return r, desc, nil
}

// searchPointInTime is search for a body that names its point in time.
func (s *Source) searchPointInTime(ctx context.Context, body obj) (*elastic.SearchResponse, string, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return nil, "", err
	}
	desc := "POST /_search " + string(raw)
	r, err := s.client.SearchPointInTime(ctx, raw)
	if err != nil {
		return nil, desc, downstream(err)
	}
	return r, desc, nil
}

// downstream tags the client's errors as the cluster's, with the status the answer had.
func downstream(err error) error {
	var ee *elastic.Error
	var te *elastic.TransportError
	switch {
	case errors.As(err, &ee):
		return engine.Downstream(ee.Status, err)
	case errors.As(err, &te) && errors.Is(err, context.DeadlineExceeded):
		return engine.Downstream(http.StatusGatewayTimeout, err)
	}
	return engine.Downstream(http.StatusBadGateway, err)
}

// CheckHealth implements engine.Source: which engine and version answer, and whether the
// index pattern matches any index and how many documents those hold.
func (s *Source) CheckHealth(ctx context.Context) engine.HealthResult {
	// Product, not Info: a user who may only read the indices (all queries need) may not read
	// GET /, which needs the monitor cluster privilege; the check then goes on without the
	// version.
	info, err := s.client.Product(ctx)
	if err != nil {
		return engine.HealthResult{Message: err.Error()}
	}
	who := info.Engine + " " + info.Version
	switch {
	case info.Engine == "":
		who = "Elasticsearch or OpenSearch (engine and version not shown: GET / needs the monitor cluster privilege)"
	case info.Version == "":
		who = info.Engine + " (version not shown: GET / needs the monitor cluster privilege)"
	}
	m, err := s.client.MatchIndex(ctx, s.settings.IndexPattern)
	if err != nil {
		return engine.HealthResult{Message: who + ": " + err.Error()}
	}
	details := map[string]any{"engine": info.Engine, "version": info.Version, "indexPattern": s.settings.IndexPattern,
		"shards": m.Shards, "documents": m.Documents}
	if m.Shards == 0 {
		return engine.HealthResult{Details: details, Message: fmt.Sprintf(
			"%s: the index pattern %q matches no index. Calico writes flow logs to tigera_secure_ee_flows.<cluster>.*; check the pattern and that the user may read those indices",
			who, s.settings.IndexPattern)}
	}
	return engine.HealthResult{OK: true, Details: details, Message: fmt.Sprintf("%s: index pattern %q matches %d documents (%d shards)",
		who, s.settings.IndexPattern, m.Documents, m.Shards)}
}

// ---------------------------------------------------------------------------------------------
// The flows table: documents, one search per page.

// doc is a Calico document as read back.
type doc struct {
	StartTime       int64   `json:"start_time"`
	EndTime         int64   `json:"end_time"`
	Action          string  `json:"action"`
	Reporter        string  `json:"reporter"`
	Host            string  `json:"host"`
	SourceIP        *string `json:"source_ip"`
	SourceNameAggr  string  `json:"source_name_aggr"`
	SourceNamespace string  `json:"source_namespace"`
	SourcePort      *int64  `json:"source_port"`
	SourceType      string  `json:"source_type"`
	DestIP          *string `json:"dest_ip"`
	DestNameAggr    string  `json:"dest_name_aggr"`
	DestNamespace   string  `json:"dest_namespace"`
	DestPort        *int64  `json:"dest_port"`
	DestType        string  `json:"dest_type"`
	Proto           string  `json:"proto"`
	BytesIn         int64   `json:"bytes_in"`
	BytesOut        int64   `json:"bytes_out"`
	PacketsIn       int64   `json:"packets_in"`
	PacketsOut      int64   `json:"packets_out"`
	NumFlows        int64   `json:"num_flows"`
	Policies        struct {
		AllPolicies []string `json:"all_policies"`
	} `json:"policies"`
}

// timeMs reads a date field as Calico stores it: epoch seconds (a number or its text).
func timeMs(raw json.RawMessage) int64 {
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		if f, err := n.Float64(); err == nil {
			return int64(f * 1000)
		}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UnixMilli()
		}
	}
	return 0
}

func (d *doc) record(id string, timeField json.RawMessage) engine.Record {
	r := engine.Record{ID: id, StartMs: d.StartTime * 1000, EndMs: d.EndTime * 1000, Action: d.Action, Exporter: d.Host}
	r.TimeMs = r.EndMs
	if timeField != nil {
		r.TimeMs = timeMs(timeField)
	}
	if d.SourceIP != nil {
		r.SrcIP = *d.SourceIP
	}
	if d.DestIP != nil {
		r.DstIP = *d.DestIP
	}
	// A port outside 0..65535 is not a port: the record keeps none (as for ICMP), rather than
	// the wrapped value, which would be another service's port.
	if d.SourcePort != nil {
		r.SrcPort, _ = intconv.Uint16(*d.SourcePort)
	}
	if d.DestPort != nil {
		r.DstPort, _ = intconv.Uint16(*d.DestPort)
	}
	r.Protocol, r.ProtocolName = protoNumber(d.Proto)
	r.Bytes, r.Packets = d.BytesIn+d.BytesOut, d.PacketsIn+d.PacketsOut
	// In and out are the reporter's; the record's Out is source → destination.
	dir := engine.Directional{BytesOut: d.BytesOut, BytesIn: d.BytesIn, PacketsOut: d.PacketsOut, PacketsIn: d.PacketsIn}
	if d.Reporter == "dst" {
		dir = engine.Directional{BytesOut: d.BytesIn, BytesIn: d.BytesOut, PacketsOut: d.PacketsIn, PacketsIn: d.PacketsOut}
	}
	r.Directional = &dir
	r.Flows = d.NumFlows
	r.Labels = map[string]string{
		DimSrcNamespace: d.SourceNamespace, DimDstNamespace: d.DestNamespace,
		DimSrcName: d.SourceNameAggr, DimDstName: d.DestNameAggr,
		DimSrcType: d.SourceType, DimDstType: d.DestType, DimReporter: d.Reporter,
		DimPolicy: strings.Join(d.Policies.AllPolicies, ", "),
	}
	return r
}

// filtersOf turns one filter combination into the multi-value form the query builder takes.
func filtersOf(f engine.Filter) engine.Filters {
	var out engine.Filters
	if f.SrcIP != "" {
		out.SrcIP = []string{f.SrcIP}
	}
	if f.DstIP != "" {
		out.DstIP = []string{f.DstIP}
	}
	if f.Exporter != "" {
		out.Exporter = []string{f.Exporter}
	}
	if f.Port != nil {
		out.Port = []uint16{*f.Port}
	}
	if f.SrcPort != nil {
		out.SrcPort = []uint16{*f.SrcPort}
	}
	if f.DstPort != nil {
		out.DstPort = []uint16{*f.DstPort}
	}
	if f.Protocol != nil {
		out.Protocol = []uint8{*f.Protocol}
	}
	if f.Action != "" {
		out.Action = []string{f.Action}
	}
	if len(f.Labels) > 0 {
		out.Labels = map[string][]string{}
		for k, v := range f.Labels {
			if v != "" {
				out.Labels[k] = []string{v}
			}
		}
	}
	return out
}

// paging is how the flows table continues from one page to the next.
type paging int

const (
	pagingUnknown paging = iota
	// pagingPointInTime: search_after in a point in time, ties broken by the implicit
	// _shard_doc (Elasticsearch 7.10 and later; Elasticsearch 8 refuses to sort on _id).
	pagingPointInTime
	// pagingByID: search_after on the index pattern, ties broken by _id (OpenSearch, which
	// still sorts on _id, and Elasticsearch before 7.10, which has no point in time).
	pagingByID
)

// pointInTimeKeepAlive is how long a point in time outlives each page's search: the time the
// plugin may take between two pages. It is closed when the read ends anyway.
const pointInTimeKeepAlive = "1m"

// pagingOf decides, once per source, how the flows table pages on this cluster (docs/calico.md).
func (s *Source) pagingOf(ctx context.Context) (paging, error) {
	s.pagingMu.Lock()
	defer s.pagingMu.Unlock()
	if s.paging != pagingUnknown {
		return s.paging, nil
	}
	info, err := s.client.Product(ctx)
	if err != nil {
		return pagingUnknown, downstream(err)
	}
	s.paging = pagingByID
	if info.Engine == elastic.Elasticsearch && (info.Version == "" || versionAtLeast(info.Version, 7, 10)) {
		// No version: only the product header told, which Elasticsearch sends since 7.14.
		s.paging = pagingPointInTime
	}
	return s.paging, nil
}

// versionAtLeast reports whether a version "major.minor.patch…" is at least major.minor.
func versionAtLeast(version string, major, minor int) bool {
	parts := strings.SplitN(version, ".", 3)
	maj, err := strconv.Atoi(parts[0])
	if err != nil {
		return false
	}
	mnr := 0
	if len(parts) > 1 {
		mnr, _ = strconv.Atoi(strings.TrimFunc(parts[1], func(r rune) bool { return r < '0' || r > '9' }))
	}
	return maj > major || (maj == major && mnr >= minor)
}

// ReadRecords implements engine.Source: documents sorted by the time field, each page one
// search continuing with search_after from the last page's sort values, so reads go past the
// 10,000 hits from+size allows. On Elasticsearch the pages are read in a point in time (ties
// broken by its _shard_doc), closed when the read ends however it ends; elsewhere ties are
// broken by _id (docs/calico.md).
func (s *Source) ReadRecords(ctx context.Context, r engine.ReadRequest) (*engine.ReadResult, error) {
	if r.Sort != "" && r.Sort != engine.SortTime {
		return nil, &engine.UnsupportedError{Source: s.Name(), Field: "sort", Value: r.Sort, Missing: "sort by " + r.Sort, Choices: []string{engine.SortTime}}
	}
	order := r.Order
	if order == "" {
		order = engine.OrderDesc
	}
	q, err := s.query(r.From, r.To, filtersOf(r.Filter), "")
	if err != nil {
		return nil, err
	}
	how, err := s.pagingOf(ctx)
	if err != nil {
		return nil, err
	}
	sort := []any{obj{s.settings.TimeField: obj{"order": order}}}
	var pit, opened string
	if how == pagingPointInTime {
		pit, err = s.client.OpenPointInTime(ctx, s.settings.IndexPattern, pointInTimeKeepAlive)
		if err != nil {
			return nil, downstream(err)
		}
		opened = elastic.PointInTimePath(s.settings.IndexPattern) + "?keep_alive=" + pointInTimeKeepAlive + ", then "
		defer func() {
			// Also when the query failed or was cancelled: the cluster holds the point in time's
			// segments until it is closed or expires.
			closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			_ = s.client.ClosePointInTime(closeCtx, pit) // it expires after the keep-alive anyway
		}()
	} else {
		sort = append(sort, obj{"_id": obj{"order": "asc"}})
	}
	out := &engine.ReadResult{Total: -1}
	var after []json.RawMessage
	pages := 0
	for r.MaxRows <= 0 || len(out.Records) < r.MaxRows {
		size := s.pageSize
		if r.MaxRows > 0 {
			size = min(size, r.MaxRows-len(out.Records))
		}
		body := obj{
			"size":             size,
			"query":            q,
			"sort":             sort,
			"track_total_hits": pages == 0,
		}
		if after != nil {
			body["search_after"] = after
		}
		var res *elastic.SearchResponse
		var desc string
		if pit != "" {
			body["pit"] = obj{"id": pit, "keep_alive": pointInTimeKeepAlive}
			res, desc, err = s.searchPointInTime(ctx, body)
			if res != nil && res.PitID != "" {
				pit = res.PitID
			}
		} else {
			res, desc, err = s.search(ctx, body)
		}
		if err != nil {
			return nil, err
		}
		pages++
		if pages == 1 {
			out.Requests = append(out.Requests, opened+desc)
			out.Total = int(res.Hits.Total.Value)
			if res.Hits.Total.Relation != "eq" {
				out.Total = -1
			}
		}
		for _, h := range res.Hits.Hits {
			var d doc
			if err := json.Unmarshal(h.Source, &d); err != nil {
				return nil, engine.Downstream(http.StatusBadGateway, fmt.Errorf("document %s/%s does not parse as a Calico flow log: %v", h.Index, h.ID, err))
			}
			var tf json.RawMessage
			if s.settings.TimeField != fEndTime {
				var m map[string]json.RawMessage
				_ = json.Unmarshal(h.Source, &m)
				tf = m[s.settings.TimeField]
			}
			out.Records = append(out.Records, d.record(h.ID, tf))
		}
		if len(res.Hits.Hits) < size {
			break
		}
		after = res.Hits.Hits[len(res.Hits.Hits)-1].Sort
		if r.MaxRows > 0 && len(out.Records) >= r.MaxRows {
			out.Capped = out.Total < 0 || len(out.Records) < out.Total
			break
		}
	}
	switch {
	case pit != "":
		out.Requests[0] += fmt.Sprintf(" (%d pages by search_after in the point in time, then DELETE /_pit)", pages)
	case pages > 1:
		out.Requests[0] += fmt.Sprintf(" (%d pages by search_after)", pages)
	}
	return out, nil
}
