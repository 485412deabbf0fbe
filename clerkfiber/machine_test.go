package clerkfiber_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v3"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerkfiber"
	"github.com/clerkauth/clerkauth/internal/conformance"
)

// mountMachine builds the machine conformance app on fiber. Its handler
// reads the token with clerkauth's accessors on the fiber.Ctx itself.
func mountMachine(t *testing.T, m *clerkauth.Middleware) conformance.Driver {
	app := fiber.New()
	handler := func(c fiber.Ctx) error {
		kind, _ := clerkauth.TokenKindFromContext(c)
		mt, _ := clerkauth.MachineTokenFromContext(c)
		user, _ := clerkauth.UserIDFromContext(c)
		return c.SendString(conformance.MachineBody(kind, mt, user))
	}
	g := app.Group("", clerkfiber.New(m))
	g.Get(conformance.MachinePath, handler)
	g.Get(conformance.ScopedPath, clerkfiber.RequireScopes(conformance.Scope), handler)
	g.Get(conformance.CallerPath, clerkfiber.RequireMachine(conformance.CallerMachine), handler)
	g.Get(conformance.OrgKeyPath, clerkfiber.RequireAPIKeyOwner(clerkauth.OwnerOrganization), handler)
	return test(t, app)
}

func TestMachineConformance(t *testing.T) {
	conformance.RunMachine(t, mountMachine)
}

const fiberUser = "user_fiber0000000000000000000000"

// TestMachineAccessors checks the adapter's machine accessors against
// clerkauth's on the fiber.Ctx and on c.Context(), for an M2M token, an
// API key, a signed-out request and a route without the middleware.
func TestMachineAccessors(t *testing.T) {
	f := conformance.NewMachineFixture(t, fiberUser, "fiber-caller")
	app := fiber.New()
	check := func(c fiber.Ctx) error {
		mt, ok := clerkfiber.MachineToken(c)
		kind, kindOK := clerkfiber.TokenKind(c)
		user, _ := clerkfiber.UserID(c)
		fromCtx, ctxOK := clerkauth.MachineTokenFromContext(c.Context())
		onCtx, onOK := clerkauth.MachineTokenFromContext(c)
		if !ok {
			if kindOK || ctxOK || onOK || user != "" {
				return c.Status(500).SendString("half signed in")
			}
			return c.SendString("signed-out")
		}
		if fromCtx != mt || onCtx != mt {
			return c.Status(500).SendString("accessors disagree")
		}
		return c.SendString(string(kind) + " " + mt.Subject + " " + user)
	}
	app.Get("/private", clerkfiber.New(f.Middleware(t, clerkauth.MiddlewareOptions{})), check)
	app.Get("/optional", clerkfiber.New(f.Middleware(t, clerkauth.MiddlewareOptions{Optional: true})), check)
	app.Get("/bare", check)
	serve := test(t, app)
	for _, tc := range []struct{ path, token, want string }{
		{"/private", f.M2M, "m2m_token " + f.MachineID + " "},
		{"/private", f.Key, "api_key " + fiberUser + " " + fiberUser},
		{"/optional", "", "signed-out"},
		{"/bare", f.Key, "signed-out"},
	} {
		resp := serve(request(tc.path, tc.token))
		if got := body(t, resp); resp.StatusCode != 200 || got != tc.want {
			t.Errorf("%s: %d %q; want %q", tc.path, resp.StatusCode, got, tc.want)
		}
	}
}

// TestMachineTokenOutlivesTheRequest checks that a machine token a
// handler keeps stays intact after fasthttp reuses the request's memory:
// the credentials are Volatile, so nothing kept aliases it.
func TestMachineTokenOutlivesTheRequest(t *testing.T) {
	f := conformance.NewMachineFixture(t, fiberUser, "fiber-caller")
	app := fiber.New()
	var kept []*clerkauth.MachineToken
	app.Get("/", clerkfiber.New(f.Middleware(t, clerkauth.MiddlewareOptions{})), func(c fiber.Ctx) error {
		mt, _ := clerkfiber.MachineToken(c)
		kept = append(kept, mt)
		return nil
	})
	serve := test(t, app)
	for _, tok := range []string{f.M2M, f.Key} {
		if resp := serve(request("/", tok)); resp.StatusCode != 200 {
			t.Fatalf("status %d %s", resp.StatusCode, body(t, resp))
		}
	}
	for i := range 20 {
		_ = serve(request("/", strings.Repeat(string(rune('a'+i%26)), len(f.M2M))))
	}
	if kept[0].Subject != f.MachineID || kept[1].Subject != fiberUser || kept[1].Scopes[0] != conformance.MachineFixtureScope {
		t.Fatalf("kept %q and %q %q after the buffers were reused", kept[0].Subject, kept[1].Subject, kept[1].Scopes)
	}
}

// TestMachineGuardsErrorHandler checks that the machine guards answer
// through Config.ErrorHandler and stop the chain.
func TestMachineGuardsErrorHandler(t *testing.T) {
	f := conformance.NewMachineFixture(t, fiberUser, "fiber-caller")
	var seen []error
	mw := clerkfiber.New(f.Middleware(t, clerkauth.MiddlewareOptions{}), clerkfiber.Config{
		ErrorHandler: func(c fiber.Ctx, err error) error {
			seen = append(seen, err)
			return c.Status(http.StatusTeapot).SendString("custom")
		},
	})
	app := fiber.New()
	reached := 0
	next := func(fiber.Ctx) error { reached++; return nil }
	g := app.Group("", mw)
	g.Get("/scopes", clerkfiber.RequireScopes("write"), next)
	g.Get("/machine", clerkfiber.RequireMachine("mch_other"), next)
	g.Get("/owner", clerkfiber.RequireAPIKeyOwner(clerkauth.OwnerOrganization), next)
	serve := test(t, app)
	for _, tc := range []struct{ path, token string }{{"/scopes", f.Key}, {"/machine", f.M2M}, {"/owner", f.Key}} {
		seen = nil
		resp := serve(request(tc.path, tc.token))
		_ = body(t, resp)
		if resp.StatusCode != http.StatusTeapot {
			t.Errorf("%s: status %d", tc.path, resp.StatusCode)
		}
		if len(seen) != 1 || !errors.Is(seen[0], clerkauth.ErrForbidden) {
			t.Errorf("%s: ErrorHandler saw %v", tc.path, seen)
		}
	}
	if reached != 0 {
		t.Error("the chain went on after a refusal")
	}
}

// TestMachineGuardWithoutMiddleware checks that a machine guard alone
// refuses with the default 401, and that the guards panic without
// arguments.
func TestMachineGuardWithoutMiddleware(t *testing.T) {
	app := fiber.New()
	app.Get("/", clerkfiber.RequireAPIKeyOwner(clerkauth.OwnerUser), func(c fiber.Ctx) error { return c.SendString("reached") })
	resp := test(t, app)(request("/", ""))
	_ = body(t, resp)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != `Bearer realm="api"` {
		t.Errorf("%d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	for name, build := range map[string]func(){
		"RequireScopes":      func() { clerkfiber.RequireScopes() },
		"RequireMachine":     func() { clerkfiber.RequireMachine() },
		"RequireAPIKeyOwner": func() { clerkfiber.RequireAPIKeyOwner() },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s() did not panic", name)
				}
			}()
			build()
		}()
	}
}
