package clerkgin_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerkgin"
	"github.com/clerkauth/clerkauth/internal/conformance"
)

// mountMachine builds the machine conformance app on gin, reading the
// token with the adapter's accessors.
func mountMachine(_ *testing.T, m *clerkauth.Middleware) conformance.Driver {
	r := gin.New()
	handler := func(c *gin.Context) {
		kind, _ := clerkgin.TokenKind(c)
		mt, _ := clerkgin.MachineToken(c)
		user, _ := clerkgin.UserID(c)
		c.String(http.StatusOK, conformance.MachineBody(kind, mt, user))
	}
	g := r.Group("/", clerkgin.Middleware(m))
	g.GET(conformance.MachinePath, handler)
	g.GET(conformance.ScopedPath, clerkgin.RequireScopes(conformance.Scope), handler)
	g.GET(conformance.CallerPath, clerkgin.RequireMachine(conformance.CallerMachine), handler)
	g.GET(conformance.OrgKeyPath, clerkgin.RequireAPIKeyOwner(clerkauth.OwnerOrganization), handler)
	return conformance.Serve(r)
}

func TestMachineConformance(t *testing.T) {
	conformance.RunMachine(t, mountMachine)
}

const ginUser = "user_gin000000000000000000000000"

func send(r *gin.Engine, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, req)
	return rec
}

// TestMachineTokenFromGinContext checks that clerkauth's machine
// accessors work on the *gin.Context itself, with and without
// ContextWithFallback, on the request's context, and on a c.Copy() handed
// to a goroutine: the README's habit.
func TestMachineTokenFromGinContext(t *testing.T) {
	f := conformance.NewMachineFixture(t, ginUser, "gin-caller")
	m := f.Middleware(t, clerkauth.MiddlewareOptions{})
	for _, fallback := range []bool{false, true} {
		r := gin.New()
		r.ContextWithFallback = fallback
		var got []string
		r.GET("/", clerkgin.Middleware(m), func(c *gin.Context) {
			mt, _ := clerkauth.MachineTokenFromContext(c) // a nil token would panic below
			fromReq, _ := clerkauth.MachineTokenFromContext(c.Request.Context())
			kind, _ := clerkauth.TokenKindFromContext(c)
			user, _ := clerkauth.UserIDFromContext(c)
			got = append(got, mt.Subject, fromReq.Subject, string(kind), user)
			cp := c.Copy()
			done := make(chan string)
			go func() {
				copied, _ := clerkauth.MachineTokenFromContext(cp)
				done <- copied.Subject
			}()
			got = append(got, <-done)
		})
		for _, tc := range []struct {
			token string
			want  []string
		}{
			{f.M2M, []string{f.MachineID, f.MachineID, string(clerkauth.TokenKindM2M), "", f.MachineID}},
			{f.Key, []string{ginUser, ginUser, string(clerkauth.TokenKindAPIKey), ginUser, ginUser}},
		} {
			got = nil
			if rec := send(r, "/", tc.token); rec.Code != http.StatusOK {
				t.Fatalf("fallback=%v: status %d %s", fallback, rec.Code, rec.Body)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("fallback=%v: got %q; want %q", fallback, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("fallback=%v: step %d: %q; want %q", fallback, i, got[i], tc.want[i])
				}
			}
		}
	}
}

// TestMachineAccessorsSignedOut checks the machine accessors of a
// session, of an optional route's signed-out request and of a route
// without the middleware: false, no panic.
func TestMachineAccessorsSignedOut(t *testing.T) {
	f := conformance.NewMachineFixture(t, ginUser, "gin-caller")
	r := gin.New()
	check := func(c *gin.Context) {
		_, mtOK := clerkgin.MachineToken(c)
		_, kindOK := clerkgin.TokenKind(c)
		_, userOK := clerkgin.UserID(c)
		if mtOK || kindOK || userOK {
			c.String(500, "signed in?")
			return
		}
		c.String(200, "signed-out")
	}
	r.GET("/optional", clerkgin.Middleware(f.Middleware(t, clerkauth.MiddlewareOptions{Optional: true})), check)
	r.GET("/bare", check)
	for _, path := range []string{"/optional", "/bare"} {
		if rec := send(r, path, ""); rec.Code != 200 || rec.Body.String() != "signed-out" {
			t.Errorf("%s: %d %q", path, rec.Code, rec.Body)
		}
	}
}

// TestMachineGuardsErrorHandler checks that the machine guards answer
// through the Middleware's ErrorHandler with the error of
// clerkauth.AuthorizeMachine, and abort the chain.
func TestMachineGuardsErrorHandler(t *testing.T) {
	f := conformance.NewMachineFixture(t, ginUser, "gin-caller")
	var seen []error
	m := f.Middleware(t, clerkauth.MiddlewareOptions{ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
		seen = append(seen, err)
		w.WriteHeader(http.StatusTeapot)
	}})
	r := gin.New()
	reached := 0
	next := func(*gin.Context) { reached++ }
	g := r.Group("/", clerkgin.Middleware(m))
	g.GET("/scopes", clerkgin.RequireScopes("write"), next)
	g.GET("/machine", clerkgin.RequireMachine("mch_other"), next)
	g.GET("/owner", clerkgin.RequireAPIKeyOwner(clerkauth.OwnerOrganization), next)
	g.GET("/allowed", clerkgin.RequireMachine(f.MachineID), clerkgin.RequireScopes("read"), next)
	for _, tc := range []struct{ path, token string }{{"/scopes", f.Key}, {"/machine", f.M2M}, {"/owner", f.Key}} {
		seen = nil
		if rec := send(r, tc.path, tc.token); rec.Code != http.StatusTeapot {
			t.Errorf("%s: status %d", tc.path, rec.Code)
		}
		if len(seen) != 1 || !errors.Is(seen[0], clerkauth.ErrForbidden) {
			t.Errorf("%s: ErrorHandler saw %v", tc.path, seen)
		}
	}
	if reached != 0 {
		t.Error("the chain went on after a refusal")
	}
	// Two guards in a row: the M2M token passes the first, lacks the
	// scope of the second.
	seen = nil
	if rec := send(r, "/allowed", f.M2M); rec.Code != http.StatusTeapot || reached != 0 {
		t.Errorf("/allowed: status %d, reached %d", rec.Code, reached)
	}
}

// TestMachineGuardWithoutMiddleware checks that a machine guard alone
// refuses with the default 401, and that the guards panic without
// arguments.
func TestMachineGuardWithoutMiddleware(t *testing.T) {
	r := gin.New()
	r.GET("/", clerkgin.RequireScopes("read"), func(c *gin.Context) { c.String(200, "reached") })
	rec := send(r, "/", "")
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != `Bearer realm="api"` {
		t.Errorf("%d %q %q", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
	}
	for name, build := range map[string]func(){
		"RequireScopes":      func() { clerkgin.RequireScopes() },
		"RequireMachine":     func() { clerkgin.RequireMachine() },
		"RequireAPIKeyOwner": func() { clerkgin.RequireAPIKeyOwner() },
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
