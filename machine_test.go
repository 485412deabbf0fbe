package clerkauth

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClassifyToken(t *testing.T) {
	a, _, _ := testKeys(t)
	now := newClock().Now()
	signed := func(h, c map[string]any) string { return mint(t, a, h, c) }
	cases := []struct {
		name      string
		token     string
		kind      TokenKind
		jwt       bool
		malformed bool
	}{
		{"opaque M2M", "mt_abc", TokenKindM2M, false, false},
		{"opaque OAuth", "oat_abc", TokenKindOAuth, false, false},
		{"API key", "ak_abc", TokenKindAPIKey, false, false},
		{"API key with / and =", "ak_ab/c+d==", TokenKindAPIKey, false, false},
		{"unknown opaque", "xyz_abc", TokenKindSession, false, false},
		{"empty", "", TokenKindSession, false, false},
		{"mt_ prefix but JWT-shaped", "mt_a.b.c", TokenKindSession, true, true},
		{"session JWT", signed(stdHeader("k1"), stdClaims(now)), TokenKindSession, true, false},
		{"session category with a machine subject", signed(stdHeader("k1"), with(stdClaims(now), "sub", testMachine)), TokenKindSession, true, false},
		{"M2M JWT", signed(m2mHeader(), m2mClaims(now)), TokenKindM2M, true, false},
		{"M2M JWT without cat", signed(with(m2mHeader(), "cat", nil), m2mClaims(now)), TokenKindM2M, true, false},
		{"machine subject with typ at+jwt", signed(with(m2mHeader(), "typ", "at+jwt"), m2mClaims(now)), TokenKindM2M, true, false},
		{"M2M category with a user subject", signed(m2mHeader(), with(m2mClaims(now), "sub", "user_1")), TokenKindM2M, true, false},
		{"OAuth JWT", signed(oauthHeader(), oauthClaims(now)), TokenKindOAuth, true, false},
		{"OAuth JWT application/at+jwt", signed(with(oauthHeader(), "typ", "application/at+jwt"), oauthClaims(now)), TokenKindOAuth, true, false},
		{"typ AT+JWT is not OAuth", signed(with(oauthHeader(), "typ", "AT+JWT"), oauthClaims(now)), TokenKindSession, true, false},
		{"ignore category, no marker", signed(with(stdHeader("k1"), "cat", categoryIgnore), stdClaims(now)), TokenKindSession, true, false},
		{"OIDC ID token", signed(map[string]any{"alg": "RS256", "kid": "k1", "typ": "JWT"}, map[string]any{"sub": "user_1", "aud": "client_1"}), TokenKindSession, true, false},
		{"header not base64url JSON", "e30x.e30.c2ln", TokenKindSession, true, true},
		{"payload not JSON", b64([]byte(`{"alg":"RS256"}`)) + "." + b64([]byte("nope")) + ".c2ln", TokenKindSession, true, true},
		{"oversized", "ak_" + strings.Repeat("a", MaxTokenSize), TokenKindSession, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := classifyToken(tc.token)
			assert.Equal(t, tc.kind, c.kind)
			assert.Equal(t, tc.jwt, c.jwt)
			assert.Equal(t, tc.malformed, c.malformed)
		})
	}
}

func TestTokenHasherIsHMACSHA256(t *testing.T) {
	h := newTokenHasher(testSecret)
	key := sha256.Sum256([]byte(hashKeyContext + testSecret))
	for _, tok := range []string{"", "ak_x", strings.Repeat("z", 511), strings.Repeat("y", 513), strings.Repeat("w", 5000)} {
		mac := hmac.New(sha256.New, key[:])
		mac.Write([]byte(tok))
		got := h.sum(tok)
		assert.Equal(t, mac.Sum(nil), got[:], "len %d", len(tok))
	}
	other := newTokenHasher("sk_test_other")
	assert.NotEqual(t, h.sum("ak_x"), other.sum("ak_x"), "keyed by the secret")
}

func TestVerifyMachineJWT(t *testing.T) {
	e := newMachineEnv(t)
	now := e.clock.Now().Unix()
	a, b, _ := testKeys(t)
	mh, mc := m2mHeader(), m2mClaims(e.clock.Now())
	oh, oc := oauthHeader(), oauthClaims(e.clock.Now())
	valid := []struct {
		name   string
		token  string
		kind   TokenKind
		scopes []string
	}{
		{"M2M", e.m2m(), TokenKindM2M, nil},
		{"M2M without cat (minted before the rollout)", mint(t, a, with(mh, "cat", nil), mc), TokenKindM2M, nil},
		{"M2M with typ JWT", mint(t, a, with(mh, "typ", "JWT"), mc), TokenKindM2M, nil},
		{"M2M expired 4 s ago, within the leeway", e.m2m("exp", now-4), TokenKindM2M, nil},
		{"M2M scopes claim", e.m2m("scopes", "a b"), TokenKindM2M, []string{"a", "b"}},
		{"M2M aud array as scopes", e.m2m("aud", []string{testTarget}), TokenKindM2M, []string{testTarget}},
		{"M2M RS512 under a key without alg", mint(t, a, with(mh, "alg", "RS512", "kid", "k2"), mc), TokenKindM2M, nil},
		{"OAuth at+jwt", e.oauth(), TokenKindOAuth, []string{"read", "write"}},
		{"OAuth application/at+jwt", mint(t, a, with(oh, "typ", "application/at+jwt"), oc), TokenKindOAuth, []string{"read", "write"}},
		{"OAuth scp preferred to scope", e.oauth("scp", []string{"x"}), TokenKindOAuth, []string{"x"}},
		{"OAuth aud ignored without a configured audience", e.oauth("aud", "https://api.other.test"), TokenKindOAuth, []string{"read", "write"}},
		// Clerk's own OAuth fixtures carry the consenting session's sid and azp.
		{"OAuth with sid and azp, as Clerk mints them", e.oauth("sid", "sess_1", "azp", "https://app.example.test"), TokenKindOAuth, []string{"read", "write"}},
	}
	for _, tc := range valid {
		t.Run("accepts "+tc.name, func(t *testing.T) {
			mt, err := e.v.VerifyMachineToken(context.Background(), tc.token)
			require.NoError(t, err)
			assert.Equal(t, tc.kind, mt.Kind)
			assert.True(t, mt.JWT)
			if tc.scopes != nil {
				assert.Equal(t, tc.scopes, mt.Scopes)
			}
		})
	}
	refused := []struct {
		name   string
		token  string
		reason Reason
	}{
		{"M2M with the session category", mint(t, a, with(mh, "cat", categorySession), mc), ReasonTokenTypeMismatch},
		{"M2M with the template category", mint(t, a, with(mh, "cat", categoryTemplate), mc), ReasonTokenInvalid},
		{"M2M with the ignore category", mint(t, a, with(mh, "cat", categoryIgnore), mc), ReasonTokenInvalid},
		{"M2M with typ at+jwt", mint(t, a, with(mh, "typ", "at+jwt"), mc), ReasonTokenVerificationFailed},
		{"M2M category with a user subject", mint(t, a, mh, with(mc, "sub", "user_1")), ReasonTokenInvalid},
		{"M2M without exp", e.m2m("exp", nil), ReasonTokenVerificationFailed},
		{"M2M exp as a string", e.m2m("exp", "9999999999"), ReasonTokenVerificationFailed},
		{"M2M expired 5 s ago", e.m2m("exp", now-5), ReasonTokenExpired},
		{"M2M nbf 6 s ahead", e.m2m("nbf", now+6), ReasonTokenNotActiveYet},
		{"M2M iat 6 s ahead", e.m2m("iat", now+6), ReasonTokenIatInTheFuture},
		{"M2M nbf as a string", e.m2m("nbf", "0"), ReasonTokenVerificationFailed},
		{"M2M without jti", e.m2m("jti", nil), ReasonTokenVerificationFailed},
		{"M2M with a sid", e.m2m("sid", "sess_1"), ReasonTokenTypeMismatch},
		{"at+jwt with a machine subject: classed M2M, refused for its typ", e.oauth("sub", "mch_1"), ReasonTokenVerificationFailed},
		{"OAuth with an organization subject", e.oauth("sub", "org_1"), ReasonTokenInvalid},
		{"M2M alg HS256", mint(t, a, with(mh, "alg", "HS256"), mc), ReasonTokenInvalidAlgorithm},
		{"M2M alg none", b64json(t, with(mh, "alg", "none")) + "." + b64json(t, mc) + ".c2ln", ReasonTokenInvalidAlgorithm},
		{"M2M alg ES256", mint(t, a, with(mh, "alg", "ES256"), mc), ReasonTokenInvalidAlgorithm},
		{"M2M signed by another key", mint(t, b, mh, mc), ReasonTokenInvalidSignature},
		{"M2M bad signature and expired", mint(t, b, mh, with(mc, "exp", now-100)), ReasonTokenInvalidSignature},
		{"M2M wrong issuer", e.m2m("iss", "https://clerk.other.test"), ReasonTokenInvalidIssuer},
		{"M2M unknown kid", mint(t, a, with(mh, "kid", "k9"), mc), ReasonJWKKidMismatch},
		{"M2M crit header", mint(t, a, with(mh, "crit", []string{"x"}), mc), ReasonTokenInvalid},
		{"M2M scopes not a string", e.m2m("scopes", []string{"a"}), ReasonTokenVerificationFailed},
		{"OAuth with the session category", mint(t, a, with(oh, "cat", categorySession), oc), ReasonTokenTypeMismatch},
		{"OAuth without client_id", e.oauth("client_id", nil), ReasonTokenVerificationFailed},
		{"OAuth without jti", e.oauth("jti", nil), ReasonTokenVerificationFailed},
		{"OAuth expired", e.oauth("exp", now-60), ReasonTokenExpired},
		{"OAuth wrong issuer", e.oauth("iss", "https://clerk.other.test"), ReasonTokenInvalidIssuer},
		{"OAuth scp not an array of strings", e.oauth("scp", []any{"a", 1}), ReasonTokenVerificationFailed},
		{"session token", mint(t, a, stdHeader("k1"), stdClaims(e.clock.Now())), ReasonTokenTypeMismatch},
		{"OIDC ID token", mint(t, a, map[string]any{"alg": "RS256", "kid": "k1", "typ": "JWT"}, with(oc, "aud", "client_1")), ReasonTokenTypeMismatch},
		{"JWT-shaped mt_ token", "mt_a.b.c", ReasonTokenInvalid},
		{"garbage", "hello", ReasonTokenTypeMismatch},
	}
	for _, tc := range refused {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			mt, err := e.v.VerifyMachineToken(context.Background(), tc.token)
			require.Error(t, err)
			assert.Nil(t, mt)
			assert.Equal(t, tc.reason, ReasonOf(err), err.Error())
			assert.ErrorIs(t, err, ErrInvalidToken)
		})
	}
	assert.Zero(t, e.api.calls.Load(), "no JWT and no refused kind reaches the Backend API")
}

func TestVerifyMachineJWTMapsClaims(t *testing.T) {
	e := newMachineEnv(t)
	mt, err := e.v.VerifyMachineToken(context.Background(), e.m2m("aud", []string{testTarget}))
	require.NoError(t, err)
	now := e.clock.Now()
	assert.Equal(t, "mt_"+strings.Repeat("d", 32), mt.ID)
	assert.Equal(t, testMachine, mt.Subject)
	assert.Equal(t, testMachine, mt.MachineID())
	assert.Equal(t, "", mt.UserID())
	assert.Equal(t, OwnerMachine, mt.Owner())
	assert.Equal(t, now.Add(600*time.Second).Unix(), mt.Expiration.Unix())
	assert.Equal(t, now.Unix(), mt.IssuedAt.Unix())
	var custom map[string]any
	require.NoError(t, json.Unmarshal(mt.Claims, &custom))
	assert.Equal(t, map[string]any{"team": "payments", "aud": []any{testTarget}}, custom, "all but iss sub exp nbf iat jti")

	ot, err := e.v.VerifyMachineToken(context.Background(), e.oauth())
	require.NoError(t, err)
	assert.Equal(t, "client_1", ot.ClientID)
	assert.Equal(t, "user_1", ot.UserID())
	assert.Equal(t, "", ot.MachineID())
	assert.True(t, ot.HasScope("write"))
	assert.False(t, ot.HasScope("admin"))
}

func TestVerifyMachineJWTCachesAndRechecksExpiry(t *testing.T) {
	e := newMachineEnv(t)
	tok := e.m2m()
	first, err := e.v.VerifyMachineToken(context.Background(), tok)
	require.NoError(t, err)
	second, err := e.v.VerifyMachineToken(context.Background(), tok)
	require.NoError(t, err)
	assert.Same(t, first, second, "the second verification is a cache hit")
	e.clock.Advance(606 * time.Second)
	_, err = e.v.VerifyMachineToken(context.Background(), tok)
	assert.ErrorIs(t, err, ErrTokenExpired, "a cached token still expires")
}

func TestOAuthAudience(t *testing.T) {
	e := newMachineEnv(t, func(c *Config) { c.Audience = []string{"https://api.example.test"} })
	cases := []struct {
		name string
		aud  any
		ok   bool
	}{
		{"string match", "https://api.example.test", true},
		{"array with one match", []string{"x", "https://api.example.test"}, true},
		{"no aud", nil, false},
		{"empty string", "", false},
		{"array of an empty string", []string{""}, false},
		{"array with a number", []any{1}, false},
		{"mismatch", "https://api.other.test", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.v.VerifyMachineToken(context.Background(), e.oauth("aud", tc.aud))
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidToken)
		})
	}
	t.Run("M2M without aud passes (Clerk's lenient rule)", func(t *testing.T) {
		_, err := e.v.VerifyMachineToken(context.Background(), e.m2m())
		require.NoError(t, err)
	})
	t.Run("M2M with a foreign aud fails", func(t *testing.T) {
		_, err := e.v.VerifyMachineToken(context.Background(), e.m2m("aud", "https://api.other.test"))
		assert.Equal(t, ReasonTokenInvalidAudience, ReasonOf(err))
	})
}

// TestMachineJWTUnknownKidFetchesOnce shows that a flood of tokens with
// unknown key IDs costs one key fetch per cooldown, as for sessions.
func TestMachineJWTUnknownKidFetchesOnce(t *testing.T) {
	e := newMachineEnv(t)
	a, _, _ := testKeys(t)
	require.NoError(t, e.v.Warm(context.Background()))
	before := e.jwks.requests.Load()
	for i := range 50 {
		tok := mint(t, a, with(m2mHeader(), "kid", "unknown"+string(rune('a'+i%26))+strings.Repeat("x", i)), m2mClaims(e.clock.Now()))
		_, err := e.v.VerifyMachineToken(context.Background(), tok)
		// A kid unknown to keys fetched before the token was issued is
		// undecided while the refresh cools down (503); never accepted.
		require.Contains(t, []Reason{ReasonJWKKidMismatch, ReasonJWKRefreshCoolingDown}, ReasonOf(err))
	}
	assert.LessOrEqual(t, e.jwks.requests.Load()-before, int64(1))
}

func TestMachineJWTWithPEMKey(t *testing.T) {
	a, _, _ := testKeys(t)
	clock := newClock()
	v := newTestVerifier(t, Config{JWTKey: pemOf(t, &a.PublicKey), PublishableKey: testPK, Now: clock.Now})
	tok := mint(t, a, with(m2mHeader(), "kid", nil), m2mClaims(clock.Now()))
	mt, err := v.VerifyMachineToken(context.Background(), tok)
	require.NoError(t, err, "networkless with a PEM key")
	assert.Equal(t, testMachine, mt.Subject)
	_, err = v.VerifyMachineToken(context.Background(), goodAPIKey)
	assert.ErrorIs(t, err, ErrKeysUnavailable, "an opaque token cannot be judged without a secret key")
	assert.Equal(t, ReasonSecretKeyInvalid, ReasonOf(err))
}

var _ = crypto.SHA256
