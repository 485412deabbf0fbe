package clerkauth

import (
	"context"
	"crypto"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewVerifierValidatesConfig(t *testing.T) {
	a, _, small := testKeys(t)
	good := pemOf(t, &a.PublicKey)
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"pem and publishable key", Config{JWTKey: good, PublishableKey: testPK}, ""},
		{"secret key and issuers", Config{SecretKey: testSecret, Issuers: []string{testIssuer}}, ""},
		{"jwks url", Config{JWKSURL: "https://clerk.example.test/.well-known/jwks.json", PublishableKey: testPK}, ""},
		{"pem without armour", Config{JWTKey: bareBase64(good), PublishableKey: testPK}, ""},
		{"pem with escaped newlines", Config{JWTKey: strings.ReplaceAll(good, "\n", `\n`), PublishableKey: testPK}, ""},
		{"insecure skip issuer", Config{JWTKey: good, InsecureSkipIssuerCheck: true}, ""},
		{"no key source", Config{PublishableKey: testPK}, "no key source"},
		{"no issuer", Config{JWTKey: good}, "no known issuer"},
		{"malformed publishable key", Config{JWTKey: good, PublishableKey: "pk_prod_abc"}, "PublishableKey must start"},
		{"publishable key without dollar", Config{JWTKey: good, PublishableKey: "pk_test_Y2xlcmsuZXhhbXBsZS50ZXN0"}, "frontend API host"},
		{"Leeway is negative", Config{JWTKey: good, PublishableKey: testPK, Leeway: -time.Second}, "Leeway is negative"},
		{"huge leeway", Config{JWTKey: good, PublishableKey: testPK, Leeway: time.Hour}, "exceeds"},
		{"small pem key", Config{JWTKey: pemOf(t, &small.PublicKey), PublishableKey: testPK}, "2048"},
		{"garbage pem", Config{JWTKey: "not a key", PublishableKey: testPK}, "JWTKey"},
		{"hmac algorithm", Config{JWTKey: good, PublishableKey: testPK, Algorithms: []string{"HS256"}}, "not allowed"},
		{"none algorithm", Config{JWTKey: good, PublishableKey: testPK, Algorithms: []string{"none"}}, "not allowed"},
		{"bad api url", Config{SecretKey: testSecret, PublishableKey: testPK, APIURL: "ftp://x"}, "APIURL"},
		{"secret over plain http", Config{SecretKey: testSecret, PublishableKey: testPK, APIURL: "http://api.example.test/v1"}, "https"},
		{"jwks over plain http", Config{JWKSURL: "http://clerk.example.test/.well-known/jwks.json", PublishableKey: testPK}, "JWKSURL"},
		{"secret key with a newline", Config{SecretKey: testSecret + "\nX-Evil: 1", PublishableKey: testPK}, "SecretKey"},
		{"api version not a date", Config{SecretKey: testSecret, PublishableKey: testPK, APIVersion: "latest"}, "APIVersion"},
		{"http to loopback", Config{SecretKey: testSecret, PublishableKey: testPK, APIURL: "http://127.0.0.1:9/v1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewVerifier(tt.cfg)
			if tt.wantErr == "" {
				require.NoError(t, err)
				require.NotNil(t, v)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.True(t, strings.HasPrefix(err.Error(), "clerkauth: "), err.Error())
		})
	}
}

func bareBase64(p string) string {
	var b strings.Builder
	for _, line := range strings.Split(p, "\n") {
		if !strings.HasPrefix(line, "-----") {
			b.WriteString(line)
		}
	}
	return b.String()
}

func TestParsePublishableKey(t *testing.T) {
	info, err := ParsePublishableKey(testPK)
	require.NoError(t, err)
	assert.Equal(t, "clerk.example.test", info.FrontendAPI)
	assert.Equal(t, testIssuer, info.Issuer())
	assert.False(t, info.Live)
	live, err := ParsePublishableKey("pk_live_Y2xlcmsuZXhhbXBsZS5jb20k")
	require.NoError(t, err)
	assert.True(t, live.Live)
	assert.Equal(t, "clerk.example.com", live.FrontendAPI)
	_, err = ParsePublishableKey("pk_test_!!!")
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = ParsePublishableKey("pk_test_" + b64([]byte("evil host/$")))
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

// TestVerifyRules checks one rule per row against a PEM-keyed Verifier.
func TestVerifyRules(t *testing.T) {
	a, b, _ := testKeys(t)
	clock := newClock()
	now := clock.Now()
	base := Config{
		JWTKey: pemOf(t, &a.PublicKey), PublishableKey: testPK, Now: clock.Now,
		AuthorizedParties: []string{"https://app.example.test"},
	}
	h := stdHeader("ins_a")
	c := stdClaims(now)
	tests := []struct {
		name   string
		cfg    func(*Config)
		token  func() string
		reason Reason
		is     error
	}{
		{"valid", nil, func() string { return mint(t, a, h, c) }, "", nil},
		{"valid RS384", nil, func() string { return mint(t, a, with(h, "alg", "RS384"), c) }, "", nil},
		{"valid RS512", nil, func() string { return mint(t, a, with(h, "alg", "RS512"), c) }, "", nil},
		{"valid without typ and cat", nil, func() string { return mint(t, a, with(h, "typ", nil, "cat", nil), c) }, "", nil},
		{"valid ignore category", nil, func() string { return mint(t, a, with(h, "cat", "cl_I7d4PD111III"), c) }, "", nil},
		{"empty token", nil, func() string { return "" }, ReasonTokenMissing, ErrNoToken},
		{"two parts", nil, func() string { return "a.b" }, ReasonTokenInvalid, ErrInvalidToken},
		{"four parts", nil, func() string { return mint(t, a, h, c) + ".x" }, ReasonTokenInvalid, ErrInvalidToken},
		{"oversize", nil, func() string { return strings.Repeat("a", MaxTokenSize+1) }, ReasonTokenInvalid, ErrInvalidToken},
		{"header not json", nil, func() string { return b64([]byte("nope")) + "." + b64json(t, c) + ".c2ln" }, ReasonTokenInvalid, ErrInvalidToken},
		{"alg none", nil, func() string { return b64json(t, with(h, "alg", "none")) + "." + b64json(t, c) + ".c2ln" }, ReasonTokenInvalidAlgorithm, ErrInvalidToken},
		{"alg HS256", nil, func() string { return b64json(t, with(h, "alg", "HS256")) + "." + b64json(t, c) + ".c2ln" }, ReasonTokenInvalidAlgorithm, ErrInvalidToken},
		{"alg not in configured list", func(c *Config) { c.Algorithms = []string{"RS512"} }, func() string { return mint(t, a, h, c) }, ReasonTokenInvalidAlgorithm, ErrInvalidToken},
		{"typ at+jwt", nil, func() string { return mint(t, a, with(h, "typ", "at+jwt"), c) }, ReasonTokenTypeMismatch, ErrInvalidToken},
		{"template category", nil, func() string { return mint(t, a, with(h, "cat", "cl_B7d4PD222AAA"), c) }, ReasonTokenTypeMismatch, ErrInvalidToken},
		{"machine category", nil, func() string { return mint(t, a, with(h, "cat", "cl_B7d4PD333AAA"), c) }, ReasonTokenTypeMismatch, ErrInvalidToken},
		{"crit header", nil, func() string { return mint(t, a, with(h, "crit", []string{"exp"}), c) }, ReasonTokenInvalid, ErrInvalidToken},
		{"wrong key", nil, func() string { return mint(t, b, h, c) }, ReasonTokenInvalidSignature, ErrInvalidToken},
		{"tampered payload", nil, func() string {
			tok := mint(t, a, h, c)
			parts := strings.Split(tok, ".")
			return parts[0] + "." + b64json(t, with(c, "sub", "user_admin")) + "." + parts[2]
		}, ReasonTokenInvalidSignature, ErrInvalidToken},
		{"missing sub", nil, func() string { return mint(t, a, h, with(c, "sub", nil)) }, ReasonTokenVerificationFailed, ErrInvalidToken},
		{"machine subject", nil, func() string { return mint(t, a, h, with(c, "sub", "mch_1")) }, ReasonTokenTypeMismatch, ErrInvalidToken},
		{"missing sid (template token)", nil, func() string { return mint(t, a, h, with(c, "sid", nil)) }, ReasonTokenMissingSID, ErrInvalidToken},
		{"missing exp", nil, func() string { return mint(t, a, h, with(c, "exp", nil)) }, ReasonTokenVerificationFailed, ErrInvalidToken},
		{"exp as string", nil, func() string { return mint(t, a, h, with(c, "exp", "9999999999")) }, ReasonTokenVerificationFailed, ErrInvalidToken},
		{"sub as number", nil, func() string { return mint(t, a, h, with(c, "sub", 42)) }, ReasonTokenVerificationFailed, ErrInvalidToken},
		{"expired", nil, func() string { return mint(t, a, h, with(c, "exp", now.Unix()-60)) }, ReasonTokenExpired, ErrTokenExpired},
		{"expired one second past leeway", nil, func() string { return mint(t, a, h, with(c, "exp", now.Unix()-5)) }, ReasonTokenExpired, ErrTokenExpired},
		{"expired within leeway", nil, func() string { return mint(t, a, h, with(c, "exp", now.Unix()-4)) }, "", nil},
		{"no leeway", func(c *Config) { c.Leeway = NoLeeway }, func() string { return mint(t, a, h, with(c, "exp", now.Unix())) }, ReasonTokenExpired, ErrTokenExpired},
		{"nbf in the future", nil, func() string { return mint(t, a, h, with(c, "nbf", now.Unix()+6)) }, ReasonTokenNotActiveYet, ErrInvalidToken},
		{"nbf within leeway", nil, func() string { return mint(t, a, h, with(c, "nbf", now.Unix()+5)) }, "", nil},
		{"iat in the future", nil, func() string { return mint(t, a, h, with(c, "iat", now.Unix()+6)) }, ReasonTokenIatInTheFuture, ErrInvalidToken},
		{"nbf as string", nil, func() string { return mint(t, a, h, with(c, "nbf", "0")) }, ReasonTokenVerificationFailed, ErrInvalidToken},
		{"foreign issuer", nil, func() string { return mint(t, a, h, with(c, "iss", "https://evil.clerk.accounts.dev")) }, ReasonTokenInvalidIssuer, ErrInvalidToken},
		{"issuer trailing slash", nil, func() string { return mint(t, a, h, with(c, "iss", testIssuer+"/")) }, ReasonTokenInvalidIssuer, ErrInvalidToken},
		{"configured extra issuer", func(c *Config) { c.Issuers = []string{"https://proxy.example.test"} }, func() string { return mint(t, a, h, with(c, "iss", "https://proxy.example.test")) }, "", nil},
		{"insecure skip issuer", func(c *Config) { c.InsecureSkipIssuerCheck = true }, func() string { return mint(t, a, h, with(c, "iss", "https://other")) }, "", nil},
		{"azp missing", nil, func() string { return mint(t, a, h, with(c, "azp", nil)) }, ReasonTokenInvalidAuthorizedParties, ErrInvalidToken},
		{"azp trailing slash", nil, func() string { return mint(t, a, h, with(c, "azp", "https://app.example.test/")) }, ReasonTokenInvalidAuthorizedParties, ErrInvalidToken},
		{"azp case", nil, func() string { return mint(t, a, h, with(c, "azp", "https://APP.example.test")) }, ReasonTokenInvalidAuthorizedParties, ErrInvalidToken},
		{"azp not checked when unset", func(c *Config) { c.AuthorizedParties = nil }, func() string { return mint(t, a, h, with(c, "azp", nil)) }, "", nil},
		{"aud required when configured", func(c *Config) { c.Audience = []string{"api"} }, func() string { return mint(t, a, h, c) }, ReasonTokenInvalidAudience, ErrInvalidToken},
		{"aud string match", func(c *Config) { c.Audience = []string{"api"} }, func() string { return mint(t, a, h, with(c, "aud", "api")) }, "", nil},
		{"aud array match", func(c *Config) { c.Audience = []string{"api"} }, func() string { return mint(t, a, h, with(c, "aud", []string{"x", "api"})) }, "", nil},
		{"aud mismatch", func(c *Config) { c.Audience = []string{"api"} }, func() string { return mint(t, a, h, with(c, "aud", "other")) }, ReasonTokenInvalidAudience, ErrInvalidToken},
		{"aud wrong type", nil, func() string { return mint(t, a, h, with(c, "aud", 7)) }, ReasonTokenVerificationFailed, ErrInvalidToken},
		{"pending session", nil, func() string { return mint(t, a, h, with(c, "sts", "pending")) }, ReasonSessionPending, ErrSessionPending},
		{"pending allowed", func(c *Config) { c.AllowPendingSessions = true }, func() string { return mint(t, a, h, with(c, "sts", "pending")) }, "", nil},
		{"signature not base64", nil, func() string { return b64json(t, h) + "." + b64json(t, c) + ".***" }, ReasonTokenInvalid, ErrInvalidToken},
		{"padded signature", nil, func() string { return mint(t, a, h, c) + "==" }, ReasonTokenInvalid, ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			v := newTestVerifier(t, cfg)
			tok := tt.token()
			claims, err := v.Verify(context.Background(), tok)
			if tt.reason == "" {
				require.NoError(t, err)
				assert.Equal(t, "user_1", claims.UserID)
				assert.Equal(t, "sess_1", claims.SessionID)
				return
			}
			require.Error(t, err)
			assert.Nil(t, claims)
			assert.Equal(t, tt.reason, ReasonOf(err), err.Error())
			assert.ErrorIs(t, err, tt.is)
			if len(tok) > 20 {
				assert.NotContains(t, err.Error(), tok[len(tok)-20:], "error must not leak the token")
			}
		})
	}
}

func TestVerifyErrorClasses(t *testing.T) {
	keys := &VerificationError{Reason: ReasonJWKRemoteFailedToLoad}
	assert.ErrorIs(t, keys, ErrKeysUnavailable)
	assert.NotErrorIs(t, keys, ErrInvalidToken)
	expired := &VerificationError{Reason: ReasonTokenExpired}
	assert.ErrorIs(t, expired, ErrTokenExpired)
	assert.ErrorIs(t, expired, ErrInvalidToken)
	assert.NotErrorIs(t, expired, ErrKeysUnavailable)
	var ve *VerificationError
	wrapped := errors.Join(errors.New("ctx"), expired)
	assert.True(t, errors.As(wrapped, &ve))
	assert.Equal(t, "clerkauth: token-expired", expired.Error())
}

func TestVerifyTokenCache(t *testing.T) {
	a, _, _ := testKeys(t)
	clock := newClock()
	v := newTestVerifier(t, Config{JWTKey: pemOf(t, &a.PublicKey), PublishableKey: testPK, Now: clock.Now})
	tok := mint(t, a, stdHeader("k"), stdClaims(clock.Now()))
	ctx := context.Background()
	c1, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	c2, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	assert.Same(t, c1, c2, "second verification must come from the cache")
	assert.Equal(t, 1, v.cache.len())

	require.NoError(t, v.MarkRevoked(ctx, "sess_1"))
	_, err = v.Verify(ctx, tok)
	assert.ErrorIs(t, err, ErrSessionRevoked)
	assert.Equal(t, ReasonSessionRevoked, ReasonOf(err))

	v2 := newTestVerifier(t, Config{JWTKey: pemOf(t, &a.PublicKey), PublishableKey: testPK, Now: clock.Now})
	_, err = v2.Verify(ctx, tok)
	require.NoError(t, err, "revocation is scoped to the Verifier's store")
	clock.Advance(66 * time.Second)
	_, err = v2.Verify(ctx, tok)
	assert.ErrorIs(t, err, ErrTokenExpired, "a cached token still expires")
}

func TestVerifyTokenCacheDisabled(t *testing.T) {
	a, _, _ := testKeys(t)
	clock := newClock()
	v := newTestVerifier(t, Config{JWTKey: pemOf(t, &a.PublicKey), PublishableKey: testPK, Now: clock.Now, TokenCacheSize: -1})
	tok := mint(t, a, stdHeader("k"), stdClaims(clock.Now()))
	c1, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	c2, err := v.Verify(context.Background(), tok)
	require.NoError(t, err)
	assert.NotSame(t, c1, c2)
	assert.Nil(t, v.cache)
}

func TestSignatureAlgorithmBoundToKey(t *testing.T) {
	a, _, _ := testKeys(t)
	clock := newClock()
	srv := newJWKSServer(t, jwkOf("ins_a", "RS384", &a.PublicKey))
	v := newTestVerifier(t, Config{JWKSURL: srv.URL, PublishableKey: testPK, Now: clock.Now})
	tok := mint(t, a, stdHeader("ins_a"), stdClaims(clock.Now()))
	_, err := v.Verify(context.Background(), tok)
	assert.Equal(t, ReasonTokenInvalidAlgorithm, ReasonOf(err))
	tok384 := mint(t, a, with(stdHeader("ins_a"), "alg", "RS384"), stdClaims(clock.Now()))
	_, err = v.Verify(context.Background(), tok384)
	assert.NoError(t, err)
	_ = crypto.SHA384
}

type failingStore struct{}

func (failingStore) Revoke(context.Context, string, time.Time) error { return errors.New("down") }
func (failingStore) IsRevoked(context.Context, string) (bool, error) {
	return false, errors.New("down")
}

func TestVerifyFailsClosedWhenRevocationStoreFails(t *testing.T) {
	a, _, _ := testKeys(t)
	clock := newClock()
	v := newTestVerifier(t, Config{JWTKey: pemOf(t, &a.PublicKey), PublishableKey: testPK, Now: clock.Now, Revocations: failingStore{}})
	_, err := v.Verify(context.Background(), mint(t, a, stdHeader("k"), stdClaims(clock.Now())))
	require.ErrorIs(t, err, ErrKeysUnavailable)
	assert.NotErrorIs(t, err, ErrInvalidToken)
	assert.Equal(t, ReasonRevocationUnavailable, ReasonOf(err))
}
