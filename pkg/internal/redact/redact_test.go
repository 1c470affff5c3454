package redact

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

// Whatever text surrounds an echoed secret, in whichever form, what a user is shown is valid
// UTF-8, at most MaxSnippet bytes (plus an ellipsis), and holds no form of the secret.
func FuzzShownText(f *testing.F) {
	f.Add("invalid token ", " for /api/v1/flows", "s3cr+t/T0ken=9f", uint8(0))
	f.Add(strings.Repeat("x", 190), "\xff\xfe tail", "s3cr+t/T0ken=9f", uint8(1))
	f.Add("Authorization: ", "", "abcdefgh", uint8(2))
	f.Add("é", strings.Repeat("é", 150), "tok-3f9a1c77e2b54d08a6-secret", uint8(3))
	f.Fuzz(func(t *testing.T, before, after, secret string, form uint8) {
		if len(secret) < minSubstringSecret || !utf8.ValidString(secret) || strings.ContainsFunc(secret, func(r rune) bool { return r <= ' ' }) {
			return
		}
		forms := []string{
			secret,
			url.QueryEscape(secret),
			base64.StdEncoding.EncodeToString([]byte("Bearer " + secret)),
			base64.URLEncoding.EncodeToString([]byte("user:" + secret)),
		}
		echo := forms[int(form)%len(forms)]
		got := New(secret).Shown(before + echo + after)
		if !utf8.ValidString(got) {
			t.Fatalf("not UTF-8: %q", got)
		}
		if len(got) > MaxSnippet+len("…") {
			t.Fatalf("%d bytes", len(got))
		}
		for _, leak := range []string{secret, url.QueryEscape(secret)} {
			if strings.Contains(got, leak) {
				t.Fatalf("%q holds %q", got, leak)
			}
		}
	})
}

func TestCutKeepsCharactersWhole(t *testing.T) {
	s := strings.Repeat("x", 199) + "éé"
	if got := Cut(s, 200); got != strings.Repeat("x", 199)+"…" {
		t.Fatalf("%q", got)
	}
}

func TestCleanRemovesEveryForm(t *testing.T) {
	const secret = "s3cr+t/Key=42"
	r := New(secret, "", "abc")
	for _, echoed := range []string{
		"bad credential " + secret,
		"in the query: key=" + url.QueryEscape(secret),
		"in a path: /x/" + url.PathEscape(secret),
		"std: " + base64.StdEncoding.EncodeToString([]byte(secret)),
		"url: " + base64.URLEncoding.EncodeToString([]byte(secret)),
		"inside: Basic " + base64.StdEncoding.EncodeToString([]byte("client-id:"+secret)),
		"inside, shifted: " + base64.StdEncoding.EncodeToString([]byte("id:"+secret+" tail")),
		"inside, shifted once more: " + base64.RawURLEncoding.EncodeToString([]byte("i:"+secret)),
	} {
		got := r.Clean(echoed)
		if strings.Contains(got, secret) || !strings.Contains(got, Mark) {
			t.Errorf("%q → %q", echoed, got)
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			if s := enc.EncodeToString([]byte(secret)); strings.Contains(got, s[:len(s)-4]) {
				t.Errorf("%q → %q still holds base64 of the secret", echoed, got)
			}
		}
	}
	if got := New("abc").Clean("abc is too short to be removed from words like cabcab"); !strings.Contains(got, "abc") {
		t.Errorf("short secret removed: %q", got)
	}
	var nilR *Redactor
	if nilR.Clean("x") != "x" {
		t.Error("nil redactor changed text")
	}
}

// The start of a longer body (what is kept of a streamed answer) never shows the part of a
// secret that the cut left behind, however long the secret and wherever the cut falls.
func TestShownStartHoldsNoHalfSecret(t *testing.T) {
	secret := strings.Repeat("Zq7", 400) // a 1,200-character token
	r := New(secret)
	body := strings.Repeat(secret+" ", 3) + "tail"
	for cut := 1; cut < len(body); cut += 37 {
		got := r.ShownStart(body[:cut], true)
		if strings.Contains(got, "Zq7Zq7") {
			t.Fatalf("cut at %d: %q holds part of the secret", cut, got)
		}
	}
	if got := r.ShownStart("not json: "+secret+" end", false); got != "not json: "+Mark+" end" {
		t.Fatalf("whole text: %q", got)
	}
	if got := r.ShownStart("not json, and long", true); got != "not json, and long" {
		t.Fatalf("text without a secret: %q", got)
	}
}
