// Command calico-loader writes Calico-shaped flow logs, made from the simulator's
// deterministic traffic (see pkg/simulator, calico.go), into Elasticsearch or OpenSearch:
// the index template of tigera_secure_ee_flows.* and the documents of a time range, with
// _bulk. It backs the docker-compose demo and the 1,000,000-document benchmark.
//
//	go run ./cmd/calico-loader -url http://127.0.0.1:9200 -hours 24
//
// With -follow it keeps adding each new flush interval as it closes (the demo's live data).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintln(os.Stderr, "calico-loader:", err)
		os.Exit(1)
	}
}

type basicAuth struct {
	user, password string
}

func (b basicAuth) RoundTrip(r *http.Request) (*http.Response, error) {
	if b.user != "" {
		r = r.Clone(r.Context())
		r.SetBasicAuth(b.user, b.password)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("calico-loader", flag.ContinueOnError)
	url := fs.String("url", envOr("CALICO_LOADER_URL", "http://127.0.0.1:9200"), "Elasticsearch or OpenSearch URL")
	user := fs.String("user", os.Getenv("CALICO_LOADER_USER"), "basic auth user (password in CALICO_LOADER_PASSWORD)")
	hours := fs.Float64("hours", 24, "hours of history before now (or before -end)")
	end := fs.String("end", "", "end of the history, RFC 3339 (default: now, rounded down to the flush interval)")
	perMin := fs.Int("flows-per-minute", simulator.DefaultFlowsPerMinute, "mean simulator flows per minute")
	seed := fs.Int64("seed", simulator.DefaultSeed, "traffic seed")
	cluster := fs.String("cluster", "cluster", "Calico cluster name (index tigera_secure_ee_flows.<cluster>.<yyyymmdd>)")
	follow := fs.Bool("follow", false, "keep loading each flush interval as it closes")
	wait := fs.Duration("wait", 3*time.Minute, "how long to wait for the cluster to answer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := simulator.CalicoConfig{Seed: *seed, FlowsPerMinute: *perMin, Cluster: *cluster}
	flush := simulator.DefaultCalicoFlushInterval
	to := time.Now().UTC().Truncate(flush)
	if *end != "" {
		t, err := time.Parse(time.RFC3339, *end)
		if err != nil {
			return fmt.Errorf("-end: %v", err)
		}
		to = t
	}
	from := to.Add(-time.Duration(*hours * float64(time.Hour)))
	client := &http.Client{Transport: basicAuth{*user, os.Getenv("CALICO_LOADER_PASSWORD")}, Timeout: 5 * time.Minute}
	l := &simulator.CalicoBulkLoader{Client: client, BaseURL: *url}

	deadline := time.Now().Add(*wait)
	for {
		err := l.PutTemplate(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return err
		}
		fmt.Fprintln(os.Stderr, "calico-loader: waiting for the cluster:", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * time.Second):
		}
	}
	load := func(from, to time.Time) error {
		start := time.Now()
		err := simulator.CalicoDocs(cfg, from, to, func(d *simulator.CalicoDoc) error { return l.Add(ctx, d) })
		if err != nil {
			return err
		}
		n, err := l.Finish(ctx)
		fmt.Fprintf(os.Stderr, "calico-loader: %d documents in total, [%s, %s) loaded in %s\n", n, from.Format(time.RFC3339), to.Format(time.RFC3339), time.Since(start).Round(time.Millisecond))
		return err
	}
	if err := load(from, to); err != nil {
		return err
	}
	for *follow {
		next := to.Add(flush)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(next)):
		}
		if err := load(to, next); err != nil {
			return err
		}
		to = next
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
