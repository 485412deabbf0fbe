package clerkauth

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAuthenticateVerdicts drives the exported decision from plain values
// and checks each verdict's methods: what a transport reads to answer.
func TestAuthenticateVerdicts(t *testing.T) {
	e := newMWEnv(t)
	tok := e.token()
	preflight := &mapSource{headers: map[string]string{"Access-Control-Request-Method": "POST"}}
	tests := []struct {
		name    string
		opts    MiddlewareOptions
		in      Credentials
		allowed bool
		claims  bool
		err     error // nil: Err() is nil
		status  int   // of Reply(), when refused
	}{
		{"bearer", MiddlewareOptions{}, Credentials{Method: "GET", Authorization: []string{"Bearer " + tok}}, true, true, nil, 0},
		{"cookie", MiddlewareOptions{}, Credentials{Method: "GET", Source: &mapSource{cookies: map[string]string{"__session": tok, "__client_uat": "1"}}}, true, true, nil, 0},
		{"custom token", MiddlewareOptions{}, Credentials{Token: func() (string, error) { return tok, nil }}, true, true, nil, 0},
		{"no token", MiddlewareOptions{}, Credentials{Method: "GET"}, false, false, ErrNoToken, 401},
		{"no token, optional", MiddlewareOptions{Optional: true}, Credentials{Method: "GET"}, true, false, ErrNoToken, 0},
		{"bad token", MiddlewareOptions{}, Credentials{Authorization: []string{"Bearer a.b.c"}}, false, false, ErrInvalidToken, 401},
		{"two headers", MiddlewareOptions{}, Credentials{Authorization: []string{"Bearer " + tok, "Bearer " + tok}}, false, false, ErrInvalidRequest, 400},
		{"preflight", MiddlewareOptions{}, Credentials{Method: "OPTIONS", Source: preflight}, false, false, nil, 204},
		{"preflight, optional", MiddlewareOptions{Optional: true}, Credentials{Method: "OPTIONS", Source: preflight}, true, false, nil, 0},
		{"preflight authenticated", MiddlewareOptions{AuthenticatePreflight: true}, Credentials{Method: "OPTIONS", Source: preflight}, false, false, ErrNoToken, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := e.middleware(tt.opts)
			d := m.Authenticate(t.Context(), tt.in)
			assert.Equal(t, tt.allowed, d.Allowed(), "Allowed")
			_, signedIn := d.Claims()
			assert.Equal(t, tt.claims, signedIn, "Claims")
			if tt.err == nil {
				assert.NoError(t, d.Err())
			} else {
				assert.ErrorIs(t, d.Err(), tt.err)
			}
			if !d.Allowed() {
				assert.Equal(t, tt.status, d.Reply().Status)
			}
			_, inCtx := SessionFromContext(d.Context(t.Context()))
			assert.Equal(t, tt.claims, inCtx, "SessionFromContext(d.Context)")
		})
	}
}

// TestZeroDecisionRefuses checks that a Decision nobody filled lets
// nothing through.
func TestZeroDecisionRefuses(t *testing.T) {
	var d Decision
	require.False(t, d.Allowed())
	require.Error(t, d.Err())
	assert.Equal(t, http.StatusInternalServerError, d.Reply().Status)
	_, ok := d.Claims()
	assert.False(t, ok)
	ctx := t.Context()
	assert.Equal(t, ctx, d.Context(ctx), "a refused decision adds no state")
}

// TestDecisionHeaders checks the headers of every answer: Vary added to
// an existing Vary, debug headers with DebugHeaders, nothing when the
// request was skipped, and EachHeader listing what SetHeaders sets.
func TestDecisionHeaders(t *testing.T) {
	e := newMWEnv(t)
	m := e.middleware(MiddlewareOptions{DebugHeaders: true, Skip: func(r *http.Request) bool { return r.URL.Path == "/health" }})
	d := m.AuthenticateRequest(httptest.NewRequest("GET", "/", nil))
	h := http.Header{"Vary": {"Origin"}}
	d.SetHeaders(h)
	assert.Equal(t, []string{"Origin", "Authorization, Cookie"}, h.Values("Vary"))
	assert.Equal(t, "signed-out", h.Get("X-Clerk-Auth-Status"))
	assert.Equal(t, string(ReasonTokenMissing), h.Get("X-Clerk-Auth-Reason"))

	each := http.Header{"Vary": {"Origin"}}
	d.EachHeader(func(k, v string) {
		if k == "Vary" {
			each.Add(k, v)
		} else {
			each.Set(k, v)
		}
	})
	assert.Equal(t, h, each)

	skipped := m.AuthenticateRequest(httptest.NewRequest("GET", "/health", nil))
	require.True(t, skipped.Allowed())
	h = http.Header{}
	skipped.SetHeaders(h)
	assert.Empty(t, h, "a skipped request gets no headers")
}

// TestVolatileTokenIsCopied shows why Credentials.Volatile exists: a
// transport that reuses its buffers (fasthttp) would change the token the
// state holds after the request; with Volatile the decision keeps a copy.
func TestVolatileTokenIsCopied(t *testing.T) {
	e := newMWEnv(t)
	m := e.middleware(MiddlewareOptions{})
	tok := e.token()
	for _, volatile := range []bool{false, true} {
		buf := []byte("Bearer " + tok)
		header := unsafe.String(&buf[0], len(buf)) // aliases buf, as fasthttp's strings do
		d := m.Authenticate(t.Context(), Credentials{Authorization: []string{header}, Volatile: volatile})
		require.True(t, d.Allowed())
		ctx := d.Context(t.Context())
		for i := range buf {
			buf[i] = 'x' // the transport reuses its buffer for the next request
		}
		kept, ok := TokenFromContext(ctx)
		require.True(t, ok)
		if volatile {
			assert.Equal(t, tok, kept, "Volatile: the state keeps its own copy")
		} else {
			assert.NotEqual(t, tok, kept, "without Volatile the state aliases the transport's memory")
		}
	}
}

// frameworkContext is a context.Context that, like *gin.Context, answers
// string keys from its own store and nothing else.
type frameworkContext struct {
	context.Context
	keys map[string]any
}

func (c *frameworkContext) Value(key any) any {
	if k, ok := key.(string); ok {
		return c.keys[k]
	}
	return nil
}

// TestContextKeyClosesTheFrameworkTrap checks that SessionFromContext
// works on a framework's own context once the adapter stored the
// decision's context under ContextKey, and reports false, without
// panicking, before that.
func TestContextKeyClosesTheFrameworkTrap(t *testing.T) {
	e := newMWEnv(t)
	m := e.middleware(MiddlewareOptions{})
	d := m.Authenticate(t.Context(), Credentials{Authorization: []string{"Bearer " + e.token()}})
	fc := &frameworkContext{Context: t.Context(), keys: map[string]any{}}
	_, ok := SessionFromContext(fc)
	require.False(t, ok, "the trap: nothing stored yet")
	fc.keys[ContextKey] = d.Context(t.Context())
	c, ok := SessionFromContext(fc)
	require.True(t, ok)
	assert.Equal(t, "user_1", c.UserID)
	_, ok = TokenFromContext(fc)
	assert.True(t, ok)

	fc.keys[ContextKey] = "not a context"
	_, ok = SessionFromContext(fc)
	assert.False(t, ok, "a foreign value under the key is ignored")
	fc.keys[ContextKey] = fc
	_, ok = SessionFromContext(fc)
	assert.False(t, ok, "a context storing itself does not loop")
}

// TestAuthorize checks the guards' shared verdict.
func TestAuthorize(t *testing.T) {
	admin := &Claims{UserID: "u", Org: &Organization{ID: "org_1", Role: "org:admin"}}
	assert.ErrorIs(t, Authorize(nil, Check{Role: "admin"}), ErrNoToken)
	var fe *ForbiddenError
	require.ErrorAs(t, Authorize(admin, Check{Role: "member"}), &fe)
	assert.Equal(t, "member", fe.Check.Role)
	assert.NoError(t, Authorize(admin, Check{Role: "admin"}))
}

// TestRenderErrorRealm checks the exported rendering: sanitized realm,
// default realm, and the middleware's own realm.
func TestRenderErrorRealm(t *testing.T) {
	h := http.Header{}
	rep := RenderError(`a"b`, ErrNoToken)
	rep.EachHeader(h.Set)
	assert.Equal(t, `Bearer realm="a'b"`, h.Get("WWW-Authenticate"))
	rep = RenderError("", ErrNoToken)
	rep.EachHeader(h.Set)
	assert.Equal(t, `Bearer realm="api"`, h.Get("WWW-Authenticate"))
	e := newMWEnv(t)
	rep = e.middleware(MiddlewareOptions{Realm: "billing"}).RenderError(errors.New("boom"))
	assert.Equal(t, 500, rep.Status)
	rep = e.middleware(MiddlewareOptions{Realm: "billing"}).RenderError(ErrNoToken)
	rep.EachHeader(h.Set)
	assert.Equal(t, `Bearer realm="billing"`, h.Get("WWW-Authenticate"))
}

// TestHTTPOnlyOptions: the options taking net/http types are named, in
// order, so that an adapter deciding from Credentials alone can refuse
// them; the default error handler is not one of them.
func TestHTTPOnlyOptions(t *testing.T) {
	e := newMWEnv(t)
	skip := func(*http.Request) bool { return false }
	extract := func(*http.Request) (string, error) { return "", nil }
	handle := func(http.ResponseWriter, *http.Request, error) {}
	tests := []struct {
		name string
		opts MiddlewareOptions
		want []string
	}{
		{"none", MiddlewareOptions{}, nil},
		{"realm only: the default handler", MiddlewareOptions{Realm: "api"}, nil},
		{"skip", MiddlewareOptions{Skip: skip}, []string{"Skip"}},
		{"extractor", MiddlewareOptions{TokenExtractor: extract}, []string{"TokenExtractor"}},
		{"error handler", MiddlewareOptions{ErrorHandler: handle}, []string{"ErrorHandler"}},
		{"all", MiddlewareOptions{ErrorHandler: handle, Skip: skip, TokenExtractor: extract},
			[]string{"Skip", "TokenExtractor", "ErrorHandler"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, e.middleware(tt.opts).HTTPOnlyOptions())
		})
	}
}
