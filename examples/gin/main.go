// Command gin is a gin server guarded by clerkauth, through a small adapter
// from net/http middleware to gin middleware (ginAuth).
//
//	cd examples && go run ./gin
//
// Without CLERK_SECRET_KEY and CLERK_PUBLISHABLE_KEY it runs against an
// embedded Clerk-compatible test server and prints curl commands to try.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/gin-gonic/gin"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/examples/internal/exampleauth"
)

func main() {
	gin.SetMode(gin.ReleaseMode)
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gin example:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, opts, err := exampleauth.Listen()
	if err != nil {
		return err
	}
	h, cleanup, err := newApp(opts)
	if err != nil {
		ln.Close()
		return err
	}
	defer cleanup()
	return exampleauth.Serve(ctx, ln, h, opts.Logger)
}

// newApp returns the app's engine and a function releasing its resources.
func newApp(opts exampleauth.Options) (http.Handler, func(), error) {
	opts.Logout = true
	auth, err := exampleauth.New(opts)
	if err != nil {
		return nil, nil, err
	}
	m := auth.Middleware

	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/public", public)
	api := r.Group("/api", ginAuth(m.Handler)) // every /api route needs a valid session token
	api.GET("/me", me)
	api.GET("/invoices", ginAuth(clerkauth.RequirePermission("org:invoices:read")), invoices)
	api.GET("/admin", ginAuth(clerkauth.RequireRole("org:admin")), admin)
	api.POST("/logout", logout(auth))
	return r, auth.Close, nil
}

// ginAuth adapts a net/http middleware, such as m.Handler or a clerkauth
// guard, to gin. When the middleware calls its next handler, the gin chain
// goes on with the request it passed (whose context holds the session);
// when it answers the request itself (401, 403, …), the chain is aborted,
// so the route's handler never runs. The rest of the chain runs inside the
// middleware's next handler, once: gin's own loop then finds it done.
//
// It suits middleware that calls next synchronously with the
// ResponseWriter it was given, as clerkauth's do.
func ginAuth(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		passed := false
		mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			passed = true
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort()
		}
	}
}

func public(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"message": "hello, anyone"})
}

// me reads the session from the request's context: gin's own Context does
// not see it (unless the engine's ContextWithFallback is set).
func me(c *gin.Context) {
	claims, _ := clerkauth.SessionFromContext(c.Request.Context()) // set: ginAuth(m.Handler) let the request in
	c.JSON(http.StatusOK, exampleauth.ProfileOf(claims))
}

func invoices(c *gin.Context) {
	claims, _ := clerkauth.SessionFromContext(c.Request.Context())
	c.JSON(http.StatusOK, gin.H{"org_id": claims.Org.ID, "invoices": []string{"INV-001", "INV-002"}})
}

func admin(c *gin.Context) {
	claims, _ := clerkauth.SessionFromContext(c.Request.Context())
	c.JSON(http.StatusOK, gin.H{"message": "welcome, admin", "user_id": claims.UserID})
}

// logout revokes the session at Clerk and, at once, on this server: the
// token just used is refused from now on, though it has not expired.
func logout(auth *exampleauth.Auth) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx := c.Request.Context()
		claims, _ := clerkauth.SessionFromContext(ctx)
		if err := auth.Middleware.Revoke(ctx, claims.SessionID); err != nil {
			auth.Logger.Error("logout", "session", claims.SessionID, "err", err)
			c.JSON(http.StatusBadGateway, gin.H{"error": "logout incomplete, try again"})
			return
		}
		c.Status(http.StatusNoContent)
	}
}
