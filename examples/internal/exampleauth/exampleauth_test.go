package exampleauth

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth"
)

func TestDemoMode(t *testing.T) {
	tests := []struct {
		name string
		cfg  clerkauth.Config
		want bool
	}{
		{"no keys", clerkauth.Config{}, true},
		{"only an API URL", clerkauth.Config{APIURL: "http://127.0.0.1:1/v1"}, true},
		{"secret key", clerkauth.Config{SecretKey: "sk_test_x"}, false},
		{"publishable key", clerkauth.Config{PublishableKey: "pk_test_x"}, false},
		{"PEM key", clerkauth.Config{JWTKey: "-----BEGIN PUBLIC KEY-----"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, DemoMode(tt.cfg))
		})
	}
}

// TestNewRefusesBadConfig checks that a configuration naming a Clerk
// instance badly is reported, never silently replaced by demo mode.
func TestNewRefusesBadConfig(t *testing.T) {
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
			var out bytes.Buffer
			a, err := New(Options{Clerk: tt.cfg, Out: &out})
			require.ErrorIs(t, err, clerkauth.ErrInvalidConfig)
			assert.Nil(t, a)
			assert.Empty(t, out.String(), "no demo instructions")
		})
	}
}
