package plugin

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// simProcessEnv, when set, makes the test binary the simulator of a benchmark (TestMain): the
// simulator's own allocations (window caches, page encoding) then do not count in the heap the
// benchmark measures, which is the plugin's.
const simProcessEnv = "FLOWS_BENCH_SIMULATOR"

// simProcessConfig is what the benchmark asks of the simulator process.
type simProcessConfig struct {
	FlowsPerMinute int
	History        time.Duration
	Seed           int64
	Token          string
	NowUnixMs      int64
}

func TestMain(m *testing.M) {
	if cfg := os.Getenv(simProcessEnv); cfg != "" {
		if err := serveSimulatorProcess(cfg); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(m.Run())
}

// serveSimulatorProcess serves the simulator on a free loopback port, writes its URL as the
// first line of stdout, and serves until stdin closes.
func serveSimulatorProcess(raw string) error {
	var c simProcessConfig
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return fmt.Errorf("%s: %w", simProcessEnv, err)
	}
	now := time.UnixMilli(c.NowUnixMs).UTC()
	sim := simulator.New(simulator.Config{FlowsPerMinute: c.FlowsPerMinute, History: c.History, Seed: c.Seed, Token: c.Token,
		Log: io.Discard, Now: func() time.Time { return now }})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("http://%s\n", ln.Addr())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		ln.Close()
	}()
	if err := http.Serve(ln, sim); err != nil && !strings.Contains(err.Error(), "use of closed network connection") {
		return err
	}
	return nil
}

// simulatorProcess starts the simulator in a process of its own (this test binary again) and
// returns its URL; it stops with the benchmark.
func simulatorProcess(b *testing.B, c simProcessConfig) string {
	b.Helper()
	raw, _ := json.Marshal(c)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), simProcessEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	url, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatalf("simulator process: %v", err)
	}
	return strings.TrimSpace(url)
}
