package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestParseDefaults(t *testing.T) {
	o, err := parse(nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if o.listen != "127.0.0.1:8080" || c.Token != "demo-token" || c.Seed != 1 || c.FlowsPerMinute != 40 ||
		c.History != 24*time.Hour || c.MaxLimit != 1000 || c.Latency != 0 || c.Fault != nil || c.Idle != nil || o.quiet {
		t.Errorf("defaults: listen %q %+v", o.listen, c)
	}
}

func TestParseAPIs(t *testing.T) {
	o, err := parse(nil, env(nil), io.Discard)
	if err != nil || strings.Join(o.cfg.APIs, ",") != "flowsapi,trustgrid,huaweicfw" {
		t.Fatalf("default APIs: %v %v", o.cfg.APIs, err)
	}
	o, err = parse([]string{"-apis", "huaweicfw", "-cfw-project-id", "p1"}, env(map[string]string{"FLOWS_SIM_TRUSTGRID_SECRET": "s3"}), io.Discard)
	if err != nil || strings.Join(o.cfg.APIs, ",") != "huaweicfw" || o.cfg.HuaweiCFW.ProjectID != "p1" || o.cfg.Trustgrid.Secret != "s3" {
		t.Fatalf("-apis huaweicfw: %+v %v", o.cfg, err)
	}
}

func TestParseFlagsAndEnv(t *testing.T) {
	e := env(map[string]string{
		"FLOWS_API_TOKEN":             "from-env",
		"FLOWS_SIM_SEED":              "42",
		"FLOWS_SIM_LISTEN":            "0.0.0.0:9000",
		"FLOWS_SIM_HISTORY":           "2h",
		"FLOWS_SIM_FAULT_STATUS":      "503",
		"FLOWS_SIM_FAULT_RETRY_AFTER": "30s",
		"FLOWS_SIM_FAULT_PATHS":       "/api/v1/flows, /api/v1/flows/protocols",
		"FLOWS_SIM_FAULT_COUNT":       "3",
		"FLOWS_SIM_IDLE_EVERY":        "60m",
		"FLOWS_SIM_IDLE_FOR":          "5m",
		"FLOWS_SIM_MAX_LIMIT":         "100",
		"FLOWS_SIM_CLOCK_OFFSET":      "-40s",
		"FLOWS_SIM_RETENTION":         "90m",
	})
	o, err := parse([]string{"-seed", "7", "-latency", "20ms", "-flows-per-minute=10", "-top-talkers-max-limit", "25"}, e, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c := o.cfg
	if c.Seed != 7 || c.Token != "from-env" || o.listen != "0.0.0.0:9000" || c.History != 2*time.Hour ||
		c.Latency != 20*time.Millisecond || c.FlowsPerMinute != 10 || c.MaxLimit != 100 ||
		c.ClockOffset != -40*time.Second || c.Retention != 90*time.Minute || c.TopTalkersMaxLimit != 25 {
		t.Errorf("got %+v listen %q", c, o.listen)
	}
	f := c.Fault
	if f == nil || f.Status != 503 || f.RetryAfter != 30*time.Second || f.Count != 3 ||
		strings.Join(f.Paths, "|") != "/api/v1/flows|/api/v1/flows/protocols" {
		t.Errorf("fault %+v", f)
	}
	for m, want := range map[string]bool{"00:00": true, "00:04": true, "00:05": false, "13:59": false, "14:02": true} {
		ws, _ := time.Parse("2006-01-02 15:04", "2026-04-16 "+m)
		if c.Idle(ws) != want {
			t.Errorf("idle at %s: %v", m, !want)
		}
	}
	if o, _ := parse(nil, env(map[string]string{"FLOWS_SIM_TOKEN": "sim"}), io.Discard); o.cfg.Token != "sim" {
		t.Errorf("FLOWS_SIM_TOKEN: %q", o.cfg.Token)
	}
	if o, _ := parse([]string{"-token", "flag"}, env(map[string]string{"FLOWS_API_TOKEN": "env"}), io.Discard); o.cfg.Token != "flag" {
		t.Errorf("flag must win over env: %q", o.cfg.Token)
	}
	if o, _ := parse([]string{"-fault-malformed"}, env(nil), io.Discard); o.cfg.Fault == nil || !o.cfg.Fault.Malformed {
		t.Error("-fault-malformed")
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"-seed", "x"}, nil},
		{nil, map[string]string{"FLOWS_SIM_SEED": "x"}},
		{[]string{"-token", ""}, nil},
		{[]string{"-seed", "0"}, nil},
		{[]string{"-history", "10s"}, nil},
		{[]string{"-max-limit", "0"}, nil},
		{[]string{"-top-talkers-max-limit", "-1"}, nil},
		{[]string{"-retention", "10s"}, nil},
		{[]string{"-clock-offset", "-25h"}, nil},
		{[]string{"-fault-status", "42"}, nil},
		{[]string{"-fault-count", "2"}, nil},
		{[]string{"-idle-every", "1h"}, nil},
		{[]string{"-idle-every", "5m", "-idle-for", "5m"}, nil},
		{[]string{"extra"}, nil},
		{[]string{"-apis", "flowsapi,calico"}, nil},
		{[]string{"-apis", ","}, nil},
		{[]string{"-cfw-secret-key", ""}, nil},
	} {
		if _, err := parse(c.args, env(c.env), io.Discard); err == nil {
			t.Errorf("%v %v: no error", c.args, c.env)
		}
	}
}

var addrRe = regexp.MustCompile(`listening on (http://\S+)`)

func call(t *testing.T, base, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func checkEndpoints(t *testing.T, base, token string) {
	t.Helper()
	for _, p := range []string{simulator.PathFlows, simulator.PathTopTalkers, simulator.PathProtocols} {
		if code, _ := call(t, base, p, ""); code != http.StatusUnauthorized {
			t.Errorf("%s without token: %d", p, code)
		}
		code, body := call(t, base, p+"?limit=5", token)
		if code != http.StatusOK || !json.Valid([]byte(body)) {
			t.Errorf("%s: %d %.200s", p, code, body)
		}
	}
	code, body := call(t, base, simulator.PathFlows+"?limit=3&sort=bytes", token)
	var page simulator.FlowsResponse
	if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil || page.Total == 0 || len(page.Flows) != 3 {
		t.Errorf("flows page: %d %v %.200s", code, err, body)
	}
}

// lockedBuffer collects a child's stderr.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *lockedBuffer) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

func TestRunInProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var logs lockedBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-history", "1h"}, env(map[string]string{"FLOWS_API_TOKEN": "inproc"}), pw, &logs)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no start line: %v (%s)", err, logs.String())
	}
	go io.Copy(io.Discard, pr)
	m := addrRe.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("start line %q", line)
	}
	checkEndpoints(t, m[1], "inproc")
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no graceful shutdown")
	}
	if strings.Contains(logs.String(), "inproc") {
		t.Error("token in the log")
	}
	if n := strings.Count(logs.String(), "GET /api/v1/"); n != 7 {
		t.Errorf("%d request log lines:\n%s", n, logs.String())
	}
}

// TestBinary builds the real command and runs it as the README says
// (go run ./cmd/flows-simulator), on a free port.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "flows-simulator")
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	build := exec.Command(goBin, "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	cmd := exec.Command(bin, "-listen", "127.0.0.1:0", "-history", "2h")
	cmd.Env = append(os.Environ(), "FLOWS_API_TOKEN=bin-token", "FLOWS_SIM_SEED=3")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var logs lockedBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	waited := false
	defer func() {
		if !waited {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		l, _ := r.ReadString('\n')
		lines <- l
		io.Copy(io.Discard, r)
		exited <- cmd.Wait()
	}()
	var base string
	select {
	case l := <-lines:
		m := addrRe.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("start line %q, stderr:\n%s", l, logs.String())
		}
		base = m[1]
	case <-time.After(15 * time.Second):
		t.Fatalf("binary did not start listening; stderr:\n%s", logs.String())
	}
	checkEndpoints(t, base, "bin-token")

	if runtime.GOOS == "windows" {
		return
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		waited = true
		if err != nil {
			t.Errorf("exit after SIGINT: %v\n%s", err, logs.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no graceful shutdown on SIGINT")
	}
	out := logs.String()
	if strings.Contains(out, "bin-token") || !strings.Contains(out, "GET /api/v1/flows?limit=3&sort=bytes 200") ||
		!strings.Contains(out, "shutting down") {
		t.Errorf("stderr:\n%s", out)
	}
}

// Every fault class of the simulator has a flag.
func TestParseFaultClassFlags(t *testing.T) {
	o, err := parse([]string{"-fault-echo-token", "base64", "-fault-echo-at", "190", "-fault-non-utf8", "-fault-ignore-offset",
		"-fault-total", "-1800", "-fault-absurd-times", "-fault-null-ids", "-fault-long-strings", "1000",
		"-fault-pad-bytes", "300000000", "-fault-gzip-bomb", "1000000000", "-fault-redirect", "http://127.0.0.1:9"}, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	f := o.cfg.Fault
	if f == nil || f.EchoToken != "base64" || f.EchoAt != 190 || !f.NonUTF8 || !f.IgnoreOffset || f.Total == nil || *f.Total != -1800 ||
		!f.AbsurdTimes || !f.NullIDs || f.LongStrings != 1000 || f.PadBytes != 300000000 || f.GzipBomb != 1000000000 || f.RedirectTo != "http://127.0.0.1:9" {
		t.Fatalf("fault %+v", f)
	}
	if o, err := parse([]string{"-fault-ignore-offset", "-fault-count", "1"}, env(nil), io.Discard); err != nil || o.cfg.Fault.Count != 1 || describeFault(o.cfg.Fault) != "answers altered, ignores offset, first 1 requests" {
		t.Fatalf("data fault alone: %v %q", err, describeFault(o.cfg.Fault))
	}
	for _, bad := range [][]string{{"-fault-total", "many"}, {"-fault-echo-token", "hex"}, {"-fault-pad-bytes", "-1"}} {
		if _, err := parse(bad, env(nil), io.Discard); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}
