// Command echo is an echo server guarded by clerkauth, through echo's own
// echo.WrapMiddleware.
//
//	cd examples && go run ./echo
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

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/examples/internal/exampleauth"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "echo example:", err)
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

// newApp returns the app's echo instance and a function releasing its
// resources.
//
// echo.WrapMiddleware runs a net/http middleware in echo's chain: when the
// middleware calls next, echo goes on with the request it passed (whose
// context holds the session); when it answers (401, 403, …), the route's
// handler never runs.
func newApp(opts exampleauth.Options) (http.Handler, func(), error) {
	auth, err := exampleauth.New(opts)
	if err != nil {
		return nil, nil, err
	}
	m := auth.Middleware

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(middleware.Recover())
	e.GET("/public", public)
	api := e.Group("/api", echo.WrapMiddleware(m.Handler)) // every /api route needs a valid session token
	api.GET("/me", me)
	api.GET("/invoices", invoices, echo.WrapMiddleware(clerkauth.RequirePermission("org:invoices:read")))
	api.GET("/admin", admin, echo.WrapMiddleware(clerkauth.RequireRole("org:admin")))
	return e, auth.Close, nil
}

func public(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"message": "hello, anyone"})
}

func me(c echo.Context) error {
	claims, _ := clerkauth.SessionFromContext(c.Request().Context()) // set: m.Handler let the request in
	return c.JSON(http.StatusOK, exampleauth.ProfileOf(claims))
}

func invoices(c echo.Context) error {
	claims, _ := clerkauth.SessionFromContext(c.Request().Context())
	return c.JSON(http.StatusOK, map[string]any{"org_id": claims.Org.ID, "invoices": []string{"INV-001", "INV-002"}})
}

func admin(c echo.Context) error {
	claims, _ := clerkauth.SessionFromContext(c.Request().Context())
	return c.JSON(http.StatusOK, map[string]string{"message": "welcome, admin", "user_id": claims.UserID})
}
