package plugin

import (
	"fmt"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Trustgrid's nodes, TCP flags and verdicts, and CFW's direction, application and regions are
// filters, group-bys and table columns; the numbers add up to the ungrouped total.
func TestTrustgridAndHuaweiCFWDimensions(t *testing.T) {
	c := newCrossSources(t)
	total := func(ds *Datasource, filter string) float64 {
		q := `{"queryType":"flows","format":"timeseries","metric":"bytes","unit":"total","groupBy":"none"` + filter + `}`
		sum := 0.0
		for _, vals := range seriesOf(t, one(t, ds, crossRange, q), func(data.Labels) string { return "" }) {
			for _, v := range vals {
				sum += v
			}
		}
		return sum
	}
	for _, s := range []struct {
		name   string
		ds     *Datasource
		dims   map[string]string // group-by → frame label
		column string            // a table column of a dimension
	}{
		{"trustgrid", c.trustgrid, map[string]string{"srcNode": "src_node", "tcpFlags": "tcp_flags", "action": "action"}, "src_node"},
		{"huaweiCfw", c.huawei, map[string]string{"direction": "direction", "app": "app", "dstRegion": "dst_region"}, "direction"},
	} {
		t.Run(s.name, func(t *testing.T) {
			all := total(s.ds, "")
			for groupBy, label := range s.dims {
				q := fmt.Sprintf(`{"queryType":"flows","format":"timeseries","metric":"bytes","unit":"total","groupBy":%q,"topN":100}`, groupBy)
				groups := seriesOf(t, one(t, s.ds, crossRange, q), func(l data.Labels) string { return l[label] })
				if len(groups) < 2 {
					t.Fatalf("%s: %d groups %v", groupBy, len(groups), keys(groups))
				}
				sum := 0.0
				for g, vals := range groups {
					part := 0.0
					for _, v := range vals {
						part += v
					}
					sum += part
					if g == "" {
						continue
					}
					// Filtering by the group's value gives the group's total.
					filter := fmt.Sprintf(`,"labels":{%q:[%q]}`, groupBy, g)
					if groupBy == "action" {
						continue // Trustgrid has no native verdict filter
					}
					if got := total(s.ds, filter); got != part {
						t.Errorf("%s=%s: filtered total %v, group %v", groupBy, g, got, part)
					}
				}
				if sum != all {
					t.Errorf("%s: groups add up to %v, total %v", groupBy, sum, all)
				}
			}
			table := one(t, s.ds, crossRange, `{"queryType":"flows","format":"table","limit":50}`)[0]
			vals := fieldValues(t, table, s.column)
			if strings.Join(vals, "") == "" {
				t.Errorf("column %s is empty", s.column)
			}
		})
	}
}
