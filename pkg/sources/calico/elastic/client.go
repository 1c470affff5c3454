// Package elastic is a small client for the Elasticsearch and OpenSearch search API, as the
// Calico source needs it: the engine's identity (GET /), whether an index pattern matches
// anything, and _search with aggregations or sorted documents. It knows HTTP and these two
// engines and nothing of Grafana or of Calico's fields.
package elastic

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// Auth kinds.
const (
	AuthNone   = "none"
	AuthBasic  = "basic"
	AuthAPIKey = "apiKey"
	AuthBearer = "bearer"
)

// Auth is how requests authenticate. The secrets are only ever written to the Authorization
// header, never to errors or request descriptions.
type Auth struct {
	Kind     string // none | basic | apiKey | bearer
	User     string // basic
	Password string // basic
	// APIKey is an Elasticsearch API key as Kibana shows it: base64 of "id:key" (sent as
	// "Authorization: ApiKey …").
	APIKey string
	Token  string // bearer
}

func (a Auth) header() string {
	switch a.Kind {
	case AuthBasic:
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(a.User+":"+a.Password))
	case AuthAPIKey:
		return "ApiKey " + a.APIKey
	case AuthBearer:
		return "Bearer " + a.Token
	}
	return ""
}

// Client talks to one Elasticsearch or OpenSearch cluster.
type Client struct {
	base *url.URL
	http *http.Client
	auth Auth
}

// maxAnswer bounds what is read of one answer (aggregations are bounded by their sizes, and a
// page of documents by its size; this is a guard against a misbehaving server).
const maxAnswer = 256 << 20

// New returns a client for the cluster at baseURL (scheme and host, optionally a path prefix
// when a proxy serves the cluster below one). httpClient carries TLS, proxy and timeout
// settings; nil means http.DefaultClient.
func New(baseURL string, httpClient *http.Client, auth Auth) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("URL %q is not an http(s) address of an Elasticsearch or OpenSearch cluster (e.g. https://elastic.example.com:9200)", baseURL)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawQuery, u.Fragment = "", ""
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{base: u, http: httpClient, auth: auth}, nil
}

// Engine names.
const (
	Elasticsearch = "Elasticsearch"
	OpenSearch    = "OpenSearch"
)

// Info is what GET / says about the cluster.
type Info struct {
	Engine      string // Elasticsearch | OpenSearch
	Version     string // e.g. 7.17.10
	ClusterName string
}

// productHeader is the header Elasticsearch sets on every answer since 7.14, errors and
// refusals included ("X-Elastic-Product: Elasticsearch"); OpenSearch never sets it.
const productHeader = "X-Elastic-Product"

// Info asks the cluster what it is. A server that answers but is not Elasticsearch or
// OpenSearch gets a NotASearchEngineError.
//
// Elasticsearch serves GET / from a module (rest-root, since 8.9) that minimal builds such as
// the integ-test distribution leave out; such a cluster answers 404 or 405 with its product
// header, and then names its version in the nodes info API instead.
func (c *Client) Info(ctx context.Context) (Info, error) {
	body, resp, err := c.do(ctx, http.MethodGet, "/", nil, nil)
	if err != nil {
		var ee *Error
		if errors.As(err, &ee) && (ee.Status == http.StatusNotFound || ee.Status == http.StatusMethodNotAllowed) &&
			resp != nil && resp.Header.Get(productHeader) == Elasticsearch {
			info, err := c.nodesInfo(ctx)
			if errors.As(err, &ee) {
				ee.Product = Elasticsearch // the root's answer said so, whatever this one says
			}
			return info, err
		}
		return Info{}, err
	}
	var root struct {
		ClusterName string `json:"cluster_name"`
		Version     struct {
			Number       string `json:"number"`
			Distribution string `json:"distribution"`
		} `json:"version"`
		Tagline string `json:"tagline"`
	}
	if json.Unmarshal(body, &root) != nil || root.Version.Number == "" {
		return Info{}, &NotASearchEngineError{URL: c.base.Redacted(), Status: resp.Status, ContentType: resp.Header.Get("Content-Type"), Snippet: snippet(body)}
	}
	info := Info{Engine: Elasticsearch, Version: root.Version.Number, ClusterName: root.ClusterName}
	if strings.EqualFold(root.Version.Distribution, "opensearch") {
		info.Engine = OpenSearch
	}
	return info, nil
}

// nodesInfo names an Elasticsearch cluster without a root endpoint by the node that answers.
func (c *Client) nodesInfo(ctx context.Context) (Info, error) {
	q := url.Values{"filter_path": {"cluster_name,nodes.*.version"}}
	body, _, err := c.do(ctx, http.MethodGet, "/_nodes/_local", q, nil)
	if err != nil {
		return Info{}, err
	}
	var r struct {
		ClusterName string `json:"cluster_name"`
		Nodes       map[string]struct {
			Version string `json:"version"`
		} `json:"nodes"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return Info{}, &MalformedError{What: "nodes info answer", Err: err, Snippet: snippet(body)}
	}
	for _, n := range r.Nodes {
		if n.Version != "" {
			return Info{Engine: Elasticsearch, Version: n.Version, ClusterName: r.ClusterName}, nil
		}
	}
	return Info{}, &MalformedError{What: "nodes info answer", Err: errors.New("no node version"), Snippet: snippet(body)}
}

// Product says which engine answers, needing no cluster privilege: what GET / says when the
// user may read it, else the product header of the answer (its refusal included). Engine is
// empty when the answer does not tell (OpenSearch or Elasticsearch before 7.14 refusing GET /
// to a user without the monitor privilege); Version is empty when only the header told.
func (c *Client) Product(ctx context.Context) (Info, error) {
	info, err := c.Info(ctx)
	if err == nil {
		return info, nil
	}
	var ee *Error
	if !errors.As(err, &ee) || ee.Status != http.StatusForbidden {
		return Info{}, err
	}
	if ee.Product == Elasticsearch {
		return Info{Engine: Elasticsearch}, nil
	}
	return Info{}, nil
}

// Match is what an index pattern matches.
type Match struct {
	// Shards is the number of shards searched: 0 means the pattern matches no index.
	Shards int
	// Documents is the number of documents in the matched indices.
	Documents int64
}

// MatchIndex reports what the index pattern matches, with one search of size 0 (so it needs
// only the read privilege the queries need too).
func (c *Client) MatchIndex(ctx context.Context, pattern string) (Match, error) {
	r, err := c.Search(ctx, pattern, []byte(`{"size":0,"track_total_hits":true}`))
	if err != nil {
		return Match{}, err
	}
	return Match{Shards: r.Shards.Total, Documents: r.Hits.Total.Value}, nil
}

// SearchResponse is the part of a _search answer the source reads.
type SearchResponse struct {
	// PitID is the point in time to continue with, when the search ran in one (it may differ
	// from the one sent).
	PitID    string `json:"pit_id"`
	Took     int64  `json:"took"`
	TimedOut bool   `json:"timed_out"`
	Shards   struct {
		Total    int               `json:"total"`
		Failed   int               `json:"failed"`
		Failures []json.RawMessage `json:"failures"`
	} `json:"_shards"`
	Hits struct {
		Total struct {
			Value    int64  `json:"value"`
			Relation string `json:"relation"` // eq | gte
		} `json:"total"`
		Hits []Hit `json:"hits"`
	} `json:"hits"`
	Aggregations json.RawMessage `json:"aggregations"`
}

// Hit is one document of a search answer.
type Hit struct {
	Index  string            `json:"_index"`
	ID     string            `json:"_id"`
	Source json.RawMessage   `json:"_source"`
	Sort   []json.RawMessage `json:"sort"`
}

// Search runs one _search of body on the indices matching pattern. A pattern that matches no
// index gives an empty answer (Shards.Total 0), not an error. Shard failures and time-outs are
// errors: a partial answer is never returned as if it were whole.
func (c *Client) Search(ctx context.Context, pattern string, body []byte) (*SearchResponse, error) {
	return c.search(ctx, "/"+url.PathEscape(pattern)+"/_search", url.Values{"allow_no_indices": {"true"}, "ignore_unavailable": {"true"}}, body)
}

// Point in time (Elasticsearch 7.10 and later): a view of the indices frozen when it is
// opened, in which search_after pages are consistent and ordered by the implicit _shard_doc
// tie-breaker, so sorting needs no _id (whose field data Elasticsearch 8 refuses by default).

// OpenPointInTime opens a point in time on the indices matching pattern, kept keepAlive (e.g.
// "1m") after each search in it. A pattern matching no index gives a point in time on no shard.
func (c *Client) OpenPointInTime(ctx context.Context, pattern, keepAlive string) (string, error) {
	q := url.Values{"keep_alive": {keepAlive}, "allow_no_indices": {"true"}, "ignore_unavailable": {"true"}}
	answer, _, err := c.do(ctx, http.MethodPost, "/"+url.PathEscape(pattern)+"/_pit", q, nil)
	if err != nil {
		return "", err
	}
	var r struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(answer, &r); err != nil || r.ID == "" {
		return "", &MalformedError{What: "point in time answer", Err: fmt.Errorf("no id (%v)", err), Snippet: snippet(answer)}
	}
	return r.ID, nil
}

// SearchPointInTime runs one search in the point in time body names ({"pit":{"id":…}}): no
// index in the path and no index options, which the engine refuses with a point in time.
func (c *Client) SearchPointInTime(ctx context.Context, body []byte) (*SearchResponse, error) {
	return c.search(ctx, "/_search", nil, body)
}

// ClosePointInTime frees the point in time id. One that has expired already is not an error.
func (c *Client) ClosePointInTime(ctx context.Context, id string) error {
	body, _ := json.Marshal(map[string]string{"id": id})
	_, _, err := c.do(ctx, http.MethodDelete, "/_pit", nil, body)
	var ee *Error
	if errors.As(err, &ee) && ee.Status == http.StatusNotFound {
		return nil
	}
	return err
}

// PointInTimePath is how opening a point in time is named in request descriptions (without
// its query string).
func PointInTimePath(pattern string) string { return "POST /" + pattern + "/_pit" }

func (c *Client) search(ctx context.Context, path string, q url.Values, body []byte) (*SearchResponse, error) {
	answer, _, err := c.do(ctx, http.MethodPost, path, q, body)
	if err != nil {
		return nil, err
	}
	var r SearchResponse
	if err := json.Unmarshal(answer, &r); err != nil {
		return nil, &MalformedError{What: "search answer", Err: err, Snippet: snippet(answer)}
	}
	if r.Shards.Failed > 0 {
		reason := ""
		if len(r.Shards.Failures) > 0 {
			var f struct {
				Reason errorBody `json:"reason"`
			}
			if json.Unmarshal(r.Shards.Failures[0], &f) == nil {
				reason = ": " + f.Reason.String()
			}
		}
		return nil, &PartialError{Failed: r.Shards.Failed, Total: r.Shards.Total, Reason: reason}
	}
	if r.TimedOut {
		return nil, &PartialError{TimedOut: true, Total: r.Shards.Total}
	}
	return &r, nil
}

// SearchPath is how a search is named in request descriptions.
func SearchPath(pattern string) string { return "POST /" + pattern + "/_search" }

func (c *Client) do(ctx context.Context, method, path string, q url.Values, body []byte) ([]byte, *http.Response, error) {
	// path is already escaped; the base keeps its own escaping.
	target := c.base.String() + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if h := c.auth.header(); h != "" {
		req.Header.Set("Authorization", h)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, &TransportError{URL: c.base.Redacted(), Err: err}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, resp, &TransportError{URL: c.base.Redacted(), Err: fmt.Errorf("reading the answer: %w", err)}
	}
	if len(answer) > maxAnswer {
		return nil, resp, &MalformedError{What: "answer", Err: fmt.Errorf("larger than %d MB", maxAnswer>>20)}
	}
	if resp.StatusCode/100 != 2 {
		return nil, resp, statusError(resp, answer)
	}
	return answer, resp, nil
}

// ---------------------------------------------------------------------------------------------
// Errors

// Error is an error answer of the engine: its HTTP status and its own error type and reason
// (the root cause's, which names the field or index at fault).
type Error struct {
	Status     int
	StatusText string
	Type       string
	Reason     string
	// Product is the answer's X-Elastic-Product header ("Elasticsearch" or empty).
	Product string
}

func (e *Error) Error() string {
	switch e.Status {
	case http.StatusUnauthorized:
		return fmt.Sprintf("credentials rejected (%s): %s. Check the user and password, API key or token", e.StatusText, e.detail())
	case http.StatusForbidden:
		return fmt.Sprintf("permission denied (%s): %s. The user needs read access to the index pattern", e.StatusText, e.detail())
	}
	return fmt.Sprintf("%s: %s", e.StatusText, e.detail())
}

func (e *Error) detail() string {
	switch {
	case e.Type != "" && e.Reason != "":
		return e.Type + ": " + e.Reason
	case e.Reason != "":
		return e.Reason
	case e.Type != "":
		return e.Type
	}
	return "no reason given"
}

// NotASearchEngineError is an answer from a server that is not Elasticsearch or OpenSearch.
type NotASearchEngineError struct {
	URL, Status, ContentType, Snippet string
}

func (e *NotASearchEngineError) Error() string {
	ct := e.ContentType
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		ct = mt
	}
	if ct == "" {
		ct = "no content type"
	}
	return fmt.Sprintf("%s does not answer like Elasticsearch or OpenSearch: GET / gave %s with %s (%q); check the URL points at the cluster's HTTP port, not at Kibana, OpenSearch Dashboards or another web server", e.URL, e.Status, ct, e.Snippet)
}

// TransportError is a failure to reach the cluster or to read its answer.
type TransportError struct {
	URL string
	Err error
}

func (e *TransportError) Error() string {
	var dnsErr *net.DNSError
	switch {
	case errors.As(e.Err, &dnsErr):
		return fmt.Sprintf("cannot resolve the host of %s: %v", e.URL, dnsErr)
	case errors.Is(e.Err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer from %s in time (timeout): %v", e.URL, e.Err)
	}
	return fmt.Sprintf("cannot reach %s: %v", e.URL, unwrapURLError(e.Err))
}

func (e *TransportError) Unwrap() error { return e.Err }

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// MalformedError is an answer that does not parse as the engine's JSON.
type MalformedError struct {
	What    string
	Err     error
	Snippet string
}

func (e *MalformedError) Error() string {
	if e.Snippet != "" {
		return fmt.Sprintf("the %s does not parse: %v (%q)", e.What, e.Err, e.Snippet)
	}
	return fmt.Sprintf("the %s does not parse: %v", e.What, e.Err)
}

// PartialError is a search that failed on some shards or timed out: its answer is partial.
type PartialError struct {
	Failed, Total int
	TimedOut      bool
	Reason        string
}

func (e *PartialError) Error() string {
	if e.TimedOut {
		return fmt.Sprintf("the search timed out on the cluster (%d shards); its answer would be partial", e.Total)
	}
	return fmt.Sprintf("the search failed on %d of %d shards%s; its answer would be partial", e.Failed, e.Total, e.Reason)
}

// errorBody is the engine's {"type","reason","root_cause":[…]} error object.
type errorBody struct {
	Type      string      `json:"type"`
	Reason    string      `json:"reason"`
	RootCause []errorBody `json:"root_cause"`
	CausedBy  *errorBody  `json:"caused_by"`
}

// String prefers the root cause, which names the field or index at fault, to the wrapper
// ("search_phase_execution_exception: all shards failed").
func (b errorBody) String() string {
	c := b
	if len(b.RootCause) > 0 && b.RootCause[0].Reason != "" {
		c = b.RootCause[0]
	} else if b.CausedBy != nil && b.CausedBy.Reason != "" {
		c = *b.CausedBy
	}
	if c.Type != "" {
		return c.Type + ": " + c.Reason
	}
	return c.Reason
}

func statusError(resp *http.Response, body []byte) error {
	e := &Error{Status: resp.StatusCode, StatusText: resp.Status, Product: resp.Header.Get(productHeader)}
	var wrapped struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &wrapped) == nil && len(wrapped.Error) > 0 {
		var b errorBody
		if json.Unmarshal(wrapped.Error, &b) == nil {
			c := b
			if len(b.RootCause) > 0 && b.RootCause[0].Reason != "" {
				c = b.RootCause[0]
			}
			e.Type, e.Reason = c.Type, c.Reason
			// The root cause of a parse error says where; the innermost cause says what.
			inner := &b
			for inner.CausedBy != nil {
				inner = inner.CausedBy
			}
			if inner != &b && inner.Reason != "" && inner.Reason != e.Reason {
				e.Reason += " (caused by " + inner.Type + ": " + inner.Reason + ")"
			}
			return e
		}
		var s string
		if json.Unmarshal(wrapped.Error, &s) == nil {
			e.Reason = s
			return e
		}
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "application/json" && resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
		return &NotASearchEngineError{URL: resp.Request.URL.Scheme + "://" + resp.Request.URL.Host, Status: resp.Status, ContentType: resp.Header.Get("Content-Type"), Snippet: snippet(body)}
	}
	e.Reason = snippet(body)
	return e
}

func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}
