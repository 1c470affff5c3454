package simulator

import (
	"fmt"
	"net/url"
	"reflect"
	"sort"
	"testing"
	"time"
)

// WindowFlows hands other sources' tests the very records GET /api/v1/flows serves for a
// window (timestamp = window end).
func TestWindowFlowsAreTheRecordsTheAPIServes(t *testing.T) {
	s := newTest(Config{})
	win := t0.Truncate(time.Minute).Add(-30 * time.Minute)
	end := win.Add(time.Minute).UnixMilli()
	served := all(t, s, url.Values{"from": {fmt.Sprint(end)}, "to": {fmt.Sprint(end)}}, 1000)
	got := s.WindowFlows(win.Add(17 * time.Second))
	if len(got) == 0 {
		t.Fatal("no records in the window")
	}
	sort.Slice(served, func(i, j int) bool { return served[i].ID < served[j].ID })
	if !reflect.DeepEqual(got, served) {
		t.Fatalf("WindowFlows gave %d records, the API served %d, or they differ", len(got), len(served))
	}
}
