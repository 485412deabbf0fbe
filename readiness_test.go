package clerkauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func probe(t *testing.T, v *Verifier, method string) (*httptest.ResponseRecorder, readiness) {
	t.Helper()
	rec := httptest.NewRecorder()
	v.ReadinessHandler().ServeHTTP(rec, httptest.NewRequest(method, "/readyz", nil))
	var body readiness
	if method == http.MethodGet && rec.Code != http.StatusMethodNotAllowed {
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	}
	return rec, body
}

func TestReadinessLifecycle(t *testing.T) {
	e := newObsEnv(t, func(c *Config) { c.JWKSMaxStaleness = time.Hour })

	e.keysDown()
	rec, body := probe(t, e.v, http.MethodGet)
	assert.Equal(t, 503, rec.Code, "no keys yet")
	assert.Equal(t, "not_ready", body.Status)
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	waitFor(t, "the probe's background fetch", func() bool { return e.v.Status().Fetches == 1 })

	// Probes while the key server fails cost no request before the backoff ends.
	for range 100 {
		rec, _ = probe(t, e.v, http.MethodGet)
		assert.Equal(t, 503, rec.Code)
	}
	assert.EqualValues(t, 1, e.jwks.requests.Load(), "probes follow the failure backoff")

	e.jwks.set(func(s *jwksServer) { s.status = 200 })
	e.clock.Advance(2 * time.Second) // past the first backoff
	probe(t, e.v, http.MethodGet)
	waitFor(t, "keys loaded by a probe", func() bool { return e.v.Status().Ready })
	rec, body = probe(t, e.v, http.MethodGet)
	assert.Equal(t, 200, rec.Code)
	assert.Equal(t, readiness{Status: "ready", Ready: true, Keys: 1, Fetches: 2,
		LastSuccess: body.LastSuccess, FreshUntil: body.FreshUntil}, body)
	assert.NotContains(t, rec.Body.String(), e.jwks.URL, "no URL")

	e.keysDown()
	e.clock.Advance(DefaultJWKSCacheTTL + time.Minute)
	rec, body = probe(t, e.v, http.MethodGet)
	assert.Equal(t, 200, rec.Code, "stale keys within the maximum staleness still verify")
	assert.Equal(t, "stale", body.Status)
	assert.InDelta(t, 60, body.StaleSeconds, 0.001)

	e.clock.Advance(2 * time.Hour)
	rec, body = probe(t, e.v, http.MethodGet)
	assert.Equal(t, 503, rec.Code, "past the maximum staleness")
	assert.Equal(t, "not_ready", body.Status)
	assert.False(t, body.Ready)
}

func TestReadinessMethods(t *testing.T) {
	a, _, _ := testKeys(t)
	v := newTestVerifier(t, Config{JWTKey: pemOf(t, &a.PublicKey), PublishableKey: testPK})
	rec, body := probe(t, v, http.MethodGet)
	assert.Equal(t, 200, rec.Code, "a PEM key is always ready")
	assert.Equal(t, readiness{Status: "ready", Ready: true, Keys: 1}, body)

	rec, _ = probe(t, v, http.MethodHead)
	assert.Equal(t, 200, rec.Code)
	assert.Empty(t, rec.Body.String())

	rec, _ = probe(t, v, http.MethodPost)
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
	assert.Equal(t, "GET, HEAD", rec.Header().Get("Allow"))
}
