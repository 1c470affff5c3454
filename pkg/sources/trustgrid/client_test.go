package trustgrid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// now is the simulator's fixed clock in these tests.
var now = time.UnixMilli(1776340800000 + 12_345)

var demoCreds = Credentials{ClientID: simulator.DefaultTrustgridClientID, ClientSecret: simulator.DefaultTrustgridSecret}

func startSimB(b *testing.B, cfg simulator.Config) string {
	cfg.Now = func() time.Time { return now }
	cfg.Log = io.Discard
	srv := httptest.NewServer(simulator.New(cfg))
	b.Cleanup(srv.Close)
	return srv.URL
}

func startSim(t *testing.T, cfg simulator.Config) *httptest.Server {
	t.Helper()
	cfg.Now = func() time.Time { return now }
	cfg.Log = io.Discard
	if cfg.History == 0 {
		cfg.History = 3 * time.Hour
	}
	srv := httptest.NewServer(simulator.New(cfg))
	t.Cleanup(srv.Close)
	return srv
}

// refFlow is a Flows API record as the reference reads it, over plain HTTP.
type refFlow struct {
	ID          string `json:"id"`
	SrcIP       string `json:"src_ip"`
	DstIP       string `json:"dst_ip"`
	SrcPort     int    `json:"src_port"`
	DstPort     int    `json:"dst_port"`
	Protocol    int    `json:"protocol"`
	Bytes       int64  `json:"bytes"`
	FirstSeenMs int64  `json:"first_seen_ms"`
	LastSeenMs  int64  `json:"last_seen_ms"`
}

// reference reads every Flows API record of the simulator (whole history) through the
// Flows API face, sorted by first_seen_ms then id.
func reference(t *testing.T, base string) []refFlow {
	t.Helper()
	var all []refFlow
	for offset := 0; ; {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/flows?limit=1000&offset="+fmt.Sprint(offset), nil)
		req.Header.Set("Authorization", "Bearer "+simulator.DefaultToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Total int       `json:"total"`
			Flows []refFlow `json:"flows"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Flows...)
		offset += len(page.Flows)
		if len(page.Flows) == 0 || offset >= page.Total {
			break
		}
	}
	slices.SortFunc(all, func(a, b refFlow) int {
		if a.FirstSeenMs != b.FirstSeenMs {
			return int(a.FirstSeenMs - b.FirstSeenMs)
		}
		return strings.Compare(a.ID, b.ID)
	})
	return all
}

// rangeOf returns the range [from, to] holding exactly the n oldest reference records
// after skipping skip, and those records.
func rangeOf(t *testing.T, ref []refFlow, skip, n int) (time.Time, time.Time, []refFlow) {
	t.Helper()
	if len(ref) < skip+n+1 {
		t.Fatalf("the simulator holds %d records, need %d", len(ref), skip+n+1)
	}
	sel := ref[skip : skip+n]
	if ref[skip-1].FirstSeenMs == sel[0].FirstSeenMs || ref[skip+n].FirstSeenMs == sel[n-1].FirstSeenMs {
		t.Fatal("range edges fall between records that start in the same millisecond; pick other numbers")
	}
	return time.UnixMilli(sel[0].FirstSeenMs), time.UnixMilli(sel[n-1].FirstSeenMs), sel
}

func key(f FlowLog) string {
	return fmt.Sprintf("%s|%d|%s|%d|%s|%d|%d|%s", f.SourceIP, f.SourcePort, f.DestIP, f.DestPort, f.Protocol, f.SourceBytes+f.DestBytes, f.StartTime.UnixMilli(), f.NodeID)
}

func TestReadsThreeThousandFlowsThroughPages(t *testing.T) {
	srv := startSim(t, simulator.Config{FlowsPerMinute: 60})
	ref := reference(t, srv.URL)
	from, to, want := rangeOf(t, ref, 500, 3000)

	c, err := New(srv.URL, demoCreds, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Read(context.Background(), Query{From: from, To: to, PageSize: 700}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Flows) != 3000 || res.Truncated {
		t.Fatalf("got %d flows (truncated %v), want 3000", len(res.Flows), res.Truncated)
	}
	if len(res.Requests) != 5 { // 700 × 4 + 200 (the widened range may add a few)
		t.Errorf("read %d pages, want 5: %v", len(res.Requests), res.Requests)
	}
	got := map[string]bool{}
	byStart := map[int64][]string{}
	for _, f := range res.Flows {
		got[key(f)] = true
		byStart[f.StartTime.UnixMilli()] = append(byStart[f.StartTime.UnixMilli()], key(f))
	}
	if len(got) != 3000 {
		t.Fatalf("%d unique flows among 3000", len(got))
	}
	// Every flow is one of the reference records, with its bytes split into source and dest.
	for _, r := range want {
		k := fmt.Sprintf("%s|%d|%s|%d|", r.SrcIP, r.SrcPort, r.DstIP, r.DstPort)
		tail := fmt.Sprintf("|%d|%d|", r.Bytes, r.FirstSeenMs)
		if !slices.ContainsFunc(byStart[r.FirstSeenMs], func(g string) bool { return strings.HasPrefix(g, k) && strings.Contains(g, tail) }) {
			t.Fatalf("reference record %+v missing from the Trustgrid read", r)
		}
	}
}

func TestServerCapOnLimitKeepsPagesInStep(t *testing.T) {
	srv := startSim(t, simulator.Config{FlowsPerMinute: 60, Trustgrid: simulator.TrustgridConfig{MaxLimit: 400}})
	ref := reference(t, srv.URL)
	from, to, _ := rangeOf(t, ref, 100, 1500)
	c, _ := New(srv.URL, demoCreds, nil)
	res, err := c.Read(context.Background(), Query{From: from, To: to, PageSize: 1000}, 0)
	if err != nil {
		t.Fatal(err)
	}
	uniq := map[string]bool{}
	for _, f := range res.Flows {
		uniq[key(f)] = true
	}
	if len(res.Flows) != 1500 || len(uniq) != 1500 {
		t.Fatalf("got %d flows, %d unique; want 1500", len(res.Flows), len(uniq))
	}
}

func TestRepeatedPageStopsWithAnError(t *testing.T) {
	srv := startSim(t, simulator.Config{FlowsPerMinute: 60, Trustgrid: simulator.TrustgridConfig{IgnorePage: true}})
	c, _ := New(srv.URL, demoCreds, nil)
	_, err := c.Read(context.Background(), Query{From: now.Add(-2 * time.Hour), To: now, PageSize: 500}, 0)
	if !errors.Is(err, ErrRepeatedPage) {
		t.Fatalf("err = %v, want ErrRepeatedPage", err)
	}
	if !strings.Contains(err.Error(), "page 2 repeats page 1") {
		t.Errorf("error does not say which page repeated: %v", err)
	}
}

func TestRowCapTruncates(t *testing.T) {
	srv := startSim(t, simulator.Config{FlowsPerMinute: 60})
	c, _ := New(srv.URL, demoCreds, nil)
	res, err := c.Read(context.Background(), Query{From: now.Add(-2 * time.Hour), To: now, PageSize: 300}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Flows) != 1000 || !res.Truncated || res.Total <= 1000 {
		t.Fatalf("got %d flows, truncated %v, total %d; want 1000 of more, truncated", len(res.Flows), res.Truncated, res.Total)
	}
}

func TestPortOperatorsAndFilters(t *testing.T) {
	srv := startSim(t, simulator.Config{FlowsPerMinute: 60})
	ref := reference(t, srv.URL)
	from, to, want := rangeOf(t, ref, 10, 2000)
	c, _ := New(srv.URL, demoCreds, nil)
	cases := []struct {
		name string
		f    Filter
		keep func(r refFlow) bool
	}{
		{"srcPort gt 60000", Filter{SrcPort: &PortMatch{Port: 60000, Op: OpGt}}, func(r refFlow) bool { return r.SrcPort > 60000 }},
		{"dstPort eq 443", Filter{DstPort: &PortMatch{Port: 443}}, func(r refFlow) bool { return r.DstPort == 443 }},
		{"dstPort ne 443 and UDP", Filter{DstPort: &PortMatch{Port: 443, Op: OpNe}, Protocol: "UDP"}, func(r refFlow) bool { return r.DstPort != 443 && r.Protocol == 17 }},
		{"dstPort lte 53", Filter{DstPort: &PortMatch{Port: 53, Op: OpLte}}, func(r refFlow) bool { return r.DstPort <= 53 }},
		{"srcIp", Filter{SrcIP: want[0].SrcIP}, func(r refFlow) bool { return r.SrcIP == want[0].SrcIP }},
		{"dstIp", Filter{DstIP: want[1].DstIP}, func(r refFlow) bool { return r.DstIP == want[1].DstIP }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			for _, r := range want {
				if tc.keep(r) {
					n++
				}
			}
			res, err := c.Read(context.Background(), Query{From: from, To: to, Filter: tc.f, PageSize: 250}, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Flows) != n || n == 0 {
				t.Fatalf("got %d flows, want %d (non-zero)", len(res.Flows), n)
			}
		})
	}
}

func TestTCPFlagsAreDecimal(t *testing.T) {
	srv := startSim(t, simulator.Config{})
	c, _ := New(srv.URL, demoCreds, nil)
	res, err := c.Read(context.Background(), Query{From: now.Add(-time.Hour), To: now, Filter: Filter{Protocol: "TCP", TCPFlags: []uint8{2}}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Flows) == 0 {
		t.Fatal("no TCP flows with SYN")
	}
	for _, f := range res.Flows {
		bits, err := f.TCPFlagBits()
		if err != nil || bits&2 == 0 {
			t.Fatalf("flow %+v: tcpFlags %q (%v) has no SYN bit", f, f.TCPFlags, err)
		}
	}
}

func TestAuth(t *testing.T) {
	srv := startSim(t, simulator.Config{Trustgrid: simulator.TrustgridConfig{JWT: "eyJhbGciOiJIUzI1NiJ9.e30.sig"}})
	q := Query{From: now.Add(-time.Minute * 10), To: now}
	for _, creds := range []Credentials{demoCreds, {JWT: "eyJhbGciOiJIUzI1NiJ9.e30.sig"}} {
		c, err := New(srv.URL, creds, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(context.Background(), q, 0); err != nil {
			t.Errorf("%+v: %v", creds.JWT != "", err)
		}
	}
	for _, creds := range []Credentials{
		{ClientID: simulator.DefaultTrustgridClientID, ClientSecret: "wrong-secret-123"},
		{JWT: "wrong-jwt-456"},
	} {
		c, _ := New(srv.URL, creds, nil)
		_, err := c.Read(context.Background(), q, 0)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || ae.Message != "Unauthorized" {
			t.Fatalf("err = %v, want HTTP 401 Unauthorized", err)
		}
		if !strings.Contains(err.Error(), "Trustgrid API answered HTTP 401: Unauthorized") {
			t.Errorf("error text: %v", err)
		}
		if strings.Contains(err.Error(), "wrong-secret-123") || strings.Contains(err.Error(), "wrong-jwt-456") {
			t.Errorf("error shows the credential: %v", err)
		}
	}
	if _, err := New(srv.URL, Credentials{ClientID: "x"}, nil); err == nil || !strings.Contains(err.Error(), "go together") {
		t.Errorf("client ID without secret: %v", err)
	}
}

func TestWrongURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	c, _ := New(closed, demoCreds, nil)
	_, err = c.Read(context.Background(), Query{From: now.Add(-time.Minute), To: now}, 0)
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("closed port: %v", err)
	}

	// A server that is not the Trustgrid API (the simulator serving only the Flows API).
	srv := startSim(t, simulator.Config{APIs: []string{simulator.APIFlows}})
	c, _ = New(srv.URL, demoCreds, nil)
	_, err = c.Read(context.Background(), Query{From: now.Add(-time.Minute), To: now}, 0)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || !strings.Contains(err.Error(), "check the API URL") {
		t.Errorf("not a Trustgrid API: %v", err)
	}

	for _, bad := range []string{"ftp://x", "api.trustgrid.io", "http://user:pw@host"} {
		if _, err := New(bad, demoCreds, nil); err == nil {
			t.Errorf("New(%q) accepted", bad)
		} else if strings.Contains(err.Error(), "pw@") {
			t.Errorf("error shows the URL's password: %v", err)
		}
	}
}

func TestSecondsWidenedAndTrimmed(t *testing.T) {
	q := Query{From: time.UnixMilli(1_700_000_000_500), To: time.UnixMilli(1_700_000_100_200)}
	v := q.Values()
	if v.Get("sTime") != "1700000000" || v.Get("eTime") != "1700000101" || v.Get("eTimeOp") != "lte" {
		t.Fatalf("sTime/eTime: %v", v.Encode())
	}
	want := url.Values{"dstPort": {"22"}, "dstPortOp": {"gte"}, "tcpFlags": {"2,18"}}
	q = Query{Filter: Filter{DstPort: &PortMatch{Port: 22, Op: OpGte}, TCPFlags: []uint8{2, 18}}}
	if got := q.Values(); got.Encode() != want.Encode() {
		t.Fatalf("got %s, want %s", got.Encode(), want.Encode())
	}
	if err := (Query{Filter: Filter{SrcPort: &PortMatch{Port: 1, Op: "between"}}}).Validate(); err == nil || !strings.Contains(err.Error(), "srcPortOp") {
		t.Errorf("bad operator: %v", err)
	}
}

func TestEchoedSecretIsRedacted(t *testing.T) {
	const secret = "echo-me-secret-77"
	srv := startSim(t, simulator.Config{
		Trustgrid: simulator.TrustgridConfig{Secret: secret},
		Fault:     &simulator.Fault{Status: 502, Body: `{"message":"proxy saw trustgrid-token demo-client:` + secret + `"}`},
	})
	c, _ := New(srv.URL, Credentials{ClientID: simulator.DefaultTrustgridClientID, ClientSecret: secret}, nil)
	_, err := c.Read(context.Background(), Query{From: now.Add(-time.Minute), To: now}, 0)
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("err = %v", err)
	}
}
