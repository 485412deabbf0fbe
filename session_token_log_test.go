package clerkauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSessionTokenNeverLoggedWhole: a SessionToken logged with slog (JSON
// or text handler) or printed with any fmt verb must not show its JWT, as
// M2MToken does not show its secret; json.Marshal keeps it, for callers
// that hand the token on.
func TestSessionTokenNeverLoggedWhole(t *testing.T) {
	jwt := "eyJhbGciOiJSUzI1NiJ9." + strings.Repeat("p", 40) + "." + strings.Repeat("s", 40)
	tok := &SessionToken{Object: "token", JWT: jwt}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("created", "token", tok, "value", *tok)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("created", "token", tok, "value", *tok)
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		fmt.Fprintf(&buf, verb+"\n", tok)
		fmt.Fprintf(&buf, verb+"\n", *tok)
	}
	assert.NotContains(t, buf.String(), strings.Repeat("s", 40), "the JWT was printed:\n%s", buf.String())

	b, err := json.Marshal(tok)
	require.NoError(t, err)
	assert.Contains(t, string(b), jwt, "JSON encoding keeps the token")
}
