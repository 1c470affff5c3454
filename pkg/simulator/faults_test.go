package simulator

import (
	"compress/gzip"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// Each fault class a client must survive is reproducible with one knob.
func TestFaultClasses(t *testing.T) {
	t.Parallel()
	s := newTest(Config{})
	page := func(target string) FlowsResponse { return decode[FlowsResponse](t, get(t, s, target)) }
	first := page(PathFlows + "?limit=5")

	s.SetFault(&Fault{IgnoreOffset: true})
	if got := page(PathFlows + "?limit=5&offset=5"); got.Offset != 0 || got.Flows[0].ID != first.Flows[0].ID {
		t.Errorf("IgnoreOffset: offset %d, first id %s, want the first page", got.Offset, got.Flows[0].ID)
	}

	for _, total := range []int{1_000_000_000, 3, -1800} {
		s.SetFault(&Fault{Total: &total})
		if got := page(PathFlows + "?limit=5"); got.Total != total || len(got.Flows) != 5 {
			t.Errorf("Total %d: got %d with %d flows", total, got.Total, len(got.Flows))
		}
	}

	s.SetFault(&Fault{AbsurdTimes: true})
	if got := page(PathFlows + "?limit=5"); got.Flows[0].WindowStart != AbsurdMs || got.Flows[1].WindowStart != -AbsurdMs || got.Flows[2].WindowStart != first.Flows[2].WindowStart {
		t.Errorf("AbsurdTimes: window starts %d %d %d", got.Flows[0].WindowStart, got.Flows[1].WindowStart, got.Flows[2].WindowStart)
	}

	s.SetFault(&Fault{NullIDs: true})
	body := get(t, s, PathFlows+"?limit=3")
	if !strings.Contains(body, `"id":null`) || !strings.Contains(body, `"id":""`) || !strings.Contains(body, `,null]`) {
		t.Errorf("NullIDs /flows: %s", body)
	}
	if body := get(t, s, PathTopTalkers); !strings.HasPrefix(body, "[null,") || !strings.HasSuffix(strings.TrimSpace(body), ",null]") {
		t.Errorf("NullIDs top-talkers: %.80s", body)
	}

	s.SetFault(&Fault{LongStrings: 1000})
	if got := page(PathFlows + "?limit=1"); len(got.Flows[0].ID) < 1000 || !utf8.ValidString(got.Flows[0].ID) {
		t.Errorf("LongStrings: id of %d bytes", len(got.Flows[0].ID))
	}

	s.SetFault(&Fault{NonUTF8: true})
	if body := get(t, s, PathProtocols); utf8.ValidString(body) || !strings.Contains(body, "TCP\xff\xfe") {
		t.Errorf("NonUTF8 data: %.80q", body)
	}
	s.SetFault(&Fault{NonUTF8: true, Status: 502})
	if r := do(s, http.MethodGet, PathFlows, tok); r.status != 502 || utf8.ValidString(r.body) || utf8.RuneStart(r.body[200]) {
		t.Errorf("NonUTF8 error: %d %.80q", r.status, r.body)
	}

	s.SetFault(&Fault{PadBytes: 1 << 20})
	if body := get(t, s, PathProtocols); len(body) < 1<<20 || decode[[]ProtocolStat](t, body) == nil {
		t.Errorf("PadBytes: %d bytes", len(body))
	}

	s.SetFault(&Fault{GzipBomb: 8 << 20})
	r := do(s, http.MethodGet, PathProtocols, tok)
	zr, err := gzip.NewReader(strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	inflated, _ := io.ReadAll(zr)
	if r.header.Get("Content-Encoding") != "gzip" || len(r.body) > 64<<10 || len(inflated) < 8<<20 || decode[[]ProtocolStat](t, string(inflated)) == nil {
		t.Errorf("GzipBomb: %d bytes inflating to %d", len(r.body), len(inflated))
	}

	s.SetFault(&Fault{Status: 503, Count: 1})
	if a, b := do(s, http.MethodGet, PathFlows, tok).status, do(s, http.MethodGet, PathFlows, tok).status; a != 503 || b != 200 {
		t.Errorf("transient: %d then %d", a, b)
	}
}

func TestFaultEchoesTheToken(t *testing.T) {
	t.Parallel()
	s := newTest(Config{})
	for form, want := range map[string]string{
		"raw":    tok,
		"url":    url.QueryEscape(tok),
		"base64": base64.StdEncoding.EncodeToString([]byte("Bearer " + tok)),
	} {
		s.SetFault(&Fault{EchoToken: form, EchoAt: 190})
		r := do(s, http.MethodGet, PathFlows, tok)
		if r.status != 401 || !strings.Contains(r.body, want) || strings.Index(r.body, want) < 190 {
			t.Errorf("%s: %d %q", form, r.status, r.body)
		}
	}
}

func TestFaultRedirects(t *testing.T) {
	t.Parallel()
	s := newTest(Config{Fault: &Fault{RedirectTo: "http://other.example:81"}})
	r := do(s, http.MethodGet, PathFlows+"?limit=1", tok)
	if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != "http://other.example:81"+PathFlows+"?limit=1" {
		t.Errorf("redirect: %d %q", r.status, r.header.Get("Location"))
	}
	s.SetFault(&Fault{RedirectTo: MovedPrefix})
	if loc := do(s, http.MethodGet, PathFlows, tok).header.Get("Location"); loc != MovedPrefix+PathFlows {
		t.Errorf("same origin: %q", loc)
	}
	if got := decode[FlowsResponse](t, get(t, s, MovedPrefix+PathFlows+"?limit=2")); len(got.Flows) != 2 {
		t.Errorf("the API under %s: %d flows", MovedPrefix, len(got.Flows))
	}
}
