package clerkfiber_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerkfiber"
	"github.com/clerkauth/clerkauth/internal/conformance"
)

// test drives app with fiber's in-memory test transport.
func test(t *testing.T, app *fiber.App) conformance.Driver {
	return func(r *http.Request) *http.Response {
		resp, err := app.Test(r, fiber.TestConfig{Timeout: 10 * time.Second})
		if err != nil {
			t.Fatalf("app.Test: %v", err)
		}
		return resp
	}
}

// mount builds the conformance app on fiber. Its handler reads the
// session with clerkauth.SessionFromContext(c): fiber.Ctx is a
// context.Context too.
func mount(t *testing.T, m *clerkauth.Middleware) conformance.Driver {
	app := fiber.New()
	handler := func(c fiber.Ctx) error {
		claims, ok := clerkauth.SessionFromContext(c)
		return c.SendString(conformance.Body(claims, ok))
	}
	g := app.Group("", clerkfiber.New(m))
	g.Add([]string{fiber.MethodGet, fiber.MethodHead, fiber.MethodPost, fiber.MethodOptions}, conformance.PrivatePath, handler)
	g.Get(conformance.AdminPath, clerkfiber.RequirePermission(conformance.Permission), handler)
	return test(t, app)
}

func TestConformance(t *testing.T) {
	conformance.Run(t, mount)
}

func body(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func request(path, token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

// TestTokenOutlivesTheRequest checks that the token and claims a handler
// keeps stay intact after fasthttp reuses the request's memory for the
// next requests.
func TestTokenOutlivesTheRequest(t *testing.T) {
	f := conformance.NewSessionFixture(t, "user_fiber")
	app := fiber.New()
	var kept []string
	app.Get("/", clerkfiber.RequireSession(f.V), func(c fiber.Ctx) error {
		tok, _ := clerkfiber.Token(c)
		claims, _ := clerkfiber.Session(c)
		kept = append(kept, tok, claims.UserID)
		return nil
	})
	serve := test(t, app)
	for range 3 {
		if resp := serve(request("/", f.Token)); resp.StatusCode != 200 {
			t.Fatalf("status %d %s", resp.StatusCode, body(t, resp))
		}
	}
	// The same buffers now carry other requests with other headers.
	for i := range 20 {
		r := request("/", "")
		r.Header.Set("Authorization", "Bearer "+strings.Repeat(string(rune('a'+i%26)), len(f.Token)))
		_ = serve(r)
	}
	for i := 0; i < len(kept); i += 2 {
		if kept[i] != f.Token || kept[i+1] != "user_fiber" {
			t.Fatalf("request %d kept %.20q… and %q after the buffers were reused", i/2, kept[i], kept[i+1])
		}
	}
}

// TestAccessors checks Session, Token and c.Context() on signed-in,
// optional and unauthenticated routes.
func TestAccessors(t *testing.T) {
	f := conformance.NewSessionFixture(t, "user_fiber")
	app := fiber.New()
	check := func(c fiber.Ctx) error {
		claims, ok := clerkfiber.Session(c)
		_, tokOK := clerkfiber.Token(c)
		fromCtx, ctxOK := clerkauth.SessionFromContext(c.Context())
		switch {
		case !ok && !tokOK && !ctxOK:
			return c.SendString("signed-out")
		case ok && tokOK && ctxOK && fromCtx == claims:
			return c.SendString(claims.UserID)
		}
		return c.Status(500).SendString("accessors disagree")
	}
	app.Get("/private", clerkfiber.New(f.Middleware(t, clerkauth.MiddlewareOptions{})), check)
	app.Get("/optional", clerkfiber.New(f.Middleware(t, clerkauth.MiddlewareOptions{Optional: true})), check)
	app.Get("/skipped", clerkfiber.New(f.Middleware(t, clerkauth.MiddlewareOptions{}), clerkfiber.Config{
		Next: func(fiber.Ctx) bool { return true },
	}), check)
	app.Get("/bare", check)
	serve := test(t, app)
	for _, tc := range []struct{ path, token, want string }{
		{"/private", f.Token, "user_fiber"},
		{"/optional", "", "signed-out"},
		{"/skipped", "", "signed-out"},
		{"/bare", f.Token, "signed-out"},
	} {
		resp := serve(request(tc.path, tc.token))
		if got := body(t, resp); resp.StatusCode != 200 || got != tc.want {
			t.Errorf("%s: %d %q; want %q", tc.path, resp.StatusCode, got, tc.want)
		}
	}
}

// TestFiberConfig checks the TokenExtractor and the ErrorHandler, used by
// the middleware and the guards.
func TestFiberConfig(t *testing.T) {
	f := conformance.NewSessionFixture(t, "user_fiber")
	var seen []error
	cfg := clerkfiber.Config{
		TokenExtractor: func(c fiber.Ctx) (string, error) {
			if c.Query("fail") != "" {
				return "", errors.New("bad carrier")
			}
			return c.Query("token"), nil
		},
		ErrorHandler: func(c fiber.Ctx, err error) error {
			seen = append(seen, err)
			return c.Status(http.StatusTeapot).SendString("custom")
		},
	}
	app := fiber.New()
	mw := clerkfiber.New(f.Middleware(t, clerkauth.MiddlewareOptions{}), cfg)
	ok := func(c fiber.Ctx) error { return c.SendString("reached") }
	app.Get("/ws", mw, ok)
	app.Get("/admin", mw, clerkfiber.RequireRole("admin"), ok)
	serve := test(t, app)
	cases := []struct {
		path   string
		status int
		err    error
	}{
		{"/ws?token=" + f.Token, 200, nil},
		{"/ws", http.StatusTeapot, clerkauth.ErrNoToken},
		{"/ws?fail=1", http.StatusTeapot, clerkauth.ErrInvalidRequest},
		{"/admin?token=" + f.Token, http.StatusTeapot, clerkauth.ErrForbidden},
	}
	for _, tc := range cases {
		seen = nil
		resp := serve(request(tc.path, ""))
		_ = body(t, resp)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d; want %d", tc.path, resp.StatusCode, tc.status)
		}
		if tc.err != nil && (len(seen) != 1 || !errors.Is(seen[0], tc.err)) {
			t.Errorf("%s: ErrorHandler saw %v; want %v", tc.path, seen, tc.err)
		}
	}
}

// TestGuardWithoutMiddleware checks that a guard alone refuses, with the
// default answer.
func TestGuardWithoutMiddleware(t *testing.T) {
	app := fiber.New()
	app.Get("/", clerkfiber.RequireFeature("o:x"), func(c fiber.Ctx) error { return c.SendString("reached") })
	resp := test(t, app)(request("/", ""))
	_ = body(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Bearer realm="api"` {
		t.Errorf("%d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

// TestNewRefusesNetHTTPOptions: a Middleware built with an option fiber
// cannot run (it takes net/http types) is refused when the Config lacks
// its fiber counterpart, and accepted with it.
func TestNewRefusesNetHTTPOptions(t *testing.T) {
	f := conformance.NewSessionFixture(t, "user_fiber")
	skip := func(*http.Request) bool { return true }
	extract := func(*http.Request) (string, error) { return "", nil }
	handle := func(http.ResponseWriter, *http.Request, error) {}
	next := func(fiber.Ctx) bool { return false }
	fiberExtract := func(fiber.Ctx) (string, error) { return "", nil }
	fiberHandle := func(fiber.Ctx, error) error { return nil }
	tests := []struct {
		name  string
		opts  clerkauth.MiddlewareOptions
		cfg   clerkfiber.Config
		panic string // "" when New must not panic
	}{
		{"no net/http option", clerkauth.MiddlewareOptions{}, clerkfiber.Config{}, ""},
		{"Skip without Next", clerkauth.MiddlewareOptions{Skip: skip}, clerkfiber.Config{},
			"MiddlewareOptions.Skip takes net/http types, which fiber cannot run: set clerkfiber.Config.Next instead"},
		{"Skip with Next", clerkauth.MiddlewareOptions{Skip: skip}, clerkfiber.Config{Next: next}, ""},
		{"TokenExtractor without its fiber twin", clerkauth.MiddlewareOptions{TokenExtractor: extract}, clerkfiber.Config{Next: next},
			"MiddlewareOptions.TokenExtractor takes net/http types, which fiber cannot run: set clerkfiber.Config.TokenExtractor instead"},
		{"TokenExtractor with its fiber twin", clerkauth.MiddlewareOptions{TokenExtractor: extract}, clerkfiber.Config{TokenExtractor: fiberExtract}, ""},
		{"ErrorHandler without its fiber twin", clerkauth.MiddlewareOptions{ErrorHandler: handle}, clerkfiber.Config{TokenExtractor: fiberExtract},
			"MiddlewareOptions.ErrorHandler takes net/http types, which fiber cannot run: set clerkfiber.Config.ErrorHandler instead"},
		{"all three covered", clerkauth.MiddlewareOptions{Skip: skip, TokenExtractor: extract, ErrorHandler: handle},
			clerkfiber.Config{Next: next, TokenExtractor: fiberExtract, ErrorHandler: fiberHandle}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := f.Middleware(t, tt.opts)
			got := panicValue(func() { clerkfiber.New(m, tt.cfg) })
			want := any(nil)
			if tt.panic != "" {
				want = "clerkfiber: New: " + tt.panic
			}
			if got != want {
				t.Errorf("New panicked with %v, want %v", got, want)
			}
		})
	}
}

// panicValue runs f and returns what it panicked with, nil if it did not.
func panicValue(f func()) (v any) {
	defer func() { v = recover() }()
	f()
	return nil
}
