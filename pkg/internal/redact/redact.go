// Package redact removes secrets from text a server sends back (error messages, bodies) before
// the plugin shows it: in the forms a server or proxy may echo them (raw, URL-encoded,
// base64 in either alphabet, with or without padding, and inside a longer base64 text such as
// an echoed "Basic …" or "trustgrid-token ID:SECRET" header).
package redact

import (
	"encoding/base64"
	"net/url"
	"strings"
)

// Mark replaces a secret.
const Mark = "[redacted]"

// minSecret is the shortest secret removed: shorter strings occur inside ordinary words.
const minSecret = 6

// Redactor removes a fixed set of secrets.
type Redactor struct{ forms []string }

// New returns a redactor for secrets; empty and very short ones are ignored.
func New(secrets ...string) *Redactor {
	r := &Redactor{}
	seen := map[string]bool{}
	add := func(f string) {
		if len(f) >= minSecret && !seen[f] {
			seen[f] = true
			r.forms = append(r.forms, f)
		}
	}
	for _, s := range secrets {
		if len(s) < minSecret {
			continue
		}
		add(s)
		add(url.QueryEscape(s))
		add(url.PathEscape(s))
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			add(enc.EncodeToString([]byte(s)))
			raw := enc.WithPadding(base64.NoPadding)
			add(raw.EncodeToString([]byte(s)))
			// Preceded by k other bytes, the secret determines these characters alone.
			for k := range 3 {
				full := raw.EncodeToString(append(make([]byte, k), s...))
				first, last := (8*k+5)/6, 8*(k+len(s))/6
				if last-first >= minSecret && last <= len(full) {
					add(full[first:last])
				}
			}
		}
	}
	// Longest first, so that a form inside another is not replaced half-way.
	for i := 1; i < len(r.forms); i++ {
		for j := i; j > 0 && len(r.forms[j]) > len(r.forms[j-1]); j-- {
			r.forms[j], r.forms[j-1] = r.forms[j-1], r.forms[j]
		}
	}
	return r
}

// Clean returns text without any form of the secrets.
func (r *Redactor) Clean(text string) string {
	if r == nil {
		return text
	}
	for _, f := range r.forms {
		text = strings.ReplaceAll(text, f, Mark)
	}
	return text
}
