package engine

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Source is one flow-log system (see the package documentation for the contract).
type Source interface {
	// Name names the system in messages: "Flows API", "Trustgrid".
	Name() string
	Capabilities() Capabilities
	// ReadRecords reads the records of [From, To] that match one filter combination.
	ReadRecords(ctx context.Context, r ReadRequest) (*ReadResult, error)
	CheckHealth(ctx context.Context) HealthResult
}

// Sort fields and orders of ReadRequest.
const (
	SortTime    = "timestamp"
	SortBytes   = "bytes"
	SortPackets = "packets"
	OrderAsc    = "asc"
	OrderDesc   = "desc"
)

// ReadRequest asks for records.
type ReadRequest struct {
	From, To time.Time
	Filter   Filter
	Sort     string // one of Capabilities.SortFields
	Order    string // asc | desc
	// MaxRows is the row budget: the source stops reading when it holds that many records.
	MaxRows int
	// Expect, when set, is told by a PageReader before the first page how many records the
	// read will hand over at most, when the source knows (the Flows API's total), so that whoever
	// collects them sizes once. ReadRecords ignores it.
	Expect func(rows int)
}

// ReadResult is what a read returned.
type ReadResult struct {
	Records []Record
	// Total is how many records matched as the system reported it, or -1 when it does not say.
	Total int
	// Capped is true when MaxRows stopped the read before the system ran out of records.
	Capped bool
	// Requests describe what was asked, one line per distinct request (pages may be summed
	// up on one line), for ExecutedQueryString. Never a secret.
	Requests []string
	// Pages is how many requests the read made (0: the source does not say), for a plan's
	// request count.
	Pages int
}

// PageReader is implemented by sources that hand over a read's records page by page as they
// are decoded, so that a query need not hold every record at once.
type PageReader interface {
	// ReadPages reads like ReadRecords, but calls each with every page's records in the read's
	// order (sorted as asked) and returns a ReadResult without Records. each must not keep the
	// slice. An error from each stops the read and is returned as is.
	ReadPages(ctx context.Context, r ReadRequest, each func([]Record) error) (*ReadResult, error)
}

// Filter keys: the names of filters in Capabilities and in errors.
const (
	FilterSrcIP    = "srcIp"
	FilterDstIP    = "dstIp"
	FilterPort     = "port" // either side
	FilterSrcPort  = "srcPort"
	FilterDstPort  = "dstPort"
	FilterProtocol = "protocol"
	FilterExporter = "exporter"
	FilterAction   = "action"
)

// Filter is one combination of single-value filters, as a source's read takes it. Empty or
// nil fields do not filter. Labels filter source-specific dimensions by their keys.
type Filter struct {
	SrcIP    string
	DstIP    string
	Exporter string
	Port     *uint16 // source or destination port
	SrcPort  *uint16
	DstPort  *uint16
	Protocol *uint8
	Action   string
	Labels   map[string]string
}

// Filters are a query's filters: each holds the values to match (any of them); empty means
// no filter. The engine turns them into Filter combinations.
type Filters struct {
	SrcIP    []string
	DstIP    []string
	Exporter []string
	Port     []uint16
	SrcPort  []uint16
	DstPort  []uint16
	Protocol []uint8
	Action   []string
	Labels   map[string][]string
}

// IsEmpty reports whether no filter is set.
func (f Filters) IsEmpty() bool {
	for _, vs := range f.Labels {
		if len(vs) > 0 {
			return false
		}
	}
	return len(f.SrcIP) == 0 && len(f.DstIP) == 0 && len(f.Exporter) == 0 && len(f.Port) == 0 &&
		len(f.SrcPort) == 0 && len(f.DstPort) == 0 && len(f.Protocol) == 0 && len(f.Action) == 0
}

// Query types every source may answer (Capabilities.QueryTypes lists which it does).
const (
	QueryTypeFlows          = "flows"
	QueryTypeTopTalkers     = "topTalkers"
	QueryTypeProtocols      = "protocols"
	QueryTypeVariableValues = "variableValues"
)

// Group-bys of traffic over time that every record has.
const (
	GroupNone     = "none"
	GroupProtocol = "protocol"
	GroupSrc      = "src"
	GroupDst      = "dst"
	GroupPair     = "pair"
	GroupDstPort  = "dstPort"
	GroupExporter = "exporter"
	GroupAction   = "action"
)

// Metrics of series, and what top talkers rank by.
const (
	MetricBytes   = "bytes"
	MetricPackets = "packets"
	MetricFlows   = "flows"
)

// Server-side aggregations, as Describe lists them (found by type assertion, not declared).
const (
	AggTopTalkers = "topTalkers"
	AggProtocols  = "protocols"
	AggSeries     = "series"
	AggValues     = "values"
	AggLookback   = "lookback"
	AggCount      = "count"
)

// Capabilities is what a source can do. The engine refuses what is not listed with an
// UnsupportedError, composes filters it can (Composable), and computes from records what the
// source does not aggregate itself.
type Capabilities struct {
	// QueryTypes are the query types answered (QueryType* and those of a QueryTypeHandler).
	QueryTypes []string
	// Filters are the filter keys the source's reads take natively (Filter*, and dimension keys).
	Filters []string
	// GroupBys are the group-bys of traffic over time (Group*, and dimension keys).
	GroupBys []string
	// TalkerDims are the top-talker dimensions: src, dst, pair.
	TalkerDims []string
	// Metrics are the metrics records carry: bytes, packets, flows (MetricBytes, …). Empty
	// means all three.
	Metrics []string
	// Variables are the variables whose values can be listed: srcIp, dstIp, protocol, exporter,
	// port, and dimension keys.
	Variables []string
	// Dimensions are the source's own dimensions, carried in Record.Labels.
	Dimensions []Dimension
	// WindowSize is the granularity of the records: buckets are whole multiples of it, and
	// a record is never split between buckets (the Flows API: 60 s).
	WindowSize time.Duration
	// MaxTopN is the largest top N the source's own aggregations return; 0 if no limit.
	MaxTopN int
	// MaxRowsPerRead is the most records one request returns (a page, a search); 0 if no limit.
	MaxRowsPerRead int
	// SortFields are the sort fields of ReadRequest it takes (SortTime, SortBytes, SortPackets).
	SortFields []string
	// Columns are the flows table's columns in order.
	Columns []Column
	// RecordsFrom names what records are read from, in notices ("/api/v1/flows").
	RecordsFrom string
}

// Dimension is a source-specific dimension: Key in Record.Labels, filters, group-bys and
// variables; Label the frame label and column name; Display what the editor shows.
type Dimension struct {
	Key     string `json:"key"`
	Label   string `json:"label"`
	Display string `json:"display"`
	Filter  bool   `json:"filter"`
	GroupBy bool   `json:"groupBy"`
}

// Column is one column of the flows table: the frame field Name, what it shows (Field, one of
// the Col* record fields or ColLabelPrefix+dimension key), its display name and unit.
type Column struct {
	Name    string
	Field   string
	Display string
	Unit    string
}

// Record fields a table column can show.
const (
	ColTime           = "time"
	ColStart          = "start"
	ColEnd            = "end"
	ColFirstSeen      = "firstSeen"
	ColLastSeen       = "lastSeen"
	ColSrcIP          = "srcIp"
	ColDstIP          = "dstIp"
	ColSrcHostname    = "srcHostname"
	ColDstHostname    = "dstHostname"
	ColSrcPort        = "srcPort"
	ColDstPort        = "dstPort"
	ColProtocol       = "protocol" // name, else number
	ColProtocolNumber = "protocolNumber"
	ColBytes          = "bytes"
	ColPackets        = "packets"
	ColBytesOut       = "bytesOut"
	ColBytesIn        = "bytesIn"
	ColPacketsOut     = "packetsOut"
	ColPacketsIn      = "packetsIn"
	ColFlows          = "flows"
	ColAction         = "action"
	ColExporter       = "exporter"
	ColTCPFlags       = "tcpFlags"
	ColVersion        = "version"
	ColID             = "id"
	ColLabelPrefix    = "label:"
)

// HealthResult is a source's health check.
type HealthResult struct {
	OK      bool
	Message string
	// Details go to the health check's JSON details (never a secret).
	Details map[string]any
}

// ---------------------------------------------------------------------------------------------
// Optional interfaces

// TalkersRequest asks for top talkers over a range.
type TalkersRequest struct {
	From, To time.Time
	Filters  Filters
	Dim      string // src | dst | pair
	By       string // bytes | packets
	Limit    int
}

// ProtocolsRequest asks for the protocol breakdown over a range.
type ProtocolsRequest struct {
	From, To time.Time
	Filters  Filters
}

// Aggregate is a server-side aggregation's answer.
type Aggregate struct {
	Talkers   []Talker
	Protocols []ProtocolRow
	Requests  []string
}

// TalkersAggregator ranks talkers over any range and filters on the source's server.
type TalkersAggregator interface {
	TopTalkers(ctx context.Context, r TalkersRequest) (*Aggregate, error)
}

// ProtocolsAggregator sums traffic by protocol over any range and filters on the server.
type ProtocolsAggregator interface {
	Protocols(ctx context.Context, r ProtocolsRequest) (*Aggregate, error)
}

// SeriesAggregator buckets traffic on the server: per bucket sums of the top N groups ranked
// over the whole range, and Other (total − top N) when asked.
type SeriesAggregator interface {
	Series(ctx context.Context, s SeriesSpec, f Filters) (*SeriesResult, []string, error)
}

// ValuesRequest asks for the distinct values of a variable or ad-hoc key over a range.
type ValuesRequest struct {
	From, To time.Time
	Filters  Filters
	Variable string
	Limit    int
}

// Option is one value of a template variable or an ad-hoc filter.
type Option struct {
	Text  string `json:"text"`
	Value string `json:"value"`
}

// ValueLister lists the values of a variable on the server, busiest first.
type ValueLister interface {
	Values(ctx context.Context, r ValuesRequest) ([]Option, []string, error)
}

// PartialValueLister is a ValueLister for some variables only (ListsValues says which); the
// engine lists the others from records as usual. AWS lists flow logs, resources and regions
// from its inventory, addresses from records.
type PartialValueLister interface {
	ValueLister
	ListsValues(variable string) bool
}

// LookbackTalkersRequest asks for top talkers over [source now − WindowSecs, source now].
type LookbackTalkersRequest struct {
	WindowSecs int64
	Dim        string
	By         string
	Limit      int
}

// LookbackAggregator aggregates over a look-back from the source's own clock, without filters.
// Each call returns its rows and the request string.
type LookbackAggregator interface {
	LookbackTopTalkers(ctx context.Context, r LookbackTalkersRequest) ([]Talker, string, error)
	LookbackProtocols(ctx context.Context, windowSecs int64) ([]ProtocolRow, string, error)
}

// Counter counts the records of a range and one filter combination cheaply; it returns the
// count and the request string.
type Counter interface {
	Count(ctx context.Context, from, to time.Time, f Filter) (int, string, error)
}

// RequestDescriber renders the requests a read or look-back would make first, without making
// them (for the editor's preview).
type RequestDescriber interface {
	DescribeRead(r ReadRequest) string
	DescribeLookbackTopTalkers(r LookbackTalkersRequest) string
	DescribeLookbackProtocols(windowSecs int64) string
}

// SourceQuery is a query of a type only the source knows, handed to it whole.
type SourceQuery struct {
	RefID     string
	QueryType string
	JSON      json.RawMessage
	From, To  time.Time
	Interval  time.Duration
	FromAlert bool
	Now       time.Time
}

// QueryTypeHandler answers query types only this source has (listed in Capabilities.QueryTypes
// and by SourceQueryTypes), returning frames. The plugin routes them here without knowing them.
type QueryTypeHandler interface {
	SourceQueryTypes() []string
	HandleQuery(ctx context.Context, q SourceQuery) (data.Frames, error)
}

// ---------------------------------------------------------------------------------------------
// Construction

// Common are the settings every source shares, read by the plugin from jsonData.
type Common struct {
	Timeout        time.Duration
	PageSize       int
	RowCap         int
	MaxConcurrency int
	// QueryBytes and InstanceBytes are the byte budgets of answers per query and per data
	// source (0: the source's default).
	QueryBytes, InstanceBytes int64
}

// Config is what a source is built from. Each source reads its own fields of
// Instance.JSONData and Instance.DecryptedSecureJSONData (and Instance.URL) and reports a bad
// one with an error naming the field and value.
type Config struct {
	Instance backend.DataSourceInstanceSettings
	// HTTPClient carries Grafana's TLS, proxy and timeout settings; sources that speak HTTP
	// use it.
	HTTPClient *http.Client
	Common     Common
	// Now is the plugin's clock (tests set it).
	Now func() time.Time
}

// Factory builds a source for one data source instance.
type Factory func(ctx context.Context, cfg Config) (Source, error)

// QueryScoper is a source that accounts for each query as a whole (byte budgets, requests
// retried, what its server did wrong). BeginQuery returns the context for the query's calls and
// a function to call once the query is answered, which ends the accounting and says what the
// answer must carry.
type QueryScoper interface {
	BeginQuery(ctx context.Context) (context.Context, func() QueryNotes)
}

// QueryNotes are what a query's answer carries from its accounting: Executed lines for
// ExecutedQueryString (requests retried), Warnings for notices (a server that did not page).
type QueryNotes struct {
	Executed []string
	Warnings []string
}
