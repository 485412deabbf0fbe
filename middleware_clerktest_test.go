package clerkauth

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth/clerktest"
)

// TestMiddlewareAgainstClerktest runs the Sessions API paths against the
// Clerk-compatible server rather than the hand-written fake.
func TestMiddlewareAgainstClerktest(t *testing.T) {
	a, _, _ := testKeys(t)
	srv := clerktest.NewServer(clerktest.Config{SigningKey: a})
	t.Cleanup(srv.Close)
	cfg := Config{
		SecretKey: srv.SecretKey(), PublishableKey: srv.PublishableKey(), APIURL: srv.APIURL(),
		APIVersion: "2025-03-12", MaxRetries: -1, Now: srv.Clock().Now,
	}
	v := newTestVerifier(t, cfg)
	client, err := NewSessionsClient(cfg)
	require.NoError(t, err)
	m, err := NewMiddleware(v, MiddlewareOptions{SessionsClient: client, OnlineFallback: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
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
