package flowsapi

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/flowlens/flows-datasource/pkg/internal/redact"
)

const (
	// maxErrorBody bounds what is read of an error response: enough for the API's message.
	maxErrorBody = 4 << 10
	// maxRetryAfter is the longest Retry-After the client waits for before giving up, and
	// maxRetries how often: a dashboard should fail with a clear message, not hang.
	maxRetryAfter = 10 * time.Second
	maxRetries    = 2
	// transientBackoff is the wait before the one retry of a read that got 502, 503 or 504
	// without Retry-After: gateways answer so while an upstream restarts.
	transientBackoff = time.Second
	// maxRedirects bounds same-origin redirects.
	maxRedirects = 5
)

// Client calls one Flows API. It is safe for concurrent use; at most maxConcurrency requests
// are in flight at once, however many queries and pages are being served.
type Client struct {
	base string // what requests go to; may hold a password (userinfo)
	// shownBase is base as errors and messages show it: without the password.
	shownBase string
	token     string
	redactor  *redact.Redactor
	http      *http.Client
	slots     chan struct{}
	share     *share
	limits    Limits
	// held is what the queries in progress have read, against limits.InstanceBytes.
	held atomic.Int64
	// now tells which ranges are closed.
	now func() time.Time
	// backoff is the wait before retrying a transient failure; tests shorten it.
	backoff time.Duration
	// pageSize is the data source's page size: shorter /flows lists are asked at it (share.go).
	pageSize int
}

// SetPageSize sets the page size the data source reads /flows with: a shorter list of the same
// range and order (a count, a small table) is asked at this size, so that it and the first page
// of a read are one request (see share.go).
func (c *Client) SetPageSize(n int) { c.pageSize = n }

// SetClock sets the clock that decides which ranges are closed and may be cached.
func (c *Client) SetClock(now func() time.Time) { c.now = now }

// New returns a client for the API at baseURL (the address in front of /api/v1). hc carries
// TLS, proxy and timeout settings; the client uses a copy of it that follows redirects only
// within the base URL's origin, so that the token never travels to another host or port.
func New(baseURL, token string, hc *http.Client, maxConcurrency int) (*Client, error) {
	u, err := ParseBaseURL(baseURL)
	if err != nil {
		return nil, fmt.Errorf("base URL %w", err)
	}
	if maxConcurrency < 1 {
		maxConcurrency = 1
	}
	password, _ := u.User.Password()
	own := *hc
	own.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxRedirects {
			return &RedirectError{From: redactURL(via[len(via)-1].URL), To: redactURL(req.URL), Reason: fmt.Sprintf("more than %d redirects", maxRedirects)}
		}
		if origin(req.URL) != origin(via[0].URL) {
			return &RedirectError{From: redactURL(via[len(via)-1].URL), To: redactURL(req.URL), Reason: "another origin"}
		}
		return nil
	}
	c := &Client{
		base: u.String(), shownBase: redactURL(u), token: token, redactor: redact.New(token, password),
		http: &own, slots: make(chan struct{}, maxConcurrency), limits: DefaultLimits,
		now: time.Now, backoff: transientBackoff,
	}
	c.share = newShare(func() time.Time { return c.now() })
	return c, nil
}

// ParseBaseURL checks a base URL: http(s), a host, no query string or fragment (they would
// end up after /api/v1/… and cut the path off). Errors name the part and show the URL without
// its password.
func ParseBaseURL(baseURL string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(strings.TrimSpace(baseURL), "/"))
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL; set it to the address in front of /api/v1, e.g. https://siem.example.com", redactRawURL(baseURL))
	}
	shown := redactURL(u)
	switch {
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		return nil, fmt.Errorf("%q is not an http(s) URL; set it to the address in front of /api/v1, e.g. https://siem.example.com", shown)
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("%q has a query string (?%s); remove it: the URL is the address in front of /api/v1", shown, u.RawQuery)
	case u.Fragment != "" || strings.Contains(baseURL, "#"):
		return nil, fmt.Errorf("%q has a fragment (#%s); remove it: the URL is the address in front of /api/v1", shown, u.Fragment)
	}
	return u, nil
}

// redactURL is u as it may be shown: the password replaced.
func redactURL(u *url.URL) string { return u.Redacted() }

// redactRawURL hides a password in a URL that did not parse: whatever stands between "//"
// and "@".
func redactRawURL(s string) string {
	if i := strings.Index(s, "//"); i >= 0 {
		if j := strings.LastIndex(s[i:], "@"); j > 0 {
			if k := strings.Index(s[i:i+j], ":"); k >= 0 {
				return s[:i+k+1] + "xxxxx" + s[i+j:]
			}
		}
	}
	return s
}

func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	return u.Scheme + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// BaseURL is the API address the client calls, as it may be shown (without a password).
func (c *Client) BaseURL() string { return c.shownBase }

// Flows fetches one page of /api/v1/flows. Its body is decoded as it arrives (never held
// whole); each caller gets its own copy of the page.
func (c *Client) Flows(ctx context.Context, p FlowsParams) (*FlowPage, error) {
	page, done, err := c.sharedFlowPage(ctx, p, true)
	if err != nil {
		return nil, err
	}
	own := *page
	own.Flows = slices.Clone(page.Flows)
	done()
	return &own, nil
}

// sharedFlowPage is Flows without the copy: the page may be shared with other callers
// (coalesced or cached), so it must not be modified. done says the caller is done with it:
// a page no one else has goes back to be decoded into again (pagePool). keep says whether the
// page may be kept at all (see share.go); requests in flight are shared either way.
func (c *Client) sharedFlowPage(ctx context.Context, p FlowsParams, keep bool) (page *FlowPage, done func(), err error) {
	// A range that ended a while ago holds only closed, indexed windows: its pages never change.
	closed := !p.To.IsZero() && p.To.Before(c.now().Add(-settleTime))
	wire := c.flowsWire(p)
	res, asked, own, err := c.shared(ctx, FlowsPath, wire.Values(), wire.Limit, closed, keep, 0, c.decodeFlowPage)
	if err != nil {
		return nil, nil, err
	}
	page = firstOf(res.page, p.Limit, asked)
	if !own {
		return page, func() {}, nil
	}
	return page, func() { putPage(res.page.Flows) }, nil
}

// snippetBytes is how much of a body is kept to quote when it does not decode.
const snippetBytes = 4 << 10

// decodeFlowPage is a bodyReader for /flows: the page decoded as a stream. Only the start of
// the body is kept, to quote in a DecodeError.
func (c *Client) decodeFlowPage(body io.Reader, a *answer) error {
	start := &prefix{max: snippetBytes}
	counted := &countingReader{r: io.TeeReader(body, start)}
	page := &FlowPage{Flows: getPage()}
	if err := page.decode(json.NewDecoder(&collapsedSpace{r: counted})); err != nil {
		return &DecodeError{URL: a.url, Err: err, Detail: c.redactor.Shown(err.Error()), Snippet: c.redactor.ShownStart(start.String(), start.cut)}
	}
	a.page, a.size = page, counted.n
	return nil
}

// prefix keeps the first max bytes written to it.
type prefix struct {
	b   []byte
	max int
	cut bool // more was written than kept
}

func (p *prefix) Write(b []byte) (int, error) {
	keep := min(len(b), p.max-len(p.b))
	p.b = append(p.b, b[:keep]...)
	p.cut = p.cut || keep < len(b)
	return len(b), nil
}

func (p *prefix) String() string { return string(p.b) }

// collapsedSpace reads JSON with every run of white space outside strings collapsed to one
// space. json.Decoder keeps the white space before a token in its buffer and scans it again at
// every refill: a body padded with megabytes of spaces would take minutes (and its size in
// memory) to decode. One space keeps tokens apart as they were, so a malformed body stays
// malformed.
type collapsedSpace struct {
	r                         io.Reader
	inString, escaped, spaced bool
}

func (s *collapsedSpace) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		w := 0
		for _, c := range p[:n] {
			switch {
			case s.inString:
				switch {
				case s.escaped:
					s.escaped = false
				case c == '\\':
					s.escaped = true
				case c == '"':
					s.inString = false
				}
			case c == ' ' || c == '\t' || c == '\n' || c == '\r':
				if s.spaced {
					continue
				}
				s.spaced = true
				c = ' '
			default:
				s.spaced = false
				s.inString = c == '"'
			}
			p[w] = c
			w++
		}
		if w > 0 || err != nil || n == 0 {
			return w, err
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += n
	return n, err
}

// TopTalkers calls /api/v1/flows/top-talkers. Null entries hold no row and are left out.
func (c *Client) TopTalkers(ctx context.Context, p TopTalkersParams) ([]TopTalker, error) {
	var rows []*TopTalker
	wire := talkersWire(p)
	_, err := c.getShared(ctx, TopTalkersPath, wire.Values(), wire.Limit, p.WindowSecs, &rows)
	return firstRows(nonNil(rows), p.Limit), err
}

// Protocols calls /api/v1/flows/protocols. Null entries hold no row and are left out.
func (c *Client) Protocols(ctx context.Context, windowSecs int64) ([]ProtocolStat, error) {
	var rows []*ProtocolStat
	_, err := c.getShared(ctx, ProtocolsPath, ProtocolsValues(windowSecs), 0, windowSecs, &rows)
	return nonNil(rows), err
}

func nonNil[T any](rows []*T) []T {
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		if r != nil {
			out = append(out, *r)
		}
	}
	return out
}

// Edge reads the newest record (order "desc") or the oldest ("asc") with limit=1, and what the
// answer said of the server's clock: its Date header (zero when absent) and our clock around
// the request. Never shared or cached: its point is the moment it was answered.
func (c *Client) Edge(ctx context.Context, order string) (page *FlowPage, date, sent, received time.Time, err error) {
	v := FlowsParams{Order: order, Limit: 1}.Values()
	endpoint := c.base + FlowsPath
	target := endpoint + "?" + v.Encode()
	q, own := c.queryOf(ctx)
	if own {
		defer q.Done()
	}
	sent = c.now()
	res, err := c.get(ctx, q, endpoint, target, c.decodeFlowPage)
	received = c.now()
	if err != nil {
		return nil, date, sent, received, err
	}
	return res.page, res.date, sent, received, nil
}

// getShared decodes the answer to a GET of a few rows into out; see shared. It returns the
// limit of the request that answered, which may be longer: the caller keeps the rows it asked
// for.
func (c *Client) getShared(ctx context.Context, path string, v url.Values, limit int, window int64, out any) (int, error) {
	res, asked, _, err := c.shared(ctx, path, v, limit, false, true, window, readBody)
	if err != nil {
		return 0, err
	}
	if err := json.Unmarshal(res.body, out); err != nil {
		return 0, &DecodeError{URL: res.url, Err: err, Detail: c.redactor.Shown(err.Error()), Snippet: c.redactor.Shown(string(res.body))}
	}
	return asked, nil
}

// shared makes a GET whose answer read reads, shared with other callers (see share.go): limit
// is the rows it asks for (0: not a list), closed says its range never changes, keep whether
// its answer may be kept at all, window is the look-back of an aggregate endpoint. It returns
// the limit of the request that answered, which may be longer than limit, and whether no one
// else has the answer (own).
func (c *Client) shared(ctx context.Context, path string, v url.Values, limit int, closed, keep bool, window int64, read bodyReader) (res *answer, asked int, own bool, err error) {
	endpoint := c.base + path
	a := ask{url: endpoint, family: endpoint, limit: limit, closed: closed, keep: keep, window: window}
	if len(v) > 0 {
		a.url += "?" + v.Encode()
		a.family = a.url
	}
	if limit > 0 {
		rest := url.Values{}
		for k, vs := range v {
			if k != "limit" {
				rest[k] = vs
			}
		}
		// Marked, so that a request without a limit (the server's default) is not its family.
		a.family = endpoint + "?" + rest.Encode() + "#list"
	}
	q, ownQuery := c.queryOf(ctx)
	if ownQuery {
		defer q.Done()
	}
	res, asked, own, err = c.share.do(ctx, a, func() (*answer, error) { return c.get(ctx, q, endpoint, a.url, read) })
	if err != nil && (err == context.Canceled || err == context.DeadlineExceeded) {
		// This caller's own deadline passed while it waited for a request it had joined.
		return nil, 0, false, c.classify(c.shown(endpoint), err)
	}
	var re *RequestError
	if errors.As(err, &re) && re.Kind == KindCanceled && ctx.Err() == nil {
		// The caller whose request this one joined went away (a panel refreshed); this
		// caller did not, so it asks for itself.
		res, err = c.get(ctx, q, endpoint, a.url, read)
		asked, own = limit, true
	}
	return res, asked, own, err
}

// answer is a 200 as its bodyReader read it (the body, or a /flows page decoded from it) and
// the URL that gave it (after redirects), as shown.
type answer struct {
	body []byte
	page *FlowPage
	// size is the bytes the body had: what a cached answer counts against the cache's bound.
	size int
	url  string
	date time.Time // the Date header; zero when absent or unreadable
}

// bodyReader reads the body of a 200 into a. An error that is not the body's reader's own is
// the body not decoding.
type bodyReader func(body io.Reader, a *answer) error

// readBody is the bodyReader that keeps the body whole (answers of a few rows).
func readBody(body io.Reader, a *answer) error {
	var err error
	a.body, err = io.ReadAll(body)
	a.size = len(a.body)
	return err
}

// get makes a request, waiting and trying again when the server asks to with Retry-After, and
// once after a short back-off when a gateway says the API is briefly unavailable.
func (c *Client) get(ctx context.Context, q *Query, endpoint, target string, read bodyReader) (*answer, error) {
	transientRetried := false
	for attempt := 0; ; attempt++ {
		res, retryAfter, err := c.getOnce(ctx, q, endpoint, target, read)
		if err == nil {
			return res, nil
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			return nil, err
		}
		if retryAfter <= 0 && !transientRetried && transient(apiErr.StatusCode) {
			// Every request of this client is a read, so trying it again is safe.
			transientRetried = true
			retryAfter = c.backoff
		} else if retryAfter <= 0 || retryAfter > maxRetryAfter || attempt >= maxRetries {
			return nil, err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < retryAfter {
			return nil, err
		}
		t := time.NewTimer(retryAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, err
		case <-t.C:
		}
		q.retried(fmt.Sprintf("retried %s after %s", strings.TrimPrefix(endpoint, c.base), strings.TrimSpace(apiErr.statusText())))
	}
}

func transient(status int) bool {
	return status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
}

// getOnce makes one request and returns the answer read reads from a 200. It returns the server's Retry-After
// when the answer was 429 or 503 with that header, so that get can wait and try again.
func (c *Client) getOnce(ctx context.Context, q *Query, endpoint, target string, read bodyReader) (*answer, time.Duration, error) {
	shown := c.shown(endpoint)
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, &RequestError{Kind: KindCanceled, URL: shown, Err: ctx.Err()}
	}
	defer func() { <-c.slots }()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, 0, &RequestError{Kind: KindOther, URL: shown, Err: err, Detail: c.redactor.Shown(rootCause(err))}
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var re *RedirectError
		if errors.As(err, &re) {
			return nil, 0, re
		}
		return nil, 0, c.classify(shown, err)
	}
	defer resp.Body.Close()
	if resp.Request != nil && resp.Request.URL != nil {
		// After a redirect, errors name where the answer came from.
		final := *resp.Request.URL
		final.RawQuery = ""
		shown = redactURL(&final)
	}

	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		text := strings.ToValidUTF8(errorText(body), "\uFFFD")
		msg := c.redactor.Shown(text)
		if (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden) && c.redactor.Contains(text) {
			// A server that echoes rejected credentials: say nothing of what it said.
			msg = "(not shown: it repeats the credentials)"
		}
		apiErr := &APIError{
			StatusCode: resp.StatusCode,
			URL:        shown,
			Message:    msg,
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After")),
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			return nil, apiErr.RetryAfter, apiErr
		}
		return nil, 0, apiErr
	}
	// The body is read through the query's and the data source's byte budgets, so that one
	// huge (or gzip-bomb) answer fails its own query and leaves memory to the others.
	body := &budgetReader{r: resp.Body, q: q, url: shown}
	date, _ := http.ParseTime(resp.Header.Get("Date"))
	a := &answer{url: shown, date: date}
	if err := read(body, a); err != nil || body.err != nil {
		var be *BudgetError
		switch {
		case errors.As(body.err, &be):
			return nil, 0, be
		case body.err != nil:
			// The connection failed while the body was read.
			return nil, 0, c.classify(shown, body.err)
		case errors.As(err, new(*DecodeError)):
			return nil, 0, err
		default:
			return nil, 0, c.classify(shown, err)
		}
	}
	return a, 0, nil
}

// shown is an endpoint as messages show it.
func (c *Client) shown(endpoint string) string {
	return c.shownBase + strings.TrimPrefix(endpoint, c.base)
}

// errorText is the API's own message: the "error" or "message" field of a JSON body, or the
// body itself when it is not JSON, e.g. a proxy's HTML page.
func errorText(body []byte) string {
	var obj map[string]any
	if json.Unmarshal(body, &obj) == nil {
		for _, k := range []string{"error", "message", "detail"} {
			if s, ok := obj[k].(string); ok && s != "" {
				return s
			}
		}
	}
	return string(body)
}

func parseRetryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if secs, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return time.Until(t)
	}
	return 0
}

// APIError is an answer from the API other than 200.
type APIError struct {
	StatusCode int
	URL        string // endpoint, without parameters
	Message    string // the API's own error text
	RetryAfter time.Duration
}

func (e *APIError) statusText() string {
	return fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

func (e *APIError) Error() string {
	status := e.statusText()
	var what string
	switch {
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		what = fmt.Sprintf("API token rejected (%s) by %s: check the API token in the data source settings", status, e.URL)
	case e.StatusCode == http.StatusNotFound:
		what = fmt.Sprintf("not found (%s) at %s: check the data source URL, which should be the address in front of /api/v1", status, e.URL)
	case e.StatusCode == http.StatusTooManyRequests:
		what = fmt.Sprintf("rate limited by the Flows API (%s) at %s", status, e.URL)
		if e.RetryAfter > 0 {
			what += fmt.Sprintf("; it asks to retry after %s", e.RetryAfter.Round(time.Second))
		}
	case e.StatusCode >= 400 && e.StatusCode < 500:
		what = fmt.Sprintf("the Flows API rejected the request (%s) at %s", status, e.URL)
	default:
		what = fmt.Sprintf("the Flows API failed (%s) at %s", status, e.URL)
	}
	if e.Message != "" {
		what += ". The API said: " + e.Message
	}
	return what
}

// DecodeError is a 200 answer whose body is not the JSON the API specifies.
type DecodeError struct {
	URL     string
	Err     error
	Detail  string // Err as it may be shown (it may quote the body)
	Snippet string // the start of the body, as it may be shown
}

func (e *DecodeError) Error() string {
	detail := e.Detail
	if detail == "" && e.Err != nil {
		detail = strings.ToValidUTF8(e.Err.Error(), "\uFFFD")
	}
	msg := fmt.Sprintf("the Flows API at %s answered with a body that is not the expected JSON (%s)", e.URL, detail)
	if e.Snippet != "" {
		msg += ": " + e.Snippet
	}
	return msg
}

func (e *DecodeError) Unwrap() error { return e.Err }

// Kind says why a request got no HTTP answer.
type Kind string

const (
	KindRefused  Kind = "connection refused"
	KindDNS      Kind = "DNS lookup failed"
	KindTLS      Kind = "TLS handshake failed"
	KindTimeout  Kind = "timeout"
	KindCanceled Kind = "canceled"
	KindOther    Kind = "request failed"
)

// RequestError is a request that got no HTTP answer.
type RequestError struct {
	Kind   Kind
	URL    string // as it may be shown
	Err    error
	Detail string // the root cause as it may be shown
}

func (e *RequestError) Error() string {
	host := e.URL
	if u, err := url.Parse(e.URL); err == nil {
		host = u.Host
	}
	switch e.Kind {
	case KindRefused:
		return fmt.Sprintf("connection refused by %s: is the Flows API running, and are the host and port in the URL right?", host)
	case KindDNS:
		return fmt.Sprintf("cannot resolve host %s (DNS lookup failed): check the host name in the URL", hostOnly(host))
	case KindTLS:
		return fmt.Sprintf("TLS handshake with %s failed (%s): check https/http in the URL and the TLS settings", host, e.detail())
	case KindTimeout:
		return fmt.Sprintf("no answer from %s before the timeout: the Flows API is slow or unreachable; raise the timeout or narrow the query", e.URL)
	case KindCanceled:
		return fmt.Sprintf("request to %s was canceled", e.URL)
	default:
		return fmt.Sprintf("request to %s failed: %s", e.URL, e.detail())
	}
}

func (e *RequestError) detail() string {
	if e.Detail != "" || e.Err == nil {
		return e.Detail
	}
	return strings.ToValidUTF8(rootCause(e.Err), "\uFFFD")
}

// RedirectError is a redirect the client did not follow.
type RedirectError struct {
	From, To string // as they may be shown
	Reason   string
}

func (e *RedirectError) Error() string {
	if e.Reason == "another origin" {
		return fmt.Sprintf("the Flows API at %s redirected to %s, another host or port: the plugin does not follow it, so that the API token is not sent there. If the API has moved, set the data source URL to its new address", e.From, e.To)
	}
	return fmt.Sprintf("the Flows API at %s redirected to %s: %s", e.From, e.To, e.Reason)
}

func (e *RequestError) Unwrap() error { return e.Err }

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// rootCause is the innermost message, without url.Error's "Get <url>:" prefix.
func rootCause(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

func (c *Client) classify(endpoint string, err error) *RequestError {
	kind := KindOther
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recordErr tls.RecordHeaderError
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled):
		kind = KindCanceled
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		kind = KindTimeout
	case errors.As(err, &dnsErr):
		kind = KindDNS
	case errors.Is(err, syscall.ECONNREFUSED):
		kind = KindRefused
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr), errors.As(err, &recordErr),
		strings.Contains(err.Error(), "tls: "), strings.Contains(err.Error(), "x509: "),
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		kind = KindTLS
	case errors.As(err, &netErr) && netErr.Timeout():
		kind = KindTimeout
	}
	return &RequestError{Kind: kind, URL: endpoint, Err: err, Detail: c.redactor.Shown(rootCause(err))}
}
