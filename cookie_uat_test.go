package clerkauth

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCookieClientUAT ports the "cookieToken … clientUat" cases of Clerk's
// own request tests (packages/backend/src/tokens/__tests__/request.test.ts
// in clerk/javascript, production instance: the dev-browser and satellite
// cases do not apply to an API that never redirects). Clerk's handshake
// outcomes are answered 401 with Clerk's reason. The case label in
// brackets is Clerk's.
func TestCookieClientUAT(t *testing.T) {
	e := newMWEnv(t)
	a, _, _ := testKeys(t)
	now := e.clock.Now()
	iat := now.Unix()
	tok := e.token()
	uat := func(v int64) string { return strconv.FormatInt(v, 10) }
	noSub := e.token("sub", nil)
	machine := e.token("sub", "mch_1")
	template := mint(t, a, with(stdHeader("k1"), "cat", "cl_B7d4PD222AAA"), with(stdClaims(now), "sid", nil))
	noIat := e.token("iat", nil)
	expired := e.token("iat", iat-3600, "nbf", iat-3600, "exp", iat-3000)
	suffix := CookieSuffix(testPK)

	const ok, unauth = http.StatusOK, http.StatusUnauthorized
	tests := []struct {
		name    string
		method  string
		cookies map[string]string
		status  int
		reason  Reason
		class   error // the error's class (ErrNoToken or ErrInvalidToken); nil when signed in
	}{
		// Clerk: signed out, session-token-and-uat-missing. clerkauth keeps
		// session-token-missing when there is no __client_uat cookie at all
		// (an API client, not a signed-out browser); same class and answer.
		{"[4y] no cookieToken and no clientUat", "GET", nil, unauth, ReasonTokenMissing, ErrNoToken},
		{"[5y] no clientUat but a cookieToken", "GET", map[string]string{"__session": tok},
			unauth, ReasonSessionTokenWithoutClientUAT, ErrInvalidToken},
		{"[8y] clientUat > 0 and no cookieToken", "GET", map[string]string{"__client_uat": "12345"},
			unauth, ReasonClientUATWithoutSessionToken, ErrNoToken},
		{"[9y] clientUat = 0 and no cookieToken", "GET", map[string]string{"__client_uat": "0"},
			unauth, ReasonSessionTokenAndUATMissing, ErrNoToken},
		{"[10n] clientUat > cookieToken.iat", "GET", map[string]string{"__client_uat": uat(iat + 10), "__session": tok},
			unauth, ReasonSessionTokenIATBeforeClientUAT, ErrInvalidToken},
		{"[10y.1n] cookieToken.iat >= clientUat and malformed token (no sub)", "GET",
			map[string]string{"__client_uat": uat(iat - 10), "__session": noSub}, unauth, ReasonTokenVerificationFailed, ErrInvalidToken},
		{"[10y.2y] cookieToken.iat >= clientUat and valid token", "GET",
			map[string]string{"__client_uat": uat(iat - 10), "__session": tok}, ok, "", nil},
		{"cookieToken.iat = clientUat is not before it", "GET",
			map[string]string{"__client_uat": uat(iat), "__session": tok}, ok, "", nil},
		{"M2M JWT in the __session cookie (SDK-107)", "GET",
			map[string]string{"__client_uat": uat(iat - 10), "__session": machine}, unauth, ReasonTokenTypeMismatch, ErrInvalidToken},
		{"JWT-template token in the __session cookie (SEC-340)", "GET",
			map[string]string{"__client_uat": uat(iat - 10), "__session": template}, unauth, ReasonTokenTypeMismatch, ErrInvalidToken},
		// Clerk: handshake, session-token-expired-refresh-non-eligible-no-refresh-cookie.
		// clerkauth never refreshes and keeps the verification reason.
		{"[10y.2n.1n] cookieToken.iat >= clientUat and expired token", "GET",
			map[string]string{"__client_uat": uat(iat - 3610), "__session": expired}, unauth, ReasonTokenExpired, ErrInvalidToken},
		{"signed in with clientUat 12345 (Amazon CloudFront case)", "GET",
			map[string]string{"__client_uat": "12345", "__session": tok}, ok, "", nil},
		{"POST: clientUat > 0 and no cookieToken", "POST", map[string]string{"__client_uat": "12345"},
			unauth, ReasonClientUATWithoutSessionToken, ErrNoToken},
		{"POST: clientUat > cookieToken.iat", "POST", map[string]string{"__client_uat": uat(iat + 10), "__session": tok},
			unauth, ReasonSessionTokenIATBeforeClientUAT, ErrInvalidToken},

		// clerkauth's own edges: the value must be a positive decimal
		// integer (JS parseInt would read "12abc" as 12); a token without
		// iat cannot be shown newer than the client and is refused.
		{"clientUat 0 with a cookieToken (signed out elsewhere)", "GET",
			map[string]string{"__client_uat": "0", "__session": tok}, unauth, ReasonSessionTokenWithoutClientUAT, ErrInvalidToken},
		{"unparsable clientUat", "GET", map[string]string{"__client_uat": "abc", "__session": tok},
			unauth, ReasonSessionTokenWithoutClientUAT, ErrInvalidToken},
		{"clientUat with trailing garbage", "GET", map[string]string{"__client_uat": "12abc", "__session": tok},
			unauth, ReasonSessionTokenWithoutClientUAT, ErrInvalidToken},
		{"negative clientUat", "GET", map[string]string{"__client_uat": "-5", "__session": tok},
			unauth, ReasonSessionTokenWithoutClientUAT, ErrInvalidToken},
		{"clientUat beyond int64", "GET", map[string]string{"__client_uat": "99999999999999999999", "__session": tok},
			unauth, ReasonSessionTokenWithoutClientUAT, ErrInvalidToken},
		{"unparsable clientUat and no cookieToken", "GET", map[string]string{"__client_uat": "abc"},
			unauth, ReasonSessionTokenAndUATMissing, ErrNoToken},
		// The Verifier itself refuses a token without iat (#11 item 4:
		// its lifetime, and so its revocation, cannot be bounded), before
		// the client_uat comparison is reached.
		{"token without iat", "GET", map[string]string{"__client_uat": "12345", "__session": noIat},
			unauth, ReasonTokenVerificationFailed, ErrInvalidToken},

		// Suffixed cookies: the __client_uat of the same family as the
		// session cookie read.
		{"suffixed pair", "GET", map[string]string{"__session_" + suffix: tok, "__client_uat_" + suffix: uat(iat - 10)}, ok, "", nil},
		{"suffixed session signed out by its own clientUat", "GET", map[string]string{
			"__session_" + suffix: tok, "__client_uat_" + suffix: "0", "__session": tok, "__client_uat": uat(iat - 10)},
			unauth, ReasonSessionTokenWithoutClientUAT, ErrInvalidToken},
		{"suffixed clientUat newer than the suffixed session", "GET", map[string]string{
			"__session_" + suffix: tok, "__client_uat_" + suffix: uat(iat + 10), "__client_uat": "12345"},
			unauth, ReasonSessionTokenIATBeforeClientUAT, ErrInvalidToken},
		{"unsuffixed clientUat does not vouch for the suffixed session", "GET", map[string]string{
			"__session_" + suffix: tok, "__client_uat": uat(iat - 10)},
			unauth, ReasonClientUATWithoutSessionToken, ErrNoToken},
		{"suffixed session without suffixed clientUat: the unsuffixed pair", "GET", map[string]string{
			"__session_" + suffix: "stale.suffixed.token", "__session": tok, "__client_uat": uat(iat - 10)}, ok, "", nil},
	}
	m := e.middleware(MiddlewareOptions{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "/", nil)
			for name, value := range tt.cookies {
				r.AddCookie(&http.Cookie{Name: name, Value: value})
			}
			rec := serve(m.Handler(whoami), r)
			require.Equal(t, tt.status, rec.Code, rec.Body.String())
			if tt.status == ok {
				assert.Equal(t, "user_1", rec.Body.String())
				return
			}
			assert.Equal(t, string(tt.reason), reasonOf(t, rec))
			_, err := m.decide(t.Context(), m.credentialsOf(r))
			assert.True(t, errors.Is(err, tt.class), "error %v; want class %v", err, tt.class)
			assert.Equal(t, tt.reason, ReasonOf(err))
		})
	}
}

// TestClientUATOnlyForCookies checks that a header token is judged without
// the cookies, as Clerk's header path does: a signed-out __client_uat does
// not refuse it.
func TestClientUATOnlyForCookies(t *testing.T) {
	e := newMWEnv(t)
	r := bearerRequest(e.token())
	r.AddCookie(&http.Cookie{Name: "__client_uat", Value: "0"})
	r.AddCookie(&http.Cookie{Name: "__session", Value: "x.y.z"})
	rec := serve(e.middleware(MiddlewareOptions{}).Handler(whoami), r)
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

// TestClientUATSignOutEverywhere is the reason for the rule: after a
// sign-out in another tab, Clerk sets __client_uat to 0 (or to the time of
// a new sign-in), and a still-unexpired session token left in a cookie no
// longer authenticates. In optional mode the refusal can pass signed out.
func TestClientUATSignOutEverywhere(t *testing.T) {
	e := newMWEnv(t)
	tok := e.token()
	signedOut := httptest.NewRequest("GET", "/", nil)
	signedOut.AddCookie(&http.Cookie{Name: "__session", Value: tok})
	signedOut.AddCookie(&http.Cookie{Name: "__client_uat", Value: "0"})

	rec := serve(e.middleware(MiddlewareOptions{}).Handler(whoami), signedOut)
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	rec = serve(e.middleware(MiddlewareOptions{Optional: true, TreatInvalidAsSignedOut: true}).Handler(whoami), signedOut)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "signed-out", rec.Body.String())
}

// BenchmarkMiddlewareCarriers compares, in one run, a warm request whose
// token is in the Authorization header with one whose token is in the
// session cookie (with __client_uat), and a same-origin cookie POST (which
// also runs the cross-origin check).
func BenchmarkMiddlewareCarriers(b *testing.B) {
	e := newMWEnv(b)
	m, err := NewMiddleware(e.v, MiddlewareOptions{})
	require.NoError(b, err)
	h := m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tok := e.token()
	cookie := func(method string) *http.Request {
		r := httptest.NewRequest(method, "https://app.example.test/", nil)
		r.AddCookie(&http.Cookie{Name: "__session_" + CookieSuffix(testPK), Value: tok})
		r.AddCookie(&http.Cookie{Name: "__client_uat_" + CookieSuffix(testPK), Value: "1"})
		r.AddCookie(&http.Cookie{Name: "_ga", Value: "GA1.1.123456789.1700000000"})
		return r
	}
	post := cookie("POST")
	post.Header.Set("Sec-Fetch-Site", "same-origin")
	post.Header.Set("Origin", "https://app.example.test")
	for _, bc := range []struct {
		name string
		r    *http.Request
	}{{"header", bearerRequest(tok)}, {"cookie", cookie("GET")}, {"cookie-post", post}} {
		require.Equal(b, 200, serve(h, bc.r).Code)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(discardWriter{}, bc.r)
			}
		})
	}
}
