// Package trustgrid is a client for the Trustgrid Management API's flow-log search,
// GET /v2/audit/flow-logs. It knows HTTP, the API's parameters, paging and shapes, and
// nothing of Grafana.
//
// Decisions where the spec is silent (docs/sources.md has the reasons):
//   - sTime/eTime are Unix seconds. The client widens a millisecond range to whole seconds
//     and keeps only the records whose start lies in the exact range.
//   - page is a page number (1, 2, …) sent as a string; the total is the x-total-count header.
//   - tcpFlags and flags are decimal strings (the current spec; the seed's hex is outdated).
package trustgrid

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/flowlens/flows-datasource/pkg/internal/redact"
)

// FlowLogsPath is the flow-log search, relative to the base URL.
const FlowLogsPath = "/v2/audit/flow-logs"

// DefaultBaseURL is Trustgrid's API host.
const DefaultBaseURL = "https://api.trustgrid.io"

// DefaultPageSize is the limit sent when a Query sets none.
const DefaultPageSize = 1000

// maxBody bounds a response body read into memory (a 1000-record page is ~350 kB).
const maxBody = 64 << 20

// FlowLog is one flow as the API returns it.
type FlowLog struct {
	NodeID      string    `json:"nodeId"`
	SourceNode  string    `json:"sourceNode"`
	SourceIP    string    `json:"sourceIP"`
	SourcePort  int       `json:"sourcePort"`
	SourceBytes int64     `json:"sourceBytes"`
	DestNode    string    `json:"destNode"`
	DestIP      string    `json:"destIP"`
	DestPort    int       `json:"destPort"`
	DestBytes   int64     `json:"destBytes"`
	StartTime   time.Time `json:"startTime"`
	EndTime     time.Time `json:"endTime"`
	Protocol    string    `json:"protocol"` // TCP, UDP, ICMP or UNKNOWN
	TCPFlags    string    `json:"tcpFlags"` // decimal bitmask: 1 FIN, 2 SYN, 4 RST, 8 PSH, 16 ACK, 32 URG
	Flags       string    `json:"flags"`    // decimal bitmask of flow flags (65536 no ACL match, …)
	ActivityID  string    `json:"activityID"`
}

// TCPFlagBits parses TCPFlags; an empty string is 0.
func (f FlowLog) TCPFlagBits() (uint8, error) {
	if f.TCPFlags == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(f.TCPFlags, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("tcpFlags %q is not a decimal bitmask (0-255)", f.TCPFlags)
	}
	return uint8(n), nil
}

// FlagBits parses Flags; an empty string is 0.
func (f FlowLog) FlagBits() (uint64, error) {
	if f.Flags == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(f.Flags, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("flags %q is not a decimal bitmask", f.Flags)
	}
	return n, nil
}

// Op is a comparison operator of the API.
type Op string

// The operators srcPortOp, dstPortOp and eTimeOp take.
const (
	OpEq  Op = "eq"
	OpNe  Op = "ne"
	OpGt  Op = "gt"
	OpGte Op = "gte"
	OpLt  Op = "lt"
	OpLte Op = "lte"
)

// Valid reports whether o is one of the API's operators.
func (o Op) Valid() bool {
	switch o {
	case OpEq, OpNe, OpGt, OpGte, OpLt, OpLte:
		return true
	}
	return false
}

// PortMatch is a port filter: the port compared with Op (eq when empty).
type PortMatch struct {
	Port uint16
	Op   Op
}

// Filter is the API's record filters; zero fields are not sent.
type Filter struct {
	SrcIP    string
	DstIP    string
	Protocol string // TCP, UDP, ICMP or UNKNOWN
	SrcPort  *PortMatch
	DstPort  *PortMatch
	SrcNode  string // node name
	DstNode  string // node name
	Node     string // ID of the node that logged the flow
	TCPFlags []uint8
	Flags    []uint64
	Defunct  bool // only blocked or rejected flows
}

// Query is one search: the flows that started in [From, To] (both inclusive, any
// precision), filtered, sorted, read page by page.
type Query struct {
	From, To time.Time
	Filter   Filter
	Sort     string // e.g. "startTime:desc"; empty: the server's order (start time ascending)
	Reverse  bool
	PageSize int // limit; DefaultPageSize when 0
}

// Credentials authenticate requests: a JWT ("Authorization: Bearer <JWT>") or an API client
// ID and secret ("Authorization: trustgrid-token ID:SECRET"). A JWT wins when both are set.
type Credentials struct {
	ClientID     string
	ClientSecret string
	JWT          string
}

func (c Credentials) header() (string, error) {
	switch {
	case c.JWT != "":
		return "Bearer " + c.JWT, nil
	case c.ClientID != "" && c.ClientSecret != "":
		return "trustgrid-token " + c.ClientID + ":" + c.ClientSecret, nil
	case c.ClientID != "" || c.ClientSecret != "":
		return "", errors.New("trustgrid: the API client ID and the client secret go together; one of them is empty")
	}
	return "", errors.New("trustgrid: no credentials: set a JWT, or an API client ID and secret")
}

// Client talks to one Trustgrid API host.
type Client struct {
	base   *url.URL
	auth   string
	http   *http.Client
	secret *redact.Redactor // what the server echoes is shown without the credential
}

// New returns a client for baseURL (DefaultBaseURL when empty). hc nil: http.DefaultClient.
func New(baseURL string, creds Credentials, hc *http.Client) (*Client, error) {
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("trustgrid: API URL %q is not an http(s) URL such as %s", baseURL, DefaultBaseURL)
	}
	if u.User != nil {
		return nil, errors.New("trustgrid: the API URL must not carry credentials; use the client ID and secret or the JWT")
	}
	auth, err := creds.header()
	if err != nil {
		return nil, err
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: u, auth: auth, http: hc, secret: redact.New(creds.ClientSecret, creds.JWT)}, nil
}

// BaseURL is the API host requests go to.
func (c *Client) BaseURL() string { return c.base.String() }

// APIError is a non-2xx answer.
type APIError struct {
	Status  int
	Message string // the API's "message", or the start of a body that is not one
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("Trustgrid API answered HTTP %d", e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	switch e.Status {
	case http.StatusUnauthorized:
		msg += " (check the API client ID and secret, or the JWT)"
	case http.StatusForbidden:
		msg += " (the credential needs the audits::read:flows permission)"
	case http.StatusNotFound:
		msg += " (check the API URL: it should be the API host, such as " + DefaultBaseURL + ")"
	}
	return msg
}

// Values encodes the query's parameters for one page (without page and limit).
func (q Query) Values() url.Values {
	v := url.Values{}
	if !q.From.IsZero() {
		v.Set("sTime", strconv.FormatInt(floorDiv(q.From.UnixMilli(), 1000), 10))
	}
	if !q.To.IsZero() {
		v.Set("eTime", strconv.FormatInt(-floorDiv(-q.To.UnixMilli(), 1000), 10))
		v.Set("eTimeOp", string(OpLte))
	}
	f := q.Filter
	set := func(k, val string) {
		if val != "" {
			v.Set(k, val)
		}
	}
	set("srcIp", f.SrcIP)
	set("dstIp", f.DstIP)
	set("protocol", f.Protocol)
	set("srcNode", f.SrcNode)
	set("dstNode", f.DstNode)
	set("node", f.Node)
	for _, pm := range []struct {
		name string
		m    *PortMatch
	}{{"srcPort", f.SrcPort}, {"dstPort", f.DstPort}} {
		if pm.m != nil {
			v.Set(pm.name, strconv.Itoa(int(pm.m.Port)))
			if pm.m.Op != "" {
				v.Set(pm.name+"Op", string(pm.m.Op))
			}
		}
	}
	if len(f.TCPFlags) > 0 {
		parts := make([]string, len(f.TCPFlags))
		for i, n := range f.TCPFlags {
			parts[i] = strconv.Itoa(int(n))
		}
		v.Set("tcpFlags", strings.Join(parts, ","))
	}
	if len(f.Flags) > 0 {
		parts := make([]string, len(f.Flags))
		for i, n := range f.Flags {
			parts[i] = strconv.FormatUint(n, 10)
		}
		v.Set("flags", strings.Join(parts, ","))
	}
	if f.Defunct {
		v.Set("defunct", "true")
	}
	set("sort", q.Sort)
	if q.Reverse {
		v.Set("reverse", "true")
	}
	return v
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Validate reports a query the API cannot take, naming the field.
func (q Query) Validate() error {
	f := q.Filter
	for _, pm := range []struct {
		name string
		m    *PortMatch
	}{{"srcPortOp", f.SrcPort}, {"dstPortOp", f.DstPort}} {
		if pm.m != nil && pm.m.Op != "" && !pm.m.Op.Valid() {
			return fmt.Errorf("trustgrid: %s %q is not one of eq, ne, gt, gte, lt, lte", pm.name, pm.m.Op)
		}
	}
	if f.Defunct && len(f.Flags) > 0 {
		return errors.New("trustgrid: defunct cannot be combined with flags")
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.To.Before(q.From) {
		return fmt.Errorf("trustgrid: the range ends (%s) before it starts (%s)", q.To.UTC().Format(time.RFC3339), q.From.UTC().Format(time.RFC3339))
	}
	if q.PageSize < 0 {
		return fmt.Errorf("trustgrid: page size %d is negative", q.PageSize)
	}
	return nil
}

// RequestString renders a page request as shown to users: path and parameters, never the
// credential, which travels only in the Authorization header.
func RequestString(v url.Values) string {
	return "GET " + FlowLogsPath + "?" + v.Encode()
}

// Page is one answer: the flows and the x-total-count header (-1 when absent).
type Page struct {
	Flows []FlowLog
	Total int
	raw   [sha256.Size]byte // fingerprint of the body, to notice a repeated page
}

// FetchPage reads page number page (1, 2, …) of q with the given limit.
func (c *Client) FetchPage(ctx context.Context, v url.Values, page, limit int) (*Page, error) {
	v = cloneValues(v)
	v.Set("limit", strconv.Itoa(limit))
	v.Set("page", strconv.Itoa(page))
	u := *c.base
	u.Path += FlowLogsPath
	u.RawQuery = v.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("trustgrid: building the request: %w", err)
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("trustgrid: %s: %w", RequestString(v), redactURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("trustgrid: reading the answer to %s: %w", RequestString(v), err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("trustgrid: the answer to %s is larger than %d MiB; lower the page size", RequestString(v), maxBody>>20)
	}
	if resp.StatusCode/100 != 2 {
		return nil, apiError(resp.StatusCode, body, c.secret)
	}
	p := &Page{Total: -1, raw: sha256.Sum256(body)}
	if err := json.Unmarshal(body, &p.Flows); err != nil {
		return nil, fmt.Errorf("trustgrid: the answer to %s is not a JSON array of flow logs: %v", RequestString(v), err)
	}
	if h := resp.Header.Get("X-Total-Count"); h != "" {
		n, err := strconv.ParseFloat(h, 64)
		if err != nil || n < 0 || n > math.MaxInt32 || n != math.Trunc(n) {
			return nil, fmt.Errorf("trustgrid: x-total-count %q is not a count", h)
		}
		p.Total = int(n)
	}
	return p, nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v)+2)
	for k, vals := range v {
		out[k] = append([]string(nil), vals...)
	}
	return out
}

func apiError(status int, body []byte, secret *redact.Redactor) error {
	var m struct {
		Message string `json:"message"`
	}
	msg := ""
	if json.Unmarshal(body, &m) == nil && m.Message != "" {
		msg = m.Message
	} else {
		msg = strings.Join(strings.Fields(secret.Clean(string(body))), " ")
		if len(msg) > 200 {
			msg = strings.ToValidUTF8(msg[:200], "") + "…"
		}
	}
	return &APIError{Status: status, Message: secret.Clean(strings.ToValidUTF8(msg, "\uFFFD"))}
}

// redactURLError drops the query of a *url.Error's URL (it carries only filters, but
// the request string already names them).
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// ErrRepeatedPage is wrapped by the error of a read whose server answered a page with the
// flows of an earlier page.
var ErrRepeatedPage = errors.New("the server repeated a page")

// Result is what Read collected.
type Result struct {
	Flows     []FlowLog
	Total     int  // x-total-count of the last page read (-1 when the server sends none)
	Truncated bool // maxRows stopped the read before the end
	Requests  []string
}

// Read reads every page of q, at most maxRows flows (0: no limit), keeping only the flows
// whose start lies in [q.From, q.To] exactly. It stops at an empty or short page or at the
// total, and fails with ErrRepeatedPage when a page repeats an earlier one instead of
// asking for the same pages forever.
func (c *Client) Read(ctx context.Context, q Query, maxRows int) (*Result, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	limit := q.PageSize
	if limit == 0 {
		limit = DefaultPageSize
	}
	v := q.Values()
	res := &Result{Total: -1}
	seen := map[[sha256.Size]byte]int{}
	read := 0 // flows received, before trimming to the exact range
	for page := 1; ; page++ {
		res.Requests = append(res.Requests, RequestString(withPage(v, page, limit)))
		p, err := c.FetchPage(ctx, v, page, limit)
		if err != nil {
			return nil, err
		}
		if len(p.Flows) == 0 {
			break
		}
		if first, dup := seen[p.raw]; dup {
			return nil, fmt.Errorf("trustgrid: page %d repeats page %d (same %d flows): %w; the server does not page by page number, so the read stops instead of looping", page, first, len(p.Flows), ErrRepeatedPage)
		}
		seen[p.raw] = page
		res.Total = p.Total
		read += len(p.Flows)
		for _, f := range p.Flows {
			if inRange(f.StartTime, q.From, q.To) {
				if maxRows > 0 && len(res.Flows) >= maxRows {
					res.Truncated = true
					return res, nil
				}
				res.Flows = append(res.Flows, f)
			}
		}
		if page == 1 && len(p.Flows) < limit && p.Total > len(p.Flows) {
			// The server caps limit: its pages are this long, and page numbers count them.
			limit = len(p.Flows)
		}
		if len(p.Flows) < limit || (p.Total >= 0 && read >= p.Total) {
			break
		}
	}
	return res, nil
}

func withPage(v url.Values, page, limit int) url.Values {
	v = cloneValues(v)
	v.Set("limit", strconv.Itoa(limit))
	v.Set("page", strconv.Itoa(page))
	return v
}

func inRange(t, from, to time.Time) bool {
	return (from.IsZero() || !t.Before(from)) && (to.IsZero() || !t.After(to))
}
