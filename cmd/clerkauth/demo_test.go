package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/clerkauth/clerkauth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// checkLines returns the PASS/FAIL lines and the closing line of a
// demo --check output.
func checkLines(t *testing.T, stdout string) (checks []string, closing string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	require.NotEmpty(t, lines)
	return lines[:len(lines)-1], lines[len(lines)-1]
}

func TestDemoCheckPasses(t *testing.T) {
	clearClerkEnv(t)
	r := cli(t, "", "demo", "--check", "--addr", "127.0.0.1:0")
	require.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	checks, closing := checkLines(t, r.stdout)
	assert.Len(t, checks, len(demoChecks()))
	for _, line := range checks {
		assert.True(t, strings.HasPrefix(line, "PASS  "), line)
	}
	assert.Regexp(t, `^\d+ passed, 0 failed$`, closing)
}

func TestDemoFallsBackWhenThePortIsBusy(t *testing.T) {
	clearClerkEnv(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()

	r := cli(t, "", "demo", "--check", "--addr", busy.Addr().String())
	assert.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	assert.Contains(t, r.stderr, busy.Addr().String()+" is busy")
}

func TestDemoServesAndPrintsCurlCommands(t *testing.T) {
	clearClerkEnv(t)
	b := start(t, "demo", "--addr", "127.0.0.1:0")
	out := strings.Join(b.readUntil(t, "Serving until interrupted"), "\n")

	api := regexp.MustCompile(`Sample API\s+(http://127\.0\.0\.1:\d+)`).FindStringSubmatch(out)
	token := regexp.MustCompile(`TOKEN='([^']+)'`).FindStringSubmatch(out)
	mint := regexp.MustCompile(`TOKEN=\$\(curl -s -X POST '([^']+)'\)`).FindStringSubmatch(out)
	require.Len(t, api, 2, out)
	require.Len(t, token, 2, out)
	require.Len(t, mint, 2, out)
	for _, want := range []string{"/api/public", "/api/invoices", "/api/billing", "# 403", "/api/signout", "/dev/sessions"} {
		assert.Contains(t, out, want)
	}

	ctx := context.Background()
	client := &http.Client{}
	_, err := expectStatus(ctx, client, "GET", api[1]+"/api/me", token[1], http.StatusOK)
	assert.NoError(t, err)
	_, err = expectStatus(ctx, client, "GET", api[1]+"/api/billing", token[1], http.StatusForbidden)
	assert.NoError(t, err)
	_, err = expectStatus(ctx, client, "GET", api[1]+"/api/me", "", http.StatusUnauthorized)
	assert.NoError(t, err)

	key := regexp.MustCompile(`KEY='(ak_[^']+)'`).FindStringSubmatch(out)
	require.Len(t, key, 2, out)
	assert.Contains(t, out, "/api/usage")
	_, err = expectStatus(ctx, client, "GET", api[1]+"/api/usage", key[1], http.StatusOK)
	assert.NoError(t, err, "a machine calls the API with the printed API key")
	_, err = expectStatus(ctx, client, "GET", api[1]+"/api/usage", token[1], http.StatusUnauthorized)
	assert.NoError(t, err)

	status, fresh := post(t, mint[1], "")
	require.Equal(t, http.StatusOK, status, fresh)
	_, err = expectStatus(ctx, client, "GET", api[1]+"/api/invoices", strings.TrimSpace(fresh), http.StatusOK)
	assert.NoError(t, err)

	assert.Equal(t, exitOK, b.stop())
	_, err = http.Get(api[1] + "/api/public")
	assert.Error(t, err, "the API is gone after the interrupt")
}

func TestDemoRealInstanceMode(t *testing.T) {
	clearClerkEnv(t)
	const secret = "sk_test_0123456789abcdefghijklmnopqrstuvwxyz"
	const publishable = "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k" // clerk.example.com$
	t.Setenv("CLERK_SECRET_KEY", secret)
	t.Setenv("CLERK_PUBLISHABLE_KEY", publishable)
	t.Setenv("CLERK_AUTHORIZED_PARTIES", "https://app.example.com")

	cfg, real := realInstanceConfig(false)
	assert.True(t, real)
	assert.Equal(t, secret, cfg.SecretKey)
	assert.Equal(t, publishable, cfg.PublishableKey)
	assert.Equal(t, []string{"https://app.example.com"}, cfg.AuthorizedParties)
	_, real = realInstanceConfig(true)
	assert.False(t, real, "--embedded wins")

	r := cli(t, "", "demo", "--check", "--addr", "127.0.0.1:0")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, "--check drives the embedded server")
	assert.NotContains(t, r.stderr, secret)

	var intro bytes.Buffer
	printRealIntro(&intro, cfg, "http://127.0.0.1:8080")
	assert.Contains(t, intro.String(), "clerk.example.com")
	assert.Contains(t, intro.String(), "sk_test…")
	assert.NotContains(t, intro.String(), secret)

	r = cli(t, "", "demo", "--check", "--embedded", "--addr", "127.0.0.1:0")
	assert.Equal(t, exitOK, r.code, "stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
}

func TestDemoUsageErrors(t *testing.T) {
	clearClerkEnv(t)
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"non-loopback address", []string{"--addr", "0.0.0.0:8080"}, "not a loopback address"},
		{"short token lifetime", []string{"--token-lifetime", "1s"}, "at least 30s"},
		{"stray argument", []string{"now"}, "unexpected argument"},
		{"unknown flag", []string{"--nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, "", append([]string{"demo"}, tt.args...)...)
			assert.Equal(t, exitUsage, r.code)
			assert.Contains(t, r.stderr, tt.stderr)
			assert.Empty(t, r.stdout)
		})
	}
}

func TestRevokeFailureSaysWhichPartFailed(t *testing.T) {
	clerkDown := errors.New("connection refused")
	storeDown := errors.New("redis down")
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"clerk failed, recorded here", &clerkauth.RevokeError{Clerk: clerkDown}, "revoked here, but Clerk could not be told"},
		{"clerk ok, store failed", &clerkauth.RevokeError{Store: storeDown}, "revoked at Clerk, but not recorded here"},
		{"both failed", &clerkauth.RevokeError{Clerk: clerkDown, Store: storeDown}, "not revoked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := revokeFailure(tt.err)
			if !strings.HasPrefix(got, tt.want+":") {
				t.Fatalf("revokeFailure = %q, want prefix %q", got, tt.want)
			}
		})
	}
}
