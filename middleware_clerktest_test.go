package clerkauth

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth/clerktest"
)

// newClerktestMiddleware returns a clerktest server and a middleware on it
// with a SessionsClient on apiVersion ("" for the default) and the online
// fallback on, sharing the server's clock.
func newClerktestMiddleware(t *testing.T, apiVersion string) (*clerktest.Server, *Middleware) {
	t.Helper()
	a, _, _ := testKeys(t)
	srv := clerktest.NewServer(clerktest.Config{SigningKey: a})
	t.Cleanup(srv.Close)
	cfg := Config{
		SecretKey: srv.SecretKey(), PublishableKey: srv.PublishableKey(), APIURL: srv.APIURL(),
		APIVersion: apiVersion, MaxRetries: -1, Now: srv.Clock().Now,
	}
	v := newTestVerifier(t, cfg)
	client, err := NewSessionsClient(cfg)
	require.NoError(t, err)
	m, err := NewMiddleware(v, MiddlewareOptions{SessionsClient: client, OnlineFallback: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return srv, m
}

// TestMiddlewareAgainstClerktest runs the Sessions API paths against the
// Clerk-compatible server rather than the hand-written fake.
func TestMiddlewareAgainstClerktest(t *testing.T) {
	srv, m := newClerktestMiddleware(t, "2025-03-12")
	h := m.Handler(m.RequireActiveSession(whoami))

	sess := srv.CreateSession(clerktest.SessionParams{UserID: "user_1"})
	tok := srv.MustToken(sess.ID)

	srv.SetFault(clerktest.EndpointAPIJWKS, clerktest.Fault{Status: http.StatusInternalServerError})
	rec := serve(h, bearerRequest(tok))
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Equal(t, 1, srv.Requests(clerktest.EndpointSessionVerify), "confirmed online while the keys are down")
	assert.Equal(t, 1, srv.Requests(clerktest.EndpointSessionGet))

	require.NoError(t, srv.RevokeSession(sess.ID)) // revoked elsewhere, e.g. from the dashboard
	srv.Clock().Advance(DefaultActiveSessionTTL)
	rec = serve(h, bearerRequest(tok))
	assert.Equal(t, 401, rec.Code)
	assert.Equal(t, string(ReasonSessionRevoked), reasonOf(t, rec))

	other := srv.CreateSession(clerktest.SessionParams{UserID: "user_1"})
	srv.ClearFaults()
	require.Equal(t, 200, serve(h, bearerRequest(srv.MustToken(other.ID))).Code)
	require.NoError(t, m.Revoke(t.Context(), other.ID))
	got, err := srv.Session(other.ID)
	require.NoError(t, err)
	assert.Equal(t, "revoked", got.Status)
	assert.Equal(t, 401, serve(m.Handler(whoami), bearerRequest(srv.MustToken(other.ID))).Code)
}

// TestGuardsWithClerktestTokens checks the guards on v2 tokens as Clerk
// mints them (fea, o.per, o.fpm, pla, fva), through the middleware.
func TestGuardsWithClerktestTokens(t *testing.T) {
	a, _, _ := testKeys(t)
	srv := clerktest.NewServer(clerktest.Config{SigningKey: a})
	t.Cleanup(srv.Close)
	v := newTestVerifier(t, Config{JWTKey: srv.PublicKeyPEM(), PublishableKey: srv.PublishableKey(), Now: srv.Clock().Now})
	sess := srv.CreateSession(clerktest.SessionParams{
		Org:       &clerktest.OrgMembership{Role: "admin", Permissions: []string{"org:invoices:create"}},
		Plans:     []string{"o:pro"},
		FactorAge: &[2]int{30, 5},
	})
	tok := srv.MustToken(sess.ID)
	tests := []struct {
		name  string
		guard func(http.Handler) http.Handler
		want  int
	}{
		{"permission", RequirePermission("org:invoices:create"), 200},
		{"other permission", RequirePermission("org:invoices:delete"), 403},
		{"role", RequireRole("org:admin"), 200},
		{"other role", RequireRole("org:member"), 403},
		{"feature", RequireFeature("o:invoices"), 200},
		{"plan", RequirePlan("o:pro"), 200},
		{"other plan", RequirePlan("o:enterprise"), 403},
		{"strict reverification", RequireReverification(ReverificationStrict.Reverification()), 200},
		{"strict mfa", RequireReverification(ReverificationStrictMFA.Reverification()), 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(RequireSession(v)(tt.guard(whoami)), bearerRequest(tok))
			assert.Equal(t, tt.want, rec.Code, rec.Body.String())
		})
	}
}

// TestFallbackAndActiveSessionFaultsAgainstClerktest uses a client on the
// default (current) API version: the fallback's verify calls must still
// reach the endpoint, pinned to the last version that has it, and a Sessions
// API outage must answer 503 on routes needing an active-session check.
func TestFallbackAndActiveSessionFaultsAgainstClerktest(t *testing.T) {
	srv, m := newClerktestMiddleware(t, "")
	sess := srv.CreateSession(clerktest.SessionParams{})
	tok := srv.MustToken(sess.ID)

	srv.SetFault(clerktest.EndpointAPIJWKS, clerktest.Fault{Status: http.StatusBadGateway})
	rec := serve(m.Handler(whoami), bearerRequest(tok))
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Equal(t, 1, srv.Requests(clerktest.EndpointSessionVerify))

	srv.ClearFaults()
	srv.SetFault(clerktest.EndpointSessionGet, clerktest.Fault{Status: http.StatusServiceUnavailable, RetryAfter: 9 * time.Second})
	rec = serve(m.Handler(m.RequireActiveSession(whoami)), bearerRequest(srv.MustToken(sess.ID, clerktest.WithClaims(map[string]any{"jti": "second"}))))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	assert.Equal(t, "9", rec.Header().Get("Retry-After"))
	assert.Empty(t, rec.Header().Get("WWW-Authenticate"), "an outage is not a challenge")
}
