package clerkauth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNotFoundNeedsClerksAnswer: ErrNotFound says Clerk has no such
// session. A 404 that is not Clerk's (a proxy's or load balancer's page,
// an empty body) says nothing of the session: it must not match, or
// RequireActiveSession answers every user 401 "session revoked" while a
// proxy misroutes, instead of 503 "could not confirm".
func TestNotFoundNeedsClerksAnswer(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		want                    bool
	}{
		{"Clerk's ClerkErrors", "application/json", `{"errors":[{"code":"resource_not_found","message":"not found","long_message":"No session was found"}]}`, true},
		{"a proxy's HTML page", "text/html", "<html><body><h1>404 Not Found</h1>nginx</body></html>", false},
		{"an empty body", "", "", false},
		{"JSON without errors", "application/json", `{"message":"no route"}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := newFakeClient(t, Config{MaxRetries: -1}, func(_ int, w http.ResponseWriter, _ *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				}
				w.WriteHeader(http.StatusNotFound)
				_, _ = w.Write([]byte(tt.body))
			})
			_, err := c.Get(t.Context(), "sess_1")
			var ae *APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, http.StatusNotFound, ae.StatusCode)
			assert.Equal(t, tt.want, errors.Is(err, ErrNotFound))
		})
	}

	t.Run("RequireActiveSession", func(t *testing.T) {
		e := newMWEnv(t)
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte("<h1>404 Not Found</h1>"))
		}))
		t.Cleanup(proxy.Close)
		c, err := NewSessionsClient(Config{SecretKey: testSecret, APIURL: proxy.URL, MaxRetries: -1, Now: e.clock.Now})
		require.NoError(t, err)
		m := e.middleware(MiddlewareOptions{SessionsClient: c})
		rec := serve(m.Handler(m.RequireActiveSession(whoami)), bearerRequest(e.token()))
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
		assert.Equal(t, string(ReasonSessionsUnavailable), reasonOf(t, rec))
	})
}

// TestGoneNeedsClerksAnswer: ErrEndpointDeprecated turns the online
// fallback off for good. Only Clerk's answer (ClerkErrors) may say an
// endpoint is gone; a 410 page from something else must not.
func TestGoneNeedsClerksAnswer(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       bool
	}{
		{"Clerk's operation_deprecated", `{"errors":[{"code":"operation_deprecated","message":"m","long_message":"l"}]}`, true},
		{"a page", "<h1>410 Gone</h1>", false},
		{"an empty body", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _, _ := newFakeClient(t, Config{MaxRetries: -1}, func(_ int, w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(http.StatusGone)
				_, _ = w.Write([]byte(tt.body))
			})
			_, err := c.Get(t.Context(), "sess_1")
			require.Error(t, err)
			assert.Equal(t, tt.want, errors.Is(err, ErrEndpointDeprecated))
		})
	}
}
