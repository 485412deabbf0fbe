// Package exampleauth is what the four example servers share: it builds
// clerkauth's Verifier and Middleware for the Clerk instance named by the
// environment or, when no Clerk keys are set, for an embedded clerktest
// server with demo sessions; it shapes the JSON of a session; and it serves
// an app until interrupted. The router-specific code, which is what the
// examples are about, lives in each example's main.go.
package exampleauth

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// warmTimeout bounds the key fetch made at start-up.
const warmTimeout = 5 * time.Second

// Options configures an example app; it is a plain value, copied by New.
// The zero value runs in demo mode.
type Options struct {
	// Clerk is the Clerk instance's configuration, usually
	// clerkauth.ConfigFromEnv(). When it holds no key (SecretKey,
	// PublishableKey and JWTKey all empty) the app runs in demo mode: an
	// embedded clerktest server on loopback plays the Clerk instance.
	Clerk clerkauth.Config

	// BaseURL is the app's own URL, used in the curl commands printed in
	// demo mode. Default http://127.0.0.1:8080.
	BaseURL string

	// Logout says the app serves POST /api/logout, so that demo mode
	// prints a curl command for it. Set by the apps that do.
	Logout bool

	// Out receives the demo-mode instructions. Default os.Stderr.
	Out io.Writer

	// Logger receives clerkauth's rare operational events and the
	// examples' own. Default: no logging.
	Logger *slog.Logger
}

// Auth is an example app's authentication: a Verifier and a Middleware
// for one Clerk instance, and in demo mode the embedded instance. It is
// safe for concurrent use; Close it when the app stops.
type Auth struct {
	// Verifier verifies session tokens.
	Verifier *clerkauth.Verifier
	// Middleware authenticates requests; use Middleware.Handler as the
	// router's middleware and the clerkauth guards after it.
	Middleware *clerkauth.Middleware
	// Logger is Options.Logger, or a discarding logger.
	Logger *slog.Logger

	demo *clerktest.Server // nil for a real instance
}

// DemoMode reports whether cfg names no Clerk instance, so that the
// examples run against an embedded clerktest server.
func DemoMode(cfg clerkauth.Config) bool {
	return cfg.SecretKey == "" && cfg.PublishableKey == "" && cfg.JWTKey == ""
}

// New returns the authentication of an example app configured by opts.
// In demo mode it starts a clerktest server, creates demo sessions and
// prints ready-to-paste curl commands with their tokens to opts.Out.
func New(opts Options) (*Auth, error) {
	opts = opts.withDefaults()
	a := &Auth{Logger: opts.Logger}
	cfg := opts.Clerk
	if DemoMode(cfg) {
		a.demo = clerktest.NewServer(clerktest.Config{})
		cfg = demoConfig(a.demo, cfg.Observer)
	}
	if cfg.Logger == nil {
		cfg.Logger = opts.Logger
	}
	if err := a.build(cfg); err != nil {
		a.Close()
		return nil, err
	}
	a.warm()
	if a.demo != nil {
		printDemo(opts, a.demo)
	}
	return a, nil
}

func (o Options) withDefaults() Options {
	if o.BaseURL == "" {
		o.BaseURL = "http://127.0.0.1:8080"
	}
	if o.Out == nil {
		o.Out = os.Stderr
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// demoConfig is the configuration of the embedded instance srv, keeping
// the app's Observer.
func demoConfig(srv *clerktest.Server, obs clerkauth.Observer) clerkauth.Config {
	return clerkauth.Config{
		SecretKey:      srv.SecretKey(),
		PublishableKey: srv.PublishableKey(),
		APIURL:         srv.APIURL(),
		Observer:       obs,
	}
}

// build creates the Verifier and the Middleware, and a Sessions API client
// when there is a secret key to call it with (Middleware.Revoke needs it).
func (a *Auth) build(cfg clerkauth.Config) error {
	v, err := clerkauth.NewVerifier(cfg)
	if err != nil {
		return fmt.Errorf("clerk configuration: %w", err)
	}
	a.Verifier = v
	mopts := clerkauth.MiddlewareOptions{PublishableKey: cfg.PublishableKey, Logger: a.Logger}
	if cfg.SecretKey != "" {
		if mopts.SessionsClient, err = clerkauth.NewSessionsClient(cfg); err != nil {
			return fmt.Errorf("clerk configuration: %w", err)
		}
	}
	if a.Middleware, err = clerkauth.NewMiddleware(v, mopts); err != nil {
		return fmt.Errorf("clerk middleware: %w", err)
	}
	return nil
}

// warm fetches the signing keys now, so that the first request does not
// wait for them. A failure is not fatal: requests are answered 503 until
// the keys can be fetched.
func (a *Auth) warm() {
	ctx, cancel := context.WithTimeout(context.Background(), warmTimeout)
	defer cancel()
	if err := a.Verifier.Warm(ctx); err != nil {
		a.Logger.Warn("could not fetch Clerk's signing keys yet", "err", err)
	}
}

// Close stops the Middleware's and the Verifier's background work and, in
// demo mode, the embedded instance. It may be called more than once.
func (a *Auth) Close() {
	if a.Middleware != nil {
		_ = a.Middleware.Close()
	}
	if a.Verifier != nil {
		_ = a.Verifier.Close()
	}
	if a.demo != nil {
		a.demo.Close()
	}
}
