package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

func TestSessionsList(t *testing.T) {
	srv := newClerk(t)
	useClerk(t, srv)
	for range 3 {
		srv.CreateSession(clerktest.SessionParams{UserID: "user_a"})
	}
	revoked := srv.CreateSession(clerktest.SessionParams{UserID: "user_a"})
	require.NoError(t, srv.RevokeSession(revoked.ID))
	srv.CreateSession(clerktest.SessionParams{UserID: "user_b"})

	tests := []struct {
		name      string
		args      []string
		wantCount int
		wantTotal int64
	}{
		{"one user", []string{"--user-id", "user_a"}, 4, 4},
		{"status filter", []string{"--user-id", "user_a", "--status", "revoked"}, 1, 1},
		{"page", []string{"--user-id", "user_a", "--limit", "2", "--offset", "1"}, 2, 4},
		{"all pages", []string{"--user-id", "user_a", "--limit", "1", "--all"}, 4, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.ResetRequests()
			r := cli(t, "", append([]string{"sessions", "list"}, tt.args...)...)
			require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
			var list clerkauth.SessionList
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &list))
			assert.Len(t, list.Data, tt.wantCount)
			assert.Equal(t, tt.wantTotal, list.TotalCount)
			for _, s := range list.Data {
				assert.Equal(t, "user_a", s.UserID)
			}
		})
	}
	assert.Equal(t, 4, srv.Requests(clerktest.EndpointSessionList), "--all --limit 1 fetched page after page")
}

func TestSessionsGetRevokeToken(t *testing.T) {
	srv := newClerk(t)
	useClerk(t, srv)
	srv.AddJWTTemplate("supabase", map[string]any{"role": "authenticated"}, 0)
	sess := demoSession(srv)

	r := cli(t, "", "sessions", "get", sess.ID)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	var got clerkauth.Session
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	assert.Equal(t, sess.ID, got.ID)
	assert.Equal(t, clerkauth.SessionActive, got.Status)

	r = cli(t, "", "sessions", "token", "--expires-in", "2m", sess.ID)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	var tok clerkauth.SessionToken
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &tok))
	assert.Equal(t, exitOK, cli(t, "", "verify", tok.JWT).code, "the token verifies")

	r = cli(t, "", "sessions", "token", "--text", "--template", "supabase", sess.ID)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Equal(t, 2, strings.Count(strings.TrimSpace(r.stdout), "."), "a bare JWT: %q", r.stdout)

	r = cli(t, "", "sessions", "revoke", sess.ID)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &got))
	assert.Equal(t, clerkauth.SessionRevoked, got.Status)
	s, err := srv.Session(sess.ID)
	require.NoError(t, err)
	assert.Equal(t, clerktest.StatusRevoked, s.Status)
}

func TestSessionsFailures(t *testing.T) {
	srv := newClerk(t)
	sess := demoSession(srv)
	tests := []struct {
		name   string
		env    bool
		args   []string
		code   int
		stderr string
	}{
		{"unknown session", true, []string{"get", "sess_unknown"}, exitFailure, "404"},
		{"unknown template", true, []string{"token", "--template", "nope", sess.ID}, exitFailure, "404"},
		{"wrong secret key", true, []string{"get", "--secret-key", "sk_test_wrong", sess.ID}, exitFailure, "401"},
		{"lifetime out of range", true, []string{"token", "--expires-in", "5s", sess.ID}, exitUsage, "expires_in_seconds"},
		{"bad lifetime", true, []string{"token", "--expires-in", "1.5s", sess.ID}, exitUsage, "whole seconds"},
		{"pending status filter", true, []string{"list", "--status", "pending"}, exitUsage, "cannot filter"},
		{"limit too large", true, []string{"list", "--limit", "501"}, exitUsage, "limit"},
		{"no session ID", true, []string{"get"}, exitUsage, "want exactly one SESSION_ID"},
		{"stray argument", true, []string{"list", "extra"}, exitUsage, "unexpected argument"},
		{"no secret key", false, []string{"get", sess.ID}, exitUsage, "--secret-key (CLERK_SECRET_KEY) is required"},
		{"unknown command", true, []string{"delete", sess.ID}, exitUsage, "unknown command"},
		{"no command", true, nil, exitUsage, "Usage:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearClerkEnv(t)
			if tt.env {
				useClerk(t, srv)
			}
			r := cli(t, "", append([]string{"sessions"}, tt.args...)...)
			assert.Equal(t, tt.code, r.code, "stderr: %s", r.stderr)
			assert.Contains(t, r.stderr, tt.stderr)
			assert.Empty(t, r.stdout)
			assert.NotContains(t, r.stderr, srv.SecretKey())
		})
	}
}

func TestSecondsFlag(t *testing.T) {
	tests := []struct {
		in   string
		want int
		err  bool
	}{
		{"90", 90, false}, {"90s", 90, false}, {"1h", 3600, false}, {"1m30s", 90, false},
		{"1.5s", 0, true}, {"soon", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var s secondsFlag
			err := s.Set(tt.in)
			if tt.err {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, int(s))
		})
	}
}
