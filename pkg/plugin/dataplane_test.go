package plugin

import (
	"fmt"
	"testing"

	"github.com/grafana/dataplane/sdata/numeric"
	"github.com/grafana/dataplane/sdata/reader"
	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// numericItems reads frames the way Grafana's alerting does and returns value by metric+labels.
func numericItems(t *testing.T, frames data.Frames) map[string]float64 {
	t.Helper()
	kind, err := reader.CanReadBasedOnMeta(frames)
	if err != nil {
		t.Fatalf("data plane reader cannot read the frames: %v", err)
	}
	if !kind.IsNumeric() {
		t.Fatalf("kind %q is not numeric", kind)
	}
	cr, err := numeric.CollectionReaderFromFrames(frames)
	if err != nil {
		t.Fatal(err)
	}
	// GetCollection(true) panics for numeric kinds in sdata v0.0.9: read without validation
	// and check uniqueness here.
	c, err := cr.GetCollection(false)
	if err != nil {
		t.Fatal(err)
	}
	if c.Warning != nil {
		t.Fatalf("reader warning: %v", c.Warning)
	}
	items := map[string]float64{}
	for _, ref := range c.Refs {
		key := ref.GetMetricName() + ref.GetLabels().String()
		if _, dup := items[key]; dup {
			t.Fatalf("two items named %s", key)
		}
		v, empty, err := ref.NullableFloat64Value()
		if err != nil || empty || v == nil {
			t.Fatalf("%s: no value (%v)", key, err)
		}
		items[key] = *v
	}
	return items
}

func TestTopTalkersAndProtocolsAreDataPlaneNumeric(t *testing.T) {
	e := newEnv(t, simulator.Config{})
	ds := e.datasource(t, nil)
	alert := map[string]string{backend.FromAlertHeaderName: "true"}

	for _, dim := range []string{"src", "dst", "pair"} {
		t.Run("topTalkers "+dim, func(t *testing.T) {
			q := fmt.Sprintf(`{"queryType":"topTalkers","dim":%q,"by":"bytes","limit":15}`, dim)
			dash := one(t, ds, lastHour(), q)
			rows := dash[0].Rows()
			if rows != 15 {
				t.Fatalf("%d talkers, want 15", rows)
			}
			// Dashboard frames: every talker once per metric, labelled by its address(es).
			items := numericItems(t, dash)
			if len(items) != 3*rows {
				t.Fatalf("%d items for %d talkers and 3 metrics", len(items), rows)
			}
			// Alert frames: one instance per talker, valued by the ranked metric.
			resp := query(t, ds, lastHour(), alert, q)["A"]
			if resp.Error != nil {
				t.Fatal(resp.Error)
			}
			alertItems := numericItems(t, resp.Frames)
			if len(alertItems) != rows {
				t.Fatalf("%d alert instances for %d talkers", len(alertItems), rows)
			}
			f := dash[0]
			bytes := column[int64](t, f, "bytes")
			for i := range rows {
				labels := data.Labels{}
				if dim != "dst" {
					labels["src_ip"] = column[string](t, f, "src_ip")[i]
				}
				if dim != "src" {
					labels["dst_ip"] = column[string](t, f, "dst_ip")[i]
				}
				for k, v := range labels {
					if v == "" {
						t.Fatalf("row %d: empty %s label", i, k)
					}
				}
				if got, ok := alertItems["bytes"+labels.String()]; !ok || got != float64(bytes[i]) {
					t.Fatalf("alert item bytes%s = %v (present %v), want %d", labels, got, ok, bytes[i])
				}
				if _, ok := items["packets"+labels.String()]; !ok {
					t.Fatalf("no packets item for %s", labels)
				}
			}
		})
	}
	t.Run("protocols", func(t *testing.T) {
		frames := one(t, ds, lastHour(), `{"queryType":"protocols"}`)
		names := column[string](t, frames[0], "protocol")
		bytes := column[int64](t, frames[0], "bytes")
		resp := query(t, ds, lastHour(), alert, `{"queryType":"protocols"}`)["A"]
		items := numericItems(t, resp.Frames)
		if len(items) != len(names) || len(names) < 4 {
			t.Fatalf("%d alert items for %d protocols", len(items), len(names))
		}
		for i, n := range names {
			if got := items["bytes"+data.Labels{"protocol": n}.String()]; got != float64(bytes[i]) {
				t.Fatalf("protocol %s: %v, want %d", n, got, bytes[i])
			}
		}
	})
}
