package clerkauth

import (
	"bytes"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fallbackEnv is a middleware with the online fallback over a fake API.
type fallbackEnv struct {
	*mwEnv
	api *fakeSessions
	m   *Middleware
	log *bytes.Buffer
	h   http.Handler
}

func newFallbackEnv(t *testing.T, opts MiddlewareOptions) *fallbackEnv {
	e := &fallbackEnv{mwEnv: newMWEnv(t), api: newFakeSessions(t), log: &bytes.Buffer{}}
	opts.OnlineFallback = true
	opts.SessionsClient = e.api.client(t, e.clock, "2025-03-12")
	opts.Logger = slog.New(slog.NewTextHandler(&lockedWriter{w: e.log}, nil))
	e.m = e.middleware(opts)
	e.h = e.m.Handler(whoami)
	return e
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestFallbackConfirmsWhenKeysAreUnavailable(t *testing.T) {
	e := newFallbackEnv(t, MiddlewareOptions{})
	e.keysDown()
	tok := e.token()
	rec := serve(e.h, bearerRequest(tok))
	require.Equal(t, 200, rec.Code, rec.Body.String())
	assert.Equal(t, "user_1", rec.Body.String())
	assert.EqualValues(t, 1, e.api.verifies.Load())

	// Cached until exp: no new call, even well into the token's life.
	e.clock.Advance(50 * time.Second)
	assert.Equal(t, 200, serve(e.h, bearerRequest(tok)).Code)
	assert.EqualValues(t, 1, e.api.verifies.Load())

	// Past exp (and leeway) the token is expired, without asking Clerk.
	e.clock.Advance(20 * time.Second)
	rec = serve(e.h, bearerRequest(tok))
	assert.Equal(t, 401, rec.Code)
	assert.Equal(t, string(ReasonTokenExpired), reasonOf(t, rec))
	assert.EqualValues(t, 1, e.api.verifies.Load())
}

// TestFallbackNeverOnUnknownKid: an unknown kid is answered by the key
// source (Config.JWKSRefreshCooldown), never by a Backend API call.
func TestFallbackNeverOnUnknownKid(t *testing.T) {
	e := newFallbackEnv(t, MiddlewareOptions{})
	_, b, _ := testKeys(t)
	require.NoError(t, e.v.Warm(t.Context()))
	rec := serve(e.h, bearerRequest(mint(t, b, stdHeader("k2"), stdClaims(e.clock.Now()))))
	assert.Equal(t, 401, rec.Code, "the key set fetched for it lacks the kid")
	assert.Equal(t, string(ReasonJWKKidMismatch), reasonOf(t, rec))

	rec = serve(e.h, bearerRequest(mint(t, b, stdHeader("k3"), stdClaims(e.clock.Now()))))
	assert.Equal(t, 503, rec.Code, "another new kid within the cooldown is undecided")
	assert.Equal(t, string(ReasonJWKRefreshCoolingDown), reasonOf(t, rec))
	assert.Equal(t, "30", rec.Header().Get("Retry-After"), "the rest of the cooldown")

	e.clock.Advance(10 * time.Second)
	rec = serve(e.h, bearerRequest(mint(t, b, stdHeader("k4"), with(stdClaims(e.clock.Now()), "iat", e.clock.Now().Unix()-20))))
	assert.Equal(t, 401, rec.Code, "a token issued before the last fetch is judged by it")
	assert.Equal(t, string(ReasonJWKKidMismatch), reasonOf(t, rec))
	assert.Zero(t, e.api.verifies.Load())
	assert.EqualValues(t, 2, e.jwks.requests.Load(), "the warm-up and one fetch for the first new kid")
}

func TestFallbackNeverCalledForBadTokens(t *testing.T) {
	a, b, _ := testKeys(t)
	tests := []struct {
		name       string
		keysDown   bool
		token      func(e *fallbackEnv) string
		wantReason Reason
	}{
		{"expired, keys down", true, func(e *fallbackEnv) string { return e.token("exp", e.clock.Now().Unix()-60) }, ReasonTokenExpired},
		{"malformed, keys down", true, func(*fallbackEnv) string { return "abc.def.ghi" }, ReasonTokenInvalid},
		{"foreign issuer, keys down", true, func(e *fallbackEnv) string { return e.token("iss", "https://evil.test") }, ReasonTokenInvalidIssuer},
		{"no kid, keys down", true, func(e *fallbackEnv) string {
			return mint(t, a, with(stdHeader("k1"), "kid", nil), stdClaims(e.clock.Now()))
		}, ""},
		{"bad signature under a known key", false, func(e *fallbackEnv) string {
			return mint(t, b, stdHeader("k1"), stdClaims(e.clock.Now()))
		}, ReasonTokenInvalidSignature},
		{"unknown kid, expired", false, func(e *fallbackEnv) string {
			return mint(t, b, stdHeader("k9"), with(stdClaims(e.clock.Now()), "exp", e.clock.Now().Unix()-60))
		}, ReasonTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newFallbackEnv(t, MiddlewareOptions{})
			if tt.keysDown {
				e.keysDown()
			}
			rec := serve(e.h, bearerRequest(tt.token(e)))
			assert.NotEqual(t, 200, rec.Code)
			if tt.wantReason != "" {
				assert.Equal(t, string(tt.wantReason), reasonOf(t, rec))
			}
			assert.Zero(t, e.api.verifies.Load(), "the fallback must not call Clerk")
		})
	}
}

func TestFallbackMergesConcurrentRequests(t *testing.T) {
	e := newFallbackEnv(t, MiddlewareOptions{})
	e.keysDown()
	gate := make(chan struct{})
	e.api.set(func(f *fakeSessions) { f.gate = gate })
	tok := e.token()
	key := sha256.Sum256([]byte(tok))
	const n = 8
	codes := make(chan int, n)
	for range n {
		go func() { codes <- serve(e.h, bearerRequest(tok)).Code }()
	}
	waitFor(t, "all requests to join the call", func() bool { return e.m.fallback.flight.waiting(string(key[:])) == n })
	close(gate)
	for range n {
		assert.Equal(t, 200, <-codes)
	}
	assert.EqualValues(t, 1, e.api.verifies.Load())
}

func TestFallbackCircuitBreaker(t *testing.T) {
	e := newFallbackEnv(t, MiddlewareOptions{FallbackFailureThreshold: 2, FallbackCoolOff: 30 * time.Second})
	e.keysDown()
	e.api.set(func(f *fakeSessions) { f.verifyAnswer = http.StatusInternalServerError })
	fresh := func(i int) string { return e.token("jti", strings.Repeat("j", i+1)) }

	for i := range 2 {
		rec := serve(e.h, bearerRequest(fresh(i)))
		assert.Equal(t, 503, rec.Code, "an API failure leaves the keys' verdict")
	}
	require.EqualValues(t, 2, e.api.verifies.Load())

	rec := serve(e.h, bearerRequest(fresh(2)))
	assert.Equal(t, 503, rec.Code)
	assert.EqualValues(t, 2, e.api.verifies.Load(), "open: no call")

	e.clock.Advance(31 * time.Second) // half-open: one probe, which fails and reopens
	assert.Equal(t, 503, serve(e.h, bearerRequest(fresh(3))).Code)
	assert.Equal(t, 503, serve(e.h, bearerRequest(fresh(4))).Code)
	assert.EqualValues(t, 3, e.api.verifies.Load())

	e.clock.Advance(31 * time.Second)
	e.api.set(func(f *fakeSessions) { f.verifyAnswer = 0 })
	assert.Equal(t, 200, serve(e.h, bearerRequest(fresh(5))).Code, "the probe succeeds and closes the circuit")
	assert.Equal(t, 200, serve(e.h, bearerRequest(fresh(6))).Code)
	assert.EqualValues(t, 5, e.api.verifies.Load())
}

func TestFallbackDisablesItselfOnGone(t *testing.T) {
	e := newFallbackEnv(t, MiddlewareOptions{})
	e.keysDown()
	e.api.set(func(f *fakeSessions) { f.verifyAnswer = http.StatusGone })
	for i := range 3 {
		rec := serve(e.h, bearerRequest(e.token("jti", strings.Repeat("j", i+1))))
		assert.Equal(t, 503, rec.Code)
	}
	assert.EqualValues(t, 1, e.api.verifies.Load(), "disabled after the first 410")
	assert.Equal(t, 1, strings.Count(e.log.String(), "online fallback disabled"), e.log.String())
	assert.Contains(t, e.log.String(), "level=WARN")
	assert.NotContains(t, e.log.String(), testSecret)
}

func TestFallbackRespectsLocalRevocation(t *testing.T) {
	e := newFallbackEnv(t, MiddlewareOptions{})
	e.keysDown()
	tok := e.token()
	require.Equal(t, 200, serve(e.h, bearerRequest(tok)).Code)
	require.NoError(t, e.m.Revoke(t.Context(), "sess_1"))
	rec := serve(e.h, bearerRequest(tok))
	assert.Equal(t, 401, rec.Code)
	assert.Equal(t, string(ReasonSessionRevoked), reasonOf(t, rec))
}

func TestFallbackRejectsInactiveOrMismatchedSessions(t *testing.T) {
	e := newFallbackEnv(t, MiddlewareOptions{})
	e.keysDown()
	e.api.set(func(f *fakeSessions) { f.status["sess_1"] = SessionEnded })
	rec := serve(e.h, bearerRequest(e.token()))
	assert.Equal(t, 401, rec.Code)
	assert.Equal(t, string(ReasonSessionRevoked), reasonOf(t, rec))

	e.api.set(func(f *fakeSessions) { f.status["sess_2"] = SessionActive })
	rec = serve(e.h, bearerRequest(e.token("sid", "sess_2", "sub", "user_2")))
	assert.Equal(t, 401, rec.Code, "the fake's session belongs to user_1")
	assert.Equal(t, string(ReasonTokenInvalid), reasonOf(t, rec))

	rec = serve(e.h, bearerRequest(e.token("sid", "sess_unknown")))
	assert.Equal(t, 401, rec.Code, "404: Clerk has no such session")
	assert.Equal(t, string(ReasonTokenInvalid), reasonOf(t, rec))
}

func TestBreakerStates(t *testing.T) {
	clock := newClock()
	b := &breaker{threshold: 3, coolOff: time.Minute, now: clock.Now}
	for range 2 {
		require.True(t, b.allow())
		b.record(callFailed)
	}
	require.True(t, b.allow())
	b.record(callWorked) // a success resets the count
	for range 2 {
		require.True(t, b.allow())
		b.record(callFailed)
	}
	require.True(t, b.allow())
	b.record(callAnswered) // a refusal of a (forged) token does not
	require.True(t, b.allow())
	b.record(callFailed)
	assert.False(t, b.allow(), "open")
	clock.Advance(time.Minute)
	assert.True(t, b.allow(), "half-open probe")
	assert.False(t, b.allow(), "one probe at a time")
	b.record(callAnswered)
	assert.True(t, b.allow(), "closed again: the probe reached a working API")
}

func TestFallbackPinsTheLastAPIVersionWithVerify(t *testing.T) {
	current, err := NewSessionsClient(Config{SecretKey: testSecret, APIURL: "http://127.0.0.1:9/v1"})
	require.NoError(t, err)
	old, err := NewSessionsClient(Config{SecretKey: testSecret, APIURL: "http://127.0.0.1:9/v1", APIVersion: "2024-10-01"})
	require.NoError(t, err)
	assert.Equal(t, "2025-03-12", verifyClient(current).apiVersion)
	assert.Equal(t, DefaultAPIVersion, current.apiVersion, "the caller's client is not changed")
	assert.Equal(t, "2024-10-01", verifyClient(old).apiVersion)
}

// TestFallbackProxyErrorsDecideNothing: a 400, 404 or 422 without Clerk's
// error body (a proxy's page, a wrong APIURL) is not Clerk refusing the
// token: the request is answered 503, nothing is remembered, and once the
// path to Clerk heals the token is confirmed. Such answers count as
// failures for the circuit breaker.
func TestFallbackProxyErrorsDecideNothing(t *testing.T) {
	for _, status := range []int{http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			e := newFallbackEnv(t, MiddlewareOptions{})
			e.keysDown()
			e.api.set(func(f *fakeSessions) { f.verifyAnswer, f.bareErrors = status, true })
			tok := e.token()
			rec := serve(e.h, bearerRequest(tok))
			assert.Equal(t, 503, rec.Code, "undecided, not refused: %s", rec.Body.String())

			e.api.set(func(f *fakeSessions) { f.verifyAnswer, f.bareErrors = 0, false })
			rec = serve(e.h, bearerRequest(tok))
			assert.Equal(t, 200, rec.Code, "no refusal was remembered: %s", rec.Body.String())
			assert.EqualValues(t, 2, e.api.verifies.Load())
		})
	}
	t.Run("Clerk's own 404 still refuses", func(t *testing.T) {
		e := newFallbackEnv(t, MiddlewareOptions{})
		e.keysDown()
		e.api.set(func(f *fakeSessions) { f.verifyAnswer = http.StatusNotFound })
		rec := serve(e.h, bearerRequest(e.token()))
		assert.Equal(t, 401, rec.Code)
		assert.Equal(t, string(ReasonTokenInvalid), reasonOf(t, rec))
	})
	t.Run("the breaker counts them as failures", func(t *testing.T) {
		for _, tt := range []struct {
			err  *APIError
			want callOutcome
		}{
			{&APIError{StatusCode: 404, Body: "not here"}, callFailed},
			{&APIError{StatusCode: 400}, callFailed},
			{&APIError{StatusCode: 404, Errors: []APIErrorEntry{{Code: "resource_not_found"}}}, callAnswered},
			{&APIError{StatusCode: 422, Errors: []APIErrorEntry{{Code: "form_param_invalid"}}}, callAnswered},
		} {
			assert.Equal(t, tt.want, outcomeOf(tt.err), "%d %v", tt.err.StatusCode, tt.err.Errors)
		}
	})
}
