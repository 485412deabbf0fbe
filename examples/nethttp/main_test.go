package main

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth/examples/internal/apptest"
	"github.com/clerkauth/clerkauth/examples/internal/demo"
)

func TestApp(t *testing.T) {
	apptest.Run(t, newApp, apptest.Features{})
}

func TestDemoMode(t *testing.T) {
	apptest.RunDemo(t, newApp, apptest.Features{})
}

func TestListenFallsBack(t *testing.T) {
	apptest.RunListen(t, listen)
}

// TestOperations checks the operator's endpoints: the Prometheus metrics
// count a refused request and the start-up key fetch, and the readiness
// probe answers ready once the keys are loaded.
func TestOperations(t *testing.T) {
	instance := demo.Start()
	t.Cleanup(instance.Close)
	h, cleanup, err := newApp(instance.Config(), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(cleanup)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/me", nil))
	require.Equal(t, http.StatusUnauthorized, rec.Code)

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Contains(t, rec.Body.String(), `"status":"ready"`)

	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code)
	body := rec.Body.String()
	assert.Regexp(t, `clerkauth_auth_decisions_total\{[^}]*clerkauth_outcome="rejected"[^}]*clerkauth_reason="session-token-missing"[^}]*\} 1\n`, body)
	assert.Regexp(t, `http_client_request_duration_seconds_count\{[^}]*url_template="/v1/jwks"[^}]*\} 1\n`, body, "the start-up key fetch")
	assert.Regexp(t, `clerkauth_jwks_ready(_ratio)?\{[^}]*\} 1\n`, body)
}
