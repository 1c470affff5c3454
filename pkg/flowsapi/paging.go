package flowsapi

import "context"

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

// PageFlows reads pages of p (its Offset and Limit are managed here) until the server has
// returned `total` rows, returns an empty page, or maxRows unique rows are held. It advances by
// what each page actually held, because a server may cap `limit` below pageSize, and keeps
// each id once, because windows indexed while paging shift later pages.
func (c *Client) PageFlows(ctx context.Context, p FlowsParams, pageSize, maxRows int) (*PagedFlows, error) {
	out := &PagedFlows{}
	seen := make(map[string]struct{})
	offset := 0
	for len(out.Flows) < maxRows {
		p.Offset = offset
		p.Limit = min(pageSize, maxRows-len(out.Flows))
		page, err := c.Flows(ctx, p)
		if err != nil {
			return nil, err
		}
		out.Pages++
		if out.Pages == 1 {
			out.PageSize = len(page.Flows)
		}
		out.Total = page.Total
		if len(page.Flows) == 0 {
			return out, nil
		}
		for _, f := range page.Flows {
			if _, dup := seen[f.ID]; dup {
				continue
			}
			seen[f.ID] = struct{}{}
			if len(out.Flows) < maxRows {
				out.Flows = append(out.Flows, f)
			}
		}
		offset += len(page.Flows)
		if offset >= page.Total {
			return out, nil
		}
	}
	out.Capped = offset < out.Total
	return out, nil
}
