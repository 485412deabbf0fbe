package clerkecho5_test

import (
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v5"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerkecho5"
	"github.com/clerkauth/clerkauth/clerktest"
	"github.com/clerkauth/clerkauth/internal/conformance"
)

// mount builds the conformance app on echo v5, reading the session with
// clerkecho5.Session.
func mount(_ *testing.T, m *clerkauth.Middleware) conformance.Driver {
	e := echo.New()
	handler := func(c *echo.Context) error {
		claims, ok := clerkecho5.Session(c)
		return c.String(http.StatusOK, conformance.Body(claims, ok))
	}
	g := e.Group("", clerkecho5.Middleware(m))
	g.Match([]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodOptions}, conformance.PrivatePath, handler)
	g.GET(conformance.AdminPath, handler, clerkecho5.RequirePermission(conformance.Permission))
	return conformance.Serve(e)
}

// TestConformance checks that every request of the shared table gets
// net/http's status, headers and body through echo v5.
func TestConformance(t *testing.T) {
	conformance.Run(t, mount)
}

func serve(h http.Handler, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestAccessors checks Session, Token and the request's context on a
// signed-in request, and false without a session: on a route with
// RequireSession, on an optional route without a token, and on a route
// without the middleware given a valid token.
func TestAccessors(t *testing.T) {
	f := conformance.NewSessionFixture(t, "user_echo5")
	e := echo.New()
	check := func(c *echo.Context) error {
		claims, ok := clerkecho5.Session(c)
		tok, tokOK := clerkecho5.Token(c)
		fromReq, reqOK := clerkauth.SessionFromContext(c.Request().Context())
		if !ok {
			if tokOK || reqOK || claims != nil {
				return c.String(500, "half signed in")
			}
			return c.String(200, "signed-out")
		}
		if tok != f.Token || !reqOK || fromReq != claims {
			return c.String(500, "accessors disagree")
		}
		return c.String(200, claims.UserID)
	}
	e.GET("/private", check, clerkecho5.RequireSession(f.V))
	e.GET("/optional", check, clerkecho5.Middleware(f.Middleware(t, clerkauth.MiddlewareOptions{Optional: true})))
	e.GET("/bare", check)
	for _, tc := range []struct{ path, token, want string }{
		{"/private", f.Token, "user_echo5"},
		{"/optional", "", "signed-out"},
		{"/bare", f.Token, "signed-out"},
	} {
		t.Run(strings.TrimPrefix(tc.path, "/"), func(t *testing.T) {
			rec := serve(e, tc.path, tc.token)
			if rec.Code != 200 || rec.Body.String() != tc.want {
				t.Errorf("%d %q; want %q", rec.Code, rec.Body, tc.want)
			}
		})
	}
}

// TestPooledContexts checks that echo's reuse of its pooled *echo.Context
// carries nothing from one request to the next: a signed-out request
// served after a signed-in one on the same Echo, where the first stored
// its Middleware in the context, is refused by a guard with the default
// answer and reads no session.
func TestPooledContexts(t *testing.T) {
	f := conformance.NewSessionFixture(t, "user_echo5")
	var seen []error
	m := f.Middleware(t, clerkauth.MiddlewareOptions{ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
		seen = append(seen, err)
		w.WriteHeader(http.StatusTeapot)
	}})
	e := echo.New()
	e.GET("/private", func(c *echo.Context) error { return c.String(200, "in") }, clerkecho5.Middleware(m))
	e.GET("/bare", func(c *echo.Context) error {
		if _, ok := clerkecho5.Session(c); ok {
			return c.String(500, "a session leaked from an earlier request")
		}
		return c.String(200, "reached")
	}, clerkecho5.RequireRole("admin"))
	for range 3 {
		if rec := serve(e, "/private", f.Token); rec.Code != 200 {
			t.Fatalf("signed in: %d %q", rec.Code, rec.Body)
		}
		rec := serve(e, "/bare", f.Token)
		if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != `Bearer realm="api"` {
			t.Errorf("guard alone after a signed-in request: %d %q %q", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
		}
	}
	if len(seen) != 0 {
		t.Errorf("the earlier request's ErrorHandler answered a later one: %v", seen)
	}
}

// TestEchoErrorHandler checks that refusals go through the Middleware's
// ErrorHandler, not echo's HTTPErrorHandler, and stop the chain.
func TestEchoErrorHandler(t *testing.T) {
	f := conformance.NewSessionFixture(t, "user_echo5")
	var seen []error
	m := f.Middleware(t, clerkauth.MiddlewareOptions{ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
		seen = append(seen, err)
		w.WriteHeader(http.StatusTeapot)
	}})
	e := echo.New()
	e.HTTPErrorHandler = func(_ *echo.Context, err error) { t.Errorf("echo's error handler called with %v", err) }
	reached := false
	h := func(*echo.Context) error { reached = true; return nil }
	e.GET("/guarded", h, clerkecho5.Middleware(m), clerkecho5.RequireRole("admin"))
	e.GET("/private", h, clerkecho5.Middleware(m))
	if rec := serve(e, "/guarded", f.Token); rec.Code != http.StatusTeapot {
		t.Errorf("guard: %d", rec.Code)
	}
	if rec := serve(e, "/private", ""); rec.Code != http.StatusTeapot {
		t.Errorf("middleware: %d", rec.Code)
	}
	if reached || len(seen) != 2 {
		t.Errorf("reached %v, ErrorHandler saw %v", reached, seen)
	}
}

// TestGuardWithoutMiddleware checks that a guard alone refuses, with the
// default answer.
func TestGuardWithoutMiddleware(t *testing.T) {
	e := echo.New()
	e.GET("/", func(c *echo.Context) error { return c.String(200, "reached") }, clerkecho5.RequirePlan("o:pro"))
	rec := serve(e, "/", "")
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != `Bearer realm="api"` {
		t.Errorf("%d %q %q", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
	}
}

// TestMiddlewareNil checks that Middleware panics on a nil Middleware,
// and RequireSession on a nil Verifier, when the route is built rather
// than on the first request.
func TestMiddlewareNil(t *testing.T) {
	for name, build := range map[string]func(){
		"Middleware":     func() { clerkecho5.Middleware(nil) },
		"RequireSession": func() { clerkecho5.RequireSession(nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s(nil) did not panic", name)
				}
			}()
			build()
		})
	}
}

// TestGuards checks each session guard against clerkauth's net/http guard
// of the same requirement, on the same Middleware: a session meeting it
// is let through (200), one failing it is refused 403, a signed-out
// request 401, and every refusal is net/http's status, headers and body
// byte for byte.
func TestGuards(t *testing.T) {
	f := conformance.NewSessionFixture(t, "user_echo5")
	rich := f.Srv.CreateSession(clerktest.SessionParams{
		UserID: "user_rich",
		Org: &clerktest.OrgMembership{Slug: "acme", Role: "admin",
			Permissions: []string{"org:invoices:manage"}, Features: []string{"dashboard"}},
		Plans:     []string{"o:pro"},
		FactorAge: &[2]int{1, 1},
	})
	plain := f.Srv.CreateSession(clerktest.SessionParams{UserID: "user_plain", FactorAge: &[2]int{60, 60}})
	tokens := map[string]string{
		"meets": f.Srv.MustToken(rich.ID, clerktest.WithLifetime(time.Hour)),
		"fails": f.Srv.MustToken(plain.ID, clerktest.WithLifetime(time.Hour)),
		"none":  "",
	}
	wantStatus := map[string]int{"meets": 200, "fails": 403, "none": 401}
	m := f.Middleware(t, clerkauth.MiddlewareOptions{Realm: "guards", DebugHeaders: true})
	strict := clerkauth.ReverificationStrict.Reverification()
	for _, tc := range []struct {
		name    string
		echo    echo.MiddlewareFunc
		netHTTP func(http.Handler) http.Handler
	}{
		{"RequirePermission", clerkecho5.RequirePermission("org:invoices:manage"), clerkauth.RequirePermission("org:invoices:manage")},
		{"RequireRole", clerkecho5.RequireRole("org:admin"), clerkauth.RequireRole("org:admin")},
		{"RequireFeature", clerkecho5.RequireFeature("o:dashboard"), clerkauth.RequireFeature("o:dashboard")},
		{"RequirePlan", clerkecho5.RequirePlan("o:pro"), clerkauth.RequirePlan("o:pro")},
		{"RequireReverification", clerkecho5.RequireReverification(strict), clerkauth.RequireReverification(strict)},
		{"RequireCheck", clerkecho5.RequireCheck(clerkauth.Check{Role: "admin", Plan: "o:pro"}), clerkauth.RequireCheck(clerkauth.Check{Role: "admin", Plan: "o:pro"})},
	} {
		e := echo.New()
		e.GET("/", func(c *echo.Context) error {
			claims, _ := clerkecho5.Session(c)
			return c.String(200, claims.UserID)
		}, clerkecho5.Middleware(m), tc.echo)
		ref := m.Handler(tc.netHTTP(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, _ := clerkauth.SessionFromContext(r.Context())
			_, _ = io.WriteString(w, claims.UserID)
		})))
		for _, who := range slices.Sorted(maps.Keys(tokens)) {
			t.Run(tc.name+"/"+who, func(t *testing.T) {
				have, want := serve(e, "/", tokens[who]), serve(ref, "/", tokens[who])
				if want.Code != wantStatus[who] {
					t.Fatalf("net/http answered %d; want %d (%q)", want.Code, wantStatus[who], want.Body)
				}
				if have.Code != want.Code || have.Body.String() != want.Body.String() {
					t.Errorf("%d %q; net/http %d %q", have.Code, have.Body, want.Code, want.Body)
				}
				if want.Code >= 400 && !equalHeaders(have.Header(), want.Header()) {
					t.Errorf("headers %v; net/http %v", have.Header(), want.Header())
				}
			})
		}
	}
}

// equalHeaders reports whether a and b hold the same names and values, in
// order.
func equalHeaders(a, b http.Header) bool {
	return maps.EqualFunc(a, b, slices.Equal[[]string])
}
