// Command chi is a chi server guarded by clerkauth.
//
//	cd examples && go run ./chi
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

	"github.com/go-chi/chi/v5"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/examples/internal/exampleauth"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "chi example:", err)
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

// newApp returns the app's router and a function releasing its resources.
func newApp(opts exampleauth.Options) (http.Handler, func(), error) {
	opts.Logout = true
	auth, err := exampleauth.New(opts)
	if err != nil {
		return nil, nil, err
	}
	m := auth.Middleware

	r := chi.NewRouter()
	r.Get("/public", public)
	r.Route("/api", func(r chi.Router) {
		r.Use(m.Handler) // every /api route needs a valid session token
		r.Get("/me", me)
		r.With(clerkauth.RequirePermission("org:invoices:read")).Get("/invoices", invoices)
		r.With(clerkauth.RequireRole("org:admin")).Get("/admin", admin)
		r.Post("/logout", logout(auth))
	})
	return r, auth.Close, nil
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

// logout revokes the session at Clerk and, at once, on this server: the
// token just used is refused from now on, though it has not expired.
func logout(auth *exampleauth.Auth) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		claims, _ := clerkauth.SessionFromContext(r.Context())
		if err := auth.Middleware.Revoke(r.Context(), claims.SessionID); err != nil {
			auth.Logger.Error("logout", "session", claims.SessionID, "err", err)
			exampleauth.WriteJSON(w, http.StatusBadGateway, map[string]string{"error": "logout incomplete, try again"})
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}
