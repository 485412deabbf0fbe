// Command gin is a gin server guarded by clerkauth through its gin adapter,
// clerkgin.
//
//	cd examples && go run ./gin
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

	"github.com/gin-gonic/gin"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerkgin"
	"github.com/clerkauth/clerkauth/examples/internal/demo"
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
		instance.PrintInstructions(os.Stderr, baseURL, true)
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
	fmt.Fprintf(os.Stderr, "gin example: 127.0.0.1:8080 is busy; listening on %s instead\n", ln.Addr())
	return ln, nil
}

// newApp returns the app's engine for the Clerk instance cfg names, and a
// function releasing its resources.
func newApp(cfg clerkauth.Config, logger *slog.Logger) (http.Handler, func(), error) {
	// The Verifier checks session tokens against the instance's signing
	// keys, which it fetches once and caches; it is safe for concurrent use.
	cfg.Logger = logger
	v, err := clerkauth.NewVerifier(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("clerk configuration: %w", err)
	}
	// The Sessions API client (it needs the secret key) lets
	// Middleware.Revoke end a session at Clerk, for POST /api/logout.
	opts := clerkauth.MiddlewareOptions{Logger: logger}
	if cfg.SecretKey != "" {
		if opts.SessionsClient, err = clerkauth.NewSessionsClient(cfg); err != nil {
			v.Close()
			return nil, nil, fmt.Errorf("clerk configuration: %w", err)
		}
	}
	// The Middleware reads the token of each request (Authorization:
	// Bearer, else the __session cookie) and puts the session in its context.
	m, err := clerkauth.NewMiddleware(v, opts)
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

	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/public", public)
	api := r.Group("/api", clerkgin.Middleware(m)) // every /api route needs a valid session token
	api.GET("/me", me)
	api.GET("/invoices", clerkgin.RequirePermission("org:invoices:read"), invoices)
	api.GET("/admin", clerkgin.RequireRole("org:admin"), admin)
	api.POST("/logout", logout(m, logger))
	return r, cleanup, nil
}

func public(c *gin.Context) {
	c.JSON(http.StatusOK, gin.H{"message": "hello, anyone"})
}

// me reads the session: clerkgin.Session(c), or
// clerkauth.SessionFromContext(c), which clerkgin makes work on a
// *gin.Context too.
func me(c *gin.Context) {
	claims, _ := clerkgin.Session(c) // set: clerkgin.Middleware let the request in
	c.JSON(http.StatusOK, profileOf(claims))
}

func invoices(c *gin.Context) {
	claims, _ := clerkgin.Session(c)
	c.JSON(http.StatusOK, gin.H{"org_id": claims.Org.ID, "invoices": []string{"INV-001", "INV-002"}})
}

func admin(c *gin.Context) {
	claims, _ := clerkauth.SessionFromContext(c)
	c.JSON(http.StatusOK, gin.H{"message": "welcome, admin", "user_id": claims.UserID})
}

// logout revokes the session at Clerk and, at once, on this server: the
// token just used is refused from now on, though it has not expired.
func logout(m *clerkauth.Middleware, logger *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		claims, _ := clerkgin.Session(c)
		if err := m.Revoke(c.Request.Context(), claims.SessionID); err != nil {
			logger.Error("logout", "session", claims.SessionID, "err", err)
			c.JSON(http.StatusBadGateway, gin.H{"error": "logout incomplete, try again"})
			return
		}
		c.Status(http.StatusNoContent)
	}
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
