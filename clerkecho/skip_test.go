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

// TestGuardAfterSkip checks that a guard behind a middleware that skipped
// the request (MiddlewareOptions.Skip) answers as net/http's guard does:
// the request was not authenticated by that middleware, so neither answers
// through its ErrorHandler.
func TestGuardAfterSkip(t *testing.T) {
	custom := 0
	f := conformance.NewSessionFixture(t, "user_echo")
	m := f.Middleware(t, clerkauth.MiddlewareOptions{
		Realm: "custom", Skip: func(*http.Request) bool { return true },
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { custom++; w.WriteHeader(http.StatusTeapot) },
	})
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	ref := httptest.NewRecorder()
	m.Handler(clerkauth.RequirePermission("org:x")(ok)).ServeHTTP(ref, httptest.NewRequest(http.MethodGet, "/", nil))

	e := echo.New()
	e.GET("/", func(c echo.Context) error { return c.String(200, "ok") }, clerkecho.Middleware(m), clerkecho.RequirePermission("org:x"))
	got := httptest.NewRecorder()
	e.ServeHTTP(got, httptest.NewRequest(http.MethodGet, "/", nil))

	if got.Code != ref.Code || got.Header().Get("WWW-Authenticate") != ref.Header().Get("WWW-Authenticate") || got.Body.String() != ref.Body.String() {
		t.Errorf("echo answered %d %q %q; net/http %d %q %q", got.Code, got.Header().Get("WWW-Authenticate"), got.Body.String(),
			ref.Code, ref.Header().Get("WWW-Authenticate"), ref.Body.String())
	}
	if ref.Code != http.StatusUnauthorized || custom != 0 {
		t.Errorf("net/http answered %d, the custom handler called %d times", ref.Code, custom)
	}
}
