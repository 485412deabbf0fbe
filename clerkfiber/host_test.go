package clerkfiber_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerkfiber"
	"github.com/clerkauth/clerkauth/internal/conformance"
)

// TestAbsoluteFormHost checks that the cross-origin check compares the
// Origin with the host net/http gives the request: for an absolute-form
// request target (RFC 9112 §3.2.2) the target's host, the Host header
// being ignored; otherwise the Host header.
func TestAbsoluteFormHost(t *testing.T) {
	f := conformance.NewSessionFixture(t, "user_fiber")
	m := f.Middleware(t, clerkauth.MiddlewareOptions{})
	app := fiber.New()
	app.Post("/private", clerkfiber.New(m), func(c fiber.Ctx) error { return c.SendString("ok") })
	ref := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }))
	cookie := "__client_uat=1; __session=" + f.Token
	for _, tc := range []struct{ name, target, host, origin string }{
		{"target's host is the Origin's, Host another", "http://app.example/private", "evil.example", "http://app.example"},
		{"Host is the Origin's, target's host another", "http://app.example/private", "evil.example", "http://evil.example"},
		{"origin-form, Host is the Origin's", "/private", "app.example", "http://app.example"},
		{"origin-form, Host another", "/private", "evil.example", "http://app.example"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// net/http, as its server reads such a request.
			r := httptest.NewRequest(http.MethodPost, tc.target, nil)
			if r.URL.Host == "" {
				r.Host = tc.host
			}
			r.Header.Set("Origin", tc.origin)
			r.Header.Set("Cookie", cookie)
			rec := httptest.NewRecorder()
			ref.ServeHTTP(rec, r)

			var rc fasthttp.RequestCtx
			rc.Request.Header.SetMethod(http.MethodPost)
			rc.Request.SetRequestURI(tc.target)
			rc.Request.Header.SetHost(tc.host)
			rc.Request.Header.Set("Origin", tc.origin)
			rc.Request.Header.Set("Cookie", cookie)
			app.Handler()(&rc)
			if got := rc.Response.StatusCode(); got != rec.Code {
				t.Errorf("fiber answered %d, net/http %d (%s)", got, rec.Code, rec.Body.String())
			}
		})
	}
}
