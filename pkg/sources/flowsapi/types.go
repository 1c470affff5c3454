// Package flowsapi is a client for the Flows API (/api/v1/flows, /top-talkers, /protocols).
// It knows HTTP and the API's parameters and shapes, and nothing of Grafana: the plugin turns
// queries into these calls and the results into frames.
package flowsapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Endpoint paths, relative to the base URL.
const (
	FlowsPath      = "/api/v1/flows"
	TopTalkersPath = "/api/v1/flows/top-talkers"
	ProtocolsPath  = "/api/v1/flows/protocols"
)

// WindowSize is the width of the API's tumbling aggregation windows.
const WindowSize = 60 * time.Second

// PairSeparator joins the two addresses of a pair key ("10.0.0.5 → 1.1.1.1").
const PairSeparator = " → "

// Flow is one aggregated record. Unknown fields in the response are ignored.
type Flow struct {
	ID           string  `json:"id"`
	Timestamp    int64   `json:"timestamp"`
	WindowStart  int64   `json:"window_start"`
	WindowEnd    int64   `json:"window_end"`
	SrcIP        string  `json:"src_ip"`
	DstIP        string  `json:"dst_ip"`
	SrcHostname  *string `json:"src_hostname"`
	DstHostname  *string `json:"dst_hostname"`
	SrcPort      uint16  `json:"src_port"`
	DstPort      uint16  `json:"dst_port"`
	Protocol     uint8   `json:"protocol"`
	ProtocolName *string `json:"protocol_name"`
	Bytes        int64   `json:"bytes"`
	Packets      int64   `json:"packets"`
	TCPFlags     uint8   `json:"tcp_flags"`
	FirstSeenMs  int64   `json:"first_seen_ms"`
	LastSeenMs   int64   `json:"last_seen_ms"`
	ExporterIP   string  `json:"exporter_ip"`
	Version      int     `json:"version"`
}

// FlowPage is one response of /api/v1/flows.
type FlowPage struct {
	Total  int    `json:"total"`
	Offset int    `json:"offset"`
	Limit  int    `json:"limit"`
	Flows  []Flow `json:"flows"`
}

// UnmarshalJSON leaves out null entries of "flows": they hold no record, and counting them
// would move the next page's offset past a real one.
func (p *FlowPage) UnmarshalJSON(b []byte) error {
	return p.decode(json.NewDecoder(bytes.NewReader(b)))
}

// decode reads a page as a stream: the records of "flows" are decoded one at a time, so that
// a page is held once, as Flow values, never also as its body. Null entries of "flows" are left
// out, keys match as json.Unmarshal matches them (case-insensitively), unknown keys are
// skipped, and anything after the page is an error.
func (p *FlowPage) decode(dec *json.Decoder) error {
	// Records are decoded into p.Flows's room, if it has any.
	room := p.Flows[:0]
	*p = FlowPage{}
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok == nil {
		// null: no page, as json.Unmarshal leaves it.
		return endOfValue(dec)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fmt.Errorf("json: cannot unmarshal %s into Go value of type flowsapi.FlowPage", jsonKind(tok))
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		switch {
		case strings.EqualFold(key, "total"):
			err = dec.Decode(&p.Total)
		case strings.EqualFold(key, "offset"):
			err = dec.Decode(&p.Offset)
		case strings.EqualFold(key, "limit"):
			err = dec.Decode(&p.Limit)
		case strings.EqualFold(key, "flows"):
			p.Flows, err = decodeFlows(dec, room, p.Limit)
		default:
			var skip json.RawMessage
			err = dec.Decode(&skip)
		}
		if err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return err
	}
	return endOfValue(dec)
}

// decodeFlows reads the array of "flows" (or null) record by record into out, sized for the
// page's limit when the page said it first (bounded: a server's word is not trusted with
// memory).
func decodeFlows(dec *json.Decoder, out []Flow, limit int) ([]Flow, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return out, nil
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("json: cannot unmarshal %s into Go struct field FlowPage.flows of type []flowsapi.Flow", jsonKind(tok))
	}
	if cap(out) == 0 && limit > 0 {
		out = make([]Flow, 0, min(limit, maxPresizedPage))
	}
	var scratch flowWire
	var f *flowWire
	for dec.More() {
		// Decoding into a pointer to scratch fills scratch, or sets the pointer to nil for a
		// null entry: one record is decoded into at a time.
		scratch = flowWire{}
		f = &scratch
		if err := dec.Decode(&f); err != nil {
			return nil, err
		}
		if f != nil {
			out = append(out, f.flow())
		}
	}
	_, err = dec.Token() // ']'
	return out, err
}

// maxPresizedPage bounds the room made for a page before its records are read.
const maxPresizedPage = 10_000

// pagePool holds the record slices of pages no one holds any more, to decode the next pages
// into: a read of 100 pages of 1000 records would otherwise leave 17 MB of slices to collect.
var pagePool sync.Pool

// getPage is an empty record slice, with room when one was given back.
func getPage() []Flow {
	if p, ok := pagePool.Get().(*[]Flow); ok {
		return (*p)[:0]
	}
	return nil
}

// putPage gives a page's record slice back, its records cleared (they hold strings that are
// someone else's now).
func putPage(flows []Flow) {
	if cap(flows) == 0 || cap(flows) > maxPresizedPage {
		return
	}
	clear(flows)
	flows = flows[:0]
	pagePool.Put(&flows)
}

// endOfValue checks that nothing but white space follows the page, as json.Unmarshal does.
func endOfValue(dec *json.Decoder) error {
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return errors.New("invalid character after top-level value")
		}
		return err
	}
	return nil
}

// jsonKind names what a token starts, as json's errors name it.
func jsonKind(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '[' {
			return "array"
		}
		return "object"
	case string:
		return "string"
	case bool:
		return "bool"
	default:
		return "number"
	}
}

// TopTalker is one row of /api/v1/flows/top-talkers.
type TopTalker struct {
	Key       string `json:"key"`
	Bytes     int64  `json:"bytes"`
	Packets   int64  `json:"packets"`
	FlowCount int64  `json:"flow_count"`
}

// ProtocolStat is one row of /api/v1/flows/protocols. Protocol is a name ("TCP"), or the
// number as text when the server has no name for it.
type ProtocolStat struct {
	Protocol  string `json:"protocol"`
	Bytes     int64  `json:"bytes"`
	Packets   int64  `json:"packets"`
	FlowCount int64  `json:"flow_count"`
}

// Filter is one combination of the /flows filters; nil or empty fields are not sent.
type Filter struct {
	SrcIP    string
	DstIP    string
	Exporter string
	Port     *uint16
	Protocol *uint8
}

// FlowsParams are the query parameters of /api/v1/flows.
type FlowsParams struct {
	From, To time.Time // zero: not sent
	Filter   Filter
	Sort     string // bytes | packets | timestamp
	Order    string // asc | desc
	Offset   int
	Limit    int
}

// Values encodes the parameters as the API names them.
func (p FlowsParams) Values() url.Values {
	v := url.Values{}
	if !p.From.IsZero() {
		v.Set("from", strconv.FormatInt(p.From.UnixMilli(), 10))
	}
	if !p.To.IsZero() {
		v.Set("to", strconv.FormatInt(p.To.UnixMilli(), 10))
	}
	p.Filter.addTo(v)
	if p.Sort != "" {
		v.Set("sort", p.Sort)
	}
	if p.Order != "" {
		v.Set("order", p.Order)
	}
	if p.Offset > 0 {
		v.Set("offset", strconv.Itoa(p.Offset))
	}
	if p.Limit > 0 {
		v.Set("limit", strconv.Itoa(p.Limit))
	}
	return v
}

func (f Filter) addTo(v url.Values) {
	if f.SrcIP != "" {
		v.Set("src_ip", f.SrcIP)
	}
	if f.DstIP != "" {
		v.Set("dst_ip", f.DstIP)
	}
	if f.Exporter != "" {
		v.Set("exporter", f.Exporter)
	}
	if f.Port != nil {
		v.Set("port", strconv.Itoa(int(*f.Port)))
	}
	if f.Protocol != nil {
		v.Set("protocol", strconv.Itoa(int(*f.Protocol)))
	}
}

// TopTalkersParams are the query parameters of /api/v1/flows/top-talkers.
type TopTalkersParams struct {
	WindowSecs int64
	By         string // bytes | packets
	Dim        string // src | dst | pair
	Limit      int
}

// Values encodes the parameters as the API names them.
func (p TopTalkersParams) Values() url.Values {
	v := url.Values{}
	v.Set("window_secs", strconv.FormatInt(p.WindowSecs, 10))
	v.Set("by", p.By)
	v.Set("dim", p.Dim)
	v.Set("limit", strconv.Itoa(p.Limit))
	return v
}

// ProtocolsValues are the query parameters of /api/v1/flows/protocols.
func ProtocolsValues(windowSecs int64) url.Values {
	return url.Values{"window_secs": {strconv.FormatInt(windowSecs, 10)}}
}

// RequestString renders a call as shown to users (ExecutedQueryString): path and parameters,
// never the token, which travels only in the Authorization header.
func RequestString(path string, v url.Values) string {
	if len(v) == 0 {
		return "GET " + path
	}
	return "GET " + path + "?" + v.Encode()
}
