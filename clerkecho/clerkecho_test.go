package clerkecho_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerkecho"
	"github.com/clerkauth/clerkauth/internal/conformance"
)

// mount builds the conformance app on echo, reading the session with
// clerkecho.Session.
func mount(_ *testing.T, m *clerkauth.Middleware) conformance.Driver {
	e := echo.New()
	handler := func(c echo.Context) error {
		claims, ok := clerkecho.Session(c)
		return c.String(http.StatusOK, conformance.Body(claims, ok))
	}
	g := e.Group("", clerkecho.Middleware(m))
	g.Match([]string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodOptions}, conformance.PrivatePath, handler)
	g.GET(conformance.AdminPath, handler, clerkecho.RequirePermission(conformance.Permission))
	return conformance.Serve(e)
}

func TestConformance(t *testing.T) {
	conformance.Run(t, mount)
}

func serve(e *echo.Echo, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, req)
	return rec
}

// TestAccessors checks Session, Token and the request's context on a
// signed-in request, and false without a session.
func TestAccessors(t *testing.T) {
	f := conformance.NewSessionFixture(t, "user_echo")
	e := echo.New()
	check := func(c echo.Context) error {
		claims, ok := clerkecho.Session(c)
		tok, tokOK := clerkecho.Token(c)
		fromReq, reqOK := clerkauth.SessionFromContext(c.Request().Context())
		if !ok {
			if tokOK || reqOK {
				return c.String(500, "half signed in")
			}
			return c.String(200, "signed-out")
		}
		if tok != f.Token || !reqOK || fromReq != claims {
			return c.String(500, "accessors disagree")
		}
		return c.String(200, claims.UserID)
	}
	e.GET("/private", check, clerkecho.RequireSession(f.V))
	e.GET("/optional", check, clerkecho.Middleware(f.Middleware(t, clerkauth.MiddlewareOptions{Optional: true})))
	e.GET("/bare", check)
	for _, tc := range []struct{ path, token, want string }{
		{"/private", f.Token, "user_echo"},
		{"/optional", "", "signed-out"},
		{"/bare", f.Token, "signed-out"},
	} {
		rec := serve(e, tc.path, tc.token)
		if rec.Code != 200 || rec.Body.String() != tc.want {
			t.Errorf("%s: %d %q; want %q", tc.path, rec.Code, rec.Body, tc.want)
		}
	}
}

// TestEchoErrorHandler checks that refusals go through the Middleware's
// ErrorHandler, not echo's HTTPErrorHandler, and stop the chain.
func TestEchoErrorHandler(t *testing.T) {
	f := conformance.NewSessionFixture(t, "user_echo")
	var seen []error
	m := f.Middleware(t, clerkauth.MiddlewareOptions{ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
		seen = append(seen, err)
		w.WriteHeader(http.StatusTeapot)
	}})
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) { t.Errorf("echo's error handler called with %v", err) }
	reached := false
	h := func(echo.Context) error { reached = true; return nil }
	e.GET("/guarded", h, clerkecho.Middleware(m), clerkecho.RequireRole("admin"))
	e.GET("/private", h, clerkecho.Middleware(m))
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
	e.GET("/", func(c echo.Context) error { return c.String(200, "reached") }, clerkecho.RequirePlan("o:pro"))
	rec := serve(e, "/", "")
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != `Bearer realm="api"` {
		t.Errorf("%d %q %q", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
	}
}
