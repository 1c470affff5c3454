package flowsapi

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"
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
	// Parts are the ranges read when an open range was split at the closed boundary, in the
	// order read (the first page of the whole range first); nil when it was read whole.
	Parts []FlowsPart
}

// FlowsPart is one range of a split read and the requests it took.
type FlowsPart struct {
	From, To time.Time
	Pages    int
	// Probe marks the first page of the whole range, which showed that it holds more than a
	// page; Closed a part read in parallel.
	Probe, Closed bool
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
	// notPaged is set once the server proved not to page: the read ends there, whatever part
	// of it was being read.
	notPaged bool
	// keep says whether the pages read may be cached (see pageFlows).
	keep bool
	// whole is the total of the whole range as its first page said, when the range is read in
	// parts: what the read will hold, for sizing.
	whole int
	// each receives a page's new records (fresh is reused from page to page) and what the read
	// will hold at most, as far as the server's total tells.
	each  func(page []Flow, expect int) error
	fresh []Flow
	// part is where the range being read started in the totals of the whole read: a split read
	// adds up the totals of its parts.
	part struct{ total, received, seen int }
}

// beginPart starts reading another range: its total adds to those read before.
func (r *pageReader) beginPart() {
	r.part.total, r.part.received, r.part.seen = r.out.Total, r.received, len(r.seen)
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
	if len(r.seen) == 0 {
		if n := max(page.Total, r.whole); n > len(page.Flows) {
			// Sized once from the server's total (bounded by maxRows, and further: a server
			// that lies about its total must not make the read reserve room it never fills).
			r.seen = make(map[string]struct{}, min(n, r.maxRows, 1<<18))
		}
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
	case page.Total < r.received-r.part.received && page.Total < len(r.seen)-r.part.seen:
		r.totalWrong = true
		r.problem(fmt.Sprintf("the Flows API reported a total of %d but returned more records; the records were counted as they came", page.Total))
	default:
		r.out.Total = r.part.total + page.Total
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
		expect = min(max(r.out.Total, r.whole, r.held), r.maxRows)
	}
	return added, r.each(r.fresh, expect)
}

func (r *pageReader) problem(p string) {
	r.out.Problems = append(r.out.Problems, p)
}

// done says whether the server has no more rows after offset in the range being read.
func (r *pageReader) done(offset int) bool {
	return !r.totalWrong && offset >= r.out.Total-r.part.total
}

// notPaging records that the server answered a page at offset with records already read,
// saying it answered another offset.
func (r *pageReader) notPaging(offset int) {
	r.notPaged = true
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
	r := &pageReader{out: &PagedFlows{}, seen: make(map[string]struct{}), maxRows: maxRows, each: each, keep: true}
	now := c.now()
	closed := !p.To.IsZero() && p.To.Before(now.Add(-settleTime))
	boundary := closedBoundary(now)
	if closed || p.Sort != "timestamp" || p.From.IsZero() || !p.From.Before(boundary) {
		return r.out, c.readRange(ctx, p, pageSize, r, closed, nil)
	}
	// An open range ordered by time, with closed windows: its first page tells whether there
	// is more than a page to read. If not, that page is the read.
	probe := p
	probe.Offset, probe.Limit = 0, min(pageSize, maxRows)
	page, release, err := c.sharedFlowPage(ctx, probe, true)
	if err != nil {
		return nil, err
	}
	if n := len(page.Flows); n == 0 || n >= maxRows || page.Total <= n {
		return r.out, c.readRange(ctx, p, pageSize, r, false, &prefetched{page, release})
	}
	// More than a page: the closed part [From, boundary] is read as a closed range (its pages
	// in parallel), the newest windows (boundary, To] page after page, each on its own, in the
	// order asked. The records of the probe are read again with their part (they are not
	// handed on: a new window could otherwise come before them, out of order).
	total, size := page.Total, len(page.Flows)
	release()
	// The parts' pages of a long read are not cached: the boundary moves with the clock, so the
	// same request is not made again a minute later, and a long range's pages would hold the
	// cache's memory for nothing. (Identical requests in flight are still made once.) A short
	// read's are: the panels of one dashboard read the same range at once, one a page or two
	// behind another, and a page kept is not asked twice (share.go).
	r.keep = total <= keptReadPages*size
	r.whole = total
	r.out.Pages, r.out.PageSize = 1, size
	r.out.Parts = []FlowsPart{{From: p.From, To: p.To, Pages: 1, Probe: true}}
	older, newer := p, p
	older.To, newer.From = boundary, boundary.Add(time.Millisecond)
	parts := []FlowsParams{newer, older}
	if p.Order == "asc" {
		parts = []FlowsParams{older, newer}
	}
	for _, part := range parts {
		if r.notPaged {
			break
		}
		if r.held >= maxRows {
			// The row cap stopped the read before this part: the whole range's total is the
			// probe's.
			if !r.totalWrong {
				r.out.Total = max(r.out.Total, total)
			}
			r.out.Capped = r.out.Capped || r.held < r.out.Total || r.totalWrong
			break
		}
		pages := r.out.Pages
		isOlder := part.To.Equal(boundary)
		if err := c.readRange(ctx, part, pageSize, r, isOlder, nil); err != nil {
			return nil, err
		}
		r.out.Parts = append(r.out.Parts, FlowsPart{From: part.From, To: part.To, Pages: r.out.Pages - pages, Closed: isOlder})
	}
	return r.out, nil
}

// closedBoundary is where an open range is split: the latest instant, before the windows
// that ended within settleTime of now, that lies in the middle of a window. No record's
// timestamp (a window's end) can fall on it or a millisecond after it, so the two parts
// [from, boundary] and [boundary+1 ms, to] hold every record once, whether the server's ends
// are inclusive or not.
func closedBoundary(now time.Time) time.Time {
	w := WindowSize.Milliseconds()
	cut := now.Add(-settleTime).UnixMilli() - 1 - w/2
	return time.UnixMilli(floorDiv(cut, w)*w + w/2)
}

// keptReadPages is the most pages a split read may have for its pages to be kept: about 14 MB
// at 1000 records a page.
const keptReadPages = 32

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// prefetched is a first page already read.
type prefetched struct {
	page    *FlowPage
	release func()
}

// readRange reads one range through r, page after page or, for a closed range, its first page
// and then the others in parallel. first, if not nil, is its first page, already read.
func (c *Client) readRange(ctx context.Context, p FlowsParams, pageSize int, r *pageReader, closed bool, first *prefetched) error {
	r.beginPart()
	maxRows := r.maxRows
	offset, pages := 0, 0
	budget := pageBudget(maxRows, pageSize)
	for r.held < maxRows {
		if pages >= budget {
			r.problem(fmt.Sprintf("the read stopped after %d requests, the most a read of %d records may take: the Flows API's pages do not add up", pages, maxRows))
			r.out.Capped = true
			return nil
		}
		p.Offset = offset
		p.Limit = min(pageSize, maxRows-r.held)
		var page *FlowPage
		var release func()
		if first != nil {
			page, release, first = first.page, first.release, nil
		} else {
			var err error
			if page, release, err = c.sharedFlowPage(ctx, p, r.keep); err != nil {
				return err
			}
		}
		pages++
		added, err := r.add(page)
		// What the loop needs of the page; its records have been handed on.
		n, pageOffset, total := len(page.Flows), page.Offset, page.Total
		release()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if added == 0 && pageOffset != offset {
			// Records already read, and the server says it answered another offset.
			r.notPaging(offset)
			return nil
		}
		offset += n
		if pages == 1 {
			budget = pageBudget(maxRows, n)
		}
		if r.done(offset) {
			return nil
		}
		if closed && pages == 1 && !r.totalWrong {
			before := r.out.Pages
			stop := false
			// A wave's last page asks for a whole page when the server's total ends the range:
			// a server whose total is too small then shows it by answering more.
			room := maxRows - r.held + offset
			if offset, stop, err = c.readPagesInParallel(ctx, p, r, offset, n, min(total, room), total <= room); err != nil {
				return err
			}
			pages += r.out.Pages - before
			if stop || r.done(offset) {
				return nil
			}
		}
	}
	r.out.Capped = r.out.Capped || r.totalWrong || offset < r.out.Total-r.part.total
	return nil
}

// readPagesInParallel reads the pages of size step from offset up to end at once, adds them in
// order and returns the offset after the last row read. A short page ends the run, and the
// sequential loop goes on from there; a page that adds nothing (the server ignores offset)
// ends the read (stop).
func (c *Client) readPagesInParallel(ctx context.Context, p FlowsParams, r *pageReader, offset, step, end int, askFull bool) (int, bool, error) {
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
		next, stop, more, err := c.readWave(ctx, p, r, offsets, step, end, askFull)
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
func (c *Client) readWave(ctx context.Context, p FlowsParams, r *pageReader, offsets []int, step, end int, askFull bool) (next int, stop, more bool, err error) {
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
			if askFull {
				q.Limit = step
			}
			page, release, err := c.sharedFlowPage(ctx, q, r.keep)
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
