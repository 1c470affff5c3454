// Package motoserver starts moto_server, the AWS emulator from PyPI that scripts/install-moto.sh
// installs, on loopback for the tests of the AWS source. Tests share one server per test
// binary (TestMain) and reset it between tests.
//
// When moto_server is missing the tests skip, saying so; with CI=true they fail instead: the
// test command must run them.
package motoserver

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Server is a running moto_server.
type Server struct {
	URL string // http://127.0.0.1:PORT
	cmd *exec.Cmd
}

// missing is why the server could not start; "" when it runs.
var (
	current *Server
	missing string
)

// Binary finds moto_server: $MOTO_SERVER, the venv of scripts/install-moto.sh under the
// repository's .cache, or $PATH.
func Binary() (string, error) {
	if p := os.Getenv("MOTO_SERVER"); p != "" {
		return p, nil
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..", "..")
	venv := filepath.Join(root, ".cache", "moto-venv", "bin", "moto_server")
	if _, err := os.Stat(venv); err == nil {
		return venv, nil
	}
	if p, err := exec.LookPath("moto_server"); err == nil {
		return p, nil
	}
	return "", errors.New("moto_server not found: run `bash scripts/install-moto.sh` (installs moto 5.2.5 into .cache/moto-venv) or set MOTO_SERVER")
}

// Start runs moto_server on the first free port of [lo, hi] and waits until it answers.
func Start(lo, hi int) (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for port := lo; port <= hi; port++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue // taken
		}
		l.Close()
		s, err := startOn(bin, port)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("moto_server did not start on any port of %d-%d: %v", lo, hi, lastErr)
}

func startOn(bin string, port int) (*Server, error) {
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd}
	deadline := time.Now().Add(90 * time.Second) // slow shared machines; moto usually needs ~1 s
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("moto_server exited (%v): %s", err, out.String())
		case <-time.After(150 * time.Millisecond):
		}
		resp, err := http.Get(s.URL + "/moto-api/data.json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
	}
	s.Stop()
	return nil, fmt.Errorf("moto_server on port %d did not answer within 90 s: %s", port, out.String())
}

// Stop ends the server and its children.
func (s *Server) Stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _, _ = s.cmd.Process.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
}

// Reset clears every resource of the emulator (POST /moto-api/reset).
func (s *Server) Reset() error {
	resp, err := http.Post(s.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("moto reset: HTTP %d", resp.StatusCode)
	}
	return nil
}

// Main is TestMain for packages that test against moto: it starts the server on a port of
// [lo, hi], runs the tests and stops it. Without moto_server the tests that call Get skip
// (and fail with CI=true).
func Main(m *testing.M, lo, hi int) {
	s, err := Start(lo, hi)
	if err != nil {
		missing = err.Error()
		fmt.Fprintf(os.Stderr, "\n*** moto_server is not running: %s\n*** the tests against the AWS emulator will SKIP (they FAIL when CI=true)\n\n", missing)
	}
	current = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

// Get returns the running server, reset to empty. It skips the test when moto_server is
// missing, or fails it when CI=true.
func Get(t testing.TB) *Server {
	t.Helper()
	if current == nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("moto_server is required in CI: %s", missing)
		}
		t.Skipf("SKIPPED, moto_server is missing: %s", missing)
	}
	if err := current.Reset(); err != nil {
		t.Fatalf("resetting moto: %v", err)
	}
	return current
}
