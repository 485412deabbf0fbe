package demo

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/clerkauth/clerkauth"
)

func TestWanted(t *testing.T) {
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
			assert.Equal(t, tt.want, Wanted(tt.cfg))
		})
	}
}
