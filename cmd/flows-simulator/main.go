// Command flows-simulator serves the Flows API over deterministic synthetic
// traffic (see package pkg/simulator for the exact semantics).
//
//	go run ./cmd/flows-simulator [flags]
//
// Every flag falls back to an environment variable FLOWS_SIM_<FLAG> (upper
// case, dashes as underscores), -token to FLOWS_API_TOKEN then
// FLOWS_SIM_TOKEN; a flag given on the command line wins.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "flows-simulator:", err)
		}
		os.Exit(2)
	}
}

type options struct {
	listen string
	quiet  bool
	cfg    simulator.Config
}

// envName is the environment variable a flag falls back to.
func envName(flagName string) string {
	return "FLOWS_SIM_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func parse(args []string, getenv func(string) string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("flows-simulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{}
	var (
		faultStatus, faultCount        int
		faultRetry, idleEvery, idleFor time.Duration
		faultBody, faultPaths          string
		faultMalformed                 bool
	)
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to listen on (host:port; 0.0.0.0:8080 in a container, port 0 picks a free port)")
	fs.StringVar(&o.cfg.Token, "token", simulator.DefaultToken, "bearer token required on every request (env FLOWS_API_TOKEN or FLOWS_SIM_TOKEN)")
	fs.Int64Var(&o.cfg.Seed, "seed", simulator.DefaultSeed, "traffic seed (non-zero)")
	fs.IntVar(&o.cfg.FlowsPerMinute, "flows-per-minute", simulator.DefaultFlowsPerMinute, "mean records per 60 s window")
	fs.DurationVar(&o.cfg.History, "history", simulator.DefaultHistory, "how far back data exists (rolling)")
	fs.IntVar(&o.cfg.MaxLimit, "max-limit", simulator.DefaultMaxLimit, "server-side cap on limit for /flows and top-talkers")
	fs.IntVar(&o.cfg.TopTalkersMaxLimit, "top-talkers-max-limit", 0, "server-side cap on limit for /top-talkers alone (0 = -max-limit)")
	fs.DurationVar(&o.cfg.ClockOffset, "clock-offset", 0, "the server's clock minus the real clock (e.g. 40s ahead, -40s behind)")
	fs.DurationVar(&o.cfg.Retention, "retention", 0, "windows older than this leave the index although -history reaches further (0 = -history)")
	fs.DurationVar(&o.cfg.Latency, "latency", 0, "delay added to every response")
	fs.IntVar(&faultStatus, "fault-status", 0, "inject this HTTP status (e.g. 429, 500, 503); 0 = no fault")
	fs.DurationVar(&faultRetry, "fault-retry-after", 0, "with a fault: send Retry-After (e.g. 30s)")
	fs.StringVar(&faultBody, "fault-body", "", `with a fault: raw body (default {"error":"injected fault"})`)
	fs.BoolVar(&faultMalformed, "fault-malformed", false, "inject 200 responses with a truncated JSON body")
	fs.StringVar(&faultPaths, "fault-paths", "", "comma-separated paths the fault applies to (default all)")
	fs.IntVar(&faultCount, "fault-count", 0, "only the first N matching requests fail (0 = all)")
	fs.DurationVar(&idleEvery, "idle-every", 0, "with -idle-for: an idle stretch (no traffic) every this long, aligned to the epoch (e.g. 60m)")
	fs.DurationVar(&idleFor, "idle-for", 0, "length of each idle stretch (e.g. 5m)")
	fs.BoolVar(&o.quiet, "quiet", false, "do not log requests")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if set[f.Name] || err != nil {
			return
		}
		names := []string{envName(f.Name)}
		if f.Name == "token" {
			names = []string{"FLOWS_API_TOKEN", "FLOWS_SIM_TOKEN"}
		}
		for _, n := range names {
			if v := getenv(n); v != "" {
				if e := f.Value.Set(v); e != nil {
					err = fmt.Errorf("%s=%q: %v", n, v, e)
				}
				return
			}
		}
	})
	if err != nil {
		return nil, err
	}

	c := &o.cfg
	switch {
	case c.Token == "":
		return nil, errors.New("-token must not be empty")
	case c.Seed == 0:
		return nil, errors.New("-seed must not be 0")
	case c.FlowsPerMinute < 1 || c.FlowsPerMinute > 100_000:
		return nil, errors.New("-flows-per-minute must be between 1 and 100000")
	case c.History < time.Minute:
		return nil, errors.New("-history must be at least 1m")
	case c.MaxLimit < 1:
		return nil, errors.New("-max-limit must be at least 1")
	case c.TopTalkersMaxLimit < 0:
		return nil, errors.New("-top-talkers-max-limit must not be negative")
	case c.Retention != 0 && c.Retention < time.Minute:
		return nil, errors.New("-retention must be at least 1m (or 0: the history)")
	case c.ClockOffset <= -c.History || c.ClockOffset >= 24*time.Hour:
		return nil, errors.New("-clock-offset must be between minus the history and 24h")
	case c.Latency < 0 || faultRetry < 0 || faultCount < 0:
		return nil, errors.New("-latency, -fault-retry-after and -fault-count must not be negative")
	case faultStatus != 0 && (faultStatus < 100 || faultStatus > 599):
		return nil, errors.New("-fault-status must be an HTTP status (100-599)")
	case (idleEvery == 0) != (idleFor == 0):
		return nil, errors.New("-idle-every and -idle-for go together")
	case idleEvery != 0 && (idleFor < 0 || idleFor >= idleEvery):
		return nil, errors.New("-idle-for must be shorter than -idle-every")
	}
	if faultStatus != 0 || faultMalformed || faultBody != "" {
		c.Fault = &simulator.Fault{
			Status: faultStatus, RetryAfter: faultRetry, Body: faultBody,
			Malformed: faultMalformed, Count: faultCount,
		}
		for _, p := range strings.Split(faultPaths, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.Fault.Paths = append(c.Fault.Paths, p)
			}
		}
	} else if faultPaths != "" || faultCount != 0 || faultRetry != 0 {
		return nil, errors.New("-fault-paths, -fault-count and -fault-retry-after need -fault-status, -fault-body or -fault-malformed")
	}
	if idleEvery > 0 {
		every, length := idleEvery.Milliseconds(), idleFor.Milliseconds()
		c.Idle = func(ws time.Time) bool {
			return ((ws.UnixMilli()%every)+every)%every < length
		}
	}
	return o, nil
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o, err := parse(args, getenv, stderr)
	if err != nil {
		return err
	}
	o.cfg.Log = stderr
	if o.quiet {
		o.cfg.Log = io.Discard
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           simulator.New(o.cfg),
		ReadHeaderTimeout: 10 * time.Second,
	}
	fmt.Fprintf(stdout, "flows-simulator listening on http://%s\n", ln.Addr())
	fmt.Fprintf(stderr, "flows-simulator: seed %d, %d flows/min, history %v, retention %v, clock offset %v, max limit %d (top-talkers %d), latency %v, fault %s\n",
		o.cfg.Seed, o.cfg.FlowsPerMinute, o.cfg.History, o.cfg.Retention, o.cfg.ClockOffset, o.cfg.MaxLimit, o.cfg.TopTalkersMaxLimit, o.cfg.Latency, describeFault(o.cfg.Fault))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(stderr, "flows-simulator: shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func describeFault(f *simulator.Fault) string {
	if f == nil {
		return "none"
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	s := fmt.Sprintf("status %d", status)
	if f.Malformed {
		s = "malformed 200"
	}
	if f.RetryAfter > 0 {
		s += fmt.Sprintf(", Retry-After %v", f.RetryAfter)
	}
	if len(f.Paths) > 0 {
		s += ", paths " + strings.Join(f.Paths, ",")
	}
	if f.Count > 0 {
		s += fmt.Sprintf(", first %d requests", f.Count)
	}
	return s
}
