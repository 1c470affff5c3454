package simref

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// The reference and the simulator's server are two computations of the same traffic: every
// /flows page against the records, and look-back aggregates against the reference's sums.
func TestReferenceAgreesWithServer(t *testing.T) {
	now := time.UnixMilli(1776340800000 + 12_345)
	srv := simulator.New(simulator.Config{Seed: 3, FlowsPerMinute: 30, History: 6 * time.Hour, MaxLimit: 100_000, Now: func() time.Time { return now }, Log: io.Discard})
	tr := simulator.NewTraffic(3, 30, nil)
	get := func(path string, out any) {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer "+simulator.DefaultToken)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatal(err)
		}
	}
	from := now.Add(-5*time.Hour - 17*time.Second)
	var page simulator.FlowsResponse
	get(fmt.Sprintf("%s?from=%d&to=%d&limit=100000", simulator.PathFlows, from.UnixMilli(), now.UnixMilli()), &page)
	want := Totals(tr, from, now, BySrc)
	got := map[string]Sum{}
	for _, f := range page.Flows {
		s := got[f.SrcIP]
		s.Bytes += f.Bytes
		s.Packets += f.Packets
		s.Flows++
		got[f.SrcIP] = s
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(want) == 0 {
		t.Fatalf("reference by src differs from the server's records: %d vs %d keys", len(want), len(got))
	}
	var talkers []simulator.TopTalker
	get(fmt.Sprintf("%s?window_secs=%d&dim=pair&limit=100000", simulator.PathTopTalkers, 5*3600+17), &talkers)
	pairs := Totals(tr, from, now, ByPair)
	ranked := Ranked(pairs, "bytes")
	if len(talkers) != len(ranked) {
		t.Fatalf("%d pairs, reference %d", len(talkers), len(ranked))
	}
	for i, row := range talkers {
		if s := pairs[ranked[i]]; row.Key != ranked[i] || row.Bytes != s.Bytes || row.Packets != s.Packets || row.FlowCount != s.Flows {
			t.Fatalf("row %d: %+v, reference %s %+v", i, row, ranked[i], s)
		}
	}
	series := BucketSeries(tr, from, now, 5*time.Minute, ByProtocol)
	var sum Sum
	for _, v := range series.ByKey {
		for _, b := range v {
			sum.merge(b)
		}
	}
	if sum.Flows != int64(page.Total) {
		t.Errorf("series hold %d records, the range %d", sum.Flows, page.Total)
	}
}
