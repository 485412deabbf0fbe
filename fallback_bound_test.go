package clerkauth

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// forgedToken is the attack of #11 item 1: a random kid, the instance's
// public issuer, a random sid, a future exp, a fresh iat and random
// signature bytes. Anyone can make one.
func forgedToken(t testing.TB, now time.Time) string {
	t.Helper()
	sig := make([]byte, 256)
	_, _ = rand.Read(sig)
	kid, sid := make([]byte, 8), make([]byte, 8)
	_, _ = rand.Read(kid)
	_, _ = rand.Read(sid)
	claims := with(stdClaims(now), "sid", fmt.Sprintf("sess_%x", sid), "jti", nil)
	return b64json(t, stdHeader(fmt.Sprintf("ins_%x", kid))) + "." + b64json(t, claims) + "." + b64(sig)
}

// TestForgedTokensUpstreamBound states, and checks, what N forged requests
// cost upstream for every combination of key source × online fallback ×
// active-session check, with the key server up and down: at most one JWKS
// fetch per cooldown (or per failure backoff), and Sessions API calls only
// with the fallback on and the key source failing, within its budget
// (FallbackBurst at once, FallbackCallsPerSecond after). Before the fix,
// every distinct forged token cost one verify call (about 650 for 64
// workers × 50 tokens), and a replayed one cost one more each time Clerk
// had refused it.
func TestForgedTokensUpstreamBound(t *testing.T) {
	const (
		distinct = 50
		replays  = 4  // each forged token is sent this many times per round
		workers  = 16 // concurrently
		burst    = 5  // DefaultFallbackBurst
		perSec   = 0.5
	)
	a, _, _ := testKeys(t)
	for _, source := range []string{"JWKS", "PEM", "both"} {
		for _, keysDown := range []bool{false, true} {
			if source == "PEM" && keysDown {
				continue // no key server to be down
			}
			for _, fallback := range []bool{false, true} {
				for _, active := range []bool{false, true} {
					name := fmt.Sprintf("%s/keysDown=%v/fallback=%v/active=%v", source, keysDown, fallback, active)
					t.Run(name, func(t *testing.T) {
						clock := newClock()
						jwks := newJWKSServer(t, jwkOf("k1", "RS256", &a.PublicKey))
						api := newFakeSessions(t)
						cfg := Config{PublishableKey: testPK, Now: clock.Now, MaxRetries: -1}
						if source != "PEM" {
							cfg.JWKSURL = jwks.URL
						}
						if source != "JWKS" {
							cfg.JWTKey = pemOf(t, &a.PublicKey)
						}
						v := newTestVerifier(t, cfg)
						if source != "PEM" {
							require.NoError(t, v.Warm(t.Context()))
							// The keys were fetched before; now the server fails, or not.
							clock.Advance(DefaultJWKSCacheTTL + time.Minute)
							if keysDown {
								jwks.set(func(s *jwksServer) { s.status = http.StatusInternalServerError })
								clock.Advance(DefaultJWKSMaxStaleness) // nothing left to serve
							}
						}
						m, err := NewMiddleware(v, MiddlewareOptions{
							SessionsClient: api.client(t, clock, "2025-03-12"), OnlineFallback: fallback,
						})
						require.NoError(t, err)
						t.Cleanup(func() { _ = m.Close() })
						h := m.Handler(whoami)
						if active {
							h = m.Handler(m.RequireActiveSession(whoami))
						}
						fetchesBefore := jwks.requests.Load()

						round := func() {
							tokens := make([]string, distinct)
							for i := range tokens {
								tokens[i] = forgedToken(t, clock.Now())
							}
							work := make(chan string)
							var wg sync.WaitGroup
							for range workers {
								wg.Go(func() {
									for tok := range work {
										code := serve(h, bearerRequest(tok)).Code
										assert.Contains(t, []int{401, 503}, code, "a forged token is never accepted")
									}
								})
							}
							for range replays {
								for _, tok := range tokens {
									work <- tok
								}
							}
							close(work)
							wg.Wait()
						}
						round()
						clock.Advance(10 * time.Second)
						round()

						n := 2 * distinct * replays
						calls := api.verifies.Load() + api.gets.Load()
						fetches := jwks.requests.Load() - fetchesBefore
						t.Logf("%d forged requests → %d Sessions API calls, %d JWKS fetches", n, calls, fetches)
						assert.Zero(t, api.gets.Load(), "the active-session check never runs for an unverified token")
						if !fallback || !keysDown {
							assert.Zero(t, calls, "no Backend API call while the keys answer, or without the fallback")
						} else {
							assert.LessOrEqual(t, calls, int64(burst+perSec*10), "the fallback's budget: burst + rate × 10 s")
							assert.Positive(t, calls, "the fallback does run while the keys are unavailable")
						}
						switch {
						case source == "PEM":
							assert.Zero(t, fetches)
						default:
							// One per round: the refresh or unknown-kid fetch
							// (cooldown 30 s), or one attempt per failure
							// backoff (1 s, then 2 s…) while the server fails.
							assert.LessOrEqual(t, fetches, int64(2*2), "key fetches stay bounded")
						}
					})
				}
			}
		}
	}
}

// TestFallbackRemembersRefusals: a token Clerk refused (404, 400, an ended
// session) is refused again until its exp without another call, however
// much budget is left, and refusals neither open nor reset the breaker.
func TestFallbackRemembersRefusals(t *testing.T) {
	for _, tt := range []struct {
		name   string
		setup  func(f *fakeSessions)
		sid    string
		reason Reason
	}{
		{"unknown session (404)", nil, "sess_unknown", ReasonTokenInvalid},
		{"token refused (400)", func(f *fakeSessions) { f.verifyAnswer = http.StatusBadRequest }, "sess_1", ReasonTokenInvalid},
		{"session ended", func(f *fakeSessions) { f.status["sess_1"] = SessionEnded }, "sess_1", ReasonSessionRevoked},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newFallbackEnv(t, MiddlewareOptions{})
			e.keysDown()
			if tt.setup != nil {
				e.api.set(tt.setup)
			}
			tok := e.token("sid", tt.sid)
			for range 20 {
				rec := serve(e.h, bearerRequest(tok))
				assert.Equal(t, 401, rec.Code)
				assert.Equal(t, string(tt.reason), reasonOf(t, rec))
				e.clock.Advance(2 * time.Second) // the budget refills
			}
			assert.EqualValues(t, 1, e.api.verifies.Load(), "one call, then Clerk's refusal is remembered")
			e.clock.Advance(30 * time.Second) // past exp + leeway
			rec := serve(e.h, bearerRequest(tok))
			assert.Equal(t, string(ReasonTokenExpired), reasonOf(t, rec))
			assert.EqualValues(t, 1, e.api.verifies.Load())
		})
	}
}

// TestFallbackBudgetLeavesRevokeItsShare: a flood of forged tokens during a
// key outage spends only the fallback's budget, so the administrator's
// Revoke still reaches Clerk.
func TestFallbackBudgetLeavesRevokeItsShare(t *testing.T) {
	e := newFallbackEnv(t, MiddlewareOptions{FallbackBurst: 3, FallbackCallsPerSecond: 1})
	e.keysDown()
	for range 200 {
		assert.NotEqual(t, 200, serve(e.h, bearerRequest(forgedToken(t, e.clock.Now()))).Code)
	}
	assert.EqualValues(t, 3, e.api.verifies.Load(), "the burst, then nothing until the bucket refills")
	e.clock.Advance(2 * time.Second)
	for range 200 {
		serve(e.h, bearerRequest(forgedToken(t, e.clock.Now())))
	}
	assert.EqualValues(t, 5, e.api.verifies.Load(), "one call per second after")
	require.NoError(t, e.m.Revoke(t.Context(), "sess_1"))
	assert.EqualValues(t, 1, e.api.revokes.Load())
}
