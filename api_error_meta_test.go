package clerkauth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNestedMetaIsRedacted: a gateway that echoes the request into the
// meta of a ClerkErrors body nests it (headers under request); redaction
// covered only the first level of Meta, so %+v of the error, or encoding
// its Meta into a log, showed the secret key.
func TestNestedMetaIsRedacted(t *testing.T) {
	c, _, _ := newFakeClient(t, Config{MaxRetries: -1}, func(_ int, w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		answer(w, 400, `{"errors":[{"code":"c","message":"m","long_message":"l","meta":{"request":{"headers":{"authorization":"`+auth+`"}}}}],`+
			`"meta":{"echo":[{"auth":"`+auth+`"}],"keys":["`+auth+`"]}}`)
	})
	_, err := c.Get(t.Context(), "sess_1")
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	meta, _ := json.Marshal(ae.Meta)
	entryMeta, _ := json.Marshal(ae.Errors[0].Meta)
	dump := fmt.Sprintf("%+v %+v %s %s", ae, ae.Errors, meta, entryMeta)
	assert.NotContains(t, dump, testSecretKey)
	assert.Contains(t, string(entryMeta), `"authorization":"Bearer [REDACTED]"`, "the structure is kept")
}
