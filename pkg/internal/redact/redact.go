// Package redact keeps secrets and broken text out of what users see: text a server sends back
// (or any text the plugin is about to show) loses every form of a secret, becomes valid UTF-8
// and is cut on a character boundary.
package redact

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Text a server sends back is shown to users (query errors, health, Grafana's log), so it is
// cleaned first: secrets out, valid UTF-8, cut on a character boundary. Cleaning
// happens on the whole assembled text, before it is cut, so that a secret straddling the cut
// cannot leave half of itself behind.

// minSubstringSecret is the shortest secret removed wherever it occurs. A shorter one (a
// test token of a few letters) also occurs inside ordinary words, so it is removed only where
// it stands alone, between characters that cannot be part of a token: removing it everywhere
// would turn "no flows found" into "n[redacted] flows f[redacted]und".
const minSubstringSecret = 8

// Mark replaces a secret.
const Mark = "[redacted]"

const redacted = Mark

// Redactor removes secrets (the API token, the password of the URL) from text, in the forms a
// server or proxy may echo them: raw, URL-encoded, base64 (standard and URL alphabets, at any
// alignment inside a longer base64 text such as an echoed "Bearer <token>" or "user:password").
type Redactor struct {
	long  []string // forms removed wherever they occur
	short []string // forms removed where they stand alone
}

func New(secrets ...string) *Redactor {
	r := &Redactor{}
	seen := map[string]bool{}
	add := func(form string, long bool) {
		if form == "" || seen[form] {
			return
		}
		seen[form] = true
		if long {
			r.long = append(r.long, form)
		} else {
			r.short = append(r.short, form)
		}
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		long := len(s) >= minSubstringSecret
		for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s), strings.ToLower(url.QueryEscape(s))} {
			add(form, long)
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			add(enc.EncodeToString([]byte(s)), long)
			add(enc.WithPadding(base64.NoPadding).EncodeToString([]byte(s)), long)
			// Inside a longer base64 text the secret's bytes start at any of three alignments;
			// the characters they alone determine are the same whatever surrounds them.
			for k := range 3 {
				if core := base64Core(enc, s, k); len(core) >= minSubstringSecret {
					add(core, true)
				}
			}
		}
	}
	// Longest first, so that a form inside another is not replaced half-way.
	slices.SortStableFunc(r.long, func(a, b string) int { return len(b) - len(a) })
	slices.SortStableFunc(r.short, func(a, b string) int { return len(b) - len(a) })
	return r
}

// base64Core is the part of the base64 encoding of s, preceded by k other bytes, that only s
// determines.
func base64Core(enc *base64.Encoding, s string, k int) string {
	full := enc.WithPadding(base64.NoPadding).EncodeToString(append(make([]byte, k), s...))
	first := (8*k + 5) / 6         // first character whose bits all come from s
	last := (8 * (k + len(s))) / 6 // characters before this one end within s
	if first >= last || last > len(full) {
		return ""
	}
	return full[first:last]
}

// Contains says whether text holds a secret in any form.
func (r *Redactor) Contains(text string) bool {
	return r.Clean(text) != text
}

// Clean removes every secret from text.
func (r *Redactor) Clean(text string) string {
	if r == nil {
		return text
	}
	for _, form := range r.long {
		text = strings.ReplaceAll(text, form, redacted)
	}
	for _, form := range r.short {
		text = replaceStandalone(text, form)
	}
	return text
}

// Valid is s as valid UTF-8, with the secrets removed: for text that is not cut (frame values,
// messages the plugin composed).
func (r *Redactor) Valid(s string) string {
	if r == nil {
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	return r.Clean(strings.ToValidUTF8(s, "\uFFFD"))
}

// replaceStandalone replaces the occurrences of form not preceded or followed by a character
// that may be part of a token.
func replaceStandalone(text, form string) string {
	var b strings.Builder
	rest := text
	for {
		i := strings.Index(rest, form)
		if i < 0 {
			b.WriteString(rest)
			return b.String()
		}
		before, _ := utf8.DecodeLastRuneInString(b.String() + rest[:i])
		after, _ := utf8.DecodeRuneInString(rest[i+len(form):])
		b.WriteString(rest[:i])
		if (i == 0 && b.Len() == 0 || !tokenChar(before)) && (i+len(form) == len(rest) || !tokenChar(after)) {
			b.WriteString(redacted)
		} else {
			b.WriteString(form)
		}
		rest = rest[i+len(form):]
	}
}

func tokenChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~+/=%", r)
}

// MaxSnippet bounds the server text quoted in an error.
const MaxSnippet = 200

// Shown is server text as an error may quote it: secrets removed, whitespace collapsed,
// invalid UTF-8 replaced, cut at MaxSnippet bytes on a character boundary.
func (r *Redactor) Shown(text string) string {
	text = r.Clean(strings.ToValidUTF8(text, "\uFFFD"))
	// Collapsing whitespace may join a secret that contains some; clean again.
	text = r.Clean(strings.Join(strings.Fields(text), " "))
	return Cut(text, MaxSnippet)
}

// Cut shortens s to at most n bytes (plus an ellipsis) without splitting a character.
func Cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// ShownStart is Shown for the start of a longer text (cut says whether it was): a secret the
// cut split would escape Clean, so a tail that could begin one of the secret's forms is left
// out before the text is cut.
func (r *Redactor) ShownStart(start string, cut bool) string {
	text := r.Clean(strings.ToValidUTF8(start, "\uFFFD"))
	if cut && r != nil {
		end := len(text)
		for _, form := range slices.Concat(r.long, r.short) {
			for k := min(len(form)-1, len(text)); k > 0; k-- {
				if strings.HasSuffix(text, form[:k]) {
					end = min(end, len(text)-k)
					break
				}
			}
		}
		text = text[:end]
	}
	return r.Shown(text)
}
