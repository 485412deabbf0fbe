package main

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/clerkauth/clerkauth"
)

// Permissions of the sample API: the demo user's organization role grants
// the first and not the second.
const (
	permInvoicesRead  = "org:invoices:read"
	permBillingManage = "org:billing:manage"
)

// demoAPI is the protected sample API:
//
//	GET  /api/public    no token needed
//	GET  /api/me        any signed-in session: who am I
//	GET  /api/invoices  needs org:invoices:read
//	GET  /api/billing   needs org:billing:manage
//	POST /api/signout   revokes the caller's session at Clerk and here
//	GET  /api/usage     machines only: an M2M token or an API key (mm)
func demoAPI(m, mm *clerkauth.Middleware) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/public", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, http.StatusOK, map[string]string{"message": "public: no session needed"})
	})
	mux.Handle("GET /api/me", m.Handler(http.HandlerFunc(serveMe)))
	mux.Handle("GET /api/invoices", m.Handler(clerkauth.RequirePermission(permInvoicesRead)(http.HandlerFunc(serveInvoices))))
	mux.Handle("GET /api/billing", m.Handler(clerkauth.RequirePermission(permBillingManage)(http.HandlerFunc(serveBilling))))
	mux.Handle("POST /api/signout", m.Handler(signOut(m)))
	mux.Handle("GET /api/usage", mm.Handler(http.HandlerFunc(serveUsage)))
	return mux
}

func serveMe(w http.ResponseWriter, r *http.Request) {
	c, _ := clerkauth.SessionFromContext(r.Context())
	out := map[string]any{"user_id": c.UserID, "session_id": c.SessionID, "expires_at": c.Expiry.UTC()}
	if c.Org != nil {
		out["org"] = map[string]any{"id": c.Org.ID, "slug": c.Org.Slug, "role": c.Org.Role, "permissions": c.Org.Permissions}
	}
	reply(w, http.StatusOK, out)
}

func serveInvoices(w http.ResponseWriter, r *http.Request) {
	c, _ := clerkauth.SessionFromContext(r.Context())
	reply(w, http.StatusOK, map[string]any{
		"org_id":   c.Org.ID,
		"invoices": []map[string]any{{"id": "inv_001", "amount": 4200, "currency": "EUR"}, {"id": "inv_002", "amount": 990, "currency": "EUR"}},
	})
}

func serveUsage(w http.ResponseWriter, r *http.Request) {
	mt, _ := clerkauth.MachineTokenFromContext(r.Context())
	reply(w, http.StatusOK, map[string]any{"kind": mt.Kind, "subject": mt.Subject, "scopes": mt.Scopes, "requests_today": 42})
}

func serveBilling(w http.ResponseWriter, _ *http.Request) {
	reply(w, http.StatusOK, map[string]string{"message": "billing settings"})
}

// signOut revokes the caller's session: at Clerk (Sessions API) and in the
// Verifier's revocation store, so its tokens are refused at once.
func signOut(m *clerkauth.Middleware) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := clerkauth.SessionFromContext(r.Context())
		if err := m.Revoke(r.Context(), c.SessionID); err != nil {
			reply(w, http.StatusBadGateway, map[string]string{
				"error": revokeFailure(err), "session_id": c.SessionID})
			return
		}
		reply(w, http.StatusOK, map[string]string{"revoked": c.SessionID})
	})
}

// revokeFailure says which part of a revocation failed: Clerk, the local
// store, or both.
func revokeFailure(err error) string {
	var re *clerkauth.RevokeError
	switch {
	case errors.Is(err, clerkauth.ErrRevokedLocallyOnly):
		return "revoked here, but Clerk could not be told: " + err.Error()
	case errors.As(err, &re) && re.Clerk == nil:
		return "revoked at Clerk, but not recorded here: " + err.Error()
	}
	return "not revoked: " + err.Error()
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
