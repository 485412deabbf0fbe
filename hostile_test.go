package clerkauth

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileFixture is a Verifier on a JWKS holding the instance key (ins_a),
// a key bound to RS384, a key of another instance (ins_b), and keys that
// must never be used: under 2048 bits, exponent 1.
type hostileFixture struct {
	v     *Verifier
	srv   *jwksServer
	clock *testClock
}

func newHostileFixture(t *testing.T) *hostileFixture {
	a, b, small := testKeys(t)
	e1 := jwkOf("ins_e1", "RS256", &a.PublicKey)
	e1["e"] = b64(big.NewInt(1).Bytes())
	srv := newJWKSServer(t,
		jwkOf("ins_a", "RS256", &a.PublicKey),
		jwkOf("ins_384", "RS384", &a.PublicKey),
		jwkOf("ins_b", "RS256", &b.PublicKey),
		jwkOf("ins_small", "RS256", &small.PublicKey),
		e1,
	)
	clock := newClock()
	v := newTestVerifier(t, Config{
		SecretKey: testSecret, APIURL: srv.URL, PublishableKey: testPK, Now: clock.Now,
		AuthorizedParties: []string{"https://app.example.test"},
	})
	v.remote.sleep = noSleep
	// The keys are fetched after the tokens were issued, so a kid missing
	// from them is refused at once (see Config.JWKSRefreshCooldown).
	clock.Advance(10 * time.Second)
	require.NoError(t, v.Warm(context.Background()))
	return &hostileFixture{v: v, srv: srv, clock: clock}
}

type hostileCase struct {
	name   string
	token  string
	reason Reason
}

// hostileTokens builds the named hostile tokens. Each is rejected with the
// given reason.
func hostileTokens(t *testing.T, now int64) []hostileCase {
	a, b, small := testKeys(t)
	h := stdHeader("ins_a")
	c := stdClaims(newClock().Now())
	signed := func(hdr, cl map[string]any) string { return mint(t, a, hdr, cl) }
	raw := func(header, payload string) string {
		input := b64([]byte(header)) + "." + b64([]byte(payload))
		return input + "." + signRS(t, a, crypto.SHA256, input)
	}
	unsigned := func(hdr map[string]any) string { return b64json(t, hdr) + "." + b64json(t, c) + "." }
	hs256 := func() string {
		input := b64json(t, with(h, "alg", "HS256")) + "." + b64json(t, c)
		mac := hmac.New(sha256.New, []byte(pemOf(t, &a.PublicKey)))
		mac.Write([]byte(input))
		return input + "." + b64(mac.Sum(nil))
	}
	valid := signed(h, c)
	parts := strings.Split(valid, ".")
	attackerJWK := jwkOf("ins_a", "RS256", &b.PublicKey)
	deep := strings.Repeat(`{"x":`, 5000) + "1" + strings.Repeat("}", 5000)
	return []hostileCase{
		{"alg none", unsigned(with(h, "alg", "none")), ReasonTokenInvalidAlgorithm},
		{"alg None", unsigned(with(h, "alg", "None")), ReasonTokenInvalidAlgorithm},
		{"alg NONE", unsigned(with(h, "alg", "NONE")), ReasonTokenInvalidAlgorithm},
		{"alg lowercase rs256", signed(with(h, "alg", "rs256"), c), ReasonTokenInvalidAlgorithm},
		{"alg missing", signed(with(h, "alg", nil), c), ReasonTokenInvalidAlgorithm},
		{"HS256 with the public key as secret", hs256(), ReasonTokenInvalidAlgorithm},
		{"ES256 header", signed(with(h, "alg", "ES256"), c), ReasonTokenInvalidAlgorithm},
		{"PS256 header", signed(with(h, "alg", "PS256"), c), ReasonTokenInvalidAlgorithm},
		{"RS256 header against an RS384 key", signed(stdHeader("ins_384"), c), ReasonTokenInvalidAlgorithm},
		{"embedded jwk of the attacker", mint(t, b, with(h, "jwk", attackerJWK), c), ReasonTokenInvalidSignature},
		{"jku to the attacker", mint(t, b, with(h, "jku", "https://evil.test/jwks"), c), ReasonTokenInvalidSignature},
		{"x5u to the attacker", mint(t, b, with(h, "x5u", "https://evil.test/cert"), c), ReasonTokenInvalidSignature},
		{"x5c of the attacker", mint(t, b, with(h, "x5c", []string{"MIIB"}), c), ReasonTokenInvalidSignature},
		{"crit header", signed(with(h, "crit", []string{"b64"}), c), ReasonTokenInvalid},
		{"typ JWS", signed(with(h, "typ", "JWS"), c), ReasonTokenInvalid},
		{"typ at+jwt (OAuth access token)", signed(with(h, "typ", "at+jwt"), c), ReasonTokenTypeMismatch},
		{"typ lowercase jwt", signed(with(h, "typ", "jwt"), c), ReasonTokenInvalid},
		{"machine category", signed(with(h, "cat", "cl_B7d4PD333AAA"), c), ReasonTokenTypeMismatch},
		{"template category", signed(with(h, "cat", "cl_B7d4PD222AAA"), c), ReasonTokenTypeMismatch},
		{"unknown category", signed(with(h, "cat", "cl_X"), c), ReasonTokenTypeMismatch},
		{"template token without sid", signed(with(h, "cat", nil), with(c, "sid", nil)), ReasonTokenMissingSID},
		{"machine subject", signed(h, with(c, "sub", "mch_123")), ReasonTokenTypeMismatch},
		{"kid with path traversal", signed(with(h, "kid", "../../../etc/passwd"), c), ReasonJWKKidMismatch},
		{"kid with injection characters", signed(with(h, "kid", `' OR '1'='1"; DROP`), c), ReasonJWKKidMismatch},
		{"kid missing", signed(with(h, "kid", nil), c), ReasonJWKKidMismatch},
		{"two dots only", "..", ReasonTokenInvalid},
		{"four dots", valid + ".x.y", ReasonTokenInvalid},
		{"ten thousand dots", strings.Repeat(".", 10000), ReasonTokenInvalid},
		{"one MiB token", strings.Repeat("a", 1<<20), ReasonTokenInvalid},
		{"header bad base64", "!!!." + parts[1] + "." + parts[2], ReasonTokenInvalid},
		{"header padded", parts[0] + "=." + parts[1] + "." + parts[2], ReasonTokenInvalid},
		{"payload std base64 alphabet", parts[0] + "." + strings.NewReplacer("-", "+", "_", "/").Replace(parts[1]) + "+/." + parts[2], ReasonTokenInvalid},
		{"signature non-zero trailing bits", parts[0] + "." + parts[1] + "." + flipTrailingBits(parts[2]), ReasonTokenInvalid},
		{"signature empty", parts[0] + "." + parts[1] + ".", ReasonTokenInvalid},
		{"signature truncated", parts[0] + "." + parts[1] + "." + parts[2][:100], ReasonTokenInvalidSignature},
		{"signature extended", parts[0] + "." + parts[1] + "." + parts[2] + "AAAA", ReasonTokenInvalidSignature},
		{"header not json", b64([]byte("alg=RS256")) + "." + parts[1] + "." + parts[2], ReasonTokenInvalid},
		{"header is an array", b64([]byte(`["RS256"]`)) + "." + parts[1] + "." + parts[2], ReasonTokenInvalid},
		{"payload not json", raw(`{"alg":"RS256","kid":"ins_a"}`, "not json"), ReasonTokenInvalid},
		{"payload null", raw(`{"alg":"RS256","kid":"ins_a"}`, "null"), ReasonTokenInvalid},
		{"payload deeply nested", raw(`{"alg":"RS256","kid":"ins_a"}`, `{"sub":"user_1","sid":"sess_1","deep":`+deep+`}`), ReasonTokenInvalid},
		{"payload trailing data", raw(`{"alg":"RS256","kid":"ins_a"}`, string(mustJSON(t, c))+`{}`), ReasonTokenInvalid},
		{"duplicate sub claim", raw(`{"alg":"RS256","kid":"ins_a"}`, dupClaim(t, c, "sub", "user_admin")), ReasonTokenInvalid},
		{"duplicate exp claim", raw(`{"alg":"RS256","kid":"ins_a"}`, dupClaim(t, c, "exp", now+99999)), ReasonTokenInvalid},
		{"exp as string", signed(h, with(c, "exp", fmt.Sprint(now+60))), ReasonTokenVerificationFailed},
		{"exp as float in the past", signed(h, with(c, "exp", float64(now)-100.5)), ReasonTokenExpired},
		{"exp negative", signed(h, with(c, "exp", -1)), ReasonTokenVerificationFailed},
		{"exp huge", signed(h, with(c, "exp", 1e300)), ReasonTokenVerificationFailed},
		{"exp boolean", signed(h, with(c, "exp", true)), ReasonTokenVerificationFailed},
		{"exp null", signed(h, with(c, "exp", nil, "x", 1)), ReasonTokenVerificationFailed},
		{"nbf as string", signed(h, with(c, "nbf", "0")), ReasonTokenVerificationFailed},
		{"iat as object", signed(h, with(c, "iat", map[string]any{"t": 1})), ReasonTokenVerificationFailed},
		{"aud as number", signed(h, with(c, "aud", 42)), ReasonTokenVerificationFailed},
		{"aud array with a number", signed(h, with(c, "aud", []any{"a", 1})), ReasonTokenVerificationFailed},
		{"sub as number", signed(h, with(c, "sub", 1)), ReasonTokenVerificationFailed},
		{"sid as array", signed(h, with(c, "sid", []string{"sess_1"})), ReasonTokenVerificationFailed},
		{"iss as array", signed(h, with(c, "iss", []string{testIssuer})), ReasonTokenVerificationFailed},
		{"missing sub", signed(h, with(c, "sub", nil)), ReasonTokenVerificationFailed},
		{"missing sid", signed(h, with(c, "sid", nil)), ReasonTokenMissingSID},
		{"missing exp", signed(h, with(c, "exp", nil)), ReasonTokenVerificationFailed},
		{"expired one second past leeway", signed(h, with(c, "exp", now-5)), ReasonTokenExpired},
		{"nbf in the future", signed(h, with(c, "nbf", now+60)), ReasonTokenNotActiveYet},
		{"iat in the future", signed(h, with(c, "iat", now+60)), ReasonTokenIatInTheFuture},
		{"another instance's key and issuer", mint(t, b, stdHeader("ins_b"), with(c, "iss", "https://clerk.other.test")), ReasonTokenInvalidIssuer},
		{"issuer look-alike host", signed(h, with(c, "iss", "https://clerk.example.test.evil.test")), ReasonTokenInvalidIssuer},
		{"key under 2048 bits", mint(t, small, stdHeader("ins_small"), c), ReasonJWKKidMismatch},
		{"key with exponent 1", signed(stdHeader("ins_e1"), c), ReasonJWKKidMismatch},
		{"rotated-out key", signed(stdHeader("ins_old"), c), ReasonJWKKidMismatch},
		{"azp missing", signed(h, with(c, "azp", nil)), ReasonTokenInvalidAuthorizedParties},
		{"azp trailing slash", signed(h, with(c, "azp", "https://app.example.test/")), ReasonTokenInvalidAuthorizedParties},
		{"azp upper case", signed(h, with(c, "azp", "https://App.example.test")), ReasonTokenInvalidAuthorizedParties},
		{"azp Unicode look-alike", signed(h, with(c, "azp", "https://аpp.example.test")), ReasonTokenInvalidAuthorizedParties},
		{"azp with port", signed(h, with(c, "azp", "https://app.example.test:443")), ReasonTokenInvalidAuthorizedParties},
		{"pending session", signed(h, with(c, "sts", "pending")), ReasonSessionPending},
	}
}

func TestHostileTokens(t *testing.T) {
	f := newHostileFixture(t)
	cases := hostileTokens(t, f.clock.Now().Unix())
	require.GreaterOrEqual(t, len(cases), 50)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var claims *Claims
			var err error
			require.NotPanics(t, func() { claims, err = f.v.Verify(context.Background(), tc.token) })
			require.Error(t, err)
			assert.Nil(t, claims)
			assert.Equal(t, tc.reason, ReasonOf(err), err.Error())
			assert.ErrorIs(t, err, ErrInvalidToken)
			assert.LessOrEqual(t, len(err.Error()), 300, "errors stay short and never echo the token")
		})
	}
}

// TestHostileTokensBoundedWork shows that oversize inputs are refused
// before any decoding: their cost does not grow with their size.
func TestHostileTokensBoundedWork(t *testing.T) {
	f := newHostileFixture(t)
	for _, size := range []int{MaxTokenSize + 1, 1 << 20, 8 << 20} {
		tok := strings.Repeat("a.", size/2)
		allocs := testing.AllocsPerRun(20, func() { _, _ = f.v.Verify(context.Background(), tok) })
		assert.LessOrEqual(t, allocs, 2.0, "size %d", size)
	}
}

func flipTrailingBits(sig string) string {
	// The last character of a 256-byte signature carries 4 padding bits;
	// 'A'→'B' sets one of them without changing the decoded bytes.
	last := sig[len(sig)-1]
	alphabet := "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	i := strings.IndexByte(alphabet, last)
	return sig[:len(sig)-1] + string(alphabet[i^1])
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	return []byte(b64decode(t, b64json(t, v)))
}

func b64decode(t *testing.T, s string) string {
	t.Helper()
	b, err := b64url.DecodeString(s)
	require.NoError(t, err)
	return string(b)
}

// dupClaim appends a second member named name to the JSON of c.
func dupClaim(t *testing.T, c map[string]any, name string, v any) string {
	t.Helper()
	js := string(mustJSON(t, c))
	val := string(mustJSON(t, v))
	return js[:len(js)-1] + fmt.Sprintf(`,%q:%s}`, name, val)
}
