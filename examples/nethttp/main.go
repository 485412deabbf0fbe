// Command nethttp is a plain net/http server guarded by clerkauth: no
// router but Go's http.ServeMux. It also shows how to operate one: it
// exports clerkauth's metrics for Prometheus on /metrics (OpenTelemetry's
// Prometheus exporter over otelclerkauth) and answers a readiness probe on
// /readyz.
//
//	cd examples && go run ./nethttp
//
// Without CLERK_SECRET_KEY and CLERK_PUBLISHABLE_KEY it runs against an
// embedded Clerk-compatible test server and prints curl commands to try.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/examples/internal/demo"
	"github.com/clerkauth/clerkauth/otelclerkauth"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "nethttp example:", err)
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
	fmt.Fprintf(os.Stderr, "nethttp example: 127.0.0.1:8080 is busy; listening on %s instead\n", ln.Addr())
	return ln, nil
}

// newApp returns the app's handler for the Clerk instance cfg names, and a
// function releasing its resources.
func newApp(cfg clerkauth.Config, logger *slog.Logger) (http.Handler, func(), error) {
	// The Verifier checks session tokens against the instance's signing
	// keys, which it fetches once and caches; it is safe for concurrent use.
	// Its events feed the metrics served on /metrics.
	metrics, err := newMetrics()
	if err != nil {
		return nil, nil, err
	}
	cfg.Logger = logger
	cfg.Observer = metrics.inst.Observer()
	v, err := clerkauth.NewVerifier(cfg)
	if err != nil {
		metrics.close()
		return nil, nil, fmt.Errorf("clerk configuration: %w", err)
	}
	gauges, err := metrics.inst.ObserveVerifier(v) // key age, readiness, cache size
	if err != nil {
		v.Close()
		metrics.close()
		return nil, nil, err
	}
	// The Middleware reads the token of each request (Authorization:
	// Bearer, else the __session cookie) and puts the session in its context.
	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{Logger: logger})
	if err != nil {
		_ = gauges.Unregister()
		v.Close()
		metrics.close()
		return nil, nil, fmt.Errorf("clerk middleware: %w", err)
	}
	cleanup := func() { m.Close(); _ = gauges.Unregister(); v.Close(); metrics.close() }

	// Fetch the signing keys now rather than on the first request. A failure
	// is not fatal: requests are answered 503 until the keys can be fetched.
	warmCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := v.Warm(warmCtx); err != nil {
		logger.Warn("could not fetch Clerk's signing keys yet", "err", err)
	}

	// api holds the routes that need a session; m.Handler guards all of
	// them, and the guards add their own requirement to one route each.
	api := http.NewServeMux()
	api.HandleFunc("GET /api/me", me)
	api.Handle("GET /api/invoices", clerkauth.RequirePermission("org:invoices:read")(http.HandlerFunc(invoices)))
	api.Handle("GET /api/admin", clerkauth.RequireRole("org:admin")(http.HandlerFunc(admin)))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /public", public)
	mux.Handle("/api/", m.Handler(api))
	mux.Handle("GET /metrics", metrics.handler)     // for Prometheus
	mux.Handle("GET /readyz", v.ReadinessHandler()) // for a Kubernetes readinessProbe
	return mux, cleanup, nil
}

// metrics is clerkauth's instrumentation exported for Prometheus, on a
// registry of its own rather than the global one.
type metrics struct {
	inst    *otelclerkauth.Instrumentation
	handler http.Handler
	close   func()
}

func newMetrics() (*metrics, error) {
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, err
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	inst, err := otelclerkauth.New(otelclerkauth.Options{MeterProvider: mp})
	if err != nil {
		return nil, err
	}
	return &metrics{
		inst:    inst,
		handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		close:   func() { _ = mp.Shutdown(context.Background()) },
	}, nil
}

func public(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"message": "hello, anyone"})
}

func me(w http.ResponseWriter, r *http.Request) {
	claims, _ := clerkauth.SessionFromContext(r.Context()) // set: m.Handler let the request in
	writeJSON(w, http.StatusOK, profileOf(claims))
}

func invoices(w http.ResponseWriter, r *http.Request) {
	claims, _ := clerkauth.SessionFromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]any{"org_id": claims.Org.ID, "invoices": []string{"INV-001", "INV-002"}})
}

func admin(w http.ResponseWriter, r *http.Request) {
	claims, _ := clerkauth.SessionFromContext(r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"message": "welcome, admin", "user_id": claims.UserID})
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

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
