package plugin

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
	"github.com/flowlens/flows-datasource/pkg/models"
)

// maxFilterCombinations bounds the fan-out of multi-value filters: each combination of values
// is one paged read of /flows.
const maxFilterCombinations = 64

// flowSet is the merged result of reading /flows for every filter combination.
type flowSet struct {
	flows    []flowsapi.Flow
	total    int // sum of the totals the server reported; with several port values a flow can match two, so this is an upper bound
	capped   bool
	requests []string
}

// combinations expands multi-value filters into the single-value filters the API takes.
func combinations(f models.Filters) ([]flowsapi.Filter, error) {
	out := []flowsapi.Filter{{}}
	expand := func(n int, set func(*flowsapi.Filter, int)) {
		if n == 0 {
			return
		}
		next := make([]flowsapi.Filter, 0, len(out)*n)
		for _, base := range out {
			for i := range n {
				c := base
				set(&c, i)
				next = append(next, c)
			}
		}
		out = next
	}
	expand(len(f.SrcIP), func(c *flowsapi.Filter, i int) { c.SrcIP = f.SrcIP[i] })
	expand(len(f.DstIP), func(c *flowsapi.Filter, i int) { c.DstIP = f.DstIP[i] })
	expand(len(f.Exporter), func(c *flowsapi.Filter, i int) { c.Exporter = f.Exporter[i] })
	expand(len(f.Port), func(c *flowsapi.Filter, i int) { c.Port = &f.Port[i] })
	expand(len(f.Protocol), func(c *flowsapi.Filter, i int) { c.Protocol = &f.Protocol[i] })
	if len(out) > maxFilterCombinations {
		return nil, &models.QueryError{Field: "filters", Msg: fmt.Sprintf(
			"select fewer values: the multi-value filters make %d combinations and each is one series of API requests (at most %d)",
			len(out), maxFilterCombinations)}
	}
	return out, nil
}

// fetchFlows reads the records in [from, to] that match the filters, sorted as asked, at most
// maxRows of them. Each filter combination is read concurrently (the client bounds requests).
func (d *Datasource) fetchFlows(ctx context.Context, tr backend.TimeRange, f models.Filters, sortBy, order string, maxRows int) (*flowSet, error) {
	combos, err := combinations(f)
	if err != nil {
		return nil, err
	}
	params := make([]flowsapi.FlowsParams, len(combos))
	results := make([]*flowsapi.PagedFlows, len(combos))
	errs := make([]error, len(combos))
	var wg sync.WaitGroup
	for i, c := range combos {
		params[i] = flowsapi.FlowsParams{From: tr.From, To: tr.To, Filter: c, Sort: sortBy, Order: order, Limit: min(d.settings.PageSize, maxRows)}
		wg.Go(func() {
			results[i], errs[i] = d.client.PageFlows(ctx, params[i], d.settings.PageSize, maxRows)
		})
	}
	wg.Wait()
	set := &flowSet{}
	for i, r := range results {
		if errs[i] != nil {
			return nil, errs[i]
		}
		set.total += r.Total
		set.capped = set.capped || r.Capped
		desc := flowsapi.RequestString(flowsapi.FlowsPath, params[i].Values())
		if r.Pages > 1 {
			desc += fmt.Sprintf(" (%d pages by offset)", r.Pages)
		}
		set.requests = append(set.requests, desc)
	}
	if len(combos) == 1 {
		// PageFlows has already kept each id once.
		set.flows = results[0].Flows
		return set, nil
	}
	// Several combinations can match one record (port 80 and port 443 both match 80 → 443).
	seen := make(map[string]struct{})
	for _, r := range results {
		for _, fl := range r.Flows {
			if _, dup := seen[fl.ID]; !dup {
				seen[fl.ID] = struct{}{}
				set.flows = append(set.flows, fl)
			}
		}
	}
	sortFlows(set.flows, sortBy, order)
	if len(set.flows) > maxRows {
		set.flows = set.flows[:maxRows]
		set.capped = true
	}
	return set, nil
}

// sortFlows orders merged records as the API orders one response: by the sort field, ties by id.
func sortFlows(flows []flowsapi.Flow, sortBy, order string) {
	key := func(f flowsapi.Flow) int64 {
		switch sortBy {
		case "bytes":
			return f.Bytes
		case "packets":
			return f.Packets
		default:
			return f.Timestamp
		}
	}
	slices.SortStableFunc(flows, func(a, b flowsapi.Flow) int {
		c := cmp.Compare(key(a), key(b))
		if order == "desc" {
			c = -c
		}
		if c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// cappedNotice is the warning shown when the row cap stopped a read.
func cappedNotice(set *flowSet, consequence string) string {
	return fmt.Sprintf("%d of %d flows: the data source's row cap stopped the read; %s. Narrow the time range or filters, or raise the row cap.",
		len(set.flows), set.total, consequence)
}
