package clerkauth

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedirectNeverTurnsAPOSTIntoAGET: with a caller's client that follows
// redirects, a 301, 302 or 303 within the API's origin made net/http
// re-send a POST as a GET without its body. Revoke then "succeeded" with
// the answer of GET /sessions/{id}: the session was never revoked, and
// the caller was told it was.
func TestRedirectNeverTurnsAPOSTIntoAGET(t *testing.T) {
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			c, api, _ := newFakeClient(t, Config{HTTPClient: &http.Client{}, MaxRetries: -1}, func(_ int, w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					http.Redirect(w, r, "/v1/sessions/sess_1", code)
					return
				}
				answer(w, 200, minimalSession("sess_1"))
			})
			s, err := c.Revoke(t.Context(), "sess_1")
			var ae *APIError
			require.ErrorAs(t, err, &ae, "got session %v", s)
			assert.Equal(t, code, ae.StatusCode)
			for _, r := range api.requests() {
				assert.Equal(t, http.MethodPost, r.Method, "no request but the POST is sent")
			}
		})
	}
}
