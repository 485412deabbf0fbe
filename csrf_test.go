package clerkauth

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cookieRequest is a browser request carrying tok in the __session cookie,
// with a __client_uat cookie older than the token (Clerk's signed-in
// state), to host app.example.test.
func (e *mwEnv) cookieRequest(method, tok string, headers ...string) *http.Request {
	r := httptest.NewRequest(method, "https://app.example.test/api/account", nil)
	r.AddCookie(&http.Cookie{Name: "__session", Value: tok})
	r.AddCookie(&http.Cookie{Name: "__client_uat", Value: strconv.FormatInt(e.clock.Now().Unix()-60, 10)})
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

// TestCookieCSRF is the attack of issue #11: a cross-site POST carrying the
// victim's __session cookie (with a legitimate azp) must not be
// authenticated; header-carried tokens are not affected.
func TestCookieCSRF(t *testing.T) {
	e := newMWEnv(t)
	tok := e.token()
	const evil, self = "https://evil.example", "https://app.example.test"
	tests := []struct {
		name    string
		opts    MiddlewareOptions
		req     *http.Request
		want    int
		refused bool // the answer is the cross-origin refusal
	}{
		{"cross-site POST, Origin only", MiddlewareOptions{}, e.cookieRequest("POST", tok, "Origin", evil), 403, true},
		{"cross-site POST, Sec-Fetch-Site", MiddlewareOptions{}, e.cookieRequest("POST", tok, "Sec-Fetch-Site", "cross-site", "Origin", evil), 403, true},
		{"same-site POST from a sibling", MiddlewareOptions{}, e.cookieRequest("POST", tok, "Sec-Fetch-Site", "same-site", "Origin", "https://www.example.test"), 403, true},
		{"cross-site DELETE", MiddlewareOptions{}, e.cookieRequest("DELETE", tok, "Sec-Fetch-Site", "cross-site"), 403, true},
		{"cross-site POST refused in optional mode too", MiddlewareOptions{Optional: true, TreatInvalidAsSignedOut: true},
			e.cookieRequest("POST", tok, "Origin", evil), 403, true},
		{"cross-site POST with a bad cookie is refused first", MiddlewareOptions{}, e.cookieRequest("POST", "x.y.z", "Origin", evil), 403, true},
		{"same-origin POST", MiddlewareOptions{}, e.cookieRequest("POST", tok, "Sec-Fetch-Site", "same-origin", "Origin", self), 200, false},
		{"user-initiated POST (none)", MiddlewareOptions{}, e.cookieRequest("POST", tok, "Sec-Fetch-Site", "none"), 200, false},
		{"old browser, Origin matches Host", MiddlewareOptions{}, e.cookieRequest("POST", tok, "Origin", self), 200, false},
		{"not a browser: no Origin, no Sec-Fetch-Site", MiddlewareOptions{}, e.cookieRequest("POST", tok), 200, false},
		{"cross-site GET is safe", MiddlewareOptions{}, e.cookieRequest("GET", tok, "Sec-Fetch-Site", "cross-site", "Origin", evil), 200, false},
		{"trusted origin", MiddlewareOptions{TrustedOrigins: []string{evil}},
			e.cookieRequest("POST", tok, "Sec-Fetch-Site", "cross-site", "Origin", evil), 200, false},
		{"another trusted origin does not help", MiddlewareOptions{TrustedOrigins: []string{"https://partner.example"}},
			e.cookieRequest("POST", tok, "Sec-Fetch-Site", "cross-site", "Origin", evil), 403, true},
		{"InsecureSkipCSRFCheck", MiddlewareOptions{InsecureSkipCSRFCheck: true},
			e.cookieRequest("POST", tok, "Sec-Fetch-Site", "cross-site", "Origin", evil), 200, false},
		{"DisableCookies: the cookie is not read at all", MiddlewareOptions{DisableCookies: true},
			e.cookieRequest("POST", tok, "Origin", evil), 401, false},
	}
	headerCase := e.cookieRequest("POST", "", "Sec-Fetch-Site", "cross-site", "Origin", evil)
	headerCase.Header.Set("Authorization", "Bearer "+tok)
	tests = append(tests, struct {
		name    string
		opts    MiddlewareOptions
		req     *http.Request
		want    int
		refused bool
	}{"header token, cross-site", MiddlewareOptions{}, headerCase, 200, false})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ran := false
			h := e.middleware(tt.opts).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				ran = true
				whoami(w, r)
			}))
			rec := serve(h, tt.req)
			require.Equal(t, tt.want, rec.Code, rec.Body.String())
			assert.Equal(t, tt.want == 200, ran, "handler ran")
			if tt.refused {
				assert.Equal(t, string(ReasonCrossOriginRequest), reasonOf(t, rec))
				assert.Empty(t, rec.Header().Get("WWW-Authenticate"), "no challenge: credentials are not the problem")
			}
		})
	}
}

// TestCrossOriginAgreesWithNetHTTP is a differential test: the core's
// check, on the credentials of a request, gives the verdict of Go's
// http.CrossOriginProtection.Check with the same trusted origins.
func TestCrossOriginAgreesWithNetHTTP(t *testing.T) {
	trusted := []string{"https://partner.example", "http://localhost:8080"}
	cop := http.NewCrossOriginProtection()
	for _, o := range trusted {
		require.NoError(t, cop.AddTrustedOrigin(o))
	}
	e := newMWEnv(t)
	m := e.middleware(MiddlewareOptions{TrustedOrigins: trusted})

	methods := []string{"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "get", "PROPFIND"}
	sites := []string{"", "same-origin", "none", "same-site", "cross-site", "SAME-ORIGIN", "bogus"}
	origins := []string{"", "https://app.example.test", "http://app.example.test", "https://app.example.test:443",
		"https://evil.example", "https://partner.example", "https://partner.example/", "http://localhost:8080",
		"null", "://bad", "https://app.example.test/path", "HTTPS://APP.EXAMPLE.TEST"}
	hosts := []string{"app.example.test", "app.example.test:443", "localhost:8080", ""}
	n := 0
	for _, method := range methods {
		for _, site := range sites {
			for _, origin := range origins {
				for _, host := range hosts {
					r := &http.Request{Method: method, Host: host, Header: http.Header{}}
					if site != "" {
						r.Header.Set("Sec-Fetch-Site", site)
					}
					if origin != "" {
						r.Header.Set("Origin", origin)
					}
					in := m.credentialsOf(r)
					want := cop.Check(r) == nil
					if host == "" && origin == "null" && site == "" && !isSafeMethod(method) {
						want = false // stricter: see TestCookieCSRFUnknownHost
					}
					if got := m.checkCrossOrigin(&in) == nil; got != want {
						t.Errorf("%s Sec-Fetch-Site=%q Origin=%q Host=%q: allowed %v; net/http %v", method, site, origin, host, got, want)
					}
					n++
				}
			}
		}
	}
	t.Logf("%d requests compared", n)
}

func TestTrustedOriginsValidated(t *testing.T) {
	e := newMWEnv(t)
	for _, bad := range []string{"evil.example", "https://", "https://evil.example/", "https://evil.example/x",
		"https://evil.example?q", "https://evil.example#f", "://x", ""} {
		_, err := NewMiddleware(e.v, MiddlewareOptions{TrustedOrigins: []string{bad}})
		assert.ErrorIs(t, err, ErrInvalidConfig, "%q", bad)
	}
	_, err := NewMiddleware(e.v, MiddlewareOptions{TrustedOrigins: []string{"https://a.example", "http://localhost:3000"}})
	assert.NoError(t, err)
}

// TestCookieCSRFUnknownHost: a transport that leaves Credentials.Host
// empty ("does not know") must not let an Origin without a host through:
// Origin "null" (a sandboxed iframe or a redirect, from a browser without
// Sec-Fetch-Site) has an empty host too, and compared equal, so a
// cross-site POST carrying the victim's cookie was authenticated.
func TestCookieCSRFUnknownHost(t *testing.T) {
	e := newMWEnv(t)
	m := e.middleware(MiddlewareOptions{})
	tok := e.token()
	cookies := map[string]string{"__session": tok, "__client_uat": strconv.FormatInt(e.clock.Now().Unix()-60, 10)}
	for _, origin := range []string{"null", "https://evil.example", "file://"} {
		d := m.Authenticate(t.Context(), Credentials{Method: "POST",
			Source: &mapSource{cookies: cookies, headers: map[string]string{"Origin": origin}}})
		assert.ErrorIs(t, d.Err(), ErrCrossOriginRequest, "Origin %q with an unknown Host", origin)
	}
	d := m.Authenticate(t.Context(), Credentials{Method: "POST", Source: &mapSource{cookies: cookies}})
	assert.NoError(t, d.Err(), "no Origin, no Sec-Fetch-Site: not a browser, as with a known Host")
}
