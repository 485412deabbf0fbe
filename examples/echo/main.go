// Command echo is an echo server guarded by clerkauth through its echo
// adapter, clerkecho.
//
//	cd examples && go run ./echo
//
// Without CLERK_SECRET_KEY and CLERK_PUBLISHABLE_KEY it runs against an
// embedded Clerk-compatible test server and prints curl commands to try.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerkecho"
	"github.com/clerkauth/clerkauth/examples/internal/demo"
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
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	ln, err := listen()
	if err != nil {
		return err
	}
	defer ln.Close()
	baseURL := "http://" + ln.Addr().String()

	// CLERK_SECRET_KEY, CLERK_PUBLISHABLE_KEY, … name your Clerk instance.
	cfg := clerkauth.ConfigFromEnv()
	var instance *demo.Instance
	if demo.Wanted(cfg) { // no keys: an embedded test instance plays Clerk
		instance = demo.Start()
		defer instance.Close()
		cfg = instance.Config()
	}
	h, cleanup, err := newApp(cfg, logger)
	if err != nil {
		return err
	}
	defer cleanup()
	if instance != nil {
		instance.PrintInstructions(os.Stderr, baseURL, false)
	}

	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	logger.Info("listening", "url", baseURL)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// listen listens on $ADDR, by default 127.0.0.1:8080 or, when that port is
// busy, a free one.
func listen() (net.Listener, error) {
	if addr := os.Getenv("ADDR"); addr != "" {
		return net.Listen("tcp", addr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:8080")
	if err == nil {
		return ln, nil
	}
	ln, err2 := net.Listen("tcp", "127.0.0.1:0")
	if err2 != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "echo example: 127.0.0.1:8080 is busy; listening on %s instead\n", ln.Addr())
	return ln, nil
}

// newApp returns the app's echo instance for the Clerk instance cfg names,
// and a function releasing its resources.
//
// echo.WrapMiddleware runs a net/http middleware in echo's chain: when the
// middleware calls next, echo goes on with the request it passed (whose
// context holds the session); when it answers (401, 403, …), the route's
// handler never runs.
func newApp(cfg clerkauth.Config, logger *slog.Logger) (http.Handler, func(), error) {
	// The Verifier checks session tokens against the instance's signing
	// keys, which it fetches once and caches; it is safe for concurrent use.
	cfg.Logger = logger
	v, err := clerkauth.NewVerifier(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("clerk configuration: %w", err)
	}
	// The Middleware reads the token of each request (Authorization:
	// Bearer, else the __session cookie) and puts the session in its context.
	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{Logger: logger})
	if err != nil {
		v.Close()
		return nil, nil, fmt.Errorf("clerk middleware: %w", err)
	}
	cleanup := func() { m.Close(); v.Close() }

	// Fetch the signing keys now rather than on the first request. A failure
	// is not fatal: requests are answered 503 until the keys can be fetched.
	warmCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := v.Warm(warmCtx); err != nil {
		logger.Warn("could not fetch Clerk's signing keys yet", "err", err)
	}

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(middleware.Recover())
	e.GET("/public", public)
	api := e.Group("/api", clerkecho.Middleware(m)) // every /api route needs a valid session token
	api.GET("/me", me)
	api.GET("/invoices", invoices, clerkecho.RequirePermission("org:invoices:read"))
	api.GET("/admin", admin, clerkecho.RequireRole("org:admin"))
	return e, cleanup, nil
}

func public(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"message": "hello, anyone"})
}

func me(c echo.Context) error {
	claims, _ := clerkecho.Session(c) // set: clerkecho.Middleware let the request in
	return c.JSON(http.StatusOK, profileOf(claims))
}

func invoices(c echo.Context) error {
	claims, _ := clerkecho.Session(c)
	return c.JSON(http.StatusOK, map[string]any{"org_id": claims.Org.ID, "invoices": []string{"INV-001", "INV-002"}})
}

func admin(c echo.Context) error {
	claims, _ := clerkecho.Session(c)
	return c.JSON(http.StatusOK, map[string]string{"message": "welcome, admin", "user_id": claims.UserID})
}

// profile is the JSON answer of GET /api/me.
type profile struct {
	UserID    string `json:"user_id"`
	SessionID string `json:"session_id"`
	Org       *org   `json:"org"` // the active organization; null without one
}

type org struct {
	ID          string   `json:"id"`
	Slug        string   `json:"slug,omitempty"`
	Role        string   `json:"role"`
	Permissions []string `json:"permissions"`
}

func profileOf(c *clerkauth.Claims) profile {
	p := profile{UserID: c.UserID, SessionID: c.SessionID}
	if c.Org != nil {
		p.Org = &org{ID: c.Org.ID, Slug: c.Org.Slug, Role: c.Org.Role, Permissions: c.Org.Permissions}
		if p.Org.Permissions == nil {
			p.Org.Permissions = []string{}
		}
	}
	return p
}
