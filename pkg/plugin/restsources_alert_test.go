package plugin

import (
	"fmt"
	"testing"

	"github.com/grafana/dataplane/sdata/reader"
	"github.com/grafana/dataplane/sdata/timeseries"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Alert rules work on every aggregate query of Trustgrid and Huawei Cloud Firewall: Grafana's
// data-plane readers accept the frames, and a top-talker rule has one instance per talker.
func TestAlertRulesOnTrustgridAndHuaweiCFW(t *testing.T) {
	c := newCrossSources(t)
	alert := map[string]string{backend.FromAlertHeaderName: "true"}
	for _, s := range []struct {
		name     string
		ds       *Datasource
		groupBys []string
	}{
		{"trustgrid", c.trustgrid, []string{"none", "protocol", "src", "dst", "pair", "dstPort", "exporter", "action", "srcNode", "dstNode", "tcpFlags"}},
		{"huaweiCfw", c.huawei, []string{"none", "protocol", "src", "dst", "pair", "dstPort", "direction", "app", "dstHost", "srcRegion", "dstRegion"}},
	} {
		t.Run(s.name, func(t *testing.T) {
			for _, dim := range []string{"src", "dst", "pair"} {
				q := fmt.Sprintf(`{"queryType":"topTalkers","dim":%q,"by":"bytes","limit":12}`, dim)
				dash := one(t, s.ds, crossRange, q)[0]
				r := query(t, s.ds, crossRange, alert, q)["A"]
				if r.Error != nil {
					t.Fatalf("%s alert: %v", dim, r.Error)
				}
				items := numericItems(t, r.Frames)
				if dash.Rows() != 12 || len(items) != 12 {
					t.Fatalf("%s: %d alert instances for %d talkers, want 12", dim, len(items), dash.Rows())
				}
				bytes := floats(t, dash, "bytes")
				for i := range dash.Rows() {
					labels := data.Labels{}
					if dim != "dst" {
						labels["src_ip"] = fieldValues(t, dash, "src_ip")[i]
					}
					if dim != "src" {
						labels["dst_ip"] = fieldValues(t, dash, "dst_ip")[i]
					}
					if got, ok := items["bytes"+labels.String()]; !ok || got != bytes[i] {
						t.Fatalf("%s: instance bytes%s = %v (present %v), want %v", dim, labels, got, ok, bytes[i])
					}
				}
			}

			r := query(t, s.ds, crossRange, alert, `{"queryType":"protocols"}`)["A"]
			if r.Error != nil {
				t.Fatal(r.Error)
			}
			if items := numericItems(t, r.Frames); len(items) < 3 {
				t.Fatalf("protocols: %d alert instances", len(items))
			}

			for _, groupBy := range s.groupBys {
				q := fmt.Sprintf(`{"queryType":"flows","format":"timeseries","metric":"bytes","unit":"rate","groupBy":%q,"topN":5,"other":false}`, groupBy)
				r := query(t, s.ds, crossRange, alert, q)["A"]
				if r.Error != nil {
					t.Fatalf("%s: %v", groupBy, r.Error)
				}
				kind, err := reader.CanReadBasedOnMeta(r.Frames)
				if err != nil || kind.Kind() != data.KindTimeSeries {
					t.Fatalf("%s: kind %v, %v", groupBy, kind, err)
				}
				cr, err := timeseries.CollectionReaderFromFrames(r.Frames)
				if err != nil {
					t.Fatal(err)
				}
				col, err := cr.GetCollection(true)
				if err != nil || col.Warning != nil {
					t.Fatalf("%s: %v %v", groupBy, err, col.Warning)
				}
				want := 5
				if groupBy == "none" {
					want = 1
				}
				if len(col.Refs) > want || len(col.Refs) == 0 || (groupBy == "src" && len(col.Refs) != 5) {
					t.Fatalf("%s: %d series, want up to %d", groupBy, len(col.Refs), want)
				}
				seen := map[string]bool{}
				for _, ref := range col.Refs {
					k := ref.GetLabels().String()
					if seen[k] || (groupBy != "none" && len(ref.GetLabels()) == 0) {
						t.Fatalf("%s: series labels %s repeated or empty", groupBy, k)
					}
					seen[k] = true
				}
			}
		})
	}
}
