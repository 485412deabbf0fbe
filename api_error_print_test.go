package clerkauth

import (
	"net/http"
	"strings"
	"testing"
)

// TestAPIErrorMessageIsBoundedAndPrintable: the texts of an error body
// reach logs and terminals through Error; a hostile or broken upstream
// must not be able to forge log lines, send terminal escapes or flood a
// log line with them.
func TestAPIErrorMessageIsBoundedAndPrintable(t *testing.T) {
	long := strings.Repeat("x", 10000)
	c, _, _ := newFakeClient(t, Config{MaxRetries: -1}, func(_ int, w http.ResponseWriter, _ *http.Request) {
		answer(w, 400, `{"errors":[{"code":"bad\u001b[31m","message":"m","long_message":"line1\nline2\u001b]0;pwned\u0007`+long+`"}]}`)
	})
	_, err := c.Get(t.Context(), "sess_1")
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\x1b\x07") || len(msg) > 2000 {
		t.Errorf("error message holds control characters or is %d bytes long: %.300q", len(msg), msg)
	}
}
