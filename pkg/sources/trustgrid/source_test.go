package trustgrid

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/flowlens/flows-datasource/pkg/engine"
	"github.com/flowlens/flows-datasource/pkg/simulator"
)

func instance(url string, jsonData map[string]any, secure map[string]string) backend.DataSourceInstanceSettings {
	j, _ := json.Marshal(jsonData)
	return backend.DataSourceInstanceSettings{URL: url, JSONData: j, DecryptedSecureJSONData: secure}
}

func demoInstance(url string) backend.DataSourceInstanceSettings {
	return instance(url, map[string]any{"source": Type, SettingClientID: simulator.DefaultTrustgridClientID},
		map[string]string{SettingClientSecret: simulator.DefaultTrustgridSecret})
}

func newSource(t *testing.T, inst backend.DataSourceInstanceSettings) engine.Source {
	t.Helper()
	src, err := NewSource(context.Background(), engine.Config{Instance: inst, HTTPClient: http.DefaultClient,
		Common: engine.Common{PageSize: 500, RowCap: 50000, MaxConcurrency: 2}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestSettings(t *testing.T) {
	s, err := LoadSettings(instance("", map[string]any{}, map[string]string{SettingJWT: "jwt-1"}))
	if err != nil || s.URL != DefaultBaseURL || s.Credentials.JWT != "jwt-1" {
		t.Fatalf("defaults: %+v %v", s, err)
	}
	for _, c := range []struct {
		inst backend.DataSourceInstanceSettings
		want string
	}{
		{instance("ftp://x", nil, map[string]string{SettingJWT: "j"}), `URL: "ftp://x" is not an http(s) URL`},
		{instance("https://api.trustgrid.io", nil, nil), "credentials: no credentials"},
		{instance("", map[string]any{SettingClientID: "id"}, nil), "credentials: the API client ID and the client secret go together"},
		{instance("", nil, map[string]string{SettingClientSecret: "only-secret-9"}), "credentials: the API client ID and the client secret go together"},
		{instance("", map[string]any{SettingClientID: 42}, map[string]string{SettingJWT: "j"}), SettingClientID + ": 42 is not text"},
		{instance("", map[string]any{SettingClientID: "a:b"}, map[string]string{SettingClientSecret: "s"}), SettingClientID + `: "a:b" contains ':'`},
	} {
		_, err := LoadSettings(c.inst)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "only-secret-9") {
			t.Errorf("error shows the secret: %v", err)
		}
	}
}

func TestHealth(t *testing.T) {
	srv := startSim(t, simulator.Config{})
	h := newSource(t, demoInstance(srv.URL)).CheckHealth(context.Background())
	if !h.OK || !strings.HasPrefix(h.Message, "Connected to Trustgrid at "+srv.URL+": ") || !strings.Contains(h.Message, "flows started in the last hour") {
		t.Errorf("success: %+v", h)
	}

	bad := demoInstance(srv.URL)
	bad.DecryptedSecureJSONData = map[string]string{SettingClientSecret: "rejected-secret-5"}
	h = newSource(t, bad).CheckHealth(context.Background())
	if h.OK || h.Message != "Trustgrid API answered HTTP 401: Unauthorized (check the API client ID and secret, or the JWT)" || h.Details["status"] != 401 {
		t.Errorf("rejected credential: %+v", h)
	}
	if strings.Contains(h.Message, "rejected-secret-5") {
		t.Error("health shows the secret")
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String()
	ln.Close()
	h = newSource(t, demoInstance(closed)).CheckHealth(context.Background())
	if h.OK || !strings.Contains(h.Message, "connection refused") {
		t.Errorf("wrong URL: %+v", h)
	}
	flowsOnly := startSim(t, simulator.Config{APIs: []string{simulator.APIFlows}})
	h = newSource(t, demoInstance(flowsOnly.URL)).CheckHealth(context.Background())
	if h.OK || !strings.HasPrefix(h.Message, "Trustgrid API answered HTTP 404") || !strings.Contains(h.Message, "check the API URL") {
		t.Errorf("not Trustgrid: %+v", h)
	}
}

// TestEitherSidePortIsComposed: Trustgrid has srcPort and dstPort but no "either side"; the
// engine reads both and merges them, so a flow from port 53 to port 53 counts once.
func TestEitherSidePortIsComposed(t *testing.T) {
	srv := startSim(t, simulator.Config{FlowsPerMinute: 60})
	ref := reference(t, srv.URL)
	from, to, want := rangeOf(t, ref, 50, 2000)
	n := 0
	for _, r := range want {
		if r.SrcPort == 53 || r.DstPort == 53 {
			n++
		}
	}
	e := engine.New(newSource(t, demoInstance(srv.URL)), engine.Common{PageSize: 500, RowCap: 50000, MaxConcurrency: 2})
	set, err := e.Read(context.Background(), from, to, engine.Filters{Port: []uint16{53}}, engine.SortTime, engine.OrderDesc, 50000)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Records) != n || n == 0 {
		t.Fatalf("port 53 on either side: %d records, want %d", len(set.Records), n)
	}
	if len(set.Requests) != 2 || !strings.Contains(set.Requests[0], "srcPort=53") || !strings.Contains(set.Requests[1], "dstPort=53") {
		t.Errorf("requests: %v", set.Requests)
	}
}

func TestRecordsCarryNodeFlagsAndDirection(t *testing.T) {
	srv := startSim(t, simulator.Config{})
	src := newSource(t, demoInstance(srv.URL))
	res, err := src.ReadRecords(context.Background(), engine.ReadRequest{From: now.Add(-time.Hour), To: now, Sort: engine.SortTime, Order: engine.OrderDesc, MaxRows: 50000})
	if err != nil {
		t.Fatal(err)
	}
	var syn, denied, nodes int
	ids := map[string]bool{}
	for i, r := range res.Records {
		if ids[r.ID] {
			t.Fatalf("record %d: id %s twice", i, r.ID)
		}
		ids[r.ID] = true
		if r.Directional == nil || r.Directional.BytesOut+r.Directional.BytesIn != r.Bytes || r.Packets != 0 {
			t.Fatalf("record %+v: bytes are not source + dest, or packets invented", r)
		}
		if i > 0 && r.TimeMs > res.Records[i-1].TimeMs {
			t.Fatal("not newest first")
		}
		if r.TCPFlags == 2 {
			syn++
			if r.Action != "deny" || r.Labels[DimFlags] != "131072" {
				t.Errorf("SYN-only flow %+v is not denied", r)
			}
		}
		if r.Action == "deny" {
			denied++
		}
		if r.Labels[DimSrcNode] != "" || r.Labels[DimDstNode] != "" {
			nodes++
		}
		if r.Exporter == "" {
			t.Fatalf("record without node: %+v", r)
		}
	}
	if syn == 0 || denied != syn || nodes != len(res.Records) {
		t.Errorf("%d SYN-only, %d denied, %d with a node name, of %d", syn, denied, nodes, len(res.Records))
	}

	// Node, TCP-flags and node-name filters are native.
	node := res.Records[0].Exporter
	for _, f := range []engine.Filter{{Exporter: node}, {Labels: map[string]string{DimTCPFlags: "2"}}, {Labels: map[string]string{DimSrcNode: "edge-1"}}} {
		got, err := src.ReadRecords(context.Background(), engine.ReadRequest{From: now.Add(-time.Hour), To: now, Filter: f, Sort: engine.SortTime, Order: engine.OrderAsc, MaxRows: 50000})
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, r := range res.Records {
			if (f.Exporter == "" || r.Exporter == f.Exporter) && (f.Labels[DimTCPFlags] == "" || r.TCPFlags == 2) && (f.Labels[DimSrcNode] == "" || r.Labels[DimSrcNode] == "edge-1") {
				want++
			}
		}
		if len(got.Records) != want || want == 0 {
			t.Errorf("filter %+v: %d records, want %d", f, len(got.Records), want)
		}
	}

	// GRE is UNKNOWN to Trustgrid: a filter on it is refused, naming the source.
	gre := uint8(47)
	_, err = src.ReadRecords(context.Background(), engine.ReadRequest{From: now.Add(-time.Hour), To: now, Filter: engine.Filter{Protocol: &gre}, Sort: engine.SortTime, MaxRows: 10})
	var ue *engine.UnsupportedError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "Trustgrid") {
		t.Errorf("GRE filter: %v", err)
	}
}

func TestAuthFailureIsDownstream(t *testing.T) {
	srv := startSim(t, simulator.Config{})
	bad := demoInstance(srv.URL)
	bad.DecryptedSecureJSONData = map[string]string{SettingClientSecret: "nope"}
	_, err := newSource(t, bad).ReadRecords(context.Background(), engine.ReadRequest{From: now.Add(-time.Hour), To: now, Sort: engine.SortTime, MaxRows: 10})
	var de *engine.DownstreamError
	if !errors.As(err, &de) || de.Status != 401 || !strings.Contains(err.Error(), "Trustgrid API answered HTTP 401: Unauthorized") {
		t.Fatalf("err = %v", err)
	}
}
