package simulator

import (
	"bytes"
	"cmp"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Endpoint paths.
const (
	PathFlows      = "/api/v1/flows"
	PathTopTalkers = "/api/v1/flows/top-talkers"
	PathProtocols  = "/api/v1/flows/protocols"
)

// MovedPrefix is a second home of the API, without faults: Fault{RedirectTo: MovedPrefix}
// redirects within the same origin.
const MovedPrefix = "/moved"

// Defaults applied by New to zero Config fields.
const (
	DefaultToken          = "demo-token"
	DefaultSeed           = 1
	DefaultFlowsPerMinute = 40
	DefaultHistory        = 24 * time.Hour
	DefaultMaxLimit       = 1000
)

// Config configures a Server. Zero values get the defaults.
type Config struct {
	Token          string                           // bearer token required on every request; default "demo-token"
	Seed           int64                            // default 1
	FlowsPerMinute int                              // mean records per 60 s window; default 40
	History        time.Duration                    // how far back data exists from now (rolling); default 24h
	MaxLimit       int                              // server-side cap on limit for /flows and top-talkers; default 1000
	Latency        time.Duration                    // added to every response
	Now            func() time.Time                 // clock; default time.Now
	Idle           func(windowStart time.Time) bool // windows without traffic; nil = none
	Fault          *Fault                           // injected fault; nil = none
	Log            io.Writer                        // request log; default os.Stderr (io.Discard silences it)
	APIs           []string                         // API faces served (APIFlows, APITrustgrid, APIHuaweiCFW); empty = all
	Trustgrid      TrustgridConfig                  // the Trustgrid face
	HuaweiCFW      HuaweiCFWConfig                  // the Huawei Cloud Firewall face
	// TopTalkersMaxLimit caps limit on /top-talkers alone, below MaxLimit; default MaxLimit.
	TopTalkersMaxLimit int
	// ClockOffset is how far the server's clock is ahead of Now (negative: behind). The
	// server's now decides which windows are published and where look-backs end.
	ClockOffset time.Duration
	// Retention drops windows older than now - Retention from the index although History
	// reaches further; default History.
	Retention time.Duration
	// NoDateHeader leaves the Date header out of every answer (a proxy that strips it), so
	// that a client knows the server's clock only from the newest window it holds.
	NoDateHeader bool
}

// Fault is an injected failure, see the package documentation.
type Fault struct {
	Status     int           // HTTP status to answer with; default 500
	RetryAfter time.Duration // if > 0, a Retry-After header (seconds, rounded up)
	Body       string        // raw body; default {"error":"injected fault"}
	Malformed  bool          // answer 200 with a truncated JSON body instead
	Paths      []string      // endpoint paths affected; empty = all
	Count      int           // only the first Count matching requests fail; 0 = all

	// Error faults beyond Status and Body (faults.go).
	EchoToken  string // "raw", "url" or "base64": the body echoes the request's token in that form; status default 401
	EchoAt     int    // the echo starts after this many characters of text (to straddle a client's cut)
	RedirectTo string // answer 307 with Location RedirectTo + the request URI (another origin, or a path)
	NonUTF8    bool   // with an error fault: its body starts with text holding invalid UTF-8 and a character across byte 200

	// Data faults: the endpoint answers as usual, then the answer is altered (faults.go).
	// NonUTF8 alone puts invalid UTF-8 into every text value of the answer.
	IgnoreOffset bool  // /flows answers every offset with the first page (the response says offset 0)
	Total        *int  // /flows reports this total (huge, too small, negative) instead of the true one
	AbsurdTimes  bool  // /flows: the first record has window_start +AbsurdMs, the second -AbsurdMs
	NullIDs      bool  // /flows: ids null or empty and a null record; aggregates: null rows first and last
	LongStrings  int   // every text value grows by this many bytes (two-byte characters)
	PadBytes     int64 // this many bytes of whitespace inside the JSON (a huge body)
	GzipBomb     int64 // the answer is gzip-encoded and inflates to this many bytes more (whole MB)
}

// Server is the Flows API simulator; it is an http.Handler.
type Server struct {
	cfg Config
	gen *generator
	log *log.Logger

	mu     sync.Mutex
	cache  map[int64]*window
	snap   *snapshot
	ix     *index
	sorted *sortedEntry // the last by-metric selection, shared by the pages of one read
	oldest int64        // first published minute seen so far

	faultMu   sync.Mutex
	fault     *Fault
	faultHits int

	alerts alertSink
}

// New returns a Server for cfg, with defaults applied.
func New(cfg Config) *Server {
	if cfg.Token == "" {
		cfg.Token = DefaultToken
	}
	if cfg.Seed == 0 {
		cfg.Seed = DefaultSeed
	}
	if cfg.FlowsPerMinute <= 0 {
		cfg.FlowsPerMinute = DefaultFlowsPerMinute
	}
	if cfg.History <= 0 {
		cfg.History = DefaultHistory
	}
	if cfg.MaxLimit <= 0 {
		cfg.MaxLimit = DefaultMaxLimit
	}
	if cfg.TopTalkersMaxLimit <= 0 || cfg.TopTalkersMaxLimit > cfg.MaxLimit {
		cfg.TopTalkersMaxLimit = cfg.MaxLimit
	}
	if cfg.Retention < 0 {
		cfg.Retention = 0
	}
	if cfg.Latency < 0 {
		cfg.Latency = 0
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	tg := &cfg.Trustgrid
	tg.ClientID = cmp.Or(tg.ClientID, DefaultTrustgridClientID)
	tg.Secret = cmp.Or(tg.Secret, DefaultTrustgridSecret)
	tg.JWT = cmp.Or(tg.JWT, DefaultTrustgridJWT)
	if tg.MaxLimit <= 0 {
		tg.MaxLimit = DefaultTrustgridMaxLimit
	}
	hw := &cfg.HuaweiCFW
	hw.ProjectID = cmp.Or(hw.ProjectID, DefaultCFWProjectID)
	hw.FwInstanceID = cmp.Or(hw.FwInstanceID, DefaultCFWFwInstanceID)
	hw.AccessKey = cmp.Or(hw.AccessKey, DefaultCFWAccessKey)
	hw.SecretKey = cmp.Or(hw.SecretKey, DefaultCFWSecretKey)
	hw.IAMToken = cmp.Or(hw.IAMToken, DefaultCFWIAMToken)
	if hw.SignClock == nil {
		hw.SignClock = time.Now
	}
	gen := newGenerator(cfg.Seed, cfg.FlowsPerMinute, cfg.Idle)
	s := &Server{
		cfg:    cfg,
		gen:    gen,
		ix:     newIndex(gen),
		oldest: math.MinInt64,
		log:    log.New(cfg.Log, "flows-simulator: ", log.LstdFlags|log.Lmicroseconds),
		cache:  map[int64]*window{},
	}
	s.SetFault(cfg.Fault)
	return s
}

// SetFault replaces the injected fault (nil removes it) and restarts its Count.
// It is safe to call while requests are served.
func (s *Server) SetFault(f *Fault) {
	var c *Fault
	if f != nil {
		cp := *f
		cp.Paths = append([]string(nil), f.Paths...)
		c = &cp
	}
	s.faultMu.Lock()
	s.fault, s.faultHits = c, 0
	s.faultMu.Unlock()
}

// activeFault returns the fault to apply to a request for path, counting it.
func (s *Server) activeFault(path string) *Fault {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	f := s.fault
	if f == nil {
		return nil
	}
	if len(f.Paths) > 0 {
		found := false
		for _, p := range f.Paths {
			if p == path {
				found = true
				break
			}
		}
		if !found {
			return nil
		}
	}
	if f.Count > 0 && s.faultHits >= f.Count {
		return nil
	}
	s.faultHits++
	return f
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w := &statusWriter{ResponseWriter: rw}
	defer func() {
		uri := r.URL.RequestURI()
		if t := s.cfg.Token; t != "" {
			uri = strings.ReplaceAll(uri, t, "REDACTED")
			uri = strings.ReplaceAll(uri, url.QueryEscape(t), "REDACTED")
		}
		s.log.Printf("%s %s %d %s", r.Method, uri, w.status, time.Since(start).Round(time.Microsecond))
	}()

	if d := s.cfg.Latency; d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			w.status = 499 // client went away; nothing is written
			return
		}
	}

	if r.URL.Path == PathDemoAlerts {
		s.handleDemoAlerts(w, r)
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, MovedPrefix); ok {
		// Where a same-origin RedirectTo sends clients: the API itself, without faults.
		r.URL.Path = rest
		s.route(w, r)
		return
	}
	if f := s.activeFault(r.URL.Path); f != nil {
		if f.isDataFault() {
			s.serveDataFault(w, r, f)
			return
		}
		s.writeFault(w, r, f)
		return
	}
	s.route(w, r)
}

// route answers the API's endpoints.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == PathTrustgridFlowLogs && s.serves(APITrustgrid):
		s.handleTrustgridFlowLogs(w, r)
		return
	case strings.HasPrefix(r.URL.Path, "/v1/") && s.serves(APIHuaweiCFW):
		s.handleCFW(w, r)
		return
	case !s.serves(APIFlows):
		writeError(w, http.StatusNotFound, "not found: "+r.URL.Path)
		return
	}

	var h func(http.ResponseWriter, url.Values, time.Time)
	switch r.URL.Path {
	case PathFlows:
		h = s.handleFlows
	case PathTopTalkers:
		h = s.handleTopTalkers
	case PathProtocols:
		h = s.handleProtocols
	default:
		writeError(w, http.StatusNotFound, "not found: "+r.URL.Path)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		writeError(w, http.StatusMethodNotAllowed, "method not allowed: "+r.Method)
		return
	}
	if msg := s.checkAuth(r); msg != "" {
		v := `Bearer realm="flows-api"`
		if msg == "invalid token" {
			v += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", v)
		writeError(w, http.StatusUnauthorized, msg)
		return
	}
	now := s.now()
	// The Date header tells a client the server's clock (whole seconds, as HTTP has it).
	// net/http adds one of its own unless the header is present and nil.
	if s.cfg.NoDateHeader {
		w.Header()["Date"] = nil
	} else {
		w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
	}
	h(w, r.URL.Query(), now)
}

// now is the server's clock: Config.Now plus Config.ClockOffset.
func (s *Server) now() time.Time { return s.cfg.Now().Add(s.cfg.ClockOffset) }

func (s *Server) checkAuth(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "missing bearer token (Authorization: Bearer <token>)"
	}
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "authorization scheme must be Bearer"
	}
	if subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.cfg.Token)) != 1 {
		return "invalid token"
	}
	return ""
}

func (s *Server) writeFault(w http.ResponseWriter, r *http.Request, f *Fault) {
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Ceil(f.RetryAfter.Seconds())), 10))
	}
	if f.RedirectTo != "" {
		w.Header().Set("Location", strings.TrimRight(f.RedirectTo, "/")+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
		return
	}
	status, body, ct := s.faultBody(r, r.URL.Path, f)
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		fmt.Fprintf(&buf, "{\"error\":%q}\n", "encoding response: "+err.Error())
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
