package simulator

import (
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"time"
)

// PathDemoAlerts is not part of the Flows API: it is where the demo's Grafana sends alert
// notifications (a webhook contact point), so that a user can see the top-talker rules fire
// with `curl -H 'Authorization: Bearer demo-token' localhost:8080/demo/alerts`.
const PathDemoAlerts = "/demo/alerts"

// maxDemoAlerts is how many notifications the sink keeps, newest last.
const maxDemoAlerts = 50

// ReceivedAlert is one webhook notification as the sink received it.
type ReceivedAlert struct {
	ReceivedAt time.Time       `json:"received_at"`
	Payload    json.RawMessage `json:"payload"`
}

type alertSink struct {
	mu     sync.Mutex
	alerts []ReceivedAlert
}

// handleDemoAlerts stores a POSTed notification, or lists the stored ones on GET. It answers
// before injected faults apply: those are for the Flows API endpoints.
func (s *Server) handleDemoAlerts(w http.ResponseWriter, r *http.Request) {
	if msg := s.checkAuth(r); msg != "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="flows-api"`)
		writeError(w, http.StatusUnauthorized, msg)
		return
	}
	switch r.Method {
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil || !json.Valid(body) {
			writeError(w, http.StatusBadRequest, "body: not a JSON notification")
			return
		}
		s.alerts.mu.Lock()
		s.alerts.alerts = append(s.alerts.alerts, ReceivedAlert{ReceivedAt: s.cfg.Now().UTC(), Payload: body})
		if n := len(s.alerts.alerts); n > maxDemoAlerts {
			s.alerts.alerts = append([]ReceivedAlert(nil), s.alerts.alerts[n-maxDemoAlerts:]...)
		}
		s.alerts.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case http.MethodGet:
		s.alerts.mu.Lock()
		list := append([]ReceivedAlert{}, s.alerts.alerts...)
		s.alerts.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed: "+r.Method)
	}
}
