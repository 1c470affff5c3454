package redact

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

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
