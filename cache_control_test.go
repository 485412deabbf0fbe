package clerkauth

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSignedInResponsesArePrivate: a response the middleware let through
// signed in carries Cache-Control: private unless something already chose
// a cache policy. Vary: Cookie alone does not keep a cookie-authenticated
// response out of a shared cache (RFC 9111 §3.5 protects only requests
// with an Authorization header), and a cache that ignores Vary would serve
// one user's page to the next.
func TestSignedInResponsesArePrivate(t *testing.T) {
	e := newMWEnv(t)
	tok := e.token()
	setsOwn := func(value string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", value)
			whoami.ServeHTTP(w, r)
		})
	}
	outer := func(value string, h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", value)
			h.ServeHTTP(w, r)
		})
	}
	required := e.middleware(MiddlewareOptions{})
	optional := e.middleware(MiddlewareOptions{Optional: true})
	for _, tc := range []struct {
		name   string
		h      http.Handler
		r      *http.Request
		status int
		want   []string
	}{
		{"cookie, signed in", required.Handler(whoami), e.cookieRequest("GET", tok), 200, []string{"private"}},
		{"header, signed in", required.Handler(whoami), bearerRequest(tok), 200, []string{"private"}},
		{"the handler's own policy wins", required.Handler(setsOwn("public, max-age=60")), e.cookieRequest("GET", tok), 200, []string{"public, max-age=60"}},
		{"an outer middleware's policy is kept", outer("no-store", required.Handler(whoami)), e.cookieRequest("GET", tok), 200, []string{"no-store"}},
		{"optional, signed out: untouched", optional.Handler(whoami), newGet(), 200, nil},
		{"refused: no-store", required.Handler(whoami), newGet(), 401, []string{"no-store"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(tc.h, tc.r)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			require.Equal(t, tc.want, rec.Header().Values("Cache-Control"))
		})
	}
}

// TestSignedInCachePolicyNotShared: the preset header value is never
// written into by a handler adding to it.
func TestSignedInCachePolicyNotShared(t *testing.T) {
	e := newMWEnv(t)
	tok := e.token()
	adds := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Cache-Control", "max-age=5")
	})
	h := e.middleware(MiddlewareOptions{}).Handler(adds)
	require.Equal(t, []string{"private", "max-age=5"}, serve(h, bearerRequest(tok)).Header().Values("Cache-Control"))
	rec := serve(e.middleware(MiddlewareOptions{}).Handler(whoami), bearerRequest(tok))
	require.Equal(t, []string{"private"}, rec.Header().Values("Cache-Control"))
}

func newGet() *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://example.test/", nil)
	return r
}

// TestEachHeaderSignedIn: EachHeader lists what SetHeaders sets for a
// signed-in request, Cache-Control included, for transports without an
// http.Header that follow its contract.
func TestEachHeaderSignedIn(t *testing.T) {
	e := newMWEnv(t)
	m := e.middleware(MiddlewareOptions{DebugHeaders: true})
	d := m.AuthenticateRequest(bearerRequest(e.token()))
	require.True(t, d.Allowed())
	for _, preset := range []string{"", "no-store"} {
		h, each := http.Header{}, http.Header{}
		if preset != "" {
			h.Set("Cache-Control", preset)
			each.Set("Cache-Control", preset)
		}
		d.SetHeaders(h)
		d.EachHeader(func(k, v string) {
			switch {
			case k == "Vary":
				each.Add(k, v)
			case k == "Cache-Control" && each.Get(k) != "":
			default:
				each.Set(k, v)
			}
		})
		require.Equal(t, h, each)
		require.Equal(t, "signed-in", h.Get("X-Clerk-Auth-Status"))
		require.Equal(t, []string{map[bool]string{true: "private", false: preset}[preset == ""]}, h.Values("Cache-Control"))
	}
}
