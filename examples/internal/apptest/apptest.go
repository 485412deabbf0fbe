// Package apptest checks an example app through its router: the checks
// every example's main_test.go runs, so that the four routers are held to
// the same behaviour.
package apptest

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// NewApp is the signature of the examples' newApp: the app's handler for
// a Clerk instance, and a function releasing its resources.
type NewApp func(cfg clerkauth.Config, logger *slog.Logger) (http.Handler, func(), error)

// quiet is the logger the apps get in tests.
func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Features lists the optional routes of an app.
type Features struct {
	// Logout: the app serves POST /api/logout.
	Logout bool
}

// fixture is an app under test with the clerktest instance it trusts and
// sessions of each kind.
type fixture struct {
	srv        *clerktest.Server
	h          http.Handler
	admin      string // org:admin with org:invoices:read
	accountant string // org:member with org:invoices:read
	member     string // org:member without permissions
	noOrg      string // no active organization
	adminSess  *clerktest.Session
}

// start runs newApp against a fresh clerktest server, configured as a real
// instance would be (keys and API URL), and creates the sessions.
func start(t *testing.T, newApp NewApp) *fixture {
	t.Helper()
	srv := clerktest.NewServer(clerktest.Config{})
	t.Cleanup(srv.Close)
	cfg := clerkauth.Config{SecretKey: srv.SecretKey(), PublishableKey: srv.PublishableKey(), APIURL: srv.APIURL()}
	h, cleanup, err := newApp(cfg, quiet())
	require.NoError(t, err)
	t.Cleanup(cleanup)

	f := &fixture{srv: srv, h: h}
	org := func(role string, perms ...string) *clerktest.OrgMembership {
		return &clerktest.OrgMembership{ID: "org_acme", Slug: "acme", Role: role, Permissions: perms}
	}
	f.adminSess = srv.CreateSession(clerktest.SessionParams{Org: org("org:admin", "org:invoices:read")})
	f.admin = srv.MustToken(f.adminSess.ID)
	f.accountant = srv.MustToken(srv.CreateSession(clerktest.SessionParams{Org: org("org:member", "org:invoices:read")}).ID)
	f.member = srv.MustToken(srv.CreateSession(clerktest.SessionParams{Org: org("org:member")}).ID)
	f.noOrg = srv.MustToken(srv.CreateSession(clerktest.SessionParams{}).ID)
	return f
}

// do sends a request with a bearer token, if any, through the app.
func do(h http.Handler, method, path, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// decodeOne decodes the body as exactly one JSON object: a router that ran
// the handler after the middleware answered would append a second one.
func decodeOne(t *testing.T, body []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	var v map[string]any
	require.NoError(t, dec.Decode(&v), "body: %s", body)
	var extra json.RawMessage
	require.ErrorIs(t, dec.Decode(&extra), io.EOF, "more than one JSON value in the body: %s", body)
	return v
}

// errorReason returns meta.reason of a clerkauth error body.
func errorReason(t *testing.T, body map[string]any) string {
	t.Helper()
	errs, ok := body["errors"].([]any)
	require.True(t, ok && len(errs) == 1, "not an error body: %v", body)
	meta, _ := errs[0].(map[string]any)["meta"].(map[string]any)
	reason, _ := meta["reason"].(string)
	return reason
}
