package clerkfiber_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v3"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerkfiber"
	"github.com/clerkauth/clerkauth/internal/conformance"
)

// TestGuardAfterPassedPreflight checks that a guard behind an optional
// middleware that passed a CORS preflight on untouched answers as
// net/http's guard does: the preflight was not authenticated by that
// middleware, so neither answers through its error handler.
func TestGuardAfterPassedPreflight(t *testing.T) {
	f := conformance.NewSessionFixture(t, "user_fiber")
	custom := 0
	m := f.Middleware(t, clerkauth.MiddlewareOptions{
		Optional: true, Realm: "custom",
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { custom++; w.WriteHeader(http.StatusTeapot) },
	})
	preflight := func() *http.Request {
		r := httptest.NewRequest(http.MethodOptions, "/", nil)
		r.Header.Set("Origin", "https://app.example")
		r.Header.Set("Access-Control-Request-Method", "POST")
		return r
	}
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	ref := httptest.NewRecorder()
	m.Handler(clerkauth.RequirePermission("org:x")(ok)).ServeHTTP(ref, preflight())

	app := fiber.New()
	app.Options("/", clerkfiber.New(m, clerkfiber.Config{ErrorHandler: func(c fiber.Ctx, _ error) error {
		custom++
		return c.SendStatus(http.StatusTeapot)
	}}), clerkfiber.RequirePermission("org:x"), func(c fiber.Ctx) error { return c.SendString("ok") })
	resp := test(t, app)(preflight())
	got := body(t, resp)

	if resp.StatusCode != ref.Code || resp.Header.Get("WWW-Authenticate") != ref.Header().Get("WWW-Authenticate") || got != ref.Body.String() {
		t.Errorf("fiber answered %d %q %q; net/http %d %q %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), got,
			ref.Code, ref.Header().Get("WWW-Authenticate"), ref.Body.String())
	}
	if ref.Code != http.StatusUnauthorized || custom != 0 {
		t.Errorf("net/http answered %d, a custom handler called %d times", ref.Code, custom)
	}
}
