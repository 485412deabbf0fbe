package clerkauth

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The organization permissions of a v2 token are expanded only after its
// signature is checked (claims.go). These tests follow every path that
// hands Claims to a caller and check that each one returns them expanded:
// a path that forgot would make Has(Permission) silently false.

// orgPermClaims are v2 claims granting org:invoices:read and
// org:invoices:write through o.per and o.fpm.
func orgPermClaims(now time.Time) map[string]any {
	return with(stdClaims(now), "fea", "o:invoices",
		"o", map[string]any{"id": "org_1", "slg": "acme", "rol": "admin", "per": "read,write", "fpm": "3"})
}

func requireExpanded(t *testing.T, c *Claims) {
	t.Helper()
	require.NotNil(t, c)
	require.NotNil(t, c.Org)
	assert.ElementsMatch(t, []string{"org:invoices:read", "org:invoices:write"}, c.Org.Permissions)
	assert.True(t, c.HasPermission("org:invoices:read"))
	assert.True(t, c.Has(Check{Permission: "org:invoices:write"}))
}

// TestPermissionsExpandedOnVerifyPaths: a fresh verification, a
// verified-token cache hit and ContextWithSession all give expanded
// permissions.
func TestPermissionsExpandedOnVerifyPaths(t *testing.T) {
	a, _, _ := testKeys(t)
	clock := newClock()
	v := newTestVerifier(t, Config{JWTKey: pemOf(t, &a.PublicKey), PublishableKey: testPK, Now: clock.Now})
	tok := mint(t, a, stdHeader("k"), orgPermClaims(clock.Now()))

	fresh, err := v.Verify(t.Context(), tok)
	require.NoError(t, err)
	t.Run("fresh", func(t *testing.T) { requireExpanded(t, fresh) })

	cached, err := v.Verify(t.Context(), tok)
	require.NoError(t, err)
	t.Run("cached", func(t *testing.T) {
		require.Same(t, fresh, cached, "the second Verify is a cache hit")
		requireExpanded(t, cached)
	})

	t.Run("ContextWithSession", func(t *testing.T) {
		c, ok := SessionFromContext(ContextWithSession(context.Background(), fresh))
		require.True(t, ok)
		requireExpanded(t, c)
	})
}

// TestPermissionsExpandedThroughTheMiddleware: the claims a handler reads
// are expanded whether the middleware verified the token networklessly
// (session-only and machine-accepting routes) or through the online
// fallback, confirmed or remembered.
func TestPermissionsExpandedThroughTheMiddleware(t *testing.T) {
	var got *Claims
	capture := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ = SessionFromContext(r.Context())
	})
	a, _, _ := testKeys(t)
	for _, tc := range []struct {
		name string
		cfg  Config
		opts MiddlewareOptions
	}{
		{"session only", Config{}, MiddlewareOptions{}},
		{"any token", Config{SecretKey: "sk_test_review", APIURL: "http://127.0.0.1:1"},
			MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindSession, TokenKindM2M}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := newClock()
			cfg := tc.cfg
			cfg.JWTKey, cfg.PublishableKey, cfg.Now = pemOf(t, &a.PublicKey), testPK, clock.Now
			m, err := NewMiddleware(newTestVerifier(t, cfg), tc.opts)
			require.NoError(t, err)
			t.Cleanup(func() { _ = m.Close() })
			h := m.Handler(capture)
			tok := mint(t, a, stdHeader("k1"), orgPermClaims(clock.Now()))
			for _, round := range []string{"fresh", "cached"} {
				got = nil
				rec := serve(h, bearerRequest(tok))
				require.Equal(t, 200, rec.Code, round+": "+rec.Body.String())
				requireExpanded(t, got)
			}
		})
	}

	t.Run("online fallback", func(t *testing.T) {
		e := newFallbackEnv(t, MiddlewareOptions{})
		h := e.m.Handler(capture)
		e.keysDown()
		tok := mint(t, a, stdHeader("k1"), orgPermClaims(e.clock.Now()))
		for _, round := range []string{"confirmed", "remembered"} {
			got = nil
			rec := serve(h, bearerRequest(tok))
			require.Equal(t, 200, rec.Code, round+": "+rec.Body.String())
			requireExpanded(t, got)
		}
		assert.EqualValues(t, 1, e.api.verifies.Load(), "the second request used the remembered verdict")
	})
}
