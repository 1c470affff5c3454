package calico_test

import (
	"context"
	"testing"
	"time"

	"github.com/grafana/dataplane/sdata/reader"
	"github.com/grafana/dataplane/sdata/timeseries"
	"github.com/grafana/grafana-plugin-sdk-go/data"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/sources/calico"
)

// The alert rule "denied flows by namespace" (flows, action deny, grouped by destination
// namespace, no Other) through the engine: data-plane frames Grafana's alerting reads as one
// instance per namespace, labelled dest_namespace=…, one search.
func TestDeniedFlowsByNamespaceAlertInstances(t *testing.T) {
	for _, f := range fixtures(t) {
		truth := map[string]int64{}
		last := map[string]int64{}
		for _, fl := range flowsOf(f.docs, qFrom.Unix(), qTo.Unix()) {
			if fl.denied {
				truth[fl.key("dstNamespace")] += fl.flows()
			}
		}
		eng := engine.New(f.src, engine.Common{})
		spec := engine.SeriesSpec{Metric: "flows", Unit: "total", GroupBy: calico.DimDstNamespace, TopN: 20, Other: false,
			From: qFrom, To: qTo, Width: 15 * time.Minute, MaxPoints: engine.MaxSeriesPoints}
		var ans *engine.SeriesAnswer
		f.oneRequest(t, "alert query", func() {
			var err error
			ans, err = eng.Series(context.Background(), spec, engine.Filters{Action: []string{"deny"}})
			if err != nil {
				t.Fatal(err)
			}
		})
		frames := engine.SeriesFrames(ans.Result, "flows", "total", ans.Executed)
		kind, err := reader.CanReadBasedOnMeta(frames)
		if err != nil || kind.Kind() != data.KindTimeSeries {
			t.Fatalf("%s: kind %v, %v", f.engine, kind, err)
		}
		cr, err := timeseries.CollectionReaderFromFrames(frames)
		if err != nil {
			t.Fatal(err)
		}
		col, err := cr.GetCollection(true)
		if err != nil || col.Warning != nil {
			t.Fatalf("%s: %v %v", f.engine, err, col.Warning)
		}
		if len(col.Refs) != len(truth) {
			t.Fatalf("%s: %d instances, want one per namespace that denied flows (%d)", f.engine, len(col.Refs), len(truth))
		}
		for _, ref := range col.Refs {
			labels := ref.GetLabels()
			ns := labels["dest_namespace"]
			if len(labels) != 1 || ns == "" {
				t.Fatalf("%s: instance labels %v", f.engine, labels)
			}
			n, err := ref.Len()
			if err != nil {
				t.Fatal(err)
			}
			var sum int64
			for i := range n {
				v, err := ref.NullableFloat64Value(i)
				if err != nil {
					t.Fatal(err)
				}
				if v != nil {
					sum += int64(*v)
				}
			}
			last[ns] = sum
		}
		for ns, n := range truth {
			if last[ns] != n {
				t.Errorf("%s: %s: %d denied flows, want %d", f.engine, ns, last[ns], n)
			}
		}
	}
}
