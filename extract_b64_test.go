package clerkauth

import (
	"strings"
	"testing"
)

// TestB64TokenCharsMatchTheGrammar checks the bit tables against RFC 6750's
// b64token characters, byte by byte and within longer strings.
func TestB64TokenCharsMatchTheGrammar(t *testing.T) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		want := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || strings.IndexByte("-._~+/", b) >= 0
		if got := isB64TokenChar(b); got != want {
			t.Errorf("isB64TokenChar(%q) = %v, want %v", b, got, want)
		}
		s := "eyJhbGciOiJSUzI1NiJ9." + string(b) + ".sig_-~+/"
		if got := allB64TokenChars(s); got != want {
			t.Errorf("allB64TokenChars with %q inside = %v, want %v", b, got, want)
		}
	}
}
