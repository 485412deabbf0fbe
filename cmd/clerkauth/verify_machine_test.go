package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth/clerktest"
)

// TestVerifyMachineTokens judges every machine token kind and format,
// with the exit codes of session tokens.
func TestVerifyMachineTokens(t *testing.T) {
	srv := newClerk(t)
	useClerk(t, srv)
	caller := srv.CreateMachine(clerktest.MachineParams{Name: "caller"})
	owner := "user_" + strings.Repeat("a", 27)
	key := srv.MustAPIKey(clerktest.APIKeyParams{Subject: owner, Name: "ci key", Scopes: []string{"read:users"}})
	cases := []struct {
		name, token, kind, format, subject string
	}{
		{"opaque M2M", srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{}).Token, "m2m_token", "opaque", caller.ID},
		{"JWT M2M", srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{Format: clerktest.FormatJWT}).Token, "m2m_token", "jwt", caller.ID},
		{"API key", key.Secret, "api_key", "opaque", owner},
		{"JWT OAuth", srv.MustOAuthToken(clerktest.OAuthTokenParams{UserID: owner}).Token, "oauth_token", "jwt", owner},
		{"opaque OAuth", srv.MustOAuthToken(clerktest.OAuthTokenParams{Format: clerktest.FormatOpaque, UserID: owner}).Token, "oauth_token", "opaque", owner},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := cli(t, tc.token, "verify", "--json", "-")
			require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
			var out struct {
				Status       string      `json:"status"`
				MachineToken machineJSON `json:"machine_token"`
			}
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
			assert.Equal(t, "valid", out.Status)
			assert.Equal(t, tc.kind, string(out.MachineToken.Kind))
			assert.Equal(t, tc.format, out.MachineToken.Format)
			assert.Equal(t, tc.subject, out.MachineToken.Subject)
			assert.NotContains(t, r.stdout, tc.token, "the token itself is never printed")
		})
	}

	require.NoError(t, srv.RevokeAPIKey(key.ID, ""))
	r := cli(t, key.Secret, "verify", "-")
	assert.Equal(t, exitFailure, r.code)
	assert.Contains(t, r.stderr, "token-invalid")

	srv.SetFault(clerktest.EndpointMachineVerify, clerktest.Fault{Status: http.StatusTooManyRequests})
	r = cli(t, "ak_"+strings.Repeat("z", 30), "verify", "-")
	assert.Equal(t, exitUndecided, r.code, "stderr: %s", r.stderr)
	srv.ClearFaults()

	t.Setenv("CLERK_SECRET_KEY", "")
	t.Setenv("CLERK_JWKS_URL", srv.URL()+"/.well-known/jwks.json")
	r = cli(t, "ak_"+strings.Repeat("y", 30), "verify", "-")
	assert.Equal(t, exitUndecided, r.code, "an opaque token needs the secret key: %s", r.stderr)
}
