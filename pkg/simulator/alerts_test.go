package simulator

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestDemoAlertSinkKeepsNotifications(t *testing.T) {
	now := time.Date(2026, 4, 16, 12, 0, 0, 0, time.UTC)
	s := New(Config{Token: "tok", Log: io.Discard, Now: func() time.Time { return now }})
	// Faults are for the Flows API: the sink still works under one.
	s.SetFault(&Fault{Status: 503})
	srv := httptest.NewServer(s)
	defer srv.Close()
	do := func(method, token, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+PathDemoAlerts, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := do(http.MethodPost, "", `{}`); code != 401 {
		t.Fatalf("without token: %d", code)
	}
	if code, body := do(http.MethodPost, "tok", `not json`); code != 400 || !strings.Contains(body, "not a JSON notification") {
		t.Fatalf("bad body: %d %s", code, body)
	}
	for i := range maxDemoAlerts + 5 {
		if code, _ := do(http.MethodPost, "tok", `{"status":"firing","i":`+itoa(i)+`}`); code != 204 {
			t.Fatalf("post %d: %d", i, code)
		}
	}
	code, body := do(http.MethodGet, "tok", "")
	var got []ReceivedAlert
	if err := json.Unmarshal([]byte(body), &got); code != 200 || err != nil || len(got) != maxDemoAlerts {
		t.Fatalf("list: %d %d alerts %v", code, len(got), err)
	}
	if !strings.Contains(string(got[len(got)-1].Payload), `"i":54`) || !got[0].ReceivedAt.Equal(now) {
		t.Fatalf("newest last, oldest dropped: %s .. %s", got[0].Payload, got[len(got)-1].Payload)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
