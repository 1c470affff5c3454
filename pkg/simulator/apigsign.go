package simulator

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"
)

// Huawei Cloud API Gateway request signing (AK/SK, "SDK-HMAC-SHA256"), verified from the
// published algorithm:
//
//	CanonicalRequest = METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
//	                   SignedHeaders \n hex(sha256(body))
//	StringToSign     = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(CanonicalRequest))
//	Signature        = hex(hmac-sha256(SK, StringToSign))
//	Authorization: SDK-HMAC-SHA256 Access=AK, SignedHeaders=h1;h2, Signature=…
//
// CanonicalURI escapes each path segment (everything but A–Z a–z 0–9 - _ . ~ as %XX) and
// ends with "/"; CanonicalQuery is key=value pairs, escaped the same way, sorted by key then
// value and joined by "&"; CanonicalHeaders is "name:trimmed value\n" for each signed header
// (lower-case names, sorted). A body hash of "UNSIGNED-PAYLOAD" in X-Sdk-Content-Sha256
// stands for the body's hash.

const (
	apigAlgorithm  = "SDK-HMAC-SHA256"
	apigDateHeader = "X-Sdk-Date"
	apigDateFormat = "20060102T150405Z"
	apigBodyHeader = "X-Sdk-Content-Sha256"
	// apigMaxSkew is how far X-Sdk-Date may be from the server's clock.
	apigMaxSkew = 15 * time.Minute
)

func apigEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}

// apigAuth is a parsed Authorization header.
type apigAuth struct {
	access        string
	signedHeaders []string
	signature     string
}

func parseAPIGAuth(h string) (apigAuth, error) {
	alg, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || alg != apigAlgorithm {
		return apigAuth{}, errors.New("unsupported signing algorithm (want " + apigAlgorithm + ")")
	}
	var a apigAuth
	for _, part := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Access":
			a.access = v
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	if a.access == "" || len(a.signedHeaders) == 0 || a.signature == "" {
		return apigAuth{}, errors.New("Authorization must carry Access, SignedHeaders and Signature")
	}
	return a, nil
}

// apigCanonicalRequest rebuilds the canonical request of r for the given signed headers.
func apigCanonicalRequest(r *http.Request, signed []string, body []byte) string {
	segs := strings.Split(r.URL.Path, "/")
	for i, s := range segs {
		segs[i] = apigEscape(s)
	}
	uri := strings.Join(segs, "/")
	if !strings.HasSuffix(uri, "/") {
		uri += "/"
	}

	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pairs []string
	for _, k := range keys {
		vals := slices.Clone(q[k])
		sort.Strings(vals)
		for _, v := range vals {
			pairs = append(pairs, apigEscape(k)+"="+apigEscape(v))
		}
	}

	var hdrs strings.Builder
	for _, name := range signed {
		var vals []string
		if name == "host" {
			vals = []string{r.Host}
		} else {
			vals = slices.Clone(r.Header.Values(name))
		}
		sort.Strings(vals)
		for _, v := range vals {
			hdrs.WriteString(name + ":" + strings.TrimSpace(v) + "\n")
		}
	}

	bodyHash := r.Header.Get(apigBodyHeader)
	if bodyHash == "" {
		sum := sha256.Sum256(body)
		bodyHash = hex.EncodeToString(sum[:])
	}
	return strings.Join([]string{r.Method, uri, strings.Join(pairs, "&"), hdrs.String(), strings.Join(signed, ";"), bodyHash}, "\n")
}

// verifyAPIGSignature checks r's AK/SK signature against the known key pairs (AK → SK) at
// the wall-clock time now. It returns the reason for a rejection, never a key.
func verifyAPIGSignature(r *http.Request, keys map[string]string, now time.Time) error {
	a, err := parseAPIGAuth(r.Header.Get("Authorization"))
	if err != nil {
		return err
	}
	for _, h := range a.signedHeaders {
		if h != strings.ToLower(h) {
			return errors.New("SignedHeaders must be lower case")
		}
	}
	// The official SDK signs x-sdk-date, x-project-id and user-agent, but not host.
	if !slices.Contains(a.signedHeaders, "x-sdk-date") {
		return errors.New("SignedHeaders must include x-sdk-date")
	}
	date := r.Header.Get(apigDateHeader)
	t, err := time.Parse(apigDateFormat, date)
	if err != nil {
		return errors.New("X-Sdk-Date is missing or not in the format " + apigDateFormat)
	}
	if d := now.Sub(t); d > apigMaxSkew || d < -apigMaxSkew {
		return errors.New("the request has expired: X-Sdk-Date is more than 15 minutes from the server time")
	}
	sk, ok := keys[a.access]
	if !ok {
		return errors.New("the access key does not exist")
	}
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(io.LimitReader(r.Body, 1<<20))
	}
	cr := apigCanonicalRequest(r, a.signedHeaders, body)
	crSum := sha256.Sum256([]byte(cr))
	sts := apigAlgorithm + "\n" + date + "\n" + hex.EncodeToString(crSum[:])
	mac := hmac.New(sha256.New, []byte(sk))
	mac.Write([]byte(sts))
	want := hex.EncodeToString(mac.Sum(nil))
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(a.signature))) != 1 {
		return errors.New("verify aksk signature fail")
	}
	return nil
}
