package clerkgin_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerkgin"
	"github.com/clerkauth/clerkauth/internal/conformance"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode) // gin's mode is global: set once, before any test
	os.Exit(m.Run())
}

// mount builds the conformance app on gin. Its handler reads the session
// with clerkauth.SessionFromContext(c): the call that found nothing before
// the adapter stored the session where a *gin.Context looks.
func mount(_ *testing.T, m *clerkauth.Middleware) conformance.Driver {
	r := gin.New()
	handler := func(c *gin.Context) {
		claims, ok := clerkauth.SessionFromContext(c)
		c.String(http.StatusOK, conformance.Body(claims, ok))
	}
	g := r.Group("/", clerkgin.Middleware(m))
	for _, method := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodOptions} {
		g.Handle(method, conformance.PrivatePath, handler)
	}
	g.GET(conformance.AdminPath, clerkgin.RequirePermission(conformance.Permission), handler)
	return conformance.Serve(r)
}

func TestConformance(t *testing.T) {
	conformance.Run(t, mount)
}

// TestSessionFromGinContext checks that the obvious call works on a
// *gin.Context, with and without ContextWithFallback, on the request's
// context, through Session and Token, and on a c.Copy() handed to a
// goroutine.
func TestSessionFromGinContext(t *testing.T) {
	f := conformance.NewSessionFixture(t, "user_gin")
	m := f.Middleware(t, clerkauth.MiddlewareOptions{})
	for _, fallback := range []bool{false, true} {
		r := gin.New()
		r.ContextWithFallback = fallback
		got := make(chan string, 5)
		r.GET("/", clerkgin.Middleware(m), func(c *gin.Context) {
			claims, _ := clerkauth.SessionFromContext(c) // the README habit: a nil claims would panic below
			got <- claims.UserID
			fromReq, _ := clerkauth.SessionFromContext(c.Request.Context())
			got <- fromReq.UserID
			viaAdapter, _ := clerkgin.Session(c)
			got <- viaAdapter.UserID
			if tok, ok := clerkgin.Token(c); ok && tok == f.Token {
				got <- "token"
			}
			cp := c.Copy()
			done := make(chan struct{})
			go func() {
				defer close(done)
				copied, _ := clerkauth.SessionFromContext(cp)
				got <- copied.UserID
			}()
			<-done
		})
		rec := send(r, "/", f.Token)
		if rec.Code != http.StatusOK {
			t.Fatalf("fallback=%v: status %d %s", fallback, rec.Code, rec.Body)
		}
		close(got)
		var seen []string
		for s := range got {
			seen = append(seen, s)
		}
		want := []string{"user_gin", "user_gin", "user_gin", "token", "user_gin"}
		if len(seen) != len(want) {
			t.Fatalf("fallback=%v: got %q; want %q", fallback, seen, want)
		}
		for i := range want {
			if seen[i] != want[i] {
				t.Errorf("fallback=%v: step %d: %q; want %q", fallback, i, seen[i], want[i])
			}
		}
	}
}

// TestSignedOutGinContext checks the accessors of an optional route's
// signed-out request, and of a route without the middleware: false, no
// panic.
func TestSignedOutGinContext(t *testing.T) {
	f := conformance.NewSessionFixture(t, "user_gin")
	m := f.Middleware(t, clerkauth.MiddlewareOptions{Optional: true})
	r := gin.New()
	check := func(c *gin.Context) {
		if _, ok := clerkauth.SessionFromContext(c); ok {
			c.String(500, "signed in?")
			return
		}
		if _, ok := clerkgin.Token(c); ok {
			c.String(500, "token?")
			return
		}
		c.String(200, "signed-out")
	}
	r.GET("/optional", clerkgin.Middleware(m), check)
	r.GET("/bare", check)
	for _, path := range []string{"/optional", "/bare"} {
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != 200 || rec.Body.String() != "signed-out" {
			t.Errorf("%s: %d %q", path, rec.Code, rec.Body)
		}
	}
}

// TestGinErrorHandler checks that the middleware and the guards answer
// through the Middleware's ErrorHandler, and abort the chain.
func TestGinErrorHandler(t *testing.T) {
	var seen []error
	f := conformance.NewSessionFixture(t, "user_gin")
	m := f.Middleware(t, clerkauth.MiddlewareOptions{ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
		seen = append(seen, err)
		w.WriteHeader(http.StatusTeapot)
	}})
	r := gin.New()
	reached := false
	r.GET("/guarded", clerkgin.Middleware(m), clerkgin.RequireRole("admin"), func(c *gin.Context) { reached = true })
	r.GET("/private", clerkgin.Middleware(m), func(c *gin.Context) { reached = true })
	if rec := send(r, "/guarded", f.Token); rec.Code != http.StatusTeapot {
		t.Errorf("guard: status %d", rec.Code)
	}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/private", nil))
	if rec.Code != http.StatusTeapot {
		t.Errorf("middleware: status %d", rec.Code)
	}
	if reached {
		t.Error("the chain went on after a refusal")
	}
	if len(seen) != 2 {
		t.Fatalf("ErrorHandler saw %v", seen)
	}
}

// TestGuardWithoutMiddleware checks that a guard alone refuses, with the
// default answer.
func TestGuardWithoutMiddleware(t *testing.T) {
	r := gin.New()
	r.GET("/", clerkgin.RequirePermission("org:x:y"), func(c *gin.Context) { c.String(200, "reached") })
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") != `Bearer realm="api"` {
		t.Errorf("%d %q %q", rec.Code, rec.Header().Get("WWW-Authenticate"), rec.Body)
	}
}

func TestRequireSession(t *testing.T) {
	f := conformance.NewSessionFixture(t, "user_gin")
	r := gin.New()
	r.GET("/", clerkgin.RequireSession(f.V), func(c *gin.Context) {
		claims, _ := clerkgin.Session(c)
		c.String(200, claims.UserID)
	})
	if rec := send(r, "/", f.Token); rec.Code != 200 || rec.Body.String() != "user_gin" {
		t.Errorf("%d %q", rec.Code, rec.Body)
	}
	defer func() {
		if recover() == nil {
			t.Error("RequireSession(nil) did not panic")
		}
	}()
	clerkgin.RequireSession(nil)
}
