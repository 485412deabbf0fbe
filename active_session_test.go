package clerkauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type activeEnv struct {
	*mwEnv
	api *fakeSessions
	m   *Middleware
	h   http.Handler
}

func newActiveEnv(t *testing.T, opts MiddlewareOptions) *activeEnv {
	e := &activeEnv{mwEnv: newMWEnv(t), api: newFakeSessions(t)}
	opts.SessionsClient = e.api.client(t, e.clock, "")
	e.m = e.middleware(opts)
	e.h = e.m.Handler(e.m.RequireActiveSession(whoami))
	return e
}

func TestRequireActiveSessionCachesAnswers(t *testing.T) {
	e := newActiveEnv(t, MiddlewareOptions{})
	tok := e.token()
	for range 3 {
		assert.Equal(t, 200, serve(e.h, bearerRequest(tok)).Code)
	}
	assert.EqualValues(t, 1, e.api.gets.Load(), "answers are trusted for the TTL")
	e.clock.Advance(DefaultActiveSessionTTL)
	assert.Equal(t, 200, serve(e.h, bearerRequest(tok)).Code)
	assert.EqualValues(t, 2, e.api.gets.Load())
}

func TestRequireActiveSessionRejectsRevoked(t *testing.T) {
	e := newActiveEnv(t, MiddlewareOptions{ActiveSessionTTL: time.Second})
	tok := e.token()
	require.Equal(t, 200, serve(e.h, bearerRequest(tok)).Code)

	e.api.set(func(f *fakeSessions) { f.status["sess_1"] = SessionRevoked }) // revoked elsewhere
	e.clock.Advance(time.Second)
	rec := serve(e.h, bearerRequest(tok))
	assert.Equal(t, 401, rec.Code)
	assert.Equal(t, string(ReasonSessionRevoked), reasonOf(t, rec))
	assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`)
	assert.EqualValues(t, 2, e.api.gets.Load())

	// The revocation is now known locally: even unguarded routes reject it.
	rec = serve(e.m.Handler(whoami), bearerRequest(tok))
	assert.Equal(t, 401, rec.Code)
	assert.EqualValues(t, 2, e.api.gets.Load())
}

func TestRequireActiveSessionAnswers(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(f *fakeSessions)
		token      []any
		wantStatus int
		wantReason Reason
		wantRetry  string
	}{
		{"unknown session", func(*fakeSessions) {}, []any{"sid", "sess_gone"}, 401, ReasonSessionRevoked, ""},
		{"ended session", func(f *fakeSessions) { f.status["sess_1"] = SessionEnded }, nil, 401, ReasonSessionRevoked, ""},
		{"another user's session", func(*fakeSessions) {}, []any{"sub", "user_2"}, 401, ReasonTokenInvalid, ""},
		{"api down", func(f *fakeSessions) { f.getAnswer = 500 }, nil, 503, ReasonSessionsUnavailable, "5"},
		{"rate limited", func(f *fakeSessions) { f.getAnswer, f.retryAfter = 429, "7" }, nil, 503, ReasonSessionsUnavailable, "7"},
		{"secret key rejected", func(f *fakeSessions) { f.getAnswer = 401 }, nil, 503, ReasonSessionsUnavailable, "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newActiveEnv(t, MiddlewareOptions{})
			e.api.set(tt.setup)
			rec := serve(e.h, bearerRequest(e.token(tt.token...)))
			require.Equal(t, tt.wantStatus, rec.Code, rec.Body.String())
			assert.Equal(t, string(tt.wantReason), reasonOf(t, rec))
			assert.Equal(t, tt.wantRetry, rec.Header().Get("Retry-After"))
			if tt.wantStatus == 503 {
				assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

func TestRequireActiveSessionMergesLookups(t *testing.T) {
	e := newActiveEnv(t, MiddlewareOptions{})
	gate := make(chan struct{})
	e.api.set(func(f *fakeSessions) { f.gate = gate })
	const n = 6
	codes := make(chan int, n)
	for i := range n {
		tok := e.token("jti", string(rune('a'+i))) // different tokens, one session
		go func() { codes <- serve(e.h, bearerRequest(tok)).Code }()
	}
	waitFor(t, "all requests to join the lookup", func() bool { return e.m.active.flight.waiting("sess_1") == n })
	close(gate)
	for range n {
		assert.Equal(t, 200, <-codes)
	}
	assert.EqualValues(t, 1, e.api.gets.Load())
}

func TestRequireActiveSessionWithoutSession(t *testing.T) {
	e := newActiveEnv(t, MiddlewareOptions{Optional: true})
	rec := serve(e.h, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, 401, rec.Code, "signed out in optional mode: the guard answers 401")
	assert.Equal(t, `Bearer realm="api"`, rec.Header().Get("WWW-Authenticate"))
	assert.Zero(t, e.api.gets.Load())

	m := e.middleware(MiddlewareOptions{})
	assert.Panics(t, func() { m.RequireActiveSession(whoami) }, "no SessionsClient")
}

func TestRevoke(t *testing.T) {
	e := newActiveEnv(t, MiddlewareOptions{})
	tok := e.token()
	h := e.m.Handler(whoami)
	require.Equal(t, 200, serve(h, bearerRequest(tok)).Code)

	require.NoError(t, e.m.Revoke(t.Context(), "sess_1"))
	assert.EqualValues(t, 1, e.api.revokes.Load())
	e.api.set(func(f *fakeSessions) { assert.Equal(t, SessionRevoked, f.status["sess_1"]) })
	rec := serve(h, bearerRequest(tok))
	assert.Equal(t, 401, rec.Code, "rejected at once, though the token verifies")
	assert.Equal(t, string(ReasonSessionRevoked), reasonOf(t, rec))

	// Clerk failing: still revoked locally, and the error says so.
	err := e.m.Revoke(t.Context(), "sess_unknown")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.ErrorIs(t, err, ErrRevokedLocallyOnly)
	rec = serve(h, bearerRequest(e.token("sid", "sess_unknown")))
	assert.Equal(t, 401, rec.Code)

	// Without a client: local only.
	local := e.middleware(MiddlewareOptions{})
	err = local.Revoke(t.Context(), "sess_3")
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.ErrorIs(t, err, ErrRevokedLocallyOnly)
	assert.Equal(t, 401, serve(local.Handler(whoami), bearerRequest(e.token("sid", "sess_3"))).Code)
	err = local.Revoke(t.Context(), "")
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.NotErrorIs(t, err, ErrRevokedLocallyOnly, "nothing was revoked")
}

// TestRequireActiveSessionBoundsClerksStatus: the status Clerk reports
// for an ended session is echoed into the answer cut to 32 printable
// bytes, whatever the upstream sent.
func TestRequireActiveSessionBoundsClerksStatus(t *testing.T) {
	e := newActiveEnv(t, MiddlewareOptions{})
	huge := SessionStatus(strings.Repeat("x", 10000) + "\r\nX-Evil: 1")
	e.api.set(func(f *fakeSessions) { f.status["sess_1"] = huge })
	rec := serve(e.h, bearerRequest(e.token()))
	require.Equal(t, 401, rec.Code)
	assert.Equal(t, string(ReasonSessionRevoked), reasonOf(t, rec))
	assert.Contains(t, rec.Body.String(), "Clerk reports the session is "+strings.Repeat("x", 32))
	assert.NotContains(t, rec.Body.String(), strings.Repeat("x", 33))
	assert.Less(t, rec.Body.Len(), 1024)
}
