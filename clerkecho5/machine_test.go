package clerkecho5_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/labstack/echo/v5"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerkecho5"
	"github.com/clerkauth/clerkauth/internal/conformance"
)

// mountMachine builds the machine conformance app on echo v5, reading the
// token with the adapter's accessors.
func mountMachine(_ *testing.T, m *clerkauth.Middleware) conformance.Driver {
	e := echo.New()
	handler := func(c *echo.Context) error {
		kind, _ := clerkecho5.TokenKind(c)
		mt, _ := clerkecho5.MachineToken(c)
		user, _ := clerkecho5.UserID(c)
		return c.String(http.StatusOK, conformance.MachineBody(kind, mt, user))
	}
	g := e.Group("", clerkecho5.Middleware(m))
	g.GET(conformance.MachinePath, handler)
	g.GET(conformance.ScopedPath, handler, clerkecho5.RequireScopes(conformance.Scope))
	g.GET(conformance.CallerPath, handler, clerkecho5.RequireMachine(conformance.CallerMachine))
	g.GET(conformance.OrgKeyPath, handler, clerkecho5.RequireAPIKeyOwner(clerkauth.OwnerOrganization))
	return conformance.Serve(e)
}

// TestMachineConformance checks that every request of the shared machine
// table (M2M tokens and API keys, Backend API up, down and rate limited)
// gets net/http's status, headers and body through echo v5.
func TestMachineConformance(t *testing.T) {
	conformance.RunMachine(t, mountMachine)
}

const echoUser = "user_echo50000000000000000000000"

// TestMachineAccessors checks the adapter's machine accessors against
// clerkauth's on the request's context, for an M2M token, an API key, a
// signed-out request and a route without the middleware.
func TestMachineAccessors(t *testing.T) {
	f := conformance.NewMachineFixture(t, echoUser, "echo5-caller")
	e := echo.New()
	check := func(c *echo.Context) error {
		mt, ok := clerkecho5.MachineToken(c)
		kind, kindOK := clerkecho5.TokenKind(c)
		user, _ := clerkecho5.UserID(c)
		fromReq, reqOK := clerkauth.MachineTokenFromContext(c.Request().Context())
		if !ok {
			if kindOK || reqOK || user != "" {
				return c.String(500, "half signed in")
			}
			return c.String(200, "signed-out")
		}
		if !reqOK || fromReq != mt {
			return c.String(500, "accessors disagree")
		}
		return c.String(200, string(kind)+" "+mt.Subject+" "+user)
	}
	e.GET("/private", check, clerkecho5.Middleware(f.Middleware(t, clerkauth.MiddlewareOptions{})))
	e.GET("/optional", check, clerkecho5.Middleware(f.Middleware(t, clerkauth.MiddlewareOptions{Optional: true})))
	e.GET("/bare", check)
	for _, tc := range []struct{ name, path, token, want string }{
		{"m2m", "/private", f.M2M, "m2m_token " + f.MachineID + " "},
		{"api key", "/private", f.Key, "api_key " + echoUser + " " + echoUser},
		{"signed out", "/optional", "", "signed-out"},
		{"no middleware", "/bare", f.Key, "signed-out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := serve(e, tc.path, tc.token)
			if rec.Code != 200 || rec.Body.String() != tc.want {
				t.Errorf("%d %q; want %q", rec.Code, rec.Body, tc.want)
			}
		})
	}
}

// TestMachineGuardsErrorHandler checks that the machine guards answer
// through the Middleware's ErrorHandler (not echo's HTTPErrorHandler) and
// stop the chain.
func TestMachineGuardsErrorHandler(t *testing.T) {
	f := conformance.NewMachineFixture(t, echoUser, "echo5-caller")
	var seen []error
	m := f.Middleware(t, clerkauth.MiddlewareOptions{ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
		seen = append(seen, err)
		w.WriteHeader(http.StatusTeapot)
	}})
	e := echo.New()
	e.HTTPErrorHandler = func(_ *echo.Context, err error) { t.Errorf("echo's error handler called with %v", err) }
	reached := 0
	h := func(*echo.Context) error { reached++; return nil }
	g := e.Group("", clerkecho5.Middleware(m))
	g.GET("/scopes", h, clerkecho5.RequireScopes("write"))
	g.GET("/machine", h, clerkecho5.RequireMachine("mch_other"))
	g.GET("/owner", h, clerkecho5.RequireAPIKeyOwner(clerkauth.OwnerOrganization))
	for _, tc := range []struct{ path, token string }{{"/scopes", f.Key}, {"/machine", f.M2M}, {"/owner", f.Key}} {
		seen = nil
		if rec := serve(e, tc.path, tc.token); rec.Code != http.StatusTeapot {
			t.Errorf("%s: status %d", tc.path, rec.Code)
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
	e := echo.New()
	e.GET("/", func(c *echo.Context) error { return c.String(200, "reached") }, clerkecho5.RequireMachine("mch_x"))
	rec := serve(e, "/", "")
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != `Bearer realm="api"` {
		t.Errorf("%d %q %q", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
	}
	for name, build := range map[string]func(){
		"RequireScopes":      func() { clerkecho5.RequireScopes() },
		"RequireMachine":     func() { clerkecho5.RequireMachine() },
		"RequireAPIKeyOwner": func() { clerkecho5.RequireAPIKeyOwner() },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("%s() did not panic", name)
				}
			}()
			build()
		})
	}
}

// TestMachineGuardsCopyArguments checks that a guard keeps its own copy of
// its arguments: changing the caller's slice after building the guard
// does not change what it requires.
func TestMachineGuardsCopyArguments(t *testing.T) {
	f := conformance.NewMachineFixture(t, echoUser, "echo5-caller")
	e := echo.New()
	scopes := []string{conformance.MachineFixtureScope}
	machines := []string{f.MachineID}
	g := e.Group("", clerkecho5.Middleware(f.Middleware(t, clerkauth.MiddlewareOptions{})))
	h := func(c *echo.Context) error { return c.String(200, "reached") }
	g.GET("/scopes", h, clerkecho5.RequireScopes(scopes...))
	g.GET("/machine", h, clerkecho5.RequireMachine(machines...))
	scopes[0], machines[0] = "write", "mch_other"
	for _, tc := range []struct{ path, token string }{{"/scopes", f.Key}, {"/machine", f.M2M}} {
		if rec := serve(e, tc.path, tc.token); rec.Code != 200 {
			t.Errorf("%s: %d %q after the caller changed its slice", tc.path, rec.Code, rec.Body)
		}
	}
}
