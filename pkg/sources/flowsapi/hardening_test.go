package flowsapi_test

// Tests for the defects of issue 9 that live in the client: each reproduces what a server or
// a setting did, through the simulator's fault knobs over real HTTP.

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/flowlens/flows-datasource/pkg/internal/gauge"
	"github.com/flowlens/flows-datasource/pkg/simulator"
	"github.com/flowlens/flows-datasource/pkg/sources/flowsapi"
)

// secretToken has characters that URL-encoding changes, and is long enough to be removed
// wherever it occurs.
const secretToken = "s3cr+t/T0ken=9f"

// faultSim serves a simulator with the given fault and counts the requests reaching it.
func faultSim(t *testing.T, token string, f *simulator.Fault) (*httptest.Server, *simulator.Server, *gauge.Gauge) {
	t.Helper()
	sim := simulator.New(simulator.Config{Token: token, Log: io.Discard, Now: func() time.Time { return now }, Fault: f, MaxLimit: 100})
	g := &gauge.Gauge{}
	srv := httptest.NewServer(g.Wrap(sim))
	t.Cleanup(srv.Close)
	return srv, sim, g
}

func client(t *testing.T, base, token string) *flowsapi.Client {
	t.Helper()
	c, err := flowsapi.New(base, token, &http.Client{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	c.SetClock(func() time.Time { return now })
	flowsapi.SetBackoff(c, 10*time.Millisecond)
	return c
}

var lastHour = flowsapi.FlowsParams{From: now.Add(-time.Hour), To: now, Sort: "timestamp", Order: "desc"}

// Item 1: a body that is not UTF-8, or a two-byte character at the 200-byte cut, gives a valid
// UTF-8 message cut on a character boundary (gRPC refuses to send anything else).
func TestServerTextIsValidUTF8CutOnACharacter(t *testing.T) {
	for name, f := range map[string]*simulator.Fault{
		"error body":   {Status: 502, NonUTF8: true},
		"non-JSON 200": {Malformed: true, NonUTF8: true},
	} {
		t.Run(name, func(t *testing.T) {
			srv, _, _ := faultSim(t, "tok", f)
			_, err := client(t, srv.URL, "tok").Flows(t.Context(), lastHour)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !utf8.ValidString(msg) || !strings.Contains(msg, strings.Repeat("x", 150)) || strings.Contains(msg, "x\uFFFD") {
				t.Fatalf("message not valid UTF-8 or cut inside a character: %q", msg)
			}
		})
	}
}

// Items 4 and 18: the token echoed raw, URL-encoded or base64, anywhere in the text (also across
// the 200-byte cut), never reaches a message; a 401/403 that echoes it is not quoted at all.
func TestEchoedTokenIsRedactedInEveryForm(t *testing.T) {
	for _, form := range []string{"raw", "url", "base64"} {
		for _, at := range []int{0, 185} {
			for _, status := range []int{401, 500} {
				srv, _, _ := faultSim(t, secretToken, &simulator.Fault{EchoToken: form, EchoAt: at, Status: status})
				_, err := client(t, srv.URL, secretToken).Protocols(t.Context(), 3600)
				if err == nil {
					t.Fatal("no error")
				}
				msg := err.Error()
				for _, leak := range []string{secretToken, url.QueryEscape(secretToken), base64.StdEncoding.EncodeToString([]byte("Bearer " + secretToken)), secretToken[:7], url.QueryEscape(secretToken)[:9]} {
					if strings.Contains(msg, leak) {
						t.Errorf("%s echo at %d, status %d: %q leaks %q", form, at, status, msg, leak)
					}
				}
				if status == 401 && !strings.Contains(msg, "not shown: it repeats the credentials") {
					t.Errorf("401 echoing the token is quoted: %q", msg)
				}
				if status == 500 && at == 0 && (!strings.Contains(msg, "The API said: rejected credentials ") || !strings.Contains(msg, "[redacted]")) {
					t.Errorf("500 %s: the rest of the message should stay: %q", form, msg)
				}
			}
		}
	}
}

// Item 18: a short token is removed where it stands alone, not inside words.
func TestShortTokenDoesNotMangleMessages(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":"no flows found; token o is not allowed here"}`)
	}))
	defer srv.Close()
	_, err := client(t, srv.URL, "o").Protocols(t.Context(), 60)
	if err == nil || !strings.Contains(err.Error(), "The API said: no flows found; token [redacted] is not allowed here") {
		t.Fatalf("got %v", err)
	}
}

// Item 5: a password in the URL appears in no message, whatever the failure.
func TestURLPasswordNeverShown(t *testing.T) {
	const pw = "pa55-w0rd-secret"
	srv, sim, _ := faultSim(t, "tok", &simulator.Fault{Status: 500, Body: `{"error":"boom"}`})
	u, _ := url.Parse(srv.URL)
	withPw := "http://admin:" + pw + "@" + u.Host
	c := client(t, withPw, "tok")
	var msgs []string
	collect := func(err error) {
		if err == nil {
			t.Fatal("no error")
		}
		msgs = append(msgs, err.Error())
	}
	_, err := c.Flows(t.Context(), lastHour)
	collect(err)
	sim.SetFault(&simulator.Fault{Malformed: true})
	_, err = c.Flows(t.Context(), lastHour)
	collect(err)
	// A server echoing the Basic credentials Go derives from the URL.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "cannot use "+r.Header.Get("Authorization")+" with "+base64.StdEncoding.EncodeToString([]byte("admin:"+pw)))
	}))
	defer echo.Close()
	eu, _ := url.Parse(echo.URL)
	_, err = client(t, "http://admin:"+pw+"@"+eu.Host, "").Flows(t.Context(), lastHour)
	collect(err)
	// Timeout and refused connections.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer slow.Close()
	su, _ := url.Parse(slow.URL)
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = client(t, "http://admin:"+pw+"@"+su.Host, "tok").Flows(ctx, lastHour)
	collect(err)
	_, err = client(t, "http://admin:"+pw+"@127.0.0.1:1", "tok").Flows(t.Context(), lastHour)
	collect(err)
	_, err = flowsapi.New("ftp://admin:"+pw+"@host", "tok", &http.Client{}, 1)
	collect(err)
	msgs = append(msgs, c.BaseURL())
	for _, m := range msgs {
		if strings.Contains(m, pw) || strings.Contains(m, base64.StdEncoding.EncodeToString([]byte("admin:" + pw))[4:16]) {
			t.Errorf("password shown: %q", m)
		}
	}
	if !strings.Contains(c.BaseURL(), "admin:xxxxx@") {
		t.Errorf("BaseURL %q", c.BaseURL())
	}
}

// Item 3: a server that ignores offset, reporting a huge or its true total, makes a few
// requests and a read that says the server did not page.
func TestPageFlowsStopsWhenTheServerIgnoresOffset(t *testing.T) {
	huge := 1_000_000_000
	for name, f := range map[string]*simulator.Fault{
		"huge total": {IgnoreOffset: true, Total: &huge},
		"true total": {IgnoreOffset: true},
	} {
		t.Run(name, func(t *testing.T) {
			srv, _, g := faultSim(t, "tok", f)
			for _, p := range []flowsapi.FlowsParams{lastHour, {From: now.Add(-2 * time.Hour), To: now.Add(-time.Hour)}} {
				g.Total.Store(0)
				got, err := client(t, srv.URL, "tok").PageFlows(t.Context(), p, 100, 50_000)
				if err != nil {
					t.Fatal(err)
				}
				if len(got.Flows) != 100 || len(got.Problems) != 1 || !strings.Contains(got.Problems[0], "the Flows API does not page: asked for offset 100") {
					t.Fatalf("%d rows, problems %q", len(got.Flows), got.Problems)
				}
				// One page, then a second (or, for a closed range, one batch read at once).
				if n := g.Total.Load(); n > 2+int64(2*4) {
					t.Fatalf("%d requests", n)
				}
			}
		})
	}
}

// Item 15: a negative or too-small total does not cut the read short, and is reported.
func TestPageFlowsDetectsImpossibleTotals(t *testing.T) {
	srv, _, _ := faultSim(t, "tok", nil)
	want, err := client(t, srv.URL, "tok").PageFlows(t.Context(), lastHour, 100, 50_000)
	if err != nil || len(want.Flows) < 1000 || len(want.Problems) != 0 {
		t.Fatalf("reference: %v, %d rows, %q", err, len(want.Flows), want.Problems)
	}
	for _, total := range []int{-1800, 3, 150} {
		srv, _, _ := faultSim(t, "tok", &simulator.Fault{Total: &total})
		got, err := client(t, srv.URL, "tok").PageFlows(t.Context(), lastHour, 100, 50_000)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Flows) != len(want.Flows) || got.Total != len(want.Flows) || len(got.Problems) != 1 ||
			!strings.Contains(got.Problems[0], "total") {
			t.Fatalf("total %d: %d of %d rows, total %d, problems %q", total, len(got.Flows), len(want.Flows), got.Total, got.Problems)
		}
	}
}

// Item 11: records with null or empty ids are all kept (not merged into one), null entries are
// no rows.
func TestNullIDsAndNullEntries(t *testing.T) {
	srv, sim, _ := faultSim(t, "tok", nil)
	c := client(t, srv.URL, "tok")
	want, _ := c.PageFlows(t.Context(), lastHour, 100, 50_000)
	talkers, _ := c.TopTalkers(t.Context(), flowsapi.TopTalkersParams{WindowSecs: 3600, By: "bytes", Dim: "src", Limit: 10})
	protocols, _ := c.Protocols(t.Context(), 3600)
	sim.SetFault(&simulator.Fault{NullIDs: true})
	// A client of its own: the first has kept the pages it read (share.go).
	c = client(t, srv.URL, "tok")
	got, err := c.PageFlows(t.Context(), lastHour, 100, 50_000)
	if err != nil || len(got.Flows) != len(want.Flows) {
		t.Fatalf("%v: %d of %d records", err, len(got.Flows), len(want.Flows))
	}
	for i, f := range got.Flows {
		if f.ID != "" || f.SrcIP == "" {
			t.Fatalf("record %d: %+v", i, f)
		}
	}
	t2, err := c.TopTalkers(t.Context(), flowsapi.TopTalkersParams{WindowSecs: 3600, By: "bytes", Dim: "src", Limit: 10})
	if err != nil || len(t2) != len(talkers) || t2[0] != talkers[0] {
		t.Fatalf("talkers with null entries: %v %v", err, t2)
	}
	p2, err := c.Protocols(t.Context(), 3600)
	if err != nil || len(p2) != len(protocols) {
		t.Fatalf("protocols with null entries: %v %v", err, p2)
	}
}

// Item 7: one query that reads more than its budget (a huge body, a gzip bomb) fails with a
// clear message; the data source's budget stops a query that would take the others' memory,
// and is given back when queries end.
func TestByteBudgets(t *testing.T) {
	for name, f := range map[string]*simulator.Fault{
		"huge body": {PadBytes: 8 << 20},
		"gzip bomb": {GzipBomb: 64 << 20},
	} {
		t.Run(name, func(t *testing.T) {
			srv, _, _ := faultSim(t, "tok", f)
			c := client(t, srv.URL, "tok")
			c.SetLimits(flowsapi.Limits{QueryBytes: 1 << 20, InstanceBytes: 4 << 20})
			_, err := c.Protocols(t.Context(), 3600)
			var be *flowsapi.BudgetError
			if !errors.As(err, &be) || be.Instance || !strings.Contains(err.Error(), "exceed 1 MB, the most one query may read (at "+srv.URL+"/api/v1/flows/protocols): narrow the time range") {
				t.Fatalf("got %v", err)
			}
		})
	}
	srv, _, _ := faultSim(t, "tok", &simulator.Fault{PadBytes: 600 << 10})
	c := client(t, srv.URL, "tok")
	c.SetLimits(flowsapi.Limits{QueryBytes: 1 << 20, InstanceBytes: 1 << 20})
	ctx1, q1 := c.StartQuery(t.Context())
	if _, err := c.Protocols(ctx1, 3600); err != nil {
		t.Fatal(err)
	}
	ctx2, q2 := c.StartQuery(t.Context())
	_, err := c.Protocols(ctx2, 60)
	var be *flowsapi.BudgetError
	if !errors.As(err, &be) || !be.Instance || !strings.Contains(err.Error(), "the queries running on this data source together read more than 1 MB") {
		t.Fatalf("second query: %v", err)
	}
	q1.Done()
	q2.Done()
	ctx3, q3 := c.StartQuery(t.Context())
	defer q3.Done()
	if _, err := c.Protocols(ctx3, 120); err != nil {
		t.Fatalf("after the others ended: %v", err)
	}
}

// Item 8: a caller that joins an identical request in flight gives up at its own deadline.
func TestJoiningCallerKeepsItsOwnDeadline(t *testing.T) {
	release := make(chan struct{})
	var inFlight atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		<-release
		io.WriteString(w, `[]`)
	}))
	defer srv.Close()
	defer close(release)
	c := client(t, srv.URL, "tok")
	leader := make(chan error, 1)
	go func() { _, err := c.Protocols(context.Background(), 60); leader <- err }()
	for inFlight.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.Protocols(ctx, 60)
	var re *flowsapi.RequestError
	if !errors.As(err, &re) || re.Kind != flowsapi.KindTimeout {
		t.Fatalf("joining caller: %v", err)
	}
	select {
	case <-leader:
		t.Fatal("the leader finished first: the joiner did not give up on its own")
	default:
	}
}

// Item 12: a base URL with a query string or a fragment is refused, naming the part.
func TestBaseURLWithQueryOrFragmentRefused(t *testing.T) {
	for raw, part := range map[string]string{
		"https://siem.example.com/?tenant=a":   "has a query string (?tenant=a)",
		"https://siem.example.com/#/flows":     "has a fragment (#/flows)",
		"https://u:hunter22@siem.example.com?": "has a query string (?)",
	} {
		_, err := flowsapi.New(raw, "tok", &http.Client{}, 1)
		if err == nil || !strings.Contains(err.Error(), part) || strings.Contains(err.Error(), "hunter22") {
			t.Errorf("%s: %v", raw, err)
		}
	}
}

// Item 13: a redirect to another origin is not followed (the token stays home) and the error
// names both ends; within the origin redirects are followed, and errors name the final URL.
func TestRedirects(t *testing.T) {
	other, _, og := faultSim(t, "tok", nil)
	srv, sim, _ := faultSim(t, "tok", &simulator.Fault{RedirectTo: other.URL})
	c := client(t, srv.URL, "tok")
	_, err := c.Flows(t.Context(), lastHour)
	var re *flowsapi.RedirectError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), "redirected to "+other.URL+"/api/v1/flows") || !strings.Contains(err.Error(), "another host or port") {
		t.Fatalf("cross-origin redirect: %v", err)
	}
	if og.Total.Load() != 0 {
		t.Fatalf("%d requests reached the other origin", og.Total.Load())
	}
	sim.SetFault(&simulator.Fault{RedirectTo: simulator.MovedPrefix})
	if page, err := c.Flows(t.Context(), flowsapi.FlowsParams{Limit: 3}); err != nil || len(page.Flows) != 3 {
		t.Fatalf("same-origin redirect: %v", err)
	}
	final := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/final" {
			http.Redirect(w, r, "/final", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer final.Close()
	if _, err := client(t, final.URL, "tok").Protocols(t.Context(), 60); err == nil || !strings.Contains(err.Error(), final.URL+"/final") {
		t.Fatalf("error after a redirect: %v", err)
	}
}

// Item 14: one transient 502/503/504 is retried once after a back-off, and the retry is
// reported; a second failure is the answer; a canceled caller does not wait out the back-off.
func TestTransientFailureRetriedOnce(t *testing.T) {
	for _, status := range []int{502, 503, 504} {
		srv, _, g := faultSim(t, "tok", &simulator.Fault{Status: status, Count: 1})
		c := client(t, srv.URL, "tok")
		ctx, q := c.StartQuery(t.Context())
		if _, err := c.Protocols(ctx, 3600); err != nil || g.Total.Load() != 2 || len(q.Retries()) != 1 || !strings.Contains(q.Retries()[0], "retried /api/v1/flows/protocols after "+strconv.Itoa(status)) {
			t.Fatalf("%d once: %v, %d requests, retries %q", status, err, g.Total.Load(), q.Retries())
		}
		q.Done()
	}
	srv, _, g := faultSim(t, "tok", &simulator.Fault{Status: 502, Count: 2})
	if _, err := client(t, srv.URL, "tok").Protocols(t.Context(), 3600); err == nil || g.Total.Load() != 2 || !strings.Contains(err.Error(), "502 Bad Gateway") {
		t.Fatalf("twice: %v after %d requests", err, g.Total.Load())
	}
	srv, _, _ = faultSim(t, "tok", &simulator.Fault{Status: 503})
	c := client(t, srv.URL, "tok")
	flowsapi.SetBackoff(c, time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	if _, err := c.Protocols(ctx, 3600); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("canceled during back-off: %v", err)
	}
}

// A /flows page is decoded as it arrives: white space between tokens, however much, costs
// neither time nor memory and changes nothing, white space inside strings is kept, and a body
// that is not JSON stays an error (white space still separates tokens).
func TestStreamedPageKeepsWhatTheBodySays(t *testing.T) {
	pad := strings.Repeat(" \n\t", 1<<20)
	for _, c := range []struct {
		body, id string
		total    int
		bad      bool
	}{
		{body: `{"total":1,` + pad + `"flows":[` + pad + `{"id":"a  b\"  c\\","bytes":5}` + pad + `]}` + pad, id: `a  b"  c\`, total: 1},
		{body: `{"Total":2,"extra":{"x":[1, 2]},"flows":[null,{"id":" x "}]}`, id: " x ", total: 2},
		{body: `{"total":1 0,"flows":[]}`, bad: true},
		{body: `{"total":1,"flows":[]} {}`, bad: true},
		{body: `{"total":1,"flows":[{"id":"a"}]`, bad: true},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, c.body) }))
		page, err := client(t, srv.URL, "tok").Flows(t.Context(), flowsapi.FlowsParams{})
		srv.Close()
		var decErr *flowsapi.DecodeError
		switch {
		case c.bad && !errors.As(err, &decErr):
			t.Fatalf("%.40q: error %v, want a DecodeError", c.body, err)
		case c.bad:
		case err != nil:
			t.Fatalf("%.40q: %v", c.body, err)
		case page.Total != c.total || len(page.Flows) != 1 || page.Flows[0].ID != c.id:
			t.Fatalf("%.40q: total %d, flows %+v", c.body, page.Total, page.Flows)
		}
	}
}
