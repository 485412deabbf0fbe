// Command internal-api is an internal API guarded by clerkauth for
// machines: other services call it with M2M tokens, scripts and customers
// with API keys. No session tokens, no cookies.
//
//	CLERK_SECRET_KEY=sk_… CLERK_PUBLISHABLE_KEY=pk_… \
//	ALLOWED_MACHINES=mch_billing,mch_reports go run ./internal-api
//
// Routes:
//
//	GET /internal/usage   M2M tokens of ALLOWED_MACHINES only
//	GET /v1/reports       API keys with the scope reports:read
//	GET /whoami           any M2M token or API key
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/clerkauth/clerkauth"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cfg := clerkauth.ConfigFromEnv() // also CLERK_MACHINE_SECRET_KEY: opaque M2M tokens must be scoped to this machine
	cfg.Logger = logger
	h, cleanup, err := newApp(cfg, strings.Split(os.Getenv("ALLOWED_MACHINES"), ","))
	if err != nil {
		fmt.Fprintln(os.Stderr, "internal-api example:", err)
		os.Exit(1)
	}
	defer cleanup()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{Addr: "127.0.0.1:8081", Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	logger.Info("listening", "addr", srv.Addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "internal-api example:", err)
		os.Exit(1)
	}
}

// newApp returns the API's handler for the Clerk instance cfg names. Only
// the machines in allowed may call /internal/.
func newApp(cfg clerkauth.Config, allowed []string) (http.Handler, func(), error) {
	v, err := clerkauth.NewVerifier(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("clerk configuration: %w", err)
	}
	// Machine tokens and API keys only, from the Authorization header.
	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{
		AcceptsToken: []clerkauth.TokenKind{clerkauth.TokenKindM2M, clerkauth.TokenKindAPIKey},
	})
	if err != nil {
		v.Close()
		return nil, nil, fmt.Errorf("clerk middleware: %w", err)
	}
	var callers []string
	for _, id := range allowed {
		if id = strings.TrimSpace(id); id != "" {
			callers = append(callers, id)
		}
	}
	if len(callers) == 0 {
		m.Close()
		v.Close()
		return nil, nil, errors.New("ALLOWED_MACHINES names no machine: say who may call /internal/")
	}
	mux := http.NewServeMux()
	// A JWT M2M token names no receiver: the allowlist of callers is what
	// keeps the other machines of the instance out.
	mux.Handle("GET /internal/usage", clerkauth.RequireMachine(callers...)(http.HandlerFunc(usage)))
	mux.Handle("GET /v1/reports", clerkauth.RequireScopes("reports:read")(http.HandlerFunc(reports)))
	mux.HandleFunc("GET /whoami", whoami)
	return m.Handler(mux), func() { m.Close(); v.Close() }, nil
}

func usage(w http.ResponseWriter, r *http.Request) {
	mt, _ := clerkauth.MachineTokenFromContext(r.Context())
	writeJSON(w, map[string]any{"caller": mt.MachineID(), "requests_today": 1234})
}

func reports(w http.ResponseWriter, r *http.Request) {
	mt, _ := clerkauth.MachineTokenFromContext(r.Context())
	writeJSON(w, map[string]any{"owner": mt.Subject, "reports": []string{"Q1", "Q2"}})
}

func whoami(w http.ResponseWriter, r *http.Request) {
	mt, _ := clerkauth.MachineTokenFromContext(r.Context())
	writeJSON(w, map[string]any{"kind": mt.Kind, "subject": mt.Subject, "scopes": mt.Scopes})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
