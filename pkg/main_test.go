package main

import (
	"bufio"
	"context"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/grpcplugin"
	"github.com/grafana/grafana-plugin-sdk-go/genproto/pluginv2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// The built executable starts as Grafana starts it (go-plugin handshake: the magic cookie in
// the environment, the address on stdout) and answers health checks and queries over gRPC.
func TestExecutableServesThePluginProtocol(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin binary")
	}
	bin := filepath.Join(t.TempDir(), "gpx_flows")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = append(os.Environ(), grpcplugin.MagicCookieKey+"="+grpcplugin.MagicCookieValue, "PLUGIN_PROTOCOL_VERSIONS=2")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	// go-plugin's handshake line: CORE-VERSION|APP-VERSION|NETWORK|ADDRESS|PROTOCOL[|SERVER-CERT]
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("no handshake: %v", err)
	}
	parts := strings.Split(strings.TrimSpace(line), "|")
	if len(parts) < 5 || parts[1] != "2" || parts[4] != "grpc" {
		t.Fatalf("handshake %q", line)
	}
	target := parts[3]
	if parts[2] == "unix" {
		target = "unix://" + target
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	sim := httptest.NewServer(simulator.New(simulator.Config{Token: "bin-token", Log: io.Discard}))
	defer sim.Close()
	pc := backend.PluginContext{OrgID: 1, PluginID: "flowlens-flows-datasource", DataSourceInstanceSettings: &backend.DataSourceInstanceSettings{
		ID: 1, UID: "flows-api", Name: "Flows API", URL: sim.URL, JSONData: []byte(`{}`),
		DecryptedSecureJSONData: map[string]string{"apiToken": "bin-token"}, Updated: time.Now(),
	}}
	health, err := pluginv2.NewDiagnosticsClient(conn).CheckHealth(ctx, &pluginv2.CheckHealthRequest{PluginContext: backend.ToProto().PluginContext(pc)})
	if err != nil || health.Status != pluginv2.CheckHealthResponse_OK || !strings.Contains(health.Message, "flows in the last hour") {
		t.Fatalf("health: %v %v", err, health)
	}
	now := time.Now()
	req := &backend.QueryDataRequest{PluginContext: pc, Queries: []backend.DataQuery{{
		RefID: "A", QueryType: "topTalkers", JSON: []byte(`{"queryType":"topTalkers","limit":3}`),
		TimeRange: backend.TimeRange{From: now.Add(-time.Hour), To: now},
	}}}
	raw, err := pluginv2.NewDataClient(conn).QueryData(ctx, backend.ToProto().QueryDataRequest(req))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := backend.FromProto().QueryDataResponse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if r := resp.Responses["A"]; r.Error != nil || len(r.Frames) != 1 || r.Frames[0].Rows() != 3 {
		t.Fatalf("query: %v %v", r.Error, r.Frames)
	}
}
