package clerkauth_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// Hostile Authorization headers through the middleware (default options).
// Each case states the status, the WWW-Authenticate challenge (its error
// code) and the reason of the error body; every answer is checked for
// never echoing the token.

const (
	challengeNoToken = `Bearer realm="api"`
	challengeRequest = `Bearer realm="api", error="invalid_request"`
	challengeToken   = `Bearer realm="api", error="invalid_token"`
)

// headerCase is one request: its Authorization values (nil: none) and
// cookies, built from a valid token and an expired one.
type headerCase struct {
	name      string
	auth      func(tok, expired string) []string
	cookie    bool // send the valid token in a __session cookie too (signed-in __client_uat)
	status    int
	challenge string // the challenge, up to its error_description
	reason    clerkauth.Reason
}

func values(v ...string) func(string, string) []string {
	return func(string, string) []string { return v }
}

func bearer(f func(tok string) string) func(string, string) []string {
	return func(tok, _ string) []string { return []string{f(tok)} }
}

// split cuts tok after its 20th byte and joins the halves with sep.
func split(tok, sep string) string { return tok[:20] + sep + tok[20:] }

var mib = strings.Repeat("a", 1<<20)

func headerCases() []headerCase {
	const ok, bad, unauth = http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized
	req, missing := clerkauth.ReasonInvalidRequest, clerkauth.ReasonTokenMissing
	invalid := clerkauth.ReasonTokenInvalid
	return []headerCase{
		{"no header", nil, false, unauth, challengeNoToken, missing},
		{"empty value", values(""), false, bad, challengeRequest, req},
		{"whitespace only", values("  \t "), false, bad, challengeRequest, req},
		{"Bearer alone", values("Bearer"), false, bad, challengeRequest, req},
		{"Bearer and spaces", values("Bearer     "), false, bad, challengeRequest, req},
		{"Bearer and only padding", values("Bearer ==="), false, bad, challengeRequest, req},
		{"valid", bearer(func(t string) string { return "Bearer " + t }), false, ok, "", ""},
		{"two spaces before the token", bearer(func(t string) string { return "Bearer  " + t }), false, ok, "", ""},
		{"tab before the token", bearer(func(t string) string { return "Bearer\t" + t }), false, ok, "", ""},
		{"lower-case scheme", bearer(func(t string) string { return "bearer " + t }), false, ok, "", ""},
		{"upper-case scheme", bearer(func(t string) string { return "BEARER " + t }), false, ok, "", ""},
		{"mixed-case scheme", bearer(func(t string) string { return "bEaReR " + t }), false, ok, "", ""},
		{"surrounding whitespace", bearer(func(t string) string { return " \tBearer " + t + " \t" }), false, ok, "", ""},
		{"bare JWT without scheme", bearer(func(t string) string { return t }), false, ok, "", ""},
		{"duplicate headers, both valid", func(t, _ string) []string { return []string{"Bearer " + t, "Bearer " + t} },
			false, bad, challengeRequest, req},
		{"duplicate headers, one empty", func(t, _ string) []string { return []string{"", "Bearer " + t} },
			false, bad, challengeRequest, req},
		{"duplicate headers, Basic and Bearer", func(t, _ string) []string { return []string{"Basic dXNlcjpwYXNz", "Bearer " + t} },
			false, bad, challengeRequest, req},
		{"Basic credentials", values("Basic dXNlcjpwYXNz"), false, unauth, challengeNoToken, missing},
		{"Basic credentials and a valid cookie", values("Basic dXNlcjpwYXNz"), true, ok, "", ""},
		{"another scheme with a JWT", bearer(func(t string) string { return "Token " + t }), false, unauth, challengeNoToken, missing},
		{"invalid bearer beats a valid cookie", values("Bearer abc.def.ghi"), true, unauth, challengeToken, invalid},
		// A one-word value is the token itself, as Clerk's SDKs take it: it is
		// answered on its own merits and never replaced by the cookie.
		{"one word, not a JWT", values("opaque_value"), false, unauth, challengeToken, invalid},
		{"one word beats a valid cookie", values("opaque_value"), true, unauth, challengeToken, invalid},
		{"one word of bad characters beats a valid cookie", values("tok@en"), true, bad, challengeRequest, req},
		{"a scheme name alone", values("Negotiate"), true, unauth, challengeToken, invalid},
		{"scheme glued with a colon", bearer(func(t string) string { return "Bearer:" + t }), false, bad, challengeRequest, req},
		{"scheme twice", bearer(func(t string) string { return "Bearer Bearer " + t }), false, bad, challengeRequest, req},
		{"embedded space", bearer(func(t string) string { return "Bearer " + split(t, " ") }), false, bad, challengeRequest, req},
		{"embedded tab", bearer(func(t string) string { return "Bearer " + split(t, "\t") }), false, bad, challengeRequest, req},
		{"embedded newline", bearer(func(t string) string { return "Bearer " + split(t, "\n") }), false, bad, challengeRequest, req},
		{"embedded CRLF", bearer(func(t string) string { return "Bearer " + split(t, "\r\n") }), false, bad, challengeRequest, req},
		{"embedded NUL", bearer(func(t string) string { return "Bearer " + split(t, "\x00") }), false, bad, challengeRequest, req},
		{"non-ASCII", bearer(func(t string) string { return "Bearer " + split(t, "ö") }), false, bad, challengeRequest, req},
		{"two tokens, comma-joined", bearer(func(t string) string { return "Bearer " + t + "," + t }), false, bad, challengeRequest, req},
		{"trailing padding", bearer(func(t string) string { return "Bearer " + t + "=" }), false, unauth, challengeToken, invalid},
		{"garbage of JWT shape", values("Bearer abc.def.ghi"), false, unauth, challengeToken, invalid},
		{"expired", func(_, exp string) []string { return []string{"Bearer " + exp} },
			false, unauth, challengeToken, clerkauth.ReasonTokenExpired},
		{"1 MiB value", values("Bearer " + mib), false, unauth, challengeToken, invalid},
		{"1 MiB of JWT shape", values("Bearer " + mib[:1<<19] + "." + mib[:1<<18] + "." + mib[:1<<18]),
			false, unauth, challengeToken, invalid},
	}
}

func TestHostileAuthorizationHeaders(t *testing.T) {
	e := newAuthEnv(t, clerkauth.MiddlewareOptions{})
	require.NoError(t, e.v.Warm(context.Background()))
	tok := e.token(t)
	expired := e.token(t, clerktest.WithIssuedAt(faultEpoch.Add(-time.Hour)))
	for _, tc := range headerCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.auth != nil {
				r.Header["Authorization"] = tc.auth(tok, expired)
			}
			if tc.cookie {
				r.AddCookie(&http.Cookie{Name: "__session", Value: tok})
				r.AddCookie(&http.Cookie{Name: "__client_uat", Value: "1"})
			}
			a := e.serve(t, r)
			checkAnswer(t, tc, a, e.sid, tok, expired)
		})
	}
}

func checkAnswer(t *testing.T, tc headerCase, a authAnswer, sid string, tokens ...string) {
	t.Helper()
	require.Equal(t, tc.status, a.status, "body: %.300s", a.body)
	if tc.status == http.StatusOK {
		assert.Equal(t, sid, a.body)
		assert.Empty(t, a.challenge)
		return
	}
	assert.True(t, a.challenge == tc.challenge || strings.HasPrefix(a.challenge, tc.challenge+", "),
		"WWW-Authenticate %q, want %q…", a.challenge, tc.challenge)
	assert.Equal(t, tc.reason, a.reason)
	assert.Less(t, len(a.body)+len(a.challenge), 2048, "answer is small, whatever the request")
	for _, tok := range tokens {
		assert.NotContains(t, a.body, tok[len(tok)-40:], "token echoed")
		assert.NotContains(t, a.challenge, tok[len(tok)-40:], "token echoed")
	}
}

// wireCase is a request head sent as raw bytes to a real server, for what
// net/http itself makes of hostile bytes before the middleware runs.
type wireCase struct {
	name   string
	header func(tok string) string // raw header lines, each ending in CRLF
	want   headerCase
	byHTTP bool // answered by net/http itself: a plain 4xx, no JSON body
}

func wireCases() []wireCase {
	const bad = http.StatusBadRequest
	req := headerCase{status: bad, challenge: challengeRequest, reason: clerkauth.ReasonInvalidRequest}
	return []wireCase{
		{"lower-case header name", func(t string) string { return "authorization: Bearer " + t + "\r\n" },
			headerCase{status: http.StatusOK}, false},
		{"empty value", func(string) string { return "Authorization:\r\n" }, req, false},
		{"empty and valid", func(t string) string { return "Authorization: \r\nAuthorization: Bearer " + t + "\r\n" }, req, false},
		{"obs-fold inside the token", func(t string) string { return "Authorization: Bearer " + split(t, "\r\n ") + "\r\n" }, req, false},
		{"obs-fold after the token", func(t string) string { return "Authorization: Bearer " + t + "\r\n\tx\r\n" }, req, false},
		{"UTF-8 in the token", func(t string) string { return "Authorization: Bearer " + split(t, "ö") + "\r\n" }, req, false},
		{"NUL byte", func(t string) string { return "Authorization: Bearer " + split(t, "\x00") + "\r\n" },
			headerCase{status: bad}, true},
		{"bare CR", func(t string) string { return "Authorization: Bearer " + split(t, "\r") + "\r\n" },
			headerCase{status: bad}, true},
		{"bare LF", func(t string) string { return "Authorization: Bearer " + split(t, "\n") + "\r\n" },
			headerCase{status: bad}, true},
		{"DEL byte", func(t string) string { return "Authorization: Bearer " + split(t, "\x7f") + "\r\n" },
			headerCase{status: bad}, true},
		{"space before the colon", func(t string) string { return "Authorization : Bearer " + t + "\r\n" },
			headerCase{status: bad}, true},
		{"1 MiB value", func(string) string { return "Authorization: Bearer " + mib + "\r\n" },
			headerCase{status: http.StatusUnauthorized, challenge: challengeToken, reason: clerkauth.ReasonTokenInvalid}, false},
		{"2 MiB value", func(string) string { return "Authorization: Bearer " + mib + mib + "\r\n" },
			headerCase{status: http.StatusRequestHeaderFieldsTooLarge}, true},
	}
}

func TestHostileAuthorizationHeadersOnTheWire(t *testing.T) {
	e := newAuthEnv(t, clerkauth.MiddlewareOptions{})
	require.NoError(t, e.v.Warm(context.Background()))
	ts := httptest.NewServer(e.h)
	defer ts.Close()
	tok := e.token(t)
	for _, tc := range wireCases() {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := rawRequest(t, ts.Listener.Addr().String(), tc.header(tok))
			if tc.byHTTP {
				assert.Equal(t, tc.want.status, status)
				assert.Empty(t, h.Get("WWW-Authenticate"), "net/http answered, not the middleware")
				assert.NotContains(t, string(body), tok[len(tok)-40:])
				return
			}
			checkAnswer(t, tc.want, readAnswer(t, status, h, body), e.sid, tok)
		})
	}
}

// rawRequest sends a GET with the given header lines on a new connection
// and reads the answer.
func rawRequest(t *testing.T, addr, header string) (int, http.Header, []byte) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer conn.Close()
	go fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: example.test\r\n%sConnection: close\r\n\r\n", header)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, body
}
