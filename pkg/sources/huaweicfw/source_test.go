package huaweicfw

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

func demoJSON() map[string]any {
	return map[string]any{"source": Type, SettingProjectID: simulator.DefaultCFWProjectID, SettingFwInstanceID: simulator.DefaultCFWFwInstanceID}
}

func demoInstance(url string) backend.DataSourceInstanceSettings {
	return instance(url, demoJSON(), map[string]string{SettingAccessKey: simulator.DefaultCFWAccessKey, SettingSecretKey: simulator.DefaultCFWSecretKey})
}

func newSource(t *testing.T, inst backend.DataSourceInstanceSettings) engine.Source {
	t.Helper()
	src, err := NewSource(context.Background(), engine.Config{Instance: inst, HTTPClient: http.DefaultClient,
		Common: engine.Common{PageSize: 1000, RowCap: 50000, MaxConcurrency: 2, Timeout: 30 * time.Second}, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestSettings(t *testing.T) {
	s, err := LoadSettings(instance("", map[string]any{SettingRegion: "ap-southeast-1", SettingProjectID: "p", SettingFwInstanceID: "fw"},
		map[string]string{SettingIAMToken: "tok"}))
	if err != nil || s.Region != "ap-southeast-1" || s.Credentials.IAMToken != "tok" {
		t.Fatalf("%+v %v", s, err)
	}
	for _, c := range []struct {
		inst backend.DataSourceInstanceSettings
		want string
	}{
		{instance("", map[string]any{SettingProjectID: "p"}, map[string]string{SettingIAMToken: "t"}), SettingFwInstanceID + ": the firewall instance ID is empty"},
		{instance("", map[string]any{SettingFwInstanceID: "f", SettingRegion: "cn-north-4"}, map[string]string{SettingIAMToken: "t"}), SettingProjectID + ": project ID is empty"},
		{instance("", map[string]any{SettingFwInstanceID: "f", SettingProjectID: "p"}, map[string]string{SettingIAMToken: "t"}), SettingRegion + ": set a region"},
		{instance("", map[string]any{SettingFwInstanceID: "f", SettingProjectID: "p", SettingRegion: "mars-1"}, map[string]string{SettingIAMToken: "t"}), SettingRegion + `: region "mars-1" is not a Cloud Firewall region`},
		{instance("cfw.example.com", demoJSON(), map[string]string{SettingIAMToken: "t"}), `URL: endpoint "cfw.example.com" is not a URL`},
		{instance("https://cfw.example.com", demoJSON(), map[string]string{SettingSecretKey: "lonely-sk-3"}), "credentials: the access key (AK) and the secret key (SK) go together"},
		{instance("https://cfw.example.com", demoJSON(), nil), "credentials: no credentials"},
		{instance("https://cfw.example.com", map[string]any{SettingFwInstanceID: 7}, nil), SettingFwInstanceID + ": 7 is not text"},
	} {
		_, err := LoadSettings(c.inst)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "lonely-sk-3") {
			t.Errorf("error shows the secret: %v", err)
		}
	}
}

func TestHealth(t *testing.T) {
	srv := startSim(t, simulator.Config{})
	h := newSource(t, demoInstance(srv.URL)).CheckHealth(context.Background())
	if !h.OK || !strings.HasPrefix(h.Message, "Connected to Huawei Cloud Firewall at "+srv.URL+" (project demo-project, firewall demo-fw): ") {
		t.Errorf("success: %+v", h)
	}
	tok := instance(srv.URL, demoJSON(), map[string]string{SettingIAMToken: simulator.DefaultCFWIAMToken})
	if h := newSource(t, tok).CheckHealth(context.Background()); !h.OK {
		t.Errorf("IAM token: %+v", h)
	}

	bad := instance(srv.URL, demoJSON(), map[string]string{SettingAccessKey: simulator.DefaultCFWAccessKey, SettingSecretKey: "rejected-sk-4"})
	h = newSource(t, bad).CheckHealth(context.Background())
	if h.OK || h.Message != "Huawei Cloud Firewall answered HTTP 401 APIG.0301: Incorrect IAM authentication information: verify aksk signature fail (check the access key and secret key, or the IAM token)" ||
		h.Details["errorCode"] != "APIG.0301" {
		t.Errorf("rejected credential: %+v", h)
	}
	if strings.Contains(h.Message, "rejected-sk-4") {
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
	if h.OK || !strings.HasPrefix(h.Message, "Huawei Cloud Firewall answered HTTP 404") {
		t.Errorf("not CFW: %+v", h)
	}
	wrongFw := demoJSON()
	wrongFw[SettingFwInstanceID] = "fw-typo"
	h = newSource(t, instance(srv.URL, wrongFw, map[string]string{SettingIAMToken: simulator.DefaultCFWIAMToken})).CheckHealth(context.Background())
	if h.OK || !strings.Contains(h.Message, "CFW.00200005: fw_instance_id: firewall instance fw-typo does not exist") {
		t.Errorf("wrong firewall: %+v", h)
	}
}

func TestEitherSidePortIsComposed(t *testing.T) {
	srv := startSim(t, simulator.Config{FlowsPerMinute: 60})
	src := newSource(t, demoInstance(srv.URL))
	all, err := src.ReadRecords(context.Background(), engine.ReadRequest{From: now.Add(-time.Hour), To: now, Sort: engine.SortTime, Order: engine.OrderDesc, MaxRows: 50000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range all.Records {
		if r.SrcPort == 53 || r.DstPort == 53 {
			n++
		}
	}
	e := engine.New(src, engine.Common{PageSize: 1000, RowCap: 50000, MaxConcurrency: 2})
	set, err := e.Read(context.Background(), now.Add(-time.Hour), now, engine.Filters{Port: []uint16{53}}, engine.SortTime, engine.OrderDesc, 50000)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Records) != n || n == 0 || len(set.Requests) != 2 {
		t.Fatalf("port 53 on either side: %d records in %d reads, want %d in 2", len(set.Records), len(set.Requests), n)
	}
}

func TestRecordsAndDimensionFilters(t *testing.T) {
	srv := startSim(t, simulator.Config{})
	src := newSource(t, demoInstance(srv.URL))
	read := func(f engine.Filter, order string, maxRows int) (*engine.ReadResult, error) {
		return src.ReadRecords(context.Background(), engine.ReadRequest{From: now.Add(-time.Hour), To: now, Filter: f, Sort: engine.SortTime, Order: order, MaxRows: maxRows})
	}
	all, err := read(engine.Filter{}, engine.OrderDesc, 50000)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range all.Records {
		if r.Labels[DimDirection] == "" || r.Labels[DimApp] == "" || r.Packets == 0 || r.Exporter != simulator.DefaultCFWFwInstanceID {
			t.Fatalf("record %+v lacks direction, app, packets or firewall", r)
		}
		if i > 0 && r.TimeMs > all.Records[i-1].TimeMs {
			t.Fatal("not newest first")
		}
	}
	for _, f := range []map[string]string{{DimDirection: "out2in"}, {DimApp: "DNS"}, {DimDstRegion: "Japan"}, {DimLogType: "vpc"}} {
		got, err := read(engine.Filter{Labels: f}, engine.OrderDesc, 50000)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, r := range all.Records {
			ok := true
			for k, v := range f {
				if k == DimLogType { // not in records: vpc = both ends internal (no region either side)
					ok = r.Labels[DimSrcRegion] == "" && r.Labels[DimDstRegion] == ""
				} else if r.Labels[k] != v {
					ok = false
				}
			}
			if ok {
				want++
			}
		}
		if len(got.Records) != want || want == 0 {
			t.Errorf("filter %v: %d records, want %d", f, len(got.Records), want)
		}
	}
	// Oldest first: the whole range reversed; refused when the row budget cuts it.
	asc, err := read(engine.Filter{}, engine.OrderAsc, 50000)
	if err != nil || len(asc.Records) != len(all.Records) || asc.Records[0].ID != all.Records[len(all.Records)-1].ID {
		t.Fatalf("oldest first: %v", err)
	}
	_, err = read(engine.Filter{}, engine.OrderAsc, 100)
	var qe *engine.QueryError
	if !errors.As(err, &qe) || !strings.Contains(err.Error(), "lists newest first only") {
		t.Errorf("oldest first over the budget: %v", err)
	}
}
