package clerkecho_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerkecho"
	"github.com/clerkauth/clerkauth/internal/conformance"
)

// mountMachine builds the machine conformance app on echo, reading the
// token with the adapter's accessors.
func mountMachine(_ *testing.T, m *clerkauth.Middleware) conformance.Driver {
	e := echo.New()
	handler := func(c echo.Context) error {
		kind, _ := clerkecho.TokenKind(c)
		mt, _ := clerkecho.MachineToken(c)
		user, _ := clerkecho.UserID(c)
		return c.String(http.StatusOK, conformance.MachineBody(kind, mt, user))
	}
	g := e.Group("", clerkecho.Middleware(m))
	g.GET(conformance.MachinePath, handler)
	g.GET(conformance.ScopedPath, handler, clerkecho.RequireScopes(conformance.Scope))
	g.GET(conformance.CallerPath, handler, clerkecho.RequireMachine(conformance.CallerMachine))
	g.GET(conformance.OrgKeyPath, handler, clerkecho.RequireAPIKeyOwner(clerkauth.OwnerOrganization))
	return conformance.Serve(e)
}

func TestMachineConformance(t *testing.T) {
	conformance.RunMachine(t, mountMachine)
}

const echoUser = "user_echo00000000000000000000000"

// TestMachineAccessors checks the adapter's machine accessors against
// clerkauth's on the request's context, for an M2M token, an API key, a
// signed-out request and a route without the middleware.
func TestMachineAccessors(t *testing.T) {
	f := conformance.NewMachineFixture(t, echoUser, "echo-caller")
	e := echo.New()
	check := func(c echo.Context) error {
		mt, ok := clerkecho.MachineToken(c)
		kind, kindOK := clerkecho.TokenKind(c)
		user, _ := clerkecho.UserID(c)
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
	e.GET("/private", check, clerkecho.Middleware(f.Middleware(t, clerkauth.MiddlewareOptions{})))
	e.GET("/optional", check, clerkecho.Middleware(f.Middleware(t, clerkauth.MiddlewareOptions{Optional: true})))
	e.GET("/bare", check)
	for _, tc := range []struct{ path, token, want string }{
		{"/private", f.M2M, "m2m_token " + f.MachineID + " "},
		{"/private", f.Key, "api_key " + echoUser + " " + echoUser},
		{"/optional", "", "signed-out"},
		{"/bare", f.Key, "signed-out"},
	} {
		rec := serve(e, tc.path, tc.token)
		if rec.Code != 200 || rec.Body.String() != tc.want {
			t.Errorf("%s: %d %q; want %q", tc.path, rec.Code, rec.Body, tc.want)
		}
	}
}

// TestMachineGuardsErrorHandler checks that the machine guards answer
// through the Middleware's ErrorHandler (not echo's HTTPErrorHandler) and
// stop the chain.
func TestMachineGuardsErrorHandler(t *testing.T) {
	f := conformance.NewMachineFixture(t, echoUser, "echo-caller")
	var seen []error
	m := f.Middleware(t, clerkauth.MiddlewareOptions{ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
		seen = append(seen, err)
		w.WriteHeader(http.StatusTeapot)
	}})
	e := echo.New()
	e.HTTPErrorHandler = func(err error, c echo.Context) { t.Errorf("echo's error handler called with %v", err) }
	reached := 0
	h := func(echo.Context) error { reached++; return nil }
	g := e.Group("", clerkecho.Middleware(m))
	g.GET("/scopes", h, clerkecho.RequireScopes("write"))
	g.GET("/machine", h, clerkecho.RequireMachine("mch_other"))
	g.GET("/owner", h, clerkecho.RequireAPIKeyOwner(clerkauth.OwnerOrganization))
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
	e.GET("/", func(c echo.Context) error { return c.String(200, "reached") }, clerkecho.RequireMachine("mch_x"))
	rec := serve(e, "/", "")
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != `Bearer realm="api"` {
		t.Errorf("%d %q %q", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
	}
	for name, build := range map[string]func(){
		"RequireScopes":      func() { clerkecho.RequireScopes() },
		"RequireMachine":     func() { clerkecho.RequireMachine() },
		"RequireAPIKeyOwner": func() { clerkecho.RequireAPIKeyOwner() },
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
