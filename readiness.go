package clerkauth

import (
	"encoding/json"
	"net/http"
	"time"
)

// Readiness states reported by [Verifier.ReadinessHandler].
const (
	readyFresh = "ready"     // keys held and fresh
	readyStale = "stale"     // keys past their freshness, within JWKSMaxStaleness
	notReady   = "not_ready" // no key can verify a token
)

// readiness is the JSON body of the readiness handler: the key state, and
// nothing an outsider could use (no URL, no error text).
type readiness struct {
	Status       string    `json:"status"`
	Ready        bool      `json:"ready"`
	Keys         int       `json:"keys"`
	Fetches      int64     `json:"fetches"`
	LastSuccess  time.Time `json:"last_success,omitzero"`
	FreshUntil   time.Time `json:"fresh_until,omitzero"`
	StaleSeconds float64   `json:"stale_seconds"`
}

// ReadinessHandler returns an http.Handler for a readiness probe (such as
// a Kubernetes readinessProbe). It answers GET and HEAD with 200 while the
// Verifier can verify tokens (keys loaded, fresh or stale within
// Config.JWKSMaxStaleness; always with a PEM key) and 503 otherwise, with
// Cache-Control: no-store and the state as JSON:
//
//	{"status":"ready","ready":true,"keys":2,"fetches":3,
//	 "last_success":"…","fresh_until":"…","stale_seconds":0}
//
// status is "ready", "stale" (keys past their freshness and a refresh
// failing, still within the maximum staleness) or "not_ready". The body
// holds no URL, error text, token or secret.
//
// While not ready it starts a key fetch in the background, so that a
// service whose first request waits for readiness does not wait forever;
// the fetch is shared with any in flight and follows the failure backoff
// (1 s doubling up to Config.JWKSRefreshCooldown), so probes, however
// many, cause at most one JWKS request per backoff interval. It never
// waits for the fetch. It is safe for concurrent use.
func (v *Verifier) ReadinessHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body := v.readiness()
		if !body.Ready && v.remote != nil {
			v.remote.refreshInBackground()
		}
		code := http.StatusOK
		if !body.Ready {
			code = http.StatusServiceUnavailable
		}
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-store")
		w.WriteHeader(code)
		if r.Method == http.MethodGet {
			_ = json.NewEncoder(w).Encode(body) // a failed write leaves nothing to do
		}
	})
}

// readiness summarises Status for the probe.
func (v *Verifier) readiness() readiness {
	st := v.Status()
	out := readiness{Status: notReady, Ready: st.Ready, Keys: st.Keys, Fetches: st.Fetches,
		LastSuccess: st.LastSuccess, FreshUntil: st.FreshUntil, StaleSeconds: st.Staleness.Seconds()}
	switch {
	case !st.Ready:
	case v.staticKey == nil && st.Staleness > 0:
		out.Status = readyStale
	default:
		out.Status = readyFresh
	}
	return out
}
