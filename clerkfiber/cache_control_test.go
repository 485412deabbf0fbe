package clerkfiber_test

import (
	"testing"

	"github.com/gofiber/fiber/v3"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerkfiber"
	"github.com/clerkauth/clerkauth/internal/conformance"
)

// TestSignedInCacheControl checks the Cache-Control of signed-in
// responses as net/http sets it: private by default, a policy set before
// the middleware kept, the handler's own winning.
func TestSignedInCacheControl(t *testing.T) {
	f := conformance.NewSessionFixture(t, "user_fiber")
	m := f.Middleware(t, clerkauth.MiddlewareOptions{})
	app := fiber.New()
	ok := func(c fiber.Ctx) error { return c.SendString("ok") }
	app.Get("/plain", clerkfiber.New(m), ok)
	app.Get("/outer", func(c fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "no-store")
		return c.Next()
	}, clerkfiber.New(m), ok)
	app.Get("/own", clerkfiber.New(m), func(c fiber.Ctx) error {
		c.Set(fiber.HeaderCacheControl, "public, max-age=60")
		return c.SendString("ok")
	})
	serve := test(t, app)
	for path, want := range map[string]string{"/plain": "private", "/outer": "no-store", "/own": "public, max-age=60"} {
		resp := serve(request(path, f.Token))
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d %s", path, resp.StatusCode, body(t, resp))
		}
		if got := resp.Header.Values("Cache-Control"); len(got) != 1 || got[0] != want {
			t.Errorf("%s: Cache-Control %q; want %q", path, got, want)
		}
	}
}
