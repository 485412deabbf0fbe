package clerkauth

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth/clerktest"
)

// newClerktestMachineEnv returns a clerktest server with a caller and a
// receiving machine, and a Verifier on the server (sharing its clock),
// configured by mutate.
func newClerktestMachineEnv(t *testing.T, scfg clerktest.Config, mutate func(*Config)) (*clerktest.Server, *Verifier, *clerktest.Machine, *clerktest.Machine) {
	t.Helper()
	a, _, _ := testKeys(t)
	scfg.SigningKey = a
	srv := clerktest.NewServer(scfg)
	t.Cleanup(srv.Close)
	receiver := srv.CreateMachine(clerktest.MachineParams{Name: "receiver"})
	caller := srv.CreateMachine(clerktest.MachineParams{Name: "caller", ScopedMachines: []string{receiver.ID}})
	cfg := Config{
		SecretKey: srv.SecretKey(), PublishableKey: srv.PublishableKey(), APIURL: srv.APIURL(),
		MaxRetries: -1, Now: srv.Clock().Now,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	return srv, newTestVerifier(t, cfg), caller, receiver
}

// TestMachineTokensAgainstClerktest verifies every kind and format minted
// by the Clerk-compatible server, end to end through the middleware.
func TestMachineTokensAgainstClerktest(t *testing.T) {
	srv, v, caller, _ := newClerktestMachineEnv(t, clerktest.Config{}, nil)
	m, err := NewMiddleware(v, MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindAny}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	h := m.Handler(whoisMachine)

	opaqueM2M := srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{Claims: map[string]any{"team": "a"}})
	jwtM2M := srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{Format: clerktest.FormatJWT})
	key := srv.MustAPIKey(clerktest.APIKeyParams{Subject: "org_" + "0123456789012345678901234567"[:27], Scopes: []string{"read:users"}})
	jwtOAuth := srv.MustOAuthToken(clerktest.OAuthTokenParams{UserID: "user_1", Scopes: []string{"profile"}})
	opaqueOAuth := srv.MustOAuthToken(clerktest.OAuthTokenParams{Format: clerktest.FormatOpaque, UserID: "user_2"})
	sess := srv.CreateSession(clerktest.SessionParams{UserID: "user_3"})

	cases := []struct {
		name, token, body string
	}{
		{"opaque M2M", opaqueM2M.Token, "m2m_token " + caller.ID},
		{"JWT M2M", jwtM2M.Token, "m2m_token " + caller.ID},
		{"API key", key.Secret, "api_key " + key.Subject},
		{"JWT OAuth", jwtOAuth.Token, "oauth_token user_1"},
		{"opaque OAuth", opaqueOAuth.Token, "oauth_token user_2"},
		{"session", srv.MustToken(sess.ID), "session user_3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(h, bearerRequest(tc.token))
			require.Equal(t, 200, rec.Code, rec.Body.String())
			assert.Equal(t, tc.body, rec.Body.String())
		})
	}
	assert.Equal(t, 1, srv.Requests(clerktest.EndpointM2MVerify), "the JWT M2M token is verified networklessly")
	assert.Equal(t, 1, srv.Requests(clerktest.EndpointAPIKeyVerify))
	assert.Equal(t, 1, srv.Requests(clerktest.EndpointOAuthTokenVerify))

	mt, err := v.VerifyMachineToken(t.Context(), opaqueM2M.Token)
	require.NoError(t, err)
	assert.JSONEq(t, `{"team":"a"}`, string(mt.Claims))

	// Revoked at Clerk: refused once the cache TTL has passed.
	require.NoError(t, srv.RevokeAPIKey(key.ID, "leaked"))
	require.NoError(t, srv.RevokeM2MToken(opaqueM2M.ID, ""))
	srv.Clock().Advance(DefaultMachineTokenCacheTTL)
	assert.Equal(t, 401, serve(h, bearerRequest(key.Secret)).Code)
	assert.Equal(t, 401, serve(h, bearerRequest(opaqueM2M.Token)).Code)

	// Faults: 503, never 401, and recovery once they clear.
	fresh := srv.MustAPIKey(clerktest.APIKeyParams{Subject: "user_" + "0123456789012345678901234567"[:27]})
	srv.SetFault(clerktest.EndpointMachineVerify, clerktest.Fault{Status: http.StatusInternalServerError})
	assert.Equal(t, 503, serve(h, bearerRequest(fresh.Secret)).Code)
	srv.ClearFaults()
	assert.Equal(t, 200, serve(h, bearerRequest(fresh.Secret)).Code)
}

// TestMachineSecretKeyScopesAgainstClerktest: with the receiving
// machine's secret key, Clerk accepts only opaque tokens scoped to it;
// with the instance key, any token of the instance.
func TestMachineSecretKeyScopesAgainstClerktest(t *testing.T) {
	srv, instance, caller, receiver := newClerktestMachineEnv(t, clerktest.Config{}, nil)
	outsider := srv.CreateMachine(clerktest.MachineParams{Name: "outsider"})
	scoped := srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{})
	unscoped := srv.MustM2MToken(outsider.ID, clerktest.M2MTokenParams{})
	a, _, _ := testKeys(t)
	byMachine := newTestVerifier(t, Config{
		MachineSecretKey: receiver.SecretKey, JWTKey: pemOf(t, &a.PublicKey), PublishableKey: srv.PublishableKey(),
		APIURL: srv.APIURL(), Now: srv.Clock().Now,
	})
	_, err := byMachine.VerifyMachineToken(t.Context(), scoped.Token)
	require.NoError(t, err)
	_, err = byMachine.VerifyMachineToken(t.Context(), unscoped.Token)
	assert.Equal(t, ReasonTokenInvalid, ReasonOf(err), "not scoped to the receiver")
	_, err = instance.VerifyMachineToken(t.Context(), unscoped.Token)
	assert.NoError(t, err, "the instance key verifies any token")
	// A machine secret key is an ak_ string: sent as a bearer token it
	// verifies as an API key, which Clerk does not know.
	_, err = instance.VerifyMachineToken(t.Context(), receiver.SecretKey)
	assert.Equal(t, ReasonTokenInvalid, ReasonOf(err))
}

// TestVerifyReportsInvalidAgainstClerktest: when Clerk answers 200 for a
// revoked or expired token, the verifier refuses it anyway.
func TestVerifyReportsInvalidAgainstClerktest(t *testing.T) {
	srv, v, caller, _ := newClerktestMachineEnv(t, clerktest.Config{VerifyReportsInvalid: true},
		func(c *Config) { c.MachineTokenCacheTTL = -1 })
	revoked := srv.MustAPIKey(clerktest.APIKeyParams{Subject: "user_" + "0123456789012345678901234567"[:27]})
	require.NoError(t, srv.RevokeAPIKey(revoked.ID, ""))
	_, err := v.VerifyMachineToken(t.Context(), revoked.Secret)
	assert.Equal(t, ReasonTokenRevoked, ReasonOf(err))

	short := srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{Lifetime: time.Minute})
	srv.Clock().Advance(2 * time.Minute)
	_, err = v.VerifyMachineToken(t.Context(), short.Token)
	assert.ErrorIs(t, err, ErrTokenExpired)

	oauth := srv.MustOAuthToken(clerktest.OAuthTokenParams{Format: clerktest.FormatOpaque, UserID: "user_1"})
	require.NoError(t, srv.RevokeOAuthToken(oauth.ID, ""))
	_, err = v.VerifyMachineToken(t.Context(), oauth.Token)
	assert.Equal(t, ReasonTokenRevoked, ReasonOf(err))
}
