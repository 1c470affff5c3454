package flowsapi

import (
	"context"
	"sync"
)

// PagedFlows is the result of reading /api/v1/flows page by page.
type PagedFlows struct {
	Flows []Flow
	// Total is what the server last reported as matching.
	Total int
	// Pages counts the requests made; PageSize is the first page's effective limit.
	Pages    int
	PageSize int
	// Capped is true when maxRows stopped the read before the server ran out of rows.
	Capped bool
}

// pageReader accumulates pages, keeping each id once.
type pageReader struct {
	out     *PagedFlows
	seen    map[string]struct{}
	maxRows int
}

func (r *pageReader) add(page *FlowPage) {
	r.out.Pages++
	if r.out.Pages == 1 {
		r.out.PageSize = len(page.Flows)
	}
	r.out.Total = page.Total
	for _, f := range page.Flows {
		if _, dup := r.seen[f.ID]; dup {
			continue
		}
		r.seen[f.ID] = struct{}{}
		if len(r.out.Flows) < r.maxRows {
			r.out.Flows = append(r.out.Flows, f)
		}
	}
}

// PageFlows reads pages of p (its Offset and Limit are managed here) until the server has
// returned `total` rows, returns an empty page, or maxRows unique rows are held. It advances by
// what each page actually held, because a server may cap `limit` below pageSize, and keeps
// each id once, because windows indexed while paging shift later pages.
//
// A closed range (one that ended before settleTime ago) gains no windows while it is read, so
// after the first page has shown the server's page size, the other pages are read in parallel
// (within the client's concurrency bound). An open range is read one page after another: there
// a page read early and its predecessor read late could skip the rows a new window pushed
// between them.
func (c *Client) PageFlows(ctx context.Context, p FlowsParams, pageSize, maxRows int) (*PagedFlows, error) {
	r := &pageReader{out: &PagedFlows{}, seen: make(map[string]struct{}), maxRows: maxRows}
	offset := 0
	closed := !p.To.IsZero() && p.To.Before(c.now().Add(-settleTime))
	for len(r.out.Flows) < maxRows {
		p.Offset = offset
		p.Limit = min(pageSize, maxRows-len(r.out.Flows))
		page, err := c.Flows(ctx, p)
		if err != nil {
			return nil, err
		}
		r.add(page)
		if len(page.Flows) == 0 {
			return r.out, nil
		}
		offset += len(page.Flows)
		if offset >= page.Total {
			return r.out, nil
		}
		if closed && r.out.Pages == 1 {
			if offset, err = c.readPagesInParallel(ctx, p, r, offset, len(page.Flows), min(page.Total, maxRows)); err != nil {
				return nil, err
			}
			if offset >= r.out.Total {
				return r.out, nil
			}
		}
	}
	r.out.Capped = offset < r.out.Total
	return r.out, nil
}

// readPagesInParallel reads the pages of size step from offset up to end at once, adds them in
// order and returns the offset after the last row read. A short page ends the run, and the
// sequential loop goes on from there.
func (c *Client) readPagesInParallel(ctx context.Context, p FlowsParams, r *pageReader, offset, step, end int) (int, error) {
	var offsets []int
	for off := offset; off < end; off += step {
		offsets = append(offsets, off)
	}
	pages := make([]*FlowPage, len(offsets))
	errs := make([]error, len(offsets))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(cap(c.slots), len(offsets)) {
		wg.Go(func() {
			for i := range next {
				q := p
				q.Offset, q.Limit = offsets[i], min(step, end-offsets[i])
				pages[i], errs[i] = c.Flows(ctx, q)
			}
		})
	}
	for i := range offsets {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, page := range pages {
		if errs[i] != nil {
			return 0, errs[i]
		}
		r.add(page)
		offset = offsets[i] + len(page.Flows)
		if len(page.Flows) < min(step, end-offsets[i]) {
			break
		}
	}
	return offset, nil
}
