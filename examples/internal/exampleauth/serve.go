package exampleauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/clerkauth/clerkauth"
)

// DefaultAddr is where the examples listen unless ADDR says otherwise:
// loopback only.
const DefaultAddr = "127.0.0.1:8080"

const shutdownTimeout = 10 * time.Second

// Listen listens on $ADDR (default DefaultAddr) and returns the listener
// with the Options an example's main passes to its newApp: the Clerk
// configuration from the environment (clerkauth.ConfigFromEnv), the
// listener's URL, and logging to stderr.
func Listen() (net.Listener, Options, error) {
	addr := os.Getenv("ADDR")
	if addr == "" {
		addr = DefaultAddr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, Options{}, fmt.Errorf("listen: %w", err)
	}
	opts := Options{
		Clerk:   clerkauth.ConfigFromEnv(),
		BaseURL: "http://" + ln.Addr().String(),
		Out:     os.Stderr,
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	return ln, opts, nil
}

// Serve serves h on ln until ctx is done, then shuts the server down
// gracefully.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, logger *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("listening", "url", "http://"+ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Profile is the JSON answer of GET /api/me.
type Profile struct {
	UserID    string `json:"user_id"`
	SessionID string `json:"session_id"`
	// Org is the session's active organization; null without one.
	Org *Org `json:"org"`
}

// Org is the active organization in a [Profile].
type Org struct {
	ID          string   `json:"id"`
	Slug        string   `json:"slug,omitempty"`
	Role        string   `json:"role"`
	Permissions []string `json:"permissions"`
}

// ProfileOf returns the Profile of a verified session.
func ProfileOf(c *clerkauth.Claims) Profile {
	p := Profile{UserID: c.UserID, SessionID: c.SessionID}
	if c.Org != nil {
		p.Org = &Org{ID: c.Org.ID, Slug: c.Org.Slug, Role: c.Org.Role, Permissions: c.Org.Permissions}
		if p.Org.Permissions == nil {
			p.Org.Permissions = []string{}
		}
	}
	return p
}

// WriteJSON answers v as JSON with the status code.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
