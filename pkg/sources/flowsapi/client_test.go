package flowsapi_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
)

var now = time.Date(2026, 4, 16, 12, 0, 30, 0, time.UTC)

func newSim(t *testing.T, cfg simulator.Config) (*httptest.Server, *flowsapi.Client) {
	t.Helper()
	cfg.Token, cfg.Log = "tok", io.Discard
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return now }
	}
	srv := httptest.NewServer(simulator.New(cfg))
	t.Cleanup(srv.Close)
	c, err := flowsapi.New(srv.URL, "tok", srv.Client(), 2)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// Windows that arrive while paging shift later pages; PageFlows keeps each id once, and counts
// only unique rows toward maxRows.
func TestPageFlowsDeduplicatesShiftedPages(t *testing.T) {
	var reads atomic.Int64
	_, c := newSim(t, simulator.Config{MaxLimit: 40, Now: func() time.Time {
		return now.Add(time.Duration(reads.Add(1)) * time.Minute)
	}})
	p := flowsapi.FlowsParams{From: now.Add(-30 * time.Minute), To: now.Add(time.Hour), Sort: "timestamp", Order: "desc"}
	got, err := c.PageFlows(context.Background(), p, 40, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, f := range got.Flows {
		if ids[f.ID] {
			t.Fatalf("duplicate %s", f.ID)
		}
		ids[f.ID] = true
	}
	if got.Pages < 10 || got.PageSize != 40 || got.Capped {
		t.Fatalf("pages %d page size %d capped %v", got.Pages, got.PageSize, got.Capped)
	}
	// A cap counts unique rows.
	capped, err := c.PageFlows(context.Background(), p, 40, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(capped.Flows) != 100 || !capped.Capped {
		t.Fatalf("%d rows, capped %v", len(capped.Flows), capped.Capped)
	}
}

// A server that stops returning rows ends the read even if its total says more.
func TestPageFlowsStopsAtAnEmptyPage(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.URL.Query().Get("offset") == "" {
			io.WriteString(w, `{"total":500,"offset":0,"limit":2,"flows":[{"id":"a"},{"id":"b"}],"extra_field":true}`)
			return
		}
		io.WriteString(w, `{"total":500,"offset":2,"limit":2,"flows":[]}`)
	}))
	defer srv.Close()
	c, _ := flowsapi.New(srv.URL, "", srv.Client(), 1)
	got, err := c.PageFlows(context.Background(), flowsapi.FlowsParams{}, 100, 1000)
	if err != nil || len(got.Flows) != 2 || calls != 2 || got.Total != 500 {
		t.Fatalf("err %v rows %d calls %d", err, len(got.Flows), calls)
	}
}

func TestCanceledRequestSaysSo(t *testing.T) {
	_, c := newSim(t, simulator.Config{Latency: 2 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.Flows(ctx, flowsapi.FlowsParams{})
	var re *flowsapi.RequestError
	if !errors.As(err, &re) || (re.Kind != flowsapi.KindTimeout && re.Kind != flowsapi.KindCanceled) {
		t.Fatalf("error %v", err)
	}
}

// Whatever a server answers, the client returns a value or a typed error, never panics.
func FuzzDecodeResponses(f *testing.F) {
	for _, s := range []string{`{"total":1,"flows":[{"id":"x","src_hostname":null,"protocol_name":null}]}`, `[{"key":"a → b","bytes":1}]`, `{"flows":"no"}`, `<html>`, ``, `[`, `{"total":-5,"flows":[{"protocol":300}]}`} {
		f.Add(s, 200)
	}
	f.Add(`{"error":"bad"}`, 400)
	f.Fuzz(func(t *testing.T, body string, status int) {
		if status < 200 || status > 599 || status == 204 || status == 304 {
			status = 200
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			io.WriteString(w, body)
		}))
		defer srv.Close()
		c, _ := flowsapi.New(srv.URL, "secret-token", srv.Client(), 1)
		check := func(err error) {
			if err == nil {
				return
			}
			var apiErr *flowsapi.APIError
			var decErr *flowsapi.DecodeError
			var reqErr *flowsapi.RequestError
			if !errors.As(err, &apiErr) && !errors.As(err, &decErr) && !errors.As(err, &reqErr) {
				t.Fatalf("untyped error %T %v", err, err)
			}
			if strings.Contains(err.Error(), "secret-token") {
				t.Fatal("token in error")
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("error not valid UTF-8: %q", err)
			}
		}
		_, err := c.Flows(context.Background(), flowsapi.FlowsParams{})
		check(err)
		_, err = c.TopTalkers(context.Background(), flowsapi.TopTalkersParams{WindowSecs: 60, By: "bytes", Dim: "src", Limit: 1})
		check(err)
		_, err = c.Protocols(context.Background(), 60)
		check(err)
	})
}
