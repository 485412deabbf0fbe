package clerkauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMiddlewareRequiredMode(t *testing.T) {
	e := newMWEnv(t)
	_, b, _ := testKeys(t)
	good := e.token()
	suffixed := "__session_" + CookieSuffix(testPK)
	tests := []struct {
		name       string
		req        func() *http.Request
		wantStatus int
		wantBody   string // 200 only
		wantAuth   string // exact WWW-Authenticate, "" for none
		wantReason string
	}{
		{"bearer token", func() *http.Request { return bearerRequest(good) }, 200, "user_1", "", ""},
		{"lower-case scheme and extra spaces", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "  bearer \t "+good+"  ")
			return r
		}, 200, "user_1", "", ""},
		{"bare jwt without scheme", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", good)
			return r
		}, 200, "user_1", "", ""},
		{"no token", func() *http.Request { return httptest.NewRequest("GET", "/", nil) },
			401, "", `Bearer realm="api"`, "session-token-missing"},
		{"basic credentials are no bearer token", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.SetBasicAuth("u", "p")
			return r
		}, 401, "", `Bearer realm="api"`, "session-token-missing"},
		{"expired token", func() *http.Request { return bearerRequest(e.token("exp", e.clock.Now().Unix()-60)) },
			401, "", `Bearer realm="api", error="invalid_token", error_description="token has expired"`, "token-expired"},
		{"signature by another key", func() *http.Request {
			return bearerRequest(mint(t, b, stdHeader("k1"), stdClaims(e.clock.Now())))
		}, 401, "", `Bearer realm="api", error="invalid_token", error_description="signature is invalid"`, "token-invalid-signature"},
		{"quotes in the description are replaced", func() *http.Request {
			a, _, _ := testKeys(t)
			return bearerRequest(mint(t, a, with(stdHeader("k1"), "typ", "JOSE"), stdClaims(e.clock.Now())))
		}, 401, "", `Bearer realm="api", error="invalid_token", error_description="typ must be 'JWT' or absent"`, "token-invalid"},
		{"two authorization headers", func() *http.Request {
			r := bearerRequest(good)
			r.Header.Add("Authorization", "Bearer "+good)
			return r
		}, 400, "", `Bearer realm="api", error="invalid_request", error_description="several Authorization headers"`, "invalid-request"},
		{"bearer without token", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header.Set("Authorization", "Bearer ")
			return r
		}, 400, "", `Bearer realm="api", error="invalid_request", error_description="Bearer scheme without a token"`, "invalid-request"},
		{"empty authorization header", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header["Authorization"] = []string{""}
			return r
		}, 400, "", `Bearer realm="api", error="invalid_request", error_description="empty Authorization header"`, "invalid-request"},
		{"token with a space", func() *http.Request { return bearerRequest("a b") },
			400, "", `Bearer realm="api", error="invalid_request", error_description="bearer token is not a b64token"`, "invalid-request"},
		{"session cookie", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.AddCookie(&http.Cookie{Name: "__session", Value: good})
			r.AddCookie(&http.Cookie{Name: "__client_uat", Value: "1"})
			return r
		}, 200, "user_1", "", ""},
		{"session cookie of a signed-out client", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.AddCookie(&http.Cookie{Name: "__session", Value: good})
			return r
		}, 401, "", `Bearer realm="api", error="invalid_token", error_description="session cookie without a signed-in __client_uat"`,
			"session-token-but-no-client-uat"},
		{"basic credentials fall back to the cookie", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.SetBasicAuth("u", "p")
			r.AddCookie(&http.Cookie{Name: "__session", Value: good})
			r.AddCookie(&http.Cookie{Name: "__client_uat", Value: "1"})
			return r
		}, 200, "user_1", "", ""},
		{"suffixed cookie preferred", func() *http.Request {
			r := httptest.NewRequest("GET", "/", nil)
			r.AddCookie(&http.Cookie{Name: "__session", Value: "stale.from.elsewhere"})
			r.AddCookie(&http.Cookie{Name: "__client_uat", Value: "1"})
			r.AddCookie(&http.Cookie{Name: suffixed, Value: good})
			r.AddCookie(&http.Cookie{Name: "__client_uat_" + CookieSuffix(testPK), Value: "1"})
			return r
		}, 200, "user_1", "", ""},
		{"header wins over cookie", func() *http.Request {
			r := bearerRequest(e.token("exp", e.clock.Now().Unix()-60))
			r.AddCookie(&http.Cookie{Name: "__session", Value: good})
			return r
		}, 401, "", `Bearer realm="api", error="invalid_token", error_description="token has expired"`, "token-expired"},
	}
	h := e.middleware(MiddlewareOptions{}).Handler(whoami) // the cookie suffix comes from the Verifier's publishable key
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h, tt.req())
			require.Equal(t, tt.wantStatus, rec.Code, rec.Body.String())
			assert.Equal(t, "Authorization, Cookie", rec.Header().Get("Vary"))
			if tt.wantStatus == 200 {
				assert.Equal(t, tt.wantBody, rec.Body.String())
				assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
				return
			}
			assert.Equal(t, tt.wantAuth, rec.Header().Get("WWW-Authenticate"))
			assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
			assert.Equal(t, "application/json; charset=utf-8", rec.Header().Get("Content-Type"))
			assert.Equal(t, tt.wantReason, reasonOf(t, rec))
			assert.NotContains(t, rec.Body.String(), good)
		})
	}
}

func TestMiddlewareErrorBodyShape(t *testing.T) {
	e := newMWEnv(t)
	rec := serve(e.middleware(MiddlewareOptions{}).Handler(whoami), bearerRequest(e.token("exp", e.clock.Now().Unix()-60)))
	require.Equal(t, 401, rec.Code)
	assert.JSONEq(t, `{"errors":[{"code":"authentication_invalid","message":"Unauthenticated",
		"long_message":"token has expired","meta":{"reason":"token-expired"}}]}`, rec.Body.String())
}

func TestMiddlewareKeysUnavailable(t *testing.T) {
	e := newMWEnv(t)
	e.keysDown()
	for _, opts := range []MiddlewareOptions{{}, {Optional: true, TreatInvalidAsSignedOut: true}} {
		rec := serve(e.middleware(opts).Handler(whoami), bearerRequest(e.token()))
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
		assert.Equal(t, "5", rec.Header().Get("Retry-After"))
		assert.Empty(t, rec.Header().Get("WWW-Authenticate"), "the client is not at fault")
		assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
		assert.Equal(t, string(ReasonJWKRemoteFailedToLoad), reasonOf(t, rec))
		assert.NotContains(t, rec.Body.String(), e.jwks.URL, "the body must not name the key server")
	}
}

func TestMiddlewareOptionalMode(t *testing.T) {
	e := newMWEnv(t)
	expired := e.token("exp", e.clock.Now().Unix()-60)
	tests := []struct {
		name       string
		opts       MiddlewareOptions
		req        *http.Request
		wantStatus int
		wantBody   string
	}{
		{"no token passes signed out", MiddlewareOptions{Optional: true},
			httptest.NewRequest("GET", "/", nil), 200, "signed-out"},
		{"valid token signs in", MiddlewareOptions{Optional: true}, bearerRequest(e.token()), 200, "user_1"},
		{"invalid token is rejected", MiddlewareOptions{Optional: true}, bearerRequest(expired), 401, ""},
		{"invalid token as signed out", MiddlewareOptions{Optional: true, TreatInvalidAsSignedOut: true},
			bearerRequest(expired), 200, "signed-out"},
		{"malformed header still rejected", MiddlewareOptions{Optional: true, TreatInvalidAsSignedOut: true},
			bearerRequest("a b"), 400, ""},
		{"TreatInvalidAsSignedOut needs Optional", MiddlewareOptions{TreatInvalidAsSignedOut: true},
			bearerRequest(expired), 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(e.middleware(tt.opts).Handler(whoami), tt.req)
			require.Equal(t, tt.wantStatus, rec.Code, rec.Body.String())
			if tt.wantBody != "" {
				assert.Equal(t, tt.wantBody, rec.Body.String())
			}
		})
	}
}

func TestMiddlewareBypass(t *testing.T) {
	e := newMWEnv(t)
	preflight := func() *http.Request {
		r := httptest.NewRequest(http.MethodOptions, "/", nil)
		r.Header.Set("Origin", "https://app.example.test")
		r.Header.Set("Access-Control-Request-Method", "POST")
		return r
	}
	public := func(r *http.Request) bool { return r.URL.Path == "/healthz" }
	tests := []struct {
		name       string
		opts       MiddlewareOptions
		req        *http.Request
		wantStatus int
	}{
		{"preflight answered without the handler", MiddlewareOptions{}, preflight(), 204},
		{"preflight passes signed out when optional", MiddlewareOptions{Optional: true}, preflight(), 200},
		{"preflight passes on request", MiddlewareOptions{InsecurePassPreflight: true}, preflight(), 200},
		{"plain OPTIONS is authenticated", MiddlewareOptions{}, httptest.NewRequest(http.MethodOptions, "/", nil), 401},
		{"preflight authenticated on request", MiddlewareOptions{AuthenticatePreflight: true}, preflight(), 401},
		{"skipped path", MiddlewareOptions{Skip: public}, httptest.NewRequest("GET", "/healthz", nil), 200},
		{"other path", MiddlewareOptions{Skip: public}, httptest.NewRequest("GET", "/private", nil), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(e.middleware(tt.opts).Handler(whoami), tt.req)
			require.Equal(t, tt.wantStatus, rec.Code)
			if tt.wantStatus == http.StatusNoContent {
				assert.Empty(t, rec.Body.String(), "the handler did not run")
			}
			if tt.wantStatus == 200 {
				assert.Equal(t, "signed-out", rec.Body.String())
				assert.Empty(t, rec.Header().Get("Vary"), "an untouched request does not depend on credentials")
			}
		})
	}
}

// TestPreflightNeverRunsAProtectedHandler is the attack of issue #11: an
// OPTIONS request with Access-Control-Request-Method must not run a handler
// behind RequireSession, whatever else it carries.
func TestPreflightNeverRunsAProtectedHandler(t *testing.T) {
	e := newMWEnv(t)
	ran := 0
	deleteAccount := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ran++ })
	h := RequireSession(e.v)(deleteAccount)
	for _, method := range []string{"POST", "DELETE", "GET", "x"} {
		r := httptest.NewRequest(http.MethodOptions, "/api/account/delete", nil)
		r.Header.Set("Origin", "https://evil.example")
		r.Header.Set("Access-Control-Request-Method", method)
		rec := serve(h, r)
		assert.Equal(t, http.StatusNoContent, rec.Code, method)
		assert.Empty(t, rec.Body.String(), method)
	}
	assert.Zero(t, ran, "a protected handler ran for a preflight")
}

func TestInsecurePassPreflightConflicts(t *testing.T) {
	e := newMWEnv(t)
	_, err := NewMiddleware(e.v, MiddlewareOptions{InsecurePassPreflight: true, AuthenticatePreflight: true})
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

func TestMiddlewareCustomExtractor(t *testing.T) {
	e := newMWEnv(t)
	errNoProtocol := errors.New("bad subprotocol")
	fromQuery := func(r *http.Request) (string, error) {
		if r.URL.Query().Has("bad") {
			return "", errNoProtocol
		}
		return r.URL.Query().Get("token"), nil
	}
	var got error
	m := e.middleware(MiddlewareOptions{TokenExtractor: fromQuery, ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		DefaultErrorHandler("ws")(w, r, err)
	}})
	h := m.Handler(whoami)

	rec := serve(h, httptest.NewRequest("GET", "/ws?token="+e.token(), nil))
	assert.Equal(t, "user_1", rec.Body.String())

	rec = serve(h, bearerRequest(e.token()))
	assert.Equal(t, 401, rec.Code, "the extractor replaces the header")

	rec = serve(h, httptest.NewRequest("GET", "/ws?bad=1", nil))
	assert.Equal(t, 400, rec.Code)
	assert.Equal(t, `Bearer realm="ws", error="invalid_request", error_description="token extractor failed"`, rec.Header().Get("WWW-Authenticate"))
	assert.ErrorIs(t, got, ErrInvalidRequest)
	assert.ErrorIs(t, got, errNoProtocol)
}

func TestMiddlewareCustomErrorHandler(t *testing.T) {
	e := newMWEnv(t)
	var got error
	h := e.middleware(MiddlewareOptions{ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
		got = err
		http.Error(w, "nope", http.StatusTeapot)
	}}).Handler(whoami)
	rec := serve(h, bearerRequest(e.token("exp", e.clock.Now().Unix()-60)))
	assert.Equal(t, http.StatusTeapot, rec.Code)
	assert.ErrorIs(t, got, ErrTokenExpired)
	assert.Equal(t, ReasonTokenExpired, ReasonOf(got))
}

func TestMiddlewareDebugHeaders(t *testing.T) {
	e := newMWEnv(t)
	quiet := e.middleware(MiddlewareOptions{}).Handler(whoami)
	loud := e.middleware(MiddlewareOptions{DebugHeaders: true}).Handler(whoami)

	rec := serve(quiet, httptest.NewRequest("GET", "/", nil))
	assert.Empty(t, rec.Header().Get("X-Clerk-Auth-Status"), "off by default")

	rec = serve(loud, httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, "signed-out", rec.Header().Get("X-Clerk-Auth-Status"))
	assert.Equal(t, "session-token-missing", rec.Header().Get("X-Clerk-Auth-Reason"))

	rec = serve(loud, bearerRequest(e.token()))
	assert.Equal(t, "signed-in", rec.Header().Get("X-Clerk-Auth-Status"))
	assert.Empty(t, rec.Header().Get("X-Clerk-Auth-Reason"))
}

func TestMiddlewareCookiesDisabled(t *testing.T) {
	e := newMWEnv(t)
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: "__session", Value: e.token()})
	rec := serve(e.middleware(MiddlewareOptions{DisableCookies: true}).Handler(whoami), r)
	assert.Equal(t, 401, rec.Code)
}

func TestNewMiddlewareValidates(t *testing.T) {
	e := newMWEnv(t)
	api := newFakeSessions(t)
	current := api.client(t, e.clock, "")
	old := api.client(t, e.clock, "2025-03-12")
	tests := []struct {
		name    string
		opts    MiddlewareOptions
		wantErr string
	}{
		{"defaults", MiddlewareOptions{}, ""},
		{"realm", MiddlewareOptions{Realm: "my api"}, ""},
		{"quote in realm", MiddlewareOptions{Realm: `a"b`}, "Realm"},
		{"fallback without client", MiddlewareOptions{OnlineFallback: true}, "needs a SessionsClient"},
		{"fallback on a version without verify", MiddlewareOptions{OnlineFallback: true, SessionsClient: current}, ""},
		{"fallback on an old version", MiddlewareOptions{OnlineFallback: true, SessionsClient: old}, ""},
		{"ttl too long", MiddlewareOptions{ActiveSessionTTL: 2 * 60e9}, "ActiveSessionTTL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := NewMiddleware(e.v, tt.opts)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NoError(t, m.Close())
				return
			}
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.wantErr)
		})
	}
	_, err := NewMiddleware(nil, MiddlewareOptions{})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.Panics(t, func() { RequireSession(nil) })
}

func TestRequireAndOptionalSession(t *testing.T) {
	e := newMWEnv(t)
	assert.Equal(t, 401, serve(RequireSession(e.v)(whoami), httptest.NewRequest("GET", "/", nil)).Code)
	rec := serve(OptionalSession(e.v)(whoami), httptest.NewRequest("GET", "/", nil))
	assert.Equal(t, "signed-out", rec.Body.String())
	assert.Equal(t, 401, serve(OptionalSession(e.v)(whoami), bearerRequest("x.y.z")).Code)
}

func TestContextAccessors(t *testing.T) {
	ctx := context.Background()
	c, ok := SessionFromContext(ctx)
	assert.False(t, ok, "no middleware: no session, no panic")
	assert.Nil(t, c)
	_, ok = TokenFromContext(ctx)
	assert.False(t, ok)

	want := &Claims{UserID: "user_9", SessionID: "sess_9"}
	c, ok = SessionFromContext(ContextWithSession(ctx, want))
	assert.True(t, ok)
	assert.Same(t, want, c)
	_, ok = SessionFromContext(ContextWithSession(ctx, nil))
	assert.False(t, ok, "nil claims stand for signed out")

	e := newMWEnv(t)
	tok := e.token()
	var gotToken string
	h := e.middleware(MiddlewareOptions{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotToken, _ = TokenFromContext(r.Context())
	}))
	serve(h, bearerRequest(tok))
	assert.Equal(t, tok, gotToken)
}

func TestBearerTokenSyntax(t *testing.T) {
	tests := []struct {
		header  []string
		want    string
		wantErr bool
	}{
		{nil, "", false},
		{[]string{"Bearer abc.def-_~+/=="}, "abc.def-_~+/==", false},
		{[]string{"BEARER\tabc"}, "abc", false},
		{[]string{"Digest x=y"}, "", false},
		{[]string{"Basic"}, "Basic", false}, // one word: the token itself, as for Clerk
		{[]string{" opaque_token "}, "opaque_token", false},
		{[]string{"tok@en"}, "", true},
		{[]string{"Bearer"}, "", true},
		{[]string{"Bearer ="}, "", true},
		{[]string{"Bearer a=b"}, "", true},
		{[]string{"Bearer é"}, "", true},
		{[]string{"  "}, "", true},
		{[]string{"Bearer a", "Bearer a"}, "", true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.header, "|"), func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Header["Authorization"] = tt.header
			got, err := BearerToken(r)
			assert.Equal(t, tt.want, got)
			if tt.wantErr {
				assert.ErrorIs(t, err, ErrInvalidRequest)
			} else {
				assert.NoError(t, err)
			}
		})
	}
}

func TestSanitizeQuoted(t *testing.T) {
	assert.Equal(t, `a 'b' /c`, sanitizeQuoted("a \"b\" \\c\r\n\x00é"))
	assert.Len(t, sanitizeQuoted(strings.Repeat("x", 500)), 200)
}

func TestMiddlewareCloseStopsCalls(t *testing.T) {
	e := newMWEnv(t)
	api := newFakeSessions(t)
	gate := make(chan struct{})
	defer close(gate)
	api.set(func(f *fakeSessions) { f.gate = gate })
	m := e.middleware(MiddlewareOptions{SessionsClient: api.client(t, e.clock, "")})
	h := m.Handler(m.RequireActiveSession(whoami))
	done := make(chan int)
	go func() { done <- serve(h, bearerRequest(e.token())).Code }()
	waitFor(t, "the lookup to reach the API", func() bool { return api.gets.Load() == 1 })
	require.NoError(t, m.Close()) // cancels the blocked call and waits for it
	assert.Equal(t, 503, <-done)
	assert.Equal(t, 503, serve(h, bearerRequest(e.token())).Code, "after Close no call is made")
	assert.EqualValues(t, 1, api.gets.Load())
}

func BenchmarkMiddleware(b *testing.B) {
	e := newMWEnv(b)
	m, err := NewMiddleware(e.v, MiddlewareOptions{})
	require.NoError(b, err)
	h := m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := bearerRequest(e.token())
	require.Equal(b, 200, serve(h, r).Code)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(discardWriter{}, r)
	}
}

// discardWriter is a ResponseWriter that keeps nothing but the headers.
type discardWriter struct{}

func (discardWriter) Header() http.Header         { return http.Header{} }
func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (discardWriter) WriteHeader(int)             {}
