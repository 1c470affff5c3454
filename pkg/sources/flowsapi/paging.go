package flowsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
)

// PagedFlows is the result of reading /api/v1/flows page by page.
type PagedFlows struct {
	Flows []Flow
	// Total is what the server reported as matching, or, when its totals proved wrong, the
	// records it returned.
	Total int
	// Pages counts the requests made; PageSize is the first page's effective limit.
	Pages    int
	PageSize int
	// Capped is true when maxRows stopped the read before the server ran out of rows.
	Capped bool
	// Problems say what the server did wrong that the read worked around (it ignored offset,
	// its total was impossible): the answer may be partial, and whoever shows it must say so.
	Problems []string
}

// pageReader takes pages in, in the read's order, and hands each page's new records (each
// record once) to each.
type pageReader struct {
	out     *PagedFlows
	seen    map[string]struct{}
	maxRows int
	// held counts the records handed to each; received the records of all pages, duplicates
	// included.
	held, received int
	// totalWrong is set once the server's total proved impossible: from then on the read goes
	// on until the server runs out of rows.
	totalWrong bool
	// each receives a page's new records (fresh is reused from page to page) and what the read
	// will hold at most, as far as the server's total tells.
	each  func(page []Flow, expect int) error
	fresh []Flow
}

// recordKey identifies a record across pages: its id, or, for a record without one (null or
// empty id), its content, so that records without ids are neither merged into one nor
// counted twice.
func recordKey(f *Flow) string {
	if f.ID != "" {
		return f.ID
	}
	b, _ := json.Marshal(f)
	return "\x00" + string(b)
}

// add takes a page in and says how many records it added. An error is each's.
func (r *pageReader) add(page *FlowPage) (int, error) {
	r.out.Pages++
	if r.out.Pages == 1 {
		r.out.PageSize = len(page.Flows)
	}
	r.received += len(page.Flows)
	if r.out.Pages == 1 && page.Total > len(page.Flows) {
		// Sized once from the server's total (bounded by maxRows, and further: a server that
		// lies about its total must not make the read reserve room it never fills).
		r.seen = make(map[string]struct{}, min(page.Total, r.maxRows, 1<<18))
	}
	r.fresh = r.fresh[:0]
	added := 0
	for i := range page.Flows {
		k := recordKey(&page.Flows[i])
		if _, dup := r.seen[k]; dup {
			continue
		}
		r.seen[k] = struct{}{}
		added++
		if r.held+len(r.fresh) < r.maxRows {
			r.fresh = append(r.fresh, page.Flows[i])
		}
	}
	switch {
	case r.totalWrong:
	case page.Total < 0:
		r.totalWrong = true
		r.problem(fmt.Sprintf("the Flows API reported a negative total (%d); the records were counted as they came", page.Total))
	case page.Total < r.received && page.Total < len(r.seen):
		r.totalWrong = true
		r.problem(fmt.Sprintf("the Flows API reported a total of %d but returned more records; the records were counted as they came", page.Total))
	default:
		r.out.Total = page.Total
	}
	if r.totalWrong {
		r.out.Total = len(r.seen)
	}
	if len(r.fresh) == 0 {
		return added, nil
	}
	r.held += len(r.fresh)
	expect := r.held
	if !r.totalWrong {
		expect = min(max(r.out.Total, r.held), r.maxRows)
	}
	return added, r.each(r.fresh, expect)
}

func (r *pageReader) problem(p string) {
	r.out.Problems = append(r.out.Problems, p)
}

// done says whether the server has no more rows after offset.
func (r *pageReader) done(offset int) bool {
	return !r.totalWrong && offset >= r.out.Total
}

// notPaging records that the server answered a page at offset with records already read,
// saying it answered another offset.
func (r *pageReader) notPaging(offset int) {
	r.problem(fmt.Sprintf("the Flows API does not page: asked for offset %d, it returned records already read, so only %d of them could be read", offset, len(r.seen)))
}

// pageBudget bounds the requests of one read: enough for maxRows at the server's page size
// twice over (windows indexed while paging shift records to later pages), whatever totals
// the server reports.
func pageBudget(maxRows, pageSize int) int {
	pageSize = max(pageSize, 1)
	return 2*((maxRows+pageSize-1)/pageSize) + 2
}

// PageFlows reads pages of p (its Offset and Limit are managed here) until the server has
// returned `total` rows, returns an empty page, or maxRows unique rows are held. It advances by
// what each page actually held, because a server may cap `limit` below pageSize, and keeps
// each record once, because windows indexed while paging shift later pages.
//
// It does not trust the server blindly: a page that adds no new record and reports another
// offset than asked (a server that ignores offset) ends the read, a total that is negative or smaller than the records returned
// is replaced by reading to the end, and the requests are bounded by pageBudget. Each of these
// is reported in Problems.
//
// A closed range (one that ended before settleTime ago) gains no windows while it is read, so
// after the first page has shown the server's page size, the other pages are read in parallel
// (within the client's concurrency bound). An open range is read one page after another: there
// a page read early and its predecessor read late could skip the rows a new window pushed
// between them.
func (c *Client) PageFlows(ctx context.Context, p FlowsParams, pageSize, maxRows int) (*PagedFlows, error) {
	var flows []Flow
	out, err := c.EachFlowPage(ctx, p, pageSize, maxRows, func(page []Flow, expect int) error {
		if flows == nil {
			// Sized once from the server's total (bounded by maxRows): appending page after
			// page would copy the rows at every doubling and hold both copies at the peak.
			flows = make([]Flow, 0, expect)
		}
		flows = append(flows, page...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.Flows = flows
	return out, nil
}

// EachFlowPage reads as PageFlows does, but holds no records: each receives every page's new
// records in the read's order, and how many records the read will hold at most as far as the
// server's total tells (for sizing). each must not keep the slice. An error from each stops the
// read (requests in flight are canceled) and is returned as is. The result has no Flows.
func (c *Client) EachFlowPage(ctx context.Context, p FlowsParams, pageSize, maxRows int, each func(page []Flow, expect int) error) (*PagedFlows, error) {
	out, err := c.pageFlows(ctx, p, pageSize, maxRows, each)
	if err == nil && len(out.Problems) > 0 {
		if q, own := c.queryOf(ctx); !own {
			q.problem(out.Problems...)
		}
	}
	return out, err
}

func (c *Client) pageFlows(ctx context.Context, p FlowsParams, pageSize, maxRows int, each func([]Flow, int) error) (*PagedFlows, error) {
	r := &pageReader{out: &PagedFlows{}, seen: make(map[string]struct{}), maxRows: maxRows, each: each}
	offset := 0
	closed := !p.To.IsZero() && p.To.Before(c.now().Add(-settleTime))
	budget := pageBudget(maxRows, pageSize)
	for r.held < maxRows {
		if r.out.Pages >= budget {
			r.problem(fmt.Sprintf("the read stopped after %d requests, the most a read of %d records may take: the Flows API's pages do not add up", r.out.Pages, maxRows))
			r.out.Capped = true
			return r.out, nil
		}
		p.Offset = offset
		p.Limit = min(pageSize, maxRows-r.held)
		page, release, err := c.sharedFlowPage(ctx, p)
		if err != nil {
			return nil, err
		}
		added, err := r.add(page)
		// What the loop needs of the page; its records have been handed on.
		n, pageOffset, total := len(page.Flows), page.Offset, page.Total
		release()
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return r.out, nil
		}
		if added == 0 && pageOffset != offset {
			// Records already read, and the server says it answered another offset.
			r.notPaging(offset)
			return r.out, nil
		}
		offset += n
		if r.out.Pages == 1 {
			budget = pageBudget(maxRows, n)
		}
		if r.done(offset) {
			return r.out, nil
		}
		if closed && r.out.Pages == 1 && !r.totalWrong {
			stop := false
			if offset, stop, err = c.readPagesInParallel(ctx, p, r, offset, n, min(total, maxRows)); err != nil {
				return nil, err
			}
			if stop || r.done(offset) {
				return r.out, nil
			}
		}
	}
	r.out.Capped = r.totalWrong || offset < r.out.Total
	return r.out, nil
}

// readPagesInParallel reads the pages of size step from offset up to end at once, adds them in
// order and returns the offset after the last row read. A short page ends the run, and the
// sequential loop goes on from there; a page that adds nothing (the server ignores offset)
// ends the read (stop).
func (c *Client) readPagesInParallel(ctx context.Context, p FlowsParams, r *pageReader, offset, step, end int) (int, bool, error) {
	// Pages are read in waves as wide as the client's concurrency, so that a server whose
	// totals or paging lie is caught after one wave rather than after every page the total
	// promises. Within a wave pages arrive in any order; each is added as soon as the pages
	// before it are, so a wave holds at most its own pages (a bounded reorder buffer).
	wave := cap(c.slots)
	for offset < end {
		var offsets []int
		for off := offset; off < end && len(offsets) < wave; off += step {
			offsets = append(offsets, off)
		}
		next, stop, more, err := c.readWave(ctx, p, r, offsets, step, end)
		if err != nil || stop || !more {
			return next, stop, err
		}
		offset = next
	}
	return offset, false, nil
}

// readWave reads the pages at offsets at once and adds them in order. It returns the offset
// after the last row added, whether the read must stop (the server ignores offset), and whether
// the run may go on (no short page).
func (c *Client) readWave(ctx context.Context, p FlowsParams, r *pageReader, offsets []int, step, end int) (next int, stop, more bool, err error) {
	type result struct {
		page    *FlowPage
		release func()
		err     error
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	results := make([]chan result, len(offsets))
	for i, off := range offsets {
		results[i] = make(chan result, 1)
		wg.Go(func() {
			q := p
			q.Offset, q.Limit = off, min(step, end-off)
			page, release, err := c.sharedFlowPage(ctx, q)
			results[i] <- result{page, release, err}
		})
	}
	// Whatever ends the wave early (an error, each's error, a short page) cancels the pages
	// still in flight and waits for them: no request outlives the read. Pages not added are
	// given back.
	taken := 0
	defer func() {
		cancel()
		wg.Wait()
		for _, ch := range results[taken:] {
			if res := <-ch; res.err == nil {
				res.release()
			}
		}
	}()
	next = offsets[0]
	for i, ch := range results {
		res := <-ch
		taken++
		if res.err != nil {
			return 0, false, false, res.err
		}
		added, err := r.add(res.page)
		n, pageOffset := len(res.page.Flows), res.page.Offset
		res.release()
		if err != nil {
			return 0, false, false, err
		}
		if added == 0 && n > 0 && pageOffset != offsets[i] {
			r.notPaging(offsets[i])
			return next, true, false, nil
		}
		next = offsets[i] + n
		if n < min(step, end-offsets[i]) {
			return next, false, false, nil
		}
	}
	return next, false, true, nil
}
