package simulator

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// The fault knobs beyond Status/Body/Malformed reproduce what real servers and proxies were
// seen to do to a client (see the package documentation, "Faults and latency"). They split in
// two kinds:
//
//   - error faults replace the answer (Status, Body, Malformed, EchoToken, RedirectTo, and
//     NonUTF8 together with one of those);
//   - data faults let the endpoint answer as usual and then alter that answer (IgnoreOffset,
//     Total, AbsurdTimes, NullIDs, LongStrings, PadBytes, GzipBomb, and NonUTF8 alone).

// isDataFault says whether f alters a normal answer rather than replacing it.
func (f *Fault) isDataFault() bool {
	if f.Status != 0 || f.Body != "" || f.Malformed || f.EchoToken != "" || f.RedirectTo != "" {
		return false
	}
	return f.IgnoreOffset || f.Total != nil || f.AbsurdTimes || f.NullIDs || f.LongStrings > 0 ||
		f.PadBytes > 0 || f.GzipBomb > 0 || f.NonUTF8
}

// AbsurdMs is the window_start the AbsurdTimes fault gives records (and its negative): about
// 285,000 years from the epoch, well inside int64 milliseconds.
const AbsurdMs = 9_000_000_000_000_000

// invalidUTF8 are bytes that are never valid in UTF-8.
const invalidUTF8 = "\xff\xfe"

// nonUTF8Text is an error text with a two-byte character straddling byte 200 (where clients
// cut snippets) and bytes that are not UTF-8.
var nonUTF8Text = strings.Repeat("x", 199) + "é upstream said " + invalidUTF8 + " and gave up"

// echoToken renders the token as a server that echoes the request would: raw, URL-encoded
// or base64 (standard alphabet, of the whole Authorization value, as a proxy logging it would).
func echoToken(form, token string) string {
	switch form {
	case "url":
		return url.QueryEscape(token)
	case "base64":
		return base64.StdEncoding.EncodeToString([]byte("Bearer " + token))
	default:
		return token
	}
}

// faultBody is the body an error fault answers with.
func (s *Server) faultBody(r *http.Request, path string, f *Fault) (status int, body, contentType string) {
	status, body = f.Status, f.Body
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if f.Malformed {
		status = http.StatusOK
		if body == "" {
			switch path {
			case PathFlows:
				body = `{"total":4821,"offset":0,"limit":50,"flows":[{"id":"f8d72a0c19e4b3d5","timestamp":17763408`
			case PathTopTalkers:
				body = `[{"key":"10.0.0.5","bytes":4823091823,"packets":39210`
			default:
				body = `[{"protocol":"TCP","bytes":18390482192,"pack`
			}
		}
	}
	if f.EchoToken != "" {
		// What the client sent, echoed back: the echo starts EchoAt characters into the text.
		_, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		body = strings.Repeat("x", f.EchoAt) + " rejected credentials " + echoToken(f.EchoToken, strings.TrimSpace(tok)) + " for " + path
		if f.Status == 0 {
			status = http.StatusUnauthorized
		}
	}
	if f.NonUTF8 {
		body = nonUTF8Text + body
	}
	if body == "" {
		body = `{"error":"injected fault"}`
	}
	contentType = "application/json"
	if !f.Malformed && !json.Valid([]byte(body)) {
		contentType = http.DetectContentType([]byte(body))
	}
	return status, body, contentType
}

// bufferedWriter keeps an endpoint's answer so that a data fault can alter it.
type bufferedWriter struct {
	header http.Header
	status int
	buf    bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.buf.Write(p)
}

// serveDataFault lets route answer r, then alters a 200 answer as f says.
func (s *Server) serveDataFault(w http.ResponseWriter, r *http.Request, f *Fault) {
	if f.IgnoreOffset && r.URL.Path == PathFlows {
		q := r.URL.Query()
		q.Del("offset")
		r.URL.RawQuery = q.Encode()
	}
	bw := &bufferedWriter{header: w.Header()}
	s.route(bw, r)
	body := bw.buf.Bytes()
	if bw.status != http.StatusOK {
		w.WriteHeader(bw.status)
		_, _ = w.Write(body)
		return
	}
	body = alterJSON(body, f)
	w.Header().Del("Content-Length")
	if f.GzipBomb > 0 {
		w.Header().Set("Content-Encoding", "gzip")
		w.WriteHeader(http.StatusOK)
		writeGzipBomb(w, body, f.GzipBomb)
		return
	}
	w.WriteHeader(http.StatusOK)
	if f.PadBytes > 0 && len(body) > 0 {
		// The padding goes inside the outer JSON value, so that the body stays valid JSON.
		_, _ = w.Write(body[:1])
		writeSpaces(w, f.PadBytes)
		body = body[1:]
	}
	_, _ = w.Write(body)
}

// marker stands for invalid UTF-8 while the altered answer is encoded (encoding/json would
// replace the bytes themselves with U+FFFD): a string gets "\x01NONUTF8", which encodes as
// the text of encodedMarker, which the encoded answer then has replaced.
const (
	marker        = "\x01NONUTF8"
	encodedMarker = `\u0001NONUTF8`
)

// alterJSON applies the faults that change values: totals, times, ids, strings.
func alterJSON(body []byte, f *Fault) []byte {
	if f.Total == nil && !f.AbsurdTimes && !f.NullIDs && f.LongStrings <= 0 && !f.NonUTF8 {
		return body
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return body
	}
	switch t := v.(type) {
	case map[string]any: // /flows
		if f.Total != nil {
			t["total"] = json.Number(strconv.Itoa(*f.Total))
		}
		flows, _ := t["flows"].([]any)
		for i, fl := range flows {
			rec, ok := fl.(map[string]any)
			if !ok {
				continue
			}
			if f.AbsurdTimes && i < 2 {
				// One record far in the future, one far in the past.
				ms := json.Number(strconv.FormatInt(AbsurdMs*int64(1-2*i), 10))
				rec["window_start"], rec["first_seen_ms"] = ms, ms
			}
			if f.NullIDs {
				rec["id"] = nil
				if i%2 == 1 {
					rec["id"] = ""
				}
			}
		}
		if f.NullIDs && len(flows) > 0 {
			t["flows"] = append(flows, nil)
		}
	case []any: // top-talkers, protocols
		if f.NullIDs {
			v = append([]any{nil}, append(t, nil)...)
		}
	}
	v = alterStrings(v, f)
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) != nil {
		return body
	}
	return bytes.ReplaceAll(out.Bytes(), []byte(encodedMarker), []byte(invalidUTF8))
}

// alterStrings lengthens and spoils the text values (ids, addresses, names) in v.
func alterStrings(v any, f *Fault) any {
	switch t := v.(type) {
	case string:
		if f.LongStrings > 0 {
			// Two-byte characters, so that any byte limit may fall inside one.
			t += strings.Repeat("é", (f.LongStrings+1)/2)
		}
		if f.NonUTF8 {
			t += marker
		}
		return t
	case map[string]any:
		for k, x := range t {
			t[k] = alterStrings(x, f)
		}
	case []any:
		for i, x := range t {
			t[i] = alterStrings(x, f)
		}
	}
	return v
}

// writeSpaces writes n bytes of JSON whitespace.
func writeSpaces(w io.Writer, n int64) {
	chunk := bytes.Repeat([]byte{' '}, 64<<10)
	for n > 0 {
		k := min(n, int64(len(chunk)))
		if _, err := w.Write(chunk[:k]); err != nil {
			return
		}
		n -= k
	}
}

// spacesMember is one gzip member inflating to a megabyte of spaces (about a kilobyte):
// compressing it once is cheap, and a bomb of any size is that member repeated.
var spacesMember = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	writeSpaces(zw, 1<<20)
	_ = zw.Close()
	return b.Bytes()
})

func writeGzipBomb(w io.Writer, body []byte, n int64) {
	member := func(p []byte) []byte {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
		_, _ = zw.Write(p)
		_ = zw.Close()
		return b.Bytes()
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	_, _ = w.Write(member(body[:1]))
	for range (n + 1<<20 - 1) >> 20 {
		if _, err := w.Write(spacesMember()); err != nil {
			return
		}
	}
	_, _ = w.Write(member(body[1:]))
}
