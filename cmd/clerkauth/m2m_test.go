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

// useMachine points the environment at srv with m's secret key.
func useMachine(t *testing.T, srv *clerktest.Server, m *clerktest.Machine) {
	t.Helper()
	clearClerkEnv(t)
	t.Setenv("CLERK_MACHINE_SECRET_KEY", m.SecretKey)
	t.Setenv("CLERK_API_URL", srv.APIURL())
}

func TestM2MTokenListRevoke(t *testing.T) {
	srv := newClerk(t)
	m := srv.CreateMachine(clerktest.MachineParams{})
	useMachine(t, srv, m)

	r := cli(t, "", "m2m", "token", "--text")
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Equal(t, 2, strings.Count(strings.TrimSpace(r.stdout), "."), "a bare JWT by default")

	r = cli(t, "", "m2m", "token", "--format", "opaque", "--lifetime", "10m", "--claims", `{"job":"nightly"}`)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	var tok clerkauth.M2MToken
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &tok))
	assert.True(t, strings.HasPrefix(tok.Token, "mt_"))
	assert.Equal(t, m.ID, tok.Subject)
	assert.JSONEq(t, `{"job":"nightly"}`, string(tok.Claims))
	assert.Equal(t, 600.0, tok.Expiration.Sub(tok.CreatedAt).Seconds())

	r = cli(t, "", "m2m", "list", "--subject", m.ID)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	var list clerkauth.M2MTokenList
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &list))
	require.Len(t, list.Tokens, 1)
	assert.Equal(t, tok.ID, list.Tokens[0].ID)
	assert.NotContains(t, r.stdout, tok.Token, "lists print no secrets")

	r = cli(t, "", "m2m", "revoke", "--reason", "done", tok.ID)
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	stored, err := srv.M2MToken(tok.ID)
	require.NoError(t, err)
	assert.True(t, stored.Revoked)
	assert.Equal(t, "done", stored.RevocationReason)

	// The key may come from stdin instead of the environment.
	t.Setenv("CLERK_MACHINE_SECRET_KEY", "")
	r = cli(t, m.SecretKey+"\n", "m2m", "token", "--key-stdin", "--text")
	require.Equal(t, exitOK, r.code, "stderr: %s", r.stderr)
	assert.Contains(t, r.stdout, ".")
}

func TestM2MFailures(t *testing.T) {
	srv := newClerk(t)
	m := srv.CreateMachine(clerktest.MachineParams{})
	other := srv.CreateMachine(clerktest.MachineParams{})
	tests := []struct {
		name   string
		key    string
		stdin  string
		args   []string
		code   int
		stderr string
	}{
		{"no key", "", "", []string{"token"}, exitUsage, "CLERK_MACHINE_SECRET_KEY"},
		{"instance key", srv.SecretKey(), "", []string{"token"}, exitUsage, "instance secret key"},
		{"refused key", "ak_refused", "", []string{"token"}, exitFailure, "401"},
		{"key on the command line", m.SecretKey, "", []string{"token", "--machine-secret-key", "ak_x"}, exitUsage, "flag provided but not defined"},
		{"empty stdin", "", "", []string{"token", "--key-stdin"}, exitUsage, "no key on stdin"},
		{"bad format", m.SecretKey, "", []string{"token", "--format", "paseto"}, exitUsage, "--format"},
		{"bad claims", m.SecretKey, "", []string{"token", "--claims", "[1]"}, exitUsage, "JSON object"},
		{"bad lifetime", m.SecretKey, "", []string{"token", "--lifetime", "1.5s"}, exitUsage, "whole seconds"},
		{"list without subject", m.SecretKey, "", []string{"list"}, exitUsage, `--subject is required (Clerk lists M2M tokens by machine ID and cannot tell the machine from its key): pass the ID (mch_…) of the machine whose secret key is used`},
		{"list with the key as subject", m.SecretKey, "", []string{"list", "--subject", m.SecretKey}, exitUsage, "is not a machine ID: pass the ID (mch_…)"},
		{"list of another machine", m.SecretKey, "", []string{"list", "--subject", other.ID}, exitFailure, "403"},
		{"revoke unknown", m.SecretKey, "", []string{"revoke", "mt_00000000000000000000000000000000"}, exitFailure, "404"},
		{"revoke without ID", m.SecretKey, "", []string{"revoke"}, exitUsage, "TOKEN_ID"},
		{"unknown command", m.SecretKey, "", []string{"mint"}, exitUsage, "unknown command"},
		{"no command", m.SecretKey, "", nil, exitUsage, "Usage:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearClerkEnv(t)
			t.Setenv("CLERK_API_URL", srv.APIURL())
			t.Setenv("CLERK_MACHINE_SECRET_KEY", tt.key)
			r := cli(t, tt.stdin, append([]string{"m2m"}, tt.args...)...)
			assert.Equal(t, tt.code, r.code, "stderr: %s", r.stderr)
			assert.Contains(t, r.stderr, tt.stderr)
			assert.Empty(t, r.stdout)
			assert.NotContains(t, r.stderr, m.SecretKey)
			assert.NotContains(t, r.stderr, srv.SecretKey())
		})
	}
}

func TestM2MHelp(t *testing.T) {
	for _, args := range [][]string{{"m2m", "--help"}, {"m2m", "token", "-h"}, {"m2m", "list", "--help"}, {"m2m", "revoke", "-h"}, {"help", "m2m"}} {
		r := cli(t, "", args...)
		assert.Equal(t, exitOK, r.code, "%v", args)
		assert.Contains(t, r.stdout, "Usage: clerkauth m2m", "%v", args)
	}
	assert.Contains(t, cli(t, "", "--help").stdout, "m2m")
}
