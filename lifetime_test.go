package clerkauth

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVerifyBoundsTokenLifetime: a token living longer than
// MaxTokenLifetime would verify again once a revocation of its session was
// forgotten, so it is refused; so is a token without iat, whose lifetime
// cannot be known.
func TestVerifyBoundsTokenLifetime(t *testing.T) {
	a, _, _ := testKeys(t)
	clock := newClock()
	now := clock.Now()
	c := stdClaims(now)
	tests := []struct {
		name     string
		lifetime time.Duration // 0: the default
		claims   map[string]any
		reason   Reason
	}{
		{"60 s session token", 0, c, ""},
		{"exactly the maximum", 0, with(c, "exp", now.Add(time.Hour).Unix()), ""},
		{"one second over", 0, with(c, "exp", now.Add(time.Hour+time.Second).Unix()), ReasonTokenLifetimeExceeded},
		{"6 h CreateToken token", 0, with(c, "exp", now.Add(6*time.Hour).Unix()), ReasonTokenLifetimeExceeded},
		{"issued long ago, still in date", 0, with(c, "iat", now.Add(-5*time.Hour).Unix(), "nbf", nil, "exp", now.Add(time.Minute).Unix()), ReasonTokenLifetimeExceeded},
		{"no iat", 0, with(c, "iat", nil), ReasonTokenVerificationFailed},
		{"no iat, short exp", 0, with(c, "iat", nil, "exp", now.Add(30*time.Second).Unix()), ReasonTokenVerificationFailed},
		{"6 h with a 6 h maximum", 6 * time.Hour, with(c, "exp", now.Add(6*time.Hour).Unix()), ""},
		{"2 min with a 1 min maximum", time.Minute, with(c, "exp", now.Add(2*time.Minute).Unix()), ReasonTokenLifetimeExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestVerifier(t, Config{
				JWTKey: pemOf(t, &a.PublicKey), PublishableKey: testPK, Now: clock.Now, MaxTokenLifetime: tt.lifetime,
			})
			_, err := v.Verify(context.Background(), mint(t, a, stdHeader("k1"), tt.claims))
			if tt.reason == "" {
				require.NoError(t, err)
				return
			}
			assert.Equal(t, tt.reason, ReasonOf(err), "%v", err)
			assert.ErrorIs(t, err, ErrInvalidToken)
		})
	}
}

// TestRevocationOutlivesEveryAcceptedToken: the attack (a 6-hour
// token verifying again 1 h 10 s after Revoke) now fails at the first
// verification, and the longest token the Verifier accepts, issued at the
// revocation with its iat a leeway ahead, stays refused until it expires.
func TestRevocationOutlivesEveryAcceptedToken(t *testing.T) {
	a, _, _ := testKeys(t)
	clock := newClock()
	v := newTestVerifier(t, Config{JWTKey: pemOf(t, &a.PublicKey), PublishableKey: testPK, Now: clock.Now})
	now := clock.Now()
	long := mint(t, a, stdHeader("k1"), with(stdClaims(now), "exp", now.Add(6*time.Hour).Unix()))
	_, err := v.Verify(t.Context(), long)
	require.Equal(t, ReasonTokenLifetimeExceeded, ReasonOf(err))

	iat := now.Add(DefaultLeeway) // the issuer's clock one leeway ahead
	longest := mint(t, a, stdHeader("k1"), with(stdClaims(now),
		"iat", iat.Unix(), "nbf", nil, "exp", iat.Add(DefaultMaxTokenLifetime).Unix()))
	_, err = v.Verify(t.Context(), longest)
	require.NoError(t, err)
	require.NoError(t, v.MarkRevoked(t.Context(), "sess_1"))

	// The token is accepted until exp + leeway; check the last second.
	clock.Advance(DefaultMaxTokenLifetime + 2*DefaultLeeway - time.Second)
	_, err = v.Verify(t.Context(), longest)
	assert.Equal(t, ReasonSessionRevoked, ReasonOf(err), "revocation forgotten before the token expired: %v", err)
	clock.Advance(time.Second)
	_, err = v.Verify(t.Context(), longest)
	assert.Equal(t, ReasonTokenExpired, ReasonOf(err))
}

// TestMaxTokenLifetimeAppliesToSessionsOnly: MaxTokenLifetime bounds how
// long a session revocation must be remembered; machine JWTs cannot be
// revoked, and Clerk's OAuth JWTs live a day by default, so they are not
// refused for their lifetime, whatever route reads them. Session tokens
// are, on routes accepting machine tokens too.
func TestMaxTokenLifetimeAppliesToSessionsOnly(t *testing.T) {
	e := newMachineEnv(t)
	now := e.clock.Now()
	a, _, _ := testKeys(t)
	day := now.Add(24 * time.Hour).Unix()
	oauth := e.oauth("exp", day)
	m2m := e.m2m("exp", day)
	longSession := mint(t, a, stdHeader("k1"), with(stdClaims(now), "exp", day))

	for _, tok := range []string{oauth, m2m} {
		mt, err := e.v.VerifyMachineToken(t.Context(), tok)
		require.NoError(t, err)
		assert.Equal(t, day, mt.Expiration.Unix())
	}
	m := e.middleware(MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindAny}})
	for tok, want := range map[string]int{oauth: 200, m2m: 200, longSession: 401} {
		for range 2 { // cold, then from the verified-token caches
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			rec := httptest.NewRecorder()
			m.Handler(whoisMachine).ServeHTTP(rec, req)
			assert.Equal(t, want, rec.Code, rec.Body.String())
		}
	}
	_, err := e.v.Verify(t.Context(), longSession)
	assert.Equal(t, ReasonTokenLifetimeExceeded, ReasonOf(err))
}
