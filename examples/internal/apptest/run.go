package apptest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// Run checks the routes every example serves, through newApp's router:
// GET /public, /api/me, /api/invoices and /api/admin, and POST /api/logout
// when the app has it.
func Run(t *testing.T, newApp NewApp, features Features) {
	f := start(t, newApp)
	t.Run("routes", f.testRoutes)
	t.Run("me", f.testMe)
	t.Run("session cookie", f.testCookie)
	t.Run("concurrent", f.testConcurrent)
	if features.Logout {
		t.Run("logout", f.testLogout)
	}
	t.Run("bad configuration", func(t *testing.T) { testBadConfig(t, newApp) })
}

// testBadConfig checks that a configuration naming a Clerk instance badly
// is refused by newApp.
func testBadConfig(t *testing.T, newApp NewApp) {
	tests := []struct {
		name string
		cfg  clerkauth.Config
	}{
		{"malformed publishable key", clerkauth.Config{SecretKey: "sk_test_x", PublishableKey: "pk_nope"}},
		{"secret key without issuer", clerkauth.Config{SecretKey: "sk_test_x"}},
		{"plain http to a remote API", clerkauth.Config{SecretKey: "sk_test_x", PublishableKey: "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k", APIURL: "http://api.example.com/v1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, cleanup, err := newApp(tt.cfg, quiet())
			require.ErrorIs(t, err, clerkauth.ErrInvalidConfig)
			assert.Nil(t, h)
			assert.Nil(t, cleanup)
		})
	}
}

func (f *fixture) testRoutes(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		token      string
		want       int
		wantReason string // meta.reason of the error body, when not 200
		challenge  string // part of WWW-Authenticate, when not 200
	}{
		{"public without token", "/public", "", http.StatusOK, "", ""},
		{"me without token", "/api/me", "", http.StatusUnauthorized, "session-token-missing", `Bearer realm="api"`},
		{"me with garbage token", "/api/me", "garbage.token.here", http.StatusUnauthorized, "token-invalid", `error="invalid_token"`},
		{"me with a member", "/api/me", f.member, http.StatusOK, "", ""},
		{"invoices without token", "/api/invoices", "", http.StatusUnauthorized, "session-token-missing", `Bearer realm="api"`},
		{"invoices without the permission", "/api/invoices", f.member, http.StatusForbidden, "insufficient-scope", `error="insufficient_scope"`},
		{"invoices without an organization", "/api/invoices", f.noOrg, http.StatusForbidden, "insufficient-scope", `error="insufficient_scope"`},
		{"invoices with the permission", "/api/invoices", f.accountant, http.StatusOK, "", ""},
		{"admin as member", "/api/admin", f.member, http.StatusForbidden, "insufficient-scope", `error="insufficient_scope"`},
		{"admin as member with a permission", "/api/admin", f.accountant, http.StatusForbidden, "insufficient-scope", `error="insufficient_scope"`},
		{"admin as admin", "/api/admin", f.admin, http.StatusOK, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := do(f.h, http.MethodGet, tt.path, tt.token)
			require.Equal(t, tt.want, rec.Code, "body: %s", rec.Body)
			body := decodeOne(t, rec.Body.Bytes())
			if tt.want == http.StatusOK {
				assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
				assert.NotContains(t, body, "errors")
				return
			}
			assert.Equal(t, tt.wantReason, errorReason(t, body))
			assert.Contains(t, rec.Header().Get("WWW-Authenticate"), tt.challenge)
		})
	}
}

// testMe checks the JSON of GET /api/me for sessions with and without an
// organization.
func (f *fixture) testMe(t *testing.T) {
	rec := do(f.h, http.MethodGet, "/api/me", f.admin)
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
	assert.Equal(t, "application/json", strings.Split(rec.Header().Get("Content-Type"), ";")[0])
	body := decodeOne(t, rec.Body.Bytes())
	assert.Equal(t, f.adminSess.UserID, body["user_id"])
	assert.Equal(t, f.adminSess.ID, body["session_id"])
	assert.Equal(t, map[string]any{
		"id": "org_acme", "slug": "acme", "role": "org:admin",
		"permissions": []any{"org:invoices:read"},
	}, body["org"])

	rec = do(f.h, http.MethodGet, "/api/me", f.noOrg)
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
	body = decodeOne(t, rec.Body.Bytes())
	assert.Contains(t, body, "org")
	assert.Nil(t, body["org"], "no active organization: org is null")
}

// testCookie checks that the __session cookie authenticates as well as the
// Authorization header, as for a same-origin browser app.
func (f *fixture) testCookie(t *testing.T) {
	r, _ := http.NewRequest(http.MethodGet, "/api/me", nil)
	r.AddCookie(&http.Cookie{Name: "__session", Value: f.admin})
	r.AddCookie(&http.Cookie{Name: "__client_uat", Value: "1"}) // a signed-in client, as Clerk's Frontend API sets it
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	require.Equal(t, http.StatusOK, rec.Code, "body: %s", rec.Body)
	assert.Equal(t, f.adminSess.ID, decodeOne(t, rec.Body.Bytes())["session_id"])
}

// testConcurrent sends requests of every outcome at once, so that -race
// checks the adapter between the router and the middleware.
func (f *fixture) testConcurrent(t *testing.T) {
	type call struct {
		path, token string
		want        int
	}
	calls := []call{
		{"/api/me", f.member, http.StatusOK},
		{"/api/me", "", http.StatusUnauthorized},
		{"/api/invoices", f.member, http.StatusForbidden},
		{"/api/invoices", f.accountant, http.StatusOK},
		{"/api/admin", f.admin, http.StatusOK},
	}
	const rounds = 10
	codes := make([]int, rounds*len(calls))
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() {
			c := calls[i%len(calls)]
			codes[i] = do(f.h, http.MethodGet, c.path, c.token).Code
		})
	}
	wg.Wait()
	for i, code := range codes {
		c := calls[i%len(calls)]
		assert.Equal(t, c.want, code, "%s as %d", c.path, i%len(calls))
	}
}

// testLogout checks that POST /api/logout revokes the session at Clerk and
// that its token, unexpired, is refused at once.
func (f *fixture) testLogout(t *testing.T) {
	sess := f.srv.CreateSession(clerktest.SessionParams{})
	token := f.srv.MustToken(sess.ID)
	require.Equal(t, http.StatusOK, do(f.h, http.MethodGet, "/api/me", token).Code)

	rec := do(f.h, http.MethodPost, "/api/logout", "")
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "logout needs a session")

	rec = do(f.h, http.MethodPost, "/api/logout", token)
	require.Equal(t, http.StatusNoContent, rec.Code, "body: %s", rec.Body)
	assert.Empty(t, rec.Body.String())
	got, err := f.srv.Session(sess.ID)
	require.NoError(t, err)
	assert.Equal(t, "revoked", got.Status, "revoked at Clerk")

	rec = do(f.h, http.MethodGet, "/api/me", token)
	require.Equal(t, http.StatusUnauthorized, rec.Code, "body: %s", rec.Body)
	assert.Equal(t, "session-revoked", errorReason(t, decodeOne(t, rec.Body.Bytes())))
	assert.Equal(t, http.StatusOK, do(f.h, http.MethodGet, "/api/me", f.admin).Code, "other sessions unaffected")
}

// RunListen checks an example's listen: without ADDR, a busy
// 127.0.0.1:8080 makes it listen on another loopback port rather than fail.
func RunListen(t *testing.T, listen func() (net.Listener, error)) {
	t.Setenv("ADDR", "")
	if busy, err := net.Listen("tcp", "127.0.0.1:8080"); err == nil {
		defer busy.Close() // else something else holds it: busy all the same
	}
	ln, err := listen()
	require.NoError(t, err)
	defer ln.Close()
	addr := ln.Addr().(*net.TCPAddr)
	assert.True(t, addr.IP.IsLoopback(), "listens on %s", addr)
	assert.NotEqual(t, 8080, addr.Port)
}
