package flowsapi

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
)

// Limits bound the memory that answers of the API may take. A query that reads more than
// QueryBytes fails with a BudgetError; so does one that would take the queries in progress on
// this client (one data source) together beyond InstanceBytes. The other queries go on.
type Limits struct {
	QueryBytes    int64
	InstanceBytes int64
}

// DefaultLimits suit the row caps the settings allow by default: a /flows record is about 500
// bytes of JSON, so 50,000 records (the default row cap) are about 25 MB.
var DefaultLimits = Limits{QueryBytes: 128 << 20, InstanceBytes: 512 << 20}

// SetLimits replaces the client's byte budgets.
func (c *Client) SetLimits(l Limits) { c.limits = l }

// Query accounts for what one query (all its requests and pages) reads from the API: the bytes
// against the budgets, and the requests tried again. Start it with StartQuery and end it with
// Done; requests made without one are each accounted alone.
type Query struct {
	c        *Client
	bytes    atomic.Int64
	mu       sync.Mutex
	retries  []string
	problems []string
	done     atomic.Bool
}

type queryKey struct{}

// StartQuery returns ctx carrying a new Query for this client.
func (c *Client) StartQuery(ctx context.Context) (context.Context, *Query) {
	q := &Query{c: c}
	return context.WithValue(ctx, queryKey{}, q), q
}

// queryOf is the Query of ctx, or a new one (own) for a single request.
func (c *Client) queryOf(ctx context.Context) (q *Query, own bool) {
	if q, ok := ctx.Value(queryKey{}).(*Query); ok && q.c == c {
		return q, false
	}
	return &Query{c: c}, true
}

// Done gives the query's bytes back to the data source's budget.
func (q *Query) Done() {
	if q.done.CompareAndSwap(false, true) {
		q.c.held.Add(-q.bytes.Load())
	}
}

// Retries lists the requests tried again after a transient failure, for ExecutedQueryString.
func (q *Query) Retries() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.retries)
}

// Problems lists what the server did wrong that reads worked around (PagedFlows.Problems), each
// once.
func (q *Query) Problems() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.problems)
}

func (q *Query) problem(what ...string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, w := range what {
		if !slices.Contains(q.problems, w) {
			q.problems = append(q.problems, w)
		}
	}
}

func (q *Query) retried(what string) {
	if q == nil {
		return
	}
	q.mu.Lock()
	q.retries = append(q.retries, what)
	q.mu.Unlock()
}

// charge counts n more bytes read for q.
func (q *Query) charge(n int64, url string) error {
	total := q.bytes.Add(n)
	held := q.c.held.Add(n)
	if q.done.Load() {
		// Read after Done (a request joined late): give it back at once.
		q.c.held.Add(-n)
	}
	if l := q.c.limits.QueryBytes; l > 0 && total > l {
		return &BudgetError{URL: url, Limit: l}
	}
	if l := q.c.limits.InstanceBytes; l > 0 && held > l {
		return &BudgetError{URL: url, Limit: l, Instance: true}
	}
	return nil
}

// BudgetError is a query stopped because the API's answers exceeded a byte budget.
type BudgetError struct {
	URL      string // the request being read, as it may be shown
	Limit    int64
	Instance bool // the data source's budget, not the query's
}

func (e *BudgetError) Error() string {
	if e.Instance {
		return fmt.Sprintf("the queries running on this data source together read more than %s from the Flows API (at %s); this query was stopped so that the others can finish: try again, or make the dashboard's queries narrower", mb(e.Limit), e.URL)
	}
	return fmt.Sprintf("the Flows API's answers to this query exceed %s, the most one query may read (at %s): narrow the time range or the filters, or lower the row cap", mb(e.Limit), e.URL)
}

func mb(n int64) string {
	if n >= 1<<20 {
		return fmt.Sprintf("%d MB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// budgetReader reads a body, charging every byte to a query. err is the first error reading
// failed with (a budget exceeded, the connection lost), io.EOF aside: whoever decodes the body
// tells that from the body not decoding.
type budgetReader struct {
	r   io.Reader
	q   *Query
	url string
	err error
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	if n > 0 {
		if e := b.q.charge(int64(n), b.url); e != nil {
			b.err = e
			return 0, e
		}
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}
