package plugin

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/log"

	"github.com/flowlens/flows-datasource/pkg/simulator"
)

// captureLog records everything the plugin logs while a test runs.
type captureLog struct {
	mu    *sync.Mutex
	lines *[]string
	args  []any
}

func (c captureLog) add(level, msg string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	*c.lines = append(*c.lines, fmt.Sprint(level, " ", msg, " ", c.args, " ", args))
}
func (c captureLog) Debug(msg string, args ...any) { c.add("debug", msg, args...) }
func (c captureLog) Info(msg string, args ...any)  { c.add("info", msg, args...) }
func (c captureLog) Warn(msg string, args ...any)  { c.add("warn", msg, args...) }
func (c captureLog) Error(msg string, args ...any) { c.add("error", msg, args...) }
func (c captureLog) With(args ...any) log.Logger {
	return captureLog{mu: c.mu, lines: c.lines, args: append(append([]any{}, c.args...), args...)}
}
func (c captureLog) Level() log.Level                         { return log.Debug }
func (c captureLog) FromContext(_ context.Context) log.Logger { return c }

// sourceSecrets is one source's settings with secrets worth stealing, and a fault body that
// echoes them the way a proxy might.
type sourceSecrets struct {
	name     string
	sim      simulator.Config
	jsonData map[string]any
	secure   map[string]string
	wrong    map[string]string // the same settings with rejected secrets
}

func (s sourceSecrets) secrets() []string {
	var out []string
	for _, m := range []map[string]string{s.secure, s.wrong} {
		for _, v := range m {
			out = append(out, v)
		}
	}
	return out
}

// No secret of any source appears in frames, errors, notices, executed queries, health
// messages and details, resource answers or logs: with good credentials, rejected ones, and a
// server that echoes them back.
func TestSecretsNeverLeakFromAnySource(t *testing.T) {
	const (
		flowsToken = "flows-tok-0a9b8c7d6e5f-secret"
		tgSecret   = "tg-client-secret-5b4a3c2d1e"
		tgJWT      = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ0ZXN0In0.tg-jwt-signature-77"
		cfwAK      = "CFWACCESSKEY0123456789"
		cfwSK      = "cfw-secret-key-9f8e7d6c5b4a"
		cfwToken   = "MIIcfw-iam-token-1a2b3c4d5e6f"
	)
	cases := []sourceSecrets{
		{name: "flowsapi", sim: simulator.Config{Token: flowsToken}, jsonData: map[string]any{"source": "flowsapi"},
			secure: map[string]string{"apiToken": flowsToken}, wrong: map[string]string{"apiToken": "wrong-" + flowsToken}},
		{name: "trustgrid client secret", sim: simulator.Config{Trustgrid: simulator.TrustgridConfig{Secret: tgSecret}},
			jsonData: map[string]any{"source": "trustgrid", "trustgridClientId": simulator.DefaultTrustgridClientID},
			secure:   map[string]string{"trustgridClientSecret": tgSecret}, wrong: map[string]string{"trustgridClientSecret": "wrong-" + tgSecret}},
		{name: "trustgrid JWT", sim: simulator.Config{Trustgrid: simulator.TrustgridConfig{JWT: tgJWT}},
			jsonData: map[string]any{"source": "trustgrid"},
			secure:   map[string]string{"trustgridJwt": tgJWT}, wrong: map[string]string{"trustgridJwt": tgJWT + "-wrong"}},
		{name: "huaweiCfw AK/SK", sim: simulator.Config{HuaweiCFW: simulator.HuaweiCFWConfig{AccessKey: cfwAK, SecretKey: cfwSK}},
			jsonData: map[string]any{"source": "huaweiCfw", "cfwProjectId": simulator.DefaultCFWProjectID, "cfwFwInstanceId": simulator.DefaultCFWFwInstanceID},
			secure:   map[string]string{"cfwAccessKey": cfwAK, "cfwSecretKey": cfwSK}, wrong: map[string]string{"cfwAccessKey": cfwAK, "cfwSecretKey": "wrong-" + cfwSK}},
		{name: "huaweiCfw IAM token", sim: simulator.Config{HuaweiCFW: simulator.HuaweiCFWConfig{IAMToken: cfwToken}},
			jsonData: map[string]any{"source": "huaweiCfw", "cfwProjectId": simulator.DefaultCFWProjectID, "cfwFwInstanceId": simulator.DefaultCFWFwInstanceID},
			secure:   map[string]string{"cfwIamToken": cfwToken}, wrong: map[string]string{"cfwIamToken": "wrong-" + cfwToken}},
	}

	var mu sync.Mutex
	var logged []string
	saved := log.DefaultLogger
	log.DefaultLogger = captureLog{mu: &mu, lines: &logged}
	t.Cleanup(func() { log.DefaultLogger = saved })

	queries := []string{
		`{"refId":"a","queryType":"topTalkers"}`, `{"refId":"b","queryType":"protocols","protocol":"tcp"}`,
		`{"refId":"c","queryType":"flows","limit":5}`, `{"refId":"d","queryType":"topTalkers","srcIp":"bad"}`,
		`{"refId":"e","queryType":"flows","format":"timeseries","groupBy":"src","topN":3}`,
		`{"refId":"f","queryType":"variableValues","variable":"dstIp"}`, `{"refId":"g","queryType":"topTalkers","port":53}`,
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.sim)
			var seen []string
			record := func(v any) {
				b, err := json.Marshal(v)
				if err != nil {
					t.Fatal(err)
				}
				seen = append(seen, string(b))
			}
			exercise := func(ds *Datasource) {
				res := query(t, ds, lastHour(), nil, queries...)
				for _, r := range res {
					record(r)
					if r.Error != nil {
						seen = append(seen, r.Error.Error())
					}
				}
				h, _ := ds.CheckHealth(t.Context(), &backend.CheckHealthRequest{})
				record(h)
				seen = append(seen, string(h.JSONDetails))
				for _, p := range []string{"capabilities", fmt.Sprintf("tag-values?key=dst_ip&from=%d&to=%d", lastHour().From.UnixMilli(), lastHour().To.UnixMilli())} {
					_, body := callResource(t, ds, http.MethodGet, p, nil)
					seen = append(seen, string(body))
				}
				_, body := callResource(t, ds, http.MethodPost, "preview", map[string]any{
					"query": json.RawMessage(`{"queryType":"topTalkers","port":443}`), "from": lastHour().From.UnixMilli(), "to": lastHour().To.UnixMilli(), "intervalMs": 60000})
				seen = append(seen, string(body))
			}
			mk := func(secure map[string]string) *Datasource {
				raw, _ := json.Marshal(c.jsonData)
				inst, err := New(testSources)(context.Background(), backend.DataSourceInstanceSettings{
					UID: "secrets", Name: "secrets", Type: "flowlens-flows-datasource", URL: e.srv.URL, JSONData: raw, DecryptedSecureJSONData: secure})
				if err != nil {
					t.Fatal(err)
				}
				ds := inst.(*Datasource)
				ds.now = e.clock.Now
				t.Cleanup(ds.Dispose)
				return ds
			}
			good := mk(c.secure)
			var echo []string
			for _, s := range c.secrets() {
				echo = append(echo, s, base64.StdEncoding.EncodeToString([]byte("id:"+s)))
			}
			echoBody := strings.Join(echo, " ")
			for _, fault := range []*simulator.Fault{
				nil,
				{Status: 500, Body: `{"error":"proxy saw ` + echoBody + `","message":"proxy saw ` + echoBody + `","error_code":"APIG.0999","error_msg":"proxy saw ` + echoBody + `"}`},
				{Status: 502, Body: "upstream said " + echoBody},
				{Status: 401},
			} {
				e.sim.SetFault(fault)
				// Later loads: the Flows API client keeps answers for 5 s (flowsapi/share.go).
				e.clock.ms.Add(5000)
				exercise(good)
			}
			e.sim.SetFault(nil)
			exercise(mk(c.wrong))

			all := strings.Join(seen, "\n")
			mu.Lock()
			all += strings.Join(logged, "\n")
			mu.Unlock()
			if !strings.Contains(all, "redacted") {
				t.Error("the test did not exercise an echoed secret")
			}
			for _, s := range c.secrets() {
				if strings.Contains(all, s) {
					i := strings.Index(all, s)
					t.Fatalf("secret %q leaked: …%s…", s[:4], all[max(0, i-200):min(len(all), i+len(s)+50)])
				}
			}
		})
	}
}
