package clerkauth

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCachedTokenNeedsItsKey: a cache hit used to re-check exp and
// revocation only, so a token kept verifying after its key left the JWKS
// (or was replaced under the same kid), and past JWKSMaxStaleness.
func TestCachedTokenNeedsItsKey(t *testing.T) {
	a, b, _ := testKeys(t)
	long := func(f *jwksFixture) string {
		now := f.clock.Now()
		return mint(t, a, stdHeader("ins_a"), with(stdClaims(now), "exp", now.Add(time.Hour).Unix()))
	}
	tests := []struct {
		name   string
		change func(t *testing.T, f *jwksFixture)
		reason Reason // "" when the token must still verify
	}{
		{"key removed from the JWKS", func(t *testing.T, f *jwksFixture) {
			f.srv.set(func(s *jwksServer) { s.keys = []map[string]any{jwkOf("ins_b", "RS256", &b.PublicKey)} })
			require.NoError(t, f.v.Warm(context.Background()))
		}, ReasonJWKKidMismatch},
		{"kid reused for another key", func(t *testing.T, f *jwksFixture) {
			f.srv.set(func(s *jwksServer) { s.keys = []map[string]any{jwkOf("ins_a", "RS256", &b.PublicKey)} })
			require.NoError(t, f.v.Warm(context.Background()))
		}, ReasonTokenInvalidSignature},
		{"keys past JWKSMaxStaleness", func(t *testing.T, f *jwksFixture) {
			f.srv.set(func(s *jwksServer) { s.status = http.StatusInternalServerError })
			f.clock.Advance(DefaultJWKSCacheTTL + time.Minute + time.Second)
		}, ReasonJWKRemoteFailedToLoad},
		{"keys stale but within JWKSMaxStaleness", func(t *testing.T, f *jwksFixture) {
			f.srv.set(func(s *jwksServer) { s.status = http.StatusInternalServerError })
			f.clock.Advance(DefaultJWKSCacheTTL + time.Minute - time.Second)
		}, ""},
		{"same keys fetched again", func(t *testing.T, f *jwksFixture) {
			require.NoError(t, f.v.Warm(context.Background()))
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newJWKSFixture(t, func(c *Config) { c.JWKSMaxStaleness = time.Minute }, jwkOf("ins_a", "RS256", &a.PublicKey))
			tok := long(f)
			_, err := f.v.Verify(context.Background(), tok)
			require.NoError(t, err)
			require.Equal(t, 1, f.v.cache.len())
			tt.change(t, f)
			_, err = f.v.Verify(context.Background(), tok)
			if tt.reason == "" {
				require.NoError(t, err)
				return
			}
			assert.Equal(t, tt.reason, ReasonOf(err), "%v", err)
		})
	}
}

// TestRefetchKeepsKeyIdentity: a refetch returning the same key keeps its
// identity, so cached tokens stay hits rather than being verified again
// after every refresh.
func TestRefetchKeepsKeyIdentity(t *testing.T) {
	a, b, _ := testKeys(t)
	f := newJWKSFixture(t, nil, jwkOf("ins_a", "RS256", &a.PublicKey))
	require.NoError(t, f.v.Warm(context.Background()))
	first := f.v.remote.snap.Load().keys["ins_a"]
	f.srv.set(func(s *jwksServer) {
		s.keys = append(s.keys, jwkOf("ins_b", "RS256", &b.PublicKey))
	})
	require.NoError(t, f.v.Warm(context.Background()))
	assert.Same(t, first, f.v.remote.snap.Load().keys["ins_a"])
	f.srv.set(func(s *jwksServer) { s.keys = []map[string]any{jwkOf("ins_a", "RS384", &a.PublicKey)} })
	require.NoError(t, f.v.Warm(context.Background()))
	assert.NotSame(t, first, f.v.remote.snap.Load().keys["ins_a"], "a key whose alg changed is a new key")
}

// TestPEMCachedTokenStaysHit: a static key never goes stale.
func TestPEMCachedTokenStaysHit(t *testing.T) {
	a, _, _ := testKeys(t)
	clock := newClock()
	v := newTestVerifier(t, Config{JWTKey: pemOf(t, &a.PublicKey), PublishableKey: testPK, Now: clock.Now})
	tok := mint(t, a, stdHeader("k"), with(stdClaims(clock.Now()), "exp", clock.Now().Add(time.Hour).Unix()))
	_, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	clock.Advance(50 * time.Minute)
	c, ok := v.cached(tok)
	require.True(t, ok)
	assert.True(t, v.keyCurrent(c.key, clock.Now()))
}
