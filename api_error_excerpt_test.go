package clerkauth

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSecretCutByTheExcerptIsRedacted: the excerpt of a non-JSON error
// body was redacted after it was cut to 200 bytes. A secret echoed across
// the cut was no longer whole, so only its shape could catch it, and a
// machine key holding '/' or '=' (as Clerk's own fixtures do) does not
// have the shape: its first part stayed in the error.
func TestSecretCutByTheExcerptIsRedacted(t *testing.T) {
	key := "ak_Zq/9xW+" + strings.Repeat("Kp/4=", 12)
	for _, pad := range []int{150, 180, 190, 196} {
		t.Run(fmt.Sprint(pad), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(http.StatusBadGateway)
				fmt.Fprintf(w, "%s%s", strings.Repeat(".", pad), strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
			}))
			t.Cleanup(srv.Close)
			c, err := NewM2MTokensClient(M2MConfig{MachineSecretKey: key, APIURL: srv.URL, MaxRetries: -1})
			require.NoError(t, err)
			_, err = c.Create(t.Context(), CreateM2MTokenParams{})
			var ae *APIError
			require.ErrorAs(t, err, &ae)
			assert.NotContains(t, ae.Body+err.Error(), "Zq/9x", "a part of the key is in the error: %q", ae.Body)
		})
	}
}
