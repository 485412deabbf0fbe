package clerkauth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// authEnv is a faultEnv behind the middleware with default options; the
// protected handler answers 200 with the session ID.
type authEnv struct {
	*faultEnv
	m *clerkauth.Middleware
	h http.Handler
}

func newAuthEnv(t *testing.T, opts clerkauth.MiddlewareOptions) *authEnv {
	t.Helper()
	e := &authEnv{faultEnv: newFaultEnv(t, nil)}
	m, err := clerkauth.NewMiddleware(e.v, opts)
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	e.m = m
	e.h = m.Handler(http.HandlerFunc(echoSession))
	return e
}

// echoSession answers 200 with the session ID of the request's context.
func echoSession(w http.ResponseWriter, r *http.Request) {
	c, ok := clerkauth.SessionFromContext(r.Context())
	if !ok {
		http.Error(w, "no session in context", http.StatusInternalServerError)
		return
	}
	io.WriteString(w, c.SessionID)
}

// authAnswer is what a test reads of a response.
type authAnswer struct {
	status     int
	challenge  string // WWW-Authenticate
	retryAfter string
	reason     clerkauth.Reason // errors[0].meta.reason of an error body
	body       string
}

func readAnswer(t *testing.T, status int, h http.Header, body []byte) authAnswer {
	t.Helper()
	a := authAnswer{status: status, challenge: h.Get("WWW-Authenticate"),
		retryAfter: h.Get("Retry-After"), body: string(body)}
	if status >= 400 {
		var doc struct {
			Errors []struct {
				Meta map[string]string `json:"meta"`
			} `json:"errors"`
		}
		require.NoError(t, json.Unmarshal(body, &doc), "error body %q", body)
		require.Len(t, doc.Errors, 1)
		a.reason = clerkauth.Reason(doc.Errors[0].Meta["reason"])
	}
	return a
}

// serve runs r through the middleware in process.
func (e *authEnv) serve(t *testing.T, r *http.Request) authAnswer {
	t.Helper()
	rec := httptest.NewRecorder()
	require.NotPanics(t, func() { e.h.ServeHTTP(rec, r) })
	return readAnswer(t, rec.Code, rec.Header(), rec.Body.Bytes())
}

func (e *authEnv) serveToken(t *testing.T, ctx context.Context, tok string) authAnswer {
	t.Helper()
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return e.serve(t, r)
}

// requireUnavailable asserts a 503 that blames the keys: Retry-After, no
// challenge (the client is not at fault).
func requireUnavailable(t *testing.T, a authAnswer) {
	t.Helper()
	require.Equal(t, http.StatusServiceUnavailable, a.status, a.body)
	assert.NotEmpty(t, a.retryAfter)
	assert.Empty(t, a.challenge)
	assert.Contains(t, []clerkauth.Reason{clerkauth.ReasonJWKRemoteFailedToLoad,
		clerkauth.ReasonJWKFailedToResolve, clerkauth.ReasonSecretKeyInvalid}, a.reason)
}

func TestFaultMiddlewareJWKSDownAtStartThenRecovers(t *testing.T) {
	e := newAuthEnv(t, clerkauth.MiddlewareOptions{})
	ctx := context.Background()
	e.srv.SetFault(clerktest.EndpointJWKS, clerktest.Fault{Down: true})

	a := e.serveToken(t, ctx, e.token(t))
	requireUnavailable(t, a)
	assert.Equal(t, "5", a.retryAfter, "DefaultRetryAfter")

	e.srv.SetFault(clerktest.EndpointJWKS, clerktest.Fault{})
	e.clock.Advance(clerkauth.DefaultJWKSRefreshCooldown + time.Second)
	a = e.serveToken(t, ctx, e.token(t))
	require.Equal(t, http.StatusOK, a.status, a.body)
	assert.Equal(t, e.sid, a.body)
}

func TestFaultMiddlewareBeyondMaxStaleness(t *testing.T) {
	e := newAuthEnv(t, clerkauth.MiddlewareOptions{})
	ctx := context.Background()
	require.NoError(t, e.v.Warm(ctx))
	e.srv.SetFault(clerktest.EndpointJWKS, clerktest.Fault{Status: 503})

	e.clock.Advance(clerkauth.DefaultJWKSCacheTTL + time.Minute)
	a := e.serveToken(t, ctx, e.token(t))
	require.Equal(t, http.StatusOK, a.status, "stale keys serve: %s", a.body)

	e.clock.Advance(e.cfg.JWKSMaxStaleness)
	requireUnavailable(t, e.serveToken(t, ctx, e.token(t)))
}

func TestFaultMiddlewareSlowJWKSHonoursRequestDeadline(t *testing.T) {
	e := newAuthEnv(t, clerkauth.MiddlewareOptions{})
	e.srv.SetFault(clerktest.EndpointJWKS, clerktest.Fault{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	requireUnavailable(t, e.serveToken(t, ctx, e.token(t)))
}

func TestFaultMiddlewareUnusableKeySetAtColdStart(t *testing.T) {
	for name, f := range map[string]clerktest.Fault{
		"empty key set":  {EmptyKeys: true},
		"malformed body": {MalformedBody: true},
	} {
		t.Run(name, func(t *testing.T) {
			e := newAuthEnv(t, clerkauth.MiddlewareOptions{})
			e.srv.SetFault(clerktest.EndpointJWKS, f)
			requireUnavailable(t, e.serveToken(t, context.Background(), e.token(t)))
		})
	}
}
