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
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/examples/internal/exampleauth"
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

// newApp returns the app's handler and a function releasing its resources.
func newApp(opts exampleauth.Options) (http.Handler, func(), error) {
	metrics, err := newMetrics()
	if err != nil {
		return nil, nil, err
	}
	opts.Clerk.Observer = metrics.inst.Observer()
	auth, err := exampleauth.New(opts)
	if err != nil {
		metrics.close()
		return nil, nil, err
	}
	gauges, err := metrics.inst.ObserveVerifier(auth.Verifier)
	if err != nil {
		auth.Close()
		metrics.close()
		return nil, nil, err
	}
	cleanup := func() {
		_ = gauges.Unregister()
		auth.Close()
		metrics.close()
	}
	m := auth.Middleware

	// api holds the routes that need a session; m.Handler guards all of
	// them, and the guards add their own requirement to one route each.
	api := http.NewServeMux()
	api.HandleFunc("GET /api/me", me)
	api.Handle("GET /api/invoices", clerkauth.RequirePermission("org:invoices:read")(http.HandlerFunc(invoices)))
	api.Handle("GET /api/admin", clerkauth.RequireRole("org:admin")(http.HandlerFunc(admin)))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /public", public)
	mux.Handle("/api/", m.Handler(api))
	mux.Handle("GET /metrics", metrics.handler)                 // for Prometheus
	mux.Handle("GET /readyz", auth.Verifier.ReadinessHandler()) // for a readinessProbe
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
	exampleauth.WriteJSON(w, http.StatusOK, map[string]string{"message": "hello, anyone"})
}

func me(w http.ResponseWriter, r *http.Request) {
	claims, _ := clerkauth.SessionFromContext(r.Context()) // set: m.Handler let the request in
	exampleauth.WriteJSON(w, http.StatusOK, exampleauth.ProfileOf(claims))
}

func invoices(w http.ResponseWriter, r *http.Request) {
	claims, _ := clerkauth.SessionFromContext(r.Context())
	exampleauth.WriteJSON(w, http.StatusOK, map[string]any{"org_id": claims.Org.ID, "invoices": []string{"INV-001", "INV-002"}})
}

func admin(w http.ResponseWriter, r *http.Request) {
	claims, _ := clerkauth.SessionFromContext(r.Context())
	exampleauth.WriteJSON(w, http.StatusOK, map[string]string{"message": "welcome, admin", "user_id": claims.UserID})
}
