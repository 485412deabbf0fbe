package clerkauth

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConfigErrorNamesTheField checks that every validation of the three
// constructors returns a *ConfigError naming the Go field the user sets,
// matching ErrInvalidConfig, with a lowercase clerkauth message.
func TestConfigErrorNamesTheField(t *testing.T) {
	keyed := Config{JWKSURL: "https://jwks.example.test", PublishableKey: testPK}
	with := func(f func(*Config)) Config { c := keyed; f(&c); return c }
	v := newTestVerifier(t, keyed)
	tests := []struct {
		name  string
		err   func() error
		field string
	}{
		{"no key source", func() error { _, err := NewVerifier(Config{PublishableKey: testPK}); return err }, "JWTKey"},
		{"no issuer", func() error { _, err := NewVerifier(Config{JWKSURL: "https://jwks.example.test"}); return err }, "PublishableKey"},
		{"bad publishable key", func() error {
			_, err := NewVerifier(with(func(c *Config) { c.PublishableKey = "pk_nope" }))
			return err
		}, "PublishableKey"},
		{"bad PEM", func() error { _, err := NewVerifier(with(func(c *Config) { c.JWTKey = "not pem" })); return err }, "JWTKey"},
		{"algorithm", func() error {
			_, err := NewVerifier(with(func(c *Config) { c.Algorithms = []string{"HS256"} }))
			return err
		}, "Algorithms"},
		{"leeway", func() error { _, err := NewVerifier(with(func(c *Config) { c.Leeway = -1 })); return err }, "Leeway"},
		{"JWKS URL", func() error {
			_, err := NewVerifier(with(func(c *Config) { c.JWKSURL = "http://example.com" }))
			return err
		}, "JWKSURL"},
		{"API version", func() error { _, err := NewVerifier(with(func(c *Config) { c.APIVersion = "latest" })); return err }, "APIVersion"},
		{"sessions without secret", func() error { _, err := NewSessionsClient(Config{}); return err }, "SecretKey"},
		{"sessions API URL", func() error {
			_, err := NewSessionsClient(Config{SecretKey: "sk_test_x", APIURL: "ftp://x"})
			return err
		}, "APIURL"},
		{"secret key with a space", func() error { _, err := NewSessionsClient(Config{SecretKey: "sk_test x"}); return err }, "SecretKey"},
		{"realm", func() error { _, err := NewMiddleware(v, MiddlewareOptions{Realm: `a"b`}); return err }, "Realm"},
		{"fallback without client", func() error { _, err := NewMiddleware(v, MiddlewareOptions{OnlineFallback: true}); return err }, "OnlineFallback"},
		{"active session TTL", func() error { _, err := NewMiddleware(v, MiddlewareOptions{ActiveSessionTTL: -1}); return err }, "ActiveSessionTTL"},
		{"fallback cool-off", func() error { _, err := NewMiddleware(v, MiddlewareOptions{FallbackCoolOff: -1}); return err }, "FallbackCoolOff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err()
			require.ErrorIs(t, err, ErrInvalidConfig)
			var ce *ConfigError
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, tt.field, ce.Field)
			assert.Contains(t, ce.Reason, tt.field, "the reason names the field")
			assert.True(t, strings.HasPrefix(err.Error(), "clerkauth: invalid configuration: "), err.Error())
			assert.Empty(t, ce.Env, "no value came from the environment")
		})
	}
}

// TestConfigErrorNamesTheEnvVar checks that an error about a value
// ConfigFromEnv read names the variable, and stops doing so once the
// program set another value.
func TestConfigErrorNamesTheEnvVar(t *testing.T) {
	t.Setenv("CLERK_PUBLISHABLE_KEY", "pk_bogus")
	t.Setenv("CLERK_SECRET_KEY", "sk_test_x")
	_, err := NewVerifier(ConfigFromEnv())
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "PublishableKey", ce.Field)
	assert.Equal(t, "CLERK_PUBLISHABLE_KEY", ce.Env)
	assert.Equal(t, "clerkauth: invalid configuration: PublishableKey (CLERK_PUBLISHABLE_KEY) must start with pk_test_ or pk_live_", err.Error())

	cfg := ConfigFromEnv()
	cfg.PublishableKey = "pk_also_bogus"
	_, err = NewVerifier(cfg)
	require.ErrorAs(t, err, &ce)
	assert.Empty(t, ce.Env, "the value no longer comes from the environment")

	t.Setenv("CLERK_API_URL", "http://api.example.test")
	_, err = NewSessionsClient(ConfigFromEnv())
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "APIURL", ce.Field)
	assert.Equal(t, "CLERK_API_URL", ce.Env)
	assert.Contains(t, err.Error(), "APIURL (CLERK_API_URL) must use https")
}

// TestConfigErrorDescribe checks rendering in a tool's own names, every
// field of a several-field error included, and the cause kept.
func TestConfigErrorDescribe(t *testing.T) {
	_, err := NewVerifier(Config{PublishableKey: testPK})
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	flags := map[string]string{"JWTKey": "--jwt-key", "SecretKey": "--secret-key", "JWKSURL": "--jwks-url"}
	assert.Equal(t, "no key source: set --jwt-key, --secret-key or --jwks-url", ce.Describe(func(f string) string { return flags[f] }))
	assert.Equal(t, "no key source: set JWTKey, SecretKey or JWKSURL", ce.Reason)

	_, err = NewVerifier(Config{PublishableKey: testPK, JWTKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"})
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "JWTKey", ce.Field)
	assert.NotNil(t, errors.Unwrap(ce), "the PEM parser's error is kept as the cause")
}

// TestConfigErrorQuotesValues checks that a '%' in a faulty value is
// shown as it is, not read as a format verb.
func TestConfigErrorQuotesValues(t *testing.T) {
	_, err := NewVerifier(Config{PublishableKey: testPK, JWKSURL: "https://jwks.example.test", Algorithms: []string{"RS%d"}})
	var ce *ConfigError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, `Algorithms: "RS%d" is not allowed: only RS256, RS384 and RS512 are`, ce.Reason)
	v := newTestVerifier(t, Config{PublishableKey: testPK, JWKSURL: "https://jwks.example.test"})
	_, err = NewMiddleware(v, MiddlewareOptions{TrustedOrigins: []string{"https://a.example/%s"}})
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "TrustedOrigins", ce.Field)
	assert.Contains(t, err.Error(), `"https://a.example/%s"`)
}
