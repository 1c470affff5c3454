package huaweicfw

import (
	"context"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// BenchmarkRead reads 24 h at 40 flows/min (about 57,600 records) through the cursor, 1024 at
// a time, from the simulator over loopback HTTP, signed with AK/SK by the SDK.
func BenchmarkRead(b *testing.B) {
	srv := httptest.NewServer(simulator.New(simulator.Config{History: 25 * time.Hour, Log: io.Discard, Now: func() time.Time { return now }}))
	b.Cleanup(srv.Close)
	c, err := New(akskConfig(srv.URL))
	if err != nil {
		b.Fatal(err)
	}
	q := query(now.Add(-24*time.Hour), now)
	if _, err := c.Read(context.Background(), q, 0); err != nil { // warm the simulator
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		res, err := c.Read(context.Background(), q, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(len(res.Flows)), "records/op")
	}
}
