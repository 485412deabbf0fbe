package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth/clerktest"
)

func demoSession(srv *clerktest.Server) *clerktest.Session {
	return srv.CreateSession(clerktest.SessionParams{
		UserID: "user_demo",
		Org:    &clerktest.OrgMembership{ID: "org_acme", Slug: "acme", Role: "admin", Permissions: []string{"org:invoices:read"}},
	})
}

func TestVerifyValidToken(t *testing.T) {
	srv := newClerk(t)
	useClerk(t, srv)
	sess := demoSession(srv)
	token := srv.MustToken(sess.ID)
	v1 := srv.MustToken(sess.ID, clerktest.WithVersion(1))

	tests := []struct {
		name    string
		stdin   string
		args    []string
		version int
	}{
		{"argument", "", []string{"verify", token}, 2},
		{"stdin with Bearer prefix", "Bearer " + token + "\n", []string{"verify", "-"}, 2},
		{"flags after the token", "", []string{"verify", token, "--leeway", "1s"}, 2},
		{"v1 token", "", []string{"verify", v1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, tt.stdin, tt.args...)
			require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
			var c claimsJSON
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &c))
			assert.Equal(t, sess.ID, c.SessionID)
			assert.Equal(t, "user_demo", c.UserID)
			assert.Equal(t, srv.Issuer(), c.Issuer)
			assert.Equal(t, tt.version, c.Version)
			require.NotNil(t, c.Org)
			assert.Equal(t, "org:admin", c.Org.Role)
			assert.Equal(t, []string{"org:invoices:read"}, c.Org.Permissions)
			assert.NotContains(t, r.stdout, token, "the token itself is never printed")
			assert.NotContains(t, r.stdout, v1, "the token itself is never printed")
		})
	}
}

func TestVerifyWithPEMKeyFileAndNoNetwork(t *testing.T) {
	srv := newClerk(t)
	clearClerkEnv(t)
	token := srv.MustToken(demoSession(srv).ID)
	pem := filepath.Join(t.TempDir(), "key.pem")
	require.NoError(t, os.WriteFile(pem, []byte(srv.PublicKeyPEM()), 0o600))
	srv.ResetRequests()

	r := cli(t, "", "verify", "--json", "--jwt-key", "@"+pem, "--publishable-key", srv.PublishableKey(), token)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	var out struct {
		Status string
		Claims claimsJSON
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	assert.Equal(t, "valid", out.Status)
	assert.Equal(t, "user_demo", out.Claims.UserID)
	assert.Zero(t, srv.Requests(clerktest.EndpointAll), "a PEM key needs no request")
}

func TestVerifyRejectsInvalidTokens(t *testing.T) {
	srv := newClerk(t)
	useClerk(t, srv)
	sess := demoSession(srv)
	expired := srv.MustToken(sess.ID, clerktest.WithIssuedAt(time.Now().Add(-10*time.Minute)))
	otherParty := srv.MustToken(sess.ID, clerktest.WithAuthorizedParty("https://evil.example"))

	tests := []struct {
		name   string
		token  string
		flags  []string
		reason string
	}{
		{"expired", expired, nil, "token-expired"},
		{"garbage", "not-a-jwt", nil, "token-invalid"},
		{"unauthorized party", otherParty, []string{"--authorized-party", "https://app.example"}, "token-invalid-authorized-parties"},
		{"another instance", srv.MustToken(sess.ID), []string{"--publishable-key", "pk_test_Y2xlcmsub3RoZXIuZXhhbXBsZSQ"}, "token-invalid-issuer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"verify"}, tt.flags...)
			r := cli(t, "", append(args, tt.token)...)
			assert.Equal(t, exitFailure, r.code)
			assert.Empty(t, r.stdout)
			assert.Contains(t, r.stderr, "invalid token: "+tt.reason)
			assert.NotContains(t, r.stderr, tt.token)

			r = cli(t, "", append(append(args, "--json"), tt.token)...)
			assert.Equal(t, exitFailure, r.code)
			var v verdict
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &v), "stdout %s", r.stdout)
			assert.Equal(t, "invalid", v.Status)
			assert.Equal(t, tt.reason, string(v.Reason))
			assert.NotEmpty(t, v.Message)
		})
	}
}

func TestVerifyUndecidedWhenKeysAreUnavailable(t *testing.T) {
	srv := newClerk(t)
	useClerk(t, srv)
	token := srv.MustToken(demoSession(srv).ID)
	srv.SetFault(clerktest.EndpointJWKS, clerktest.Fault{Status: http.StatusInternalServerError})

	r := cli(t, "", "verify", "--max-retries", "-1", "--json", token)
	assert.Equal(t, exitUndecided, r.code)
	var v verdict
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
	assert.Equal(t, "undecided", v.Status)
	assert.Equal(t, "jwk-remote-failed-to-load", string(v.Reason))

	r = cli(t, "", "verify", "--max-retries", "-1", token)
	assert.Equal(t, exitUndecided, r.code)
	assert.Contains(t, r.stderr, "could not decide")
}

func TestVerifyUsageAndConfigurationErrors(t *testing.T) {
	srv := newClerk(t)
	token := srv.MustToken(demoSession(srv).ID)
	tests := []struct {
		name   string
		env    bool // point CLERK_* at srv
		stdin  string
		args   []string
		stderr string
	}{
		{"no token", true, "", []string{"verify"}, "want exactly one TOKEN"},
		{"two tokens", true, "", []string{"verify", "a", "b"}, "want exactly one TOKEN"},
		{"empty stdin", true, " \n", []string{"verify", "-"}, "empty token"},
		{"unknown flag", true, "", []string{"verify", "--nope", token}, "flag provided but not defined"},
		{"no key source", false, "", []string{"verify", "--publishable-key", srv.PublishableKey(), token}, "no key source"},
		{"no issuer", false, "", []string{"verify", "--jwt-key", srv.PublicKeyPEM(), token}, "no known issuer"},
		{"bad publishable key", true, "", []string{"verify", "--publishable-key", "pk_nope", token}, "--publishable-key (CLERK_PUBLISHABLE_KEY) must start with pk_test_ or pk_live_"},
		{"http API URL off loopback", true, "", []string{"verify", "--api-url", "http://api.example/v1", token}, "--api-url (CLERK_API_URL) must use https"},
		{"missing PEM file", true, "", []string{"verify", "--jwt-key", "@/nonexistent/key.pem", token}, "reading"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearClerkEnv(t)
			if tt.env {
				useClerk(t, srv)
			}
			r := cli(t, tt.stdin, tt.args...)
			assert.Equal(t, exitUsage, r.code, "stderr: %s", r.stderr)
			assert.Contains(t, r.stderr, tt.stderr)
			assert.Empty(t, r.stdout)
			assert.False(t, strings.Contains(r.stderr, srv.SecretKey()), "secret key printed")
		})
	}
}
