package trustgrid

import (
	"context"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// BenchmarkRead reads 24 h at 40 flows/min (about 57,600 flows) through pages of 1000 from
// the simulator over loopback HTTP.
func BenchmarkRead(b *testing.B) {
	srv := startSimB(b, simulator.Config{History: 25 * time.Hour})
	c, _ := New(srv, demoCreds, nil)
	q := Query{From: now.Add(-24 * time.Hour), To: now, PageSize: 1000}
	if _, err := c.Read(context.Background(), q, 0); err != nil { // warm the simulator
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		res, err := c.Read(context.Background(), q, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(res.Flows)), "flows/op")
	}
}
