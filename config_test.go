package clerkauth

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth/clerktest"
)

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("CLERK_SECRET_KEY", " sk_test_abc ")
	t.Setenv("CLERK_PUBLISHABLE_KEY", testPK)
	t.Setenv("CLERK_JWT_KEY", "pem")
	t.Setenv("CLERK_API_URL", "http://127.0.0.1:3100/v1")
	t.Setenv("CLERK_API_VERSION", "2025-04-10")
	t.Setenv("CLERK_JWKS_URL", "")
	t.Setenv("CLERK_AUTHORIZED_PARTIES", "https://a.example, ,https://b.example,")
	cfg := ConfigFromEnv()
	assert.Equal(t, Config{
		SecretKey:         "sk_test_abc",
		PublishableKey:    testPK,
		JWTKey:            "pem",
		APIURL:            "http://127.0.0.1:3100/v1",
		APIVersion:        "2025-04-10",
		AuthorizedParties: []string{"https://a.example", "https://b.example"},
	}, cfg)
}

// TestConfigFromEnvAPIURL: CLERK_API_URL as Clerk's JavaScript SDKs set
// it (an origin, the version path added apart) reaches the same API; a
// value with a path is kept, and so is one NewVerifier must refuse.
func TestConfigFromEnvAPIURL(t *testing.T) {
	tests := []struct{ env, want string }{
		{"", ""},
		{"https://api.clerk.com", "https://api.clerk.com/v1"},
		{"https://api.clerk.com/", "https://api.clerk.com/v1"},
		{" http://127.0.0.1:3100 ", "http://127.0.0.1:3100/v1"},
		{"https://api.clerk.com/v1", "https://api.clerk.com/v1"},
		{"https://proxy.example/clerk/v1", "https://proxy.example/clerk/v1"},
		{"https://api.clerk.com?x=1", "https://api.clerk.com?x=1"},
		{"api.clerk.com", "api.clerk.com"},
		{"://bad", "://bad"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			t.Setenv("CLERK_API_URL", tt.env)
			assert.Equal(t, tt.want, ConfigFromEnv().APIURL)
			assert.Equal(t, tt.want, M2MConfigFromEnv().APIURL)
		})
	}
	t.Run("an origin reaches clerktest's /v1", func(t *testing.T) {
		srv := clerktest.NewServer(clerktest.Config{})
		t.Cleanup(srv.Close)
		t.Setenv("CLERK_API_URL", srv.URL())
		t.Setenv("CLERK_SECRET_KEY", srv.SecretKey())
		cfg := ConfigFromEnv()
		cfg.HTTPClient = srv.Client()
		c, err := NewSessionsClient(cfg)
		require.NoError(t, err)
		sess := srv.CreateSession(clerktest.SessionParams{UserID: "user_env"})
		got, err := c.Get(context.Background(), sess.ID)
		require.NoError(t, err)
		assert.Equal(t, "user_env", got.UserID)
	})
}

// TestCookieSuffix checks vectors computed independently (Python's hashlib
// and base64, as Clerk's getCookieSuffix: base64url of SHA-1, 8 characters).
func TestCookieSuffix(t *testing.T) {
	assert.Equal(t, "6tQWJVae", CookieSuffix("pk_test_Y2xlcmsuZXhhbXBsZS50ZXN0JA"))
	assert.Equal(t, "naoXFJnI", CookieSuffix("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k"))
}

func TestRedact(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"short", "…"},
		{"sk_test_0123456789", "sk_test…"},
		{"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln", "eyJhbGc…"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, Redact(tt.in))
		})
	}
}
