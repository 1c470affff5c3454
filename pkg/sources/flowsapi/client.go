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
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	// maxErrorBody bounds what is read of an error response: enough for the API's message.
	maxErrorBody = 4 << 10
	// maxBody bounds a success response; a /flows page of 10,000 records is about 5 MB.
	maxBody = 256 << 20
	// maxRetryAfter is the longest Retry-After the client waits for before giving up, and
	// maxRetries how often: a dashboard should fail with a clear message, not hang.
	maxRetryAfter = 10 * time.Second
	maxRetries    = 2
)

// Client calls one Flows API. It is safe for concurrent use; at most maxConcurrency requests
// are in flight at once, however many queries and pages are being served.
type Client struct {
	base  string
	token string
	http  *http.Client
	slots chan struct{}
	share *share
	// now tells which ranges are closed.
	now func() time.Time
}

// SetClock sets the clock that decides which ranges are closed and may be cached.
func (c *Client) SetClock(now func() time.Time) { c.now = now }

// New returns a client for the API at baseURL (the address in front of /api/v1). hc carries
// TLS, proxy and timeout settings.
func New(baseURL, token string, hc *http.Client, maxConcurrency int) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("base URL %q is not an http(s) URL", baseURL)
	}
	if maxConcurrency < 1 {
		maxConcurrency = 1
	}
	return &Client{base: u.String(), token: token, http: hc, slots: make(chan struct{}, maxConcurrency), share: newShare(), now: time.Now}, nil
}

// BaseURL is the API address the client calls.
func (c *Client) BaseURL() string { return c.base }

// Flows fetches one page of /api/v1/flows.
func (c *Client) Flows(ctx context.Context, p FlowsParams) (*FlowPage, error) {
	var page FlowPage
	// A range that ended a while ago holds only closed, indexed windows: its pages never change.
	closed := !p.To.IsZero() && p.To.Before(c.now().Add(-settleTime))
	if err := c.getShared(ctx, FlowsPath, p.Values(), closed, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// TopTalkers calls /api/v1/flows/top-talkers.
func (c *Client) TopTalkers(ctx context.Context, p TopTalkersParams) ([]TopTalker, error) {
	var rows []TopTalker
	err := c.getShared(ctx, TopTalkersPath, p.Values(), false, &rows)
	return rows, err
}

// Protocols calls /api/v1/flows/protocols.
func (c *Client) Protocols(ctx context.Context, windowSecs int64) ([]ProtocolStat, error) {
	var rows []ProtocolStat
	err := c.getShared(ctx, ProtocolsPath, ProtocolsValues(windowSecs), false, &rows)
	return rows, err
}

// getShared decodes the answer to a GET into out; identical concurrent requests are made once,
// and answers for closed ranges are reused (see share.go).
func (c *Client) getShared(ctx context.Context, path string, v url.Values, cacheable bool, out any) error {
	endpoint := c.base + path
	target := endpoint
	if len(v) > 0 {
		target += "?" + v.Encode()
	}
	body, err := c.share.do(target, cacheable, func() ([]byte, error) { return c.get(ctx, endpoint, target) })
	var re *RequestError
	if errors.As(err, &re) && re.Kind == KindCanceled && ctx.Err() == nil {
		// The caller whose request this one joined went away (a panel refreshed); this
		// caller did not, so it asks for itself.
		body, err = c.get(ctx, endpoint, target)
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, out); err != nil {
		return &DecodeError{URL: endpoint, Err: err, Snippet: c.redact(snippet(body))}
	}
	return nil
}

// get makes a request, waiting and trying again when the server asks to with Retry-After.
func (c *Client) get(ctx context.Context, endpoint, target string) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		body, retryAfter, err := c.getOnce(ctx, endpoint, target)
		if err == nil {
			return body, nil
		}
		if retryAfter <= 0 || retryAfter > maxRetryAfter || attempt >= maxRetries {
			return nil, err
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < retryAfter {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(retryAfter):
		}
	}
}

// getOnce makes one request and returns the body of a 200. It returns the server's Retry-After
// when the answer was 429 or 503 with that header, so that get can wait and try again.
func (c *Client) getOnce(ctx context.Context, endpoint, target string) ([]byte, time.Duration, error) {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, 0, &RequestError{Kind: KindCanceled, URL: endpoint, Err: ctx.Err()}
	}
	defer func() { <-c.slots }()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, 0, &RequestError{Kind: KindOther, URL: endpoint, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, classify(endpoint, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		apiErr := &APIError{
			StatusCode: resp.StatusCode,
			URL:        endpoint,
			Message:    c.redact(errorText(body)),
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After")),
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			return nil, apiErr.RetryAfter, apiErr
		}
		return nil, 0, apiErr
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, 0, classify(endpoint, err)
	}
	if len(body) > maxBody {
		return nil, 0, &DecodeError{URL: endpoint, Err: fmt.Errorf("response larger than %d MB", maxBody>>20)}
	}
	return body, 0, nil
}

// redact removes the token from text a server sent back, in case it echoes the request.
func (c *Client) redact(s string) string {
	if c.token == "" {
		return s
	}
	return strings.ReplaceAll(s, c.token, "[redacted]")
}

// errorText is the API's own message: the "error" or "message" field of a JSON body, or the
// body itself (trimmed) when it is not JSON, e.g. a proxy's HTML page.
func errorText(body []byte) string {
	var obj map[string]any
	if json.Unmarshal(body, &obj) == nil {
		for _, k := range []string{"error", "message", "detail"} {
			if s, ok := obj[k].(string); ok && s != "" {
				return s
			}
		}
	}
	return snippet(body)
}

func snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
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

func (e *APIError) Error() string {
	status := fmt.Sprintf("%d %s", e.StatusCode, http.StatusText(e.StatusCode))
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
	Snippet string
}

func (e *DecodeError) Error() string {
	msg := fmt.Sprintf("the Flows API at %s answered with a body that is not the expected JSON (%v)", e.URL, e.Err)
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
	Kind Kind
	URL  string
	Err  error
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
		return fmt.Sprintf("TLS handshake with %s failed (%s): check https/http in the URL and the TLS settings", host, rootCause(e.Err))
	case KindTimeout:
		return fmt.Sprintf("no answer from %s before the timeout: the Flows API is slow or unreachable; raise the timeout or narrow the query", e.URL)
	case KindCanceled:
		return fmt.Sprintf("request to %s was canceled", e.URL)
	default:
		return fmt.Sprintf("request to %s failed: %s", e.URL, rootCause(e.Err))
	}
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

func classify(endpoint string, err error) *RequestError {
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
	return &RequestError{Kind: kind, URL: endpoint, Err: err}
}
