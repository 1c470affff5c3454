// Command flows-simulator serves the Flows API, the Trustgrid flow-log API and Huawei Cloud
// Firewall's ListFlowLogs over one deterministic synthetic traffic (see package
// pkg/simulator for the exact semantics); -apis picks which of them it serves.
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
	"slices"
	"strconv"
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
		apis                           string
		extra                          simulator.Fault
		faultTotal                     string
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
	fs.StringVar(&extra.EchoToken, "fault-echo-token", "", "answer errors (default 401) echoing the token: raw, url or base64")
	fs.IntVar(&extra.EchoAt, "fault-echo-at", 0, "with -fault-echo-token: the echo starts after this many characters")
	fs.StringVar(&extra.RedirectTo, "fault-redirect", "", "answer 307 to this origin or path (/moved: same origin) + the request URI")
	fs.BoolVar(&extra.NonUTF8, "fault-non-utf8", false, "bytes that are not UTF-8 in error bodies (with a fault) or in every text value (alone)")
	fs.BoolVar(&extra.IgnoreOffset, "fault-ignore-offset", false, "/flows answers every offset with the first page")
	fs.StringVar(&faultTotal, "fault-total", "", "/flows reports this total (e.g. 1000000000, 3, -1800)")
	fs.BoolVar(&extra.AbsurdTimes, "fault-absurd-times", false, "/flows: two records per page with window_start ±9e15 ms")
	fs.BoolVar(&extra.NullIDs, "fault-null-ids", false, "/flows ids null or empty, null entries in answers")
	fs.IntVar(&extra.LongStrings, "fault-long-strings", 0, "every text value grows by this many bytes")
	fs.Int64Var(&extra.PadBytes, "fault-pad-bytes", 0, "answers grow by this many bytes of whitespace (huge bodies)")
	fs.Int64Var(&extra.GzipBomb, "fault-gzip-bomb", 0, "answers are gzip-encoded and inflate to this many bytes more")
	fs.DurationVar(&idleEvery, "idle-every", 0, "with -idle-for: an idle stretch (no traffic) every this long, aligned to the epoch (e.g. 60m)")
	fs.DurationVar(&idleFor, "idle-for", 0, "length of each idle stretch (e.g. 5m)")
	fs.BoolVar(&o.quiet, "quiet", false, "do not log requests")
	fs.StringVar(&apis, "apis", strings.Join(simulator.AllAPIs, ","), "comma-separated API faces to serve over the one traffic: "+strings.Join(simulator.AllAPIs, ", "))
	tg, hw := &o.cfg.Trustgrid, &o.cfg.HuaweiCFW
	fs.StringVar(&tg.ClientID, "trustgrid-client-id", simulator.DefaultTrustgridClientID, "Trustgrid: client ID accepted in 'Authorization: trustgrid-token ID:SECRET'")
	fs.StringVar(&tg.Secret, "trustgrid-secret", simulator.DefaultTrustgridSecret, "Trustgrid: client secret")
	fs.StringVar(&tg.JWT, "trustgrid-jwt", simulator.DefaultTrustgridJWT, "Trustgrid: token accepted in 'Authorization: Bearer <JWT>'")
	fs.BoolVar(&tg.IgnorePage, "trustgrid-ignore-page", false, "Trustgrid: answer every page with the first (to test clients' loop detection)")
	fs.StringVar(&hw.ProjectID, "cfw-project-id", simulator.DefaultCFWProjectID, "Huawei CFW: the project_id of the path")
	fs.StringVar(&hw.FwInstanceID, "cfw-fw-instance-id", simulator.DefaultCFWFwInstanceID, "Huawei CFW: the firewall instance (sees all traffic)")
	fs.StringVar(&hw.AccessKey, "cfw-access-key", simulator.DefaultCFWAccessKey, "Huawei CFW: AK whose signatures are accepted")
	fs.StringVar(&hw.SecretKey, "cfw-secret-key", simulator.DefaultCFWSecretKey, "Huawei CFW: SK of that AK")
	fs.StringVar(&hw.IAMToken, "cfw-iam-token", simulator.DefaultCFWIAMToken, "Huawei CFW: IAM token accepted in X-Auth-Token")
	fs.BoolVar(&hw.IgnoreCursor, "cfw-ignore-cursor", false, "Huawei CFW: answer every page with the first (to test clients' loop detection)")
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
	for _, a := range strings.Split(apis, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if !slices.Contains(simulator.AllAPIs, a) {
			return nil, fmt.Errorf("-apis: %q is not one of %s", a, strings.Join(simulator.AllAPIs, ", "))
		}
		c.APIs = append(c.APIs, a)
	}
	if len(c.APIs) == 0 {
		return nil, errors.New("-apis must name at least one of " + strings.Join(simulator.AllAPIs, ", "))
	}
	for _, v := range []struct{ flag, val string }{
		{"-trustgrid-client-id", c.Trustgrid.ClientID}, {"-trustgrid-secret", c.Trustgrid.Secret}, {"-trustgrid-jwt", c.Trustgrid.JWT},
		{"-cfw-project-id", c.HuaweiCFW.ProjectID}, {"-cfw-fw-instance-id", c.HuaweiCFW.FwInstanceID},
		{"-cfw-access-key", c.HuaweiCFW.AccessKey}, {"-cfw-secret-key", c.HuaweiCFW.SecretKey}, {"-cfw-iam-token", c.HuaweiCFW.IAMToken},
	} {
		if v.val == "" {
			return nil, errors.New(v.flag + " must not be empty")
		}
	}
	if faultTotal != "" {
		n, err := strconv.Atoi(faultTotal)
		if err != nil {
			return nil, fmt.Errorf("-fault-total %q is not a whole number", faultTotal)
		}
		extra.Total = &n
	}
	switch extra.EchoToken {
	case "", "raw", "url", "base64":
	default:
		return nil, fmt.Errorf("-fault-echo-token %q is not one of raw, url, base64", extra.EchoToken)
	}
	if extra.EchoAt < 0 || extra.LongStrings < 0 || extra.PadBytes < 0 || extra.GzipBomb < 0 {
		return nil, errors.New("-fault-echo-at, -fault-long-strings, -fault-pad-bytes and -fault-gzip-bomb must not be negative")
	}
	extra.Status, extra.RetryAfter, extra.Body, extra.Malformed, extra.Count = faultStatus, faultRetry, faultBody, faultMalformed, faultCount
	anyExtra := extra.EchoToken != "" || extra.RedirectTo != "" || extra.NonUTF8 || extra.IgnoreOffset || extra.Total != nil ||
		extra.AbsurdTimes || extra.NullIDs || extra.LongStrings > 0 || extra.PadBytes > 0 || extra.GzipBomb > 0
	if faultStatus != 0 || faultMalformed || faultBody != "" || anyExtra {
		c.Fault = &extra
		for _, p := range strings.Split(faultPaths, ",") {
			if p = strings.TrimSpace(p); p != "" {
				c.Fault.Paths = append(c.Fault.Paths, p)
			}
		}
	} else if faultPaths != "" || faultCount != 0 || faultRetry != 0 {
		return nil, errors.New("-fault-paths, -fault-count and -fault-retry-after need another -fault-… flag")
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
	fmt.Fprintf(stderr, "flows-simulator: APIs %s (Trustgrid %s, Huawei CFW %s)\n", strings.Join(o.cfg.APIs, ","),
		simulator.PathTrustgridFlowLogs, simulator.CFWFlowLogsPath(o.cfg.HuaweiCFW.ProjectID))
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
	} else if f.Status == 0 && f.Body == "" && f.EchoToken == "" && f.RedirectTo == "" {
		s = "answers altered"
	}
	if f.RetryAfter > 0 {
		s += fmt.Sprintf(", Retry-After %v", f.RetryAfter)
	}
	for _, knob := range []struct {
		on   bool
		text string
	}{
		{f.EchoToken != "", "echoes the token (" + f.EchoToken + ")"},
		{f.RedirectTo != "", "redirects to " + f.RedirectTo},
		{f.NonUTF8, "non-UTF-8 text"},
		{f.IgnoreOffset, "ignores offset"},
		{f.Total != nil, "reports a false total"},
		{f.AbsurdTimes, "absurd times"},
		{f.NullIDs, "null ids"},
		{f.LongStrings > 0, fmt.Sprintf("strings %d bytes longer", f.LongStrings)},
		{f.PadBytes > 0, fmt.Sprintf("bodies %d bytes larger", f.PadBytes)},
		{f.GzipBomb > 0, fmt.Sprintf("gzip bomb of %d bytes", f.GzipBomb)},
	} {
		if knob.on {
			s += ", " + knob.text
		}
	}
	if len(f.Paths) > 0 {
		s += ", paths " + strings.Join(f.Paths, ",")
	}
	if f.Count > 0 {
		s += fmt.Sprintf(", first %d requests", f.Count)
	}
	return s
}
