package main

// The receiving side: the billing API, which only machines may call, with
// M2M tokens, and only the machines it names.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/clerkauth/clerkauth"
)

// serveAPI serves the billing API on addr until ctx is done.
func serveAPI(ctx context.Context, addr string, allowed []string, logger *slog.Logger) error {
	cfg := clerkauth.ConfigFromEnv() // CLERK_SECRET_KEY, CLERK_PUBLISHABLE_KEY, CLERK_MACHINE_SECRET_KEY, …
	cfg.Logger = logger
	h, cleanup, err := newBillingAPI(cfg, allowed)
	if err != nil {
		return err
	}
	defer cleanup()
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	logger.Info("billing API listening", "addr", addr, "allowed", allowed)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// newBillingAPI returns the billing API's handler for the Clerk instance
// cfg names, and a func that stops its background work. Only M2M tokens
// of the machines in allowed (mch_…) get through; every other caller is
// answered 401 (no valid M2M token) or 403 (a machine not allowed).
//
// With cfg.MachineSecretKey set to the billing machine's own key, Clerk
// also refuses opaque tokens of machines not scoped to billing. A JWT M2M
// token names no receiver: the allowlist is what keeps the instance's
// other machines out.
func newBillingAPI(cfg clerkauth.Config, allowed []string) (http.Handler, func(), error) {
	callers, err := machineIDs(allowed)
	if err != nil {
		return nil, nil, err
	}
	v, err := clerkauth.NewVerifier(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("clerk configuration: %w", err)
	}
	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{
		Realm:        "billing",
		AcceptsToken: []clerkauth.TokenKind{clerkauth.TokenKindM2M}, // no sessions, no API keys, no cookies
	})
	if err != nil {
		v.Close()
		return nil, nil, fmt.Errorf("clerk middleware: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /invoices", invoices)
	return m.Handler(clerkauth.RequireMachine(callers...)(mux)), func() { m.Close(); v.Close() }, nil
}

// machineIDs returns the machine IDs of a list such as ALLOWED_MACHINES,
// refusing an empty list and anything that is not a machine ID.
func machineIDs(list []string) ([]string, error) {
	var ids []string
	for _, id := range list {
		id = strings.TrimSpace(id)
		switch {
		case id == "":
			continue
		case !strings.HasPrefix(id, "mch_"):
			// Redacted: a secret key pasted here by mistake stays out of logs.
			return nil, fmt.Errorf("ALLOWED_MACHINES: %q is not a machine ID (mch_…)", clerkauth.Redact(id))
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return nil, errors.New("ALLOWED_MACHINES names no machine: say which machines (mch_…) may call the API")
	}
	return ids, nil
}

func invoices(w http.ResponseWriter, r *http.Request) {
	mt, _ := clerkauth.MachineTokenFromContext(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"caller": mt.MachineID(), "invoices": []string{}})
}
