package clerkauth

import (
	"net/http"
	"strconv"
	"strings"
)

// Cookie names Clerk's frontend SDKs and Frontend API set.
const (
	// sessionCookie holds the session token.
	sessionCookie = "__session"
	// clientUATCookie holds the Unix time of the client's last sign-in or
	// sign-out ("0" when signed out).
	clientUATCookie = "__client_uat"
)

// BearerToken returns the bearer token of r's Authorization header, for
// custom token extractors that add a carrier to the default ones.
//
// It returns "", nil when the request carries no bearer credentials: no
// Authorization header, or one with another scheme such as Basic (RFC 6750
// §3.1: a request using an unsupported method "lacks any authentication
// information"). The scheme is matched case-insensitively and surrounding
// whitespace is ignored. A value of one word (no space or tab) is the token
// itself, as Clerk's SDKs take it: a bare JWT, or anything else, which then
// fails verification; so an Authorization header that is present is never
// silently replaced by the session cookie, except for another scheme with
// its credentials ("Basic dXNlcjpwYXNz"), which Clerk ignores too.
//
// It returns an error matching [ErrInvalidRequest] for credentials that are
// malformed rather than absent: several Authorization headers, an empty
// one, "Bearer" without a token, or a token with characters outside RFC
// 6750's b64token syntax.
func BearerToken(r *http.Request) (string, error) {
	return bearerFromValues(r.Header.Values("Authorization"), true)
}

// bearerFromValues is BearerToken over the values of every Authorization
// header; with checkChars false it leaves the per-byte b64token check to
// the caller (the middleware runs it only for a token that fails
// verification: one that verifies is base64url already).
func bearerFromValues(values []string, checkChars bool) (string, error) {
	switch len(values) {
	case 0:
		return "", nil
	case 1:
		return parseAuthorization(values[0], checkChars)
	}
	return "", invalidRequest("several Authorization headers")
}

// parseAuthorization reads one Authorization header value.
func parseAuthorization(value string, checkChars bool) (string, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return "", invalidRequest("empty Authorization header")
	}
	scheme, rest, hasRest := strings.Cut(value, " ")
	if !hasRest {
		scheme, rest, hasRest = strings.Cut(value, "\t")
	}
	switch {
	case strings.EqualFold(scheme, "Bearer"):
		return checkB64Token(strings.TrimSpace(rest), checkChars)
	case !hasRest:
		// One word: the token itself, as Clerk's SDKs take it. It is judged
		// on its own merits, never replaced by a cookie.
		return checkB64Token(value, checkChars)
	}
	return "", nil // another scheme with credentials: no bearer credentials
}

// checkB64Token validates the b64token syntax of RFC 6750 §2.1:
// 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
// With checkChars false only the shape is checked.
func checkB64Token(tok string, checkChars bool) (string, error) {
	if tok == "" {
		return "", invalidRequest("Bearer scheme without a token")
	}
	body := strings.TrimRight(tok, "=")
	if body == "" || checkChars && !allB64TokenChars(body) {
		return "", errNotB64Token()
	}
	return tok, nil
}

func errNotB64Token() error { return invalidRequest("bearer token is not a b64token") }

// isB64Token reports whether tok has the b64token syntax.
func isB64Token(tok string) bool {
	body := strings.TrimRight(tok, "=")
	return body != "" && allB64TokenChars(body)
}

// b64tokenLow and b64tokenHigh are the b64token characters as bit sets
// over bytes 0-63 and 64-127: "+-./0-9" and "A-Z_a-z~".
const (
	b64tokenLow  = 1<<'+' | 1<<'-' | 1<<'.' | 1<<'/' | (1<<10-1)<<'0'
	b64tokenHigh = (1<<26-1)<<('A'-64) | 1<<('_'-64) | (1<<26-1)<<('a'-64) | 1<<('~'-64)
)

// allB64TokenChars reports whether every byte of s is a b64token
// character. It runs over every request's token, so it is branch-free: a
// table of bits indexed by the byte, misses OR-ed into bit 0 and tested
// once (about 0.6 ns per byte; a per-byte switch with a strings.IndexByte
// fallback cost 2.5 µs per kilobyte).
func allB64TokenChars(s string) bool {
	table := [4]uint64{b64tokenLow, b64tokenHigh, 0, 0}
	var miss uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		miss |= ^table[c>>6] >> (c & 63)
	}
	return miss&1 == 0
}

// isB64TokenChar reports whether c is a b64token character.
func isB64TokenChar(c byte) bool { return allB64TokenChars(string(c)) }

// cookieSession is what a request's cookies say about its session: the
// session token and the __client_uat of the same family (both suffixed, or
// both not).
type cookieSession struct {
	token string
	// uat is __client_uat as Unix seconds: 0 when the client is signed out
	// or the cookie is missing or not a positive decimal integer.
	uat int64
	// uatSent reports whether there was a __client_uat cookie at all.
	uatSent bool
}

// readCookieSession reads the session cookies. The suffixed pair,
// __session_<suffix> and __client_uat_<suffix>, is the instance's own and is
// read when the suffixed session cookie is non-empty and its __client_uat is
// present; otherwise the unsuffixed pair, as Clerk falls back to it for
// applications and instances that predate suffixed cookies. This is a
// subset of Clerk's usesSuffixedCookies (clerk-session-tokens.md §1.2) that
// never reads an unverified token to choose: where Clerk would prefer an
// unsuffixed pair on the strength of the tokens' claims, this is stricter.
// When a cookie name repeats, the first value is used, as browsers send the
// most specific path first.
func readCookieSession(cookie func(name string) (string, bool), suffix string) cookieSession {
	if suffix != "" {
		if tok, ok := cookie(sessionCookie + "_" + suffix); ok && tok != "" {
			if uat, ok := cookie(clientUATCookie + "_" + suffix); ok {
				return cookieSession{token: tok, uat: parseClientUAT(uat), uatSent: true}
			}
		}
	}
	tok, _ := cookie(sessionCookie)
	uat, ok := cookie(clientUATCookie)
	return cookieSession{token: tok, uat: parseClientUAT(uat), uatSent: ok}
}

// parseClientUAT reads a __client_uat value: a positive decimal integer, or
// 0 for anything else. (Clerk's parseInt would read "12abc" as 12 and "-5"
// as signed in; this does not.)
func parseClientUAT(v string) int64 {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// checkBeforeVerify applies Clerk's __client_uat rules to a cookie-carried
// session (authenticateRequestWithTokenInCookie): no token is signed out,
// with the reason saying whether the client claims a session; a token
// without a signed-in client is refused, before verification.
func (cs *cookieSession) checkBeforeVerify() error {
	switch {
	case cs.token == "" && cs.uat != 0:
		return verr(ReasonClientUATWithoutSessionToken, "__client_uat says signed in but there is no session cookie")
	case cs.token == "" && cs.uatSent:
		return verr(ReasonSessionTokenAndUATMissing, "no session token, client signed out")
	case cs.token == "":
		return verr(ReasonTokenMissing, "no session token")
	case cs.uat == 0:
		return verr(ReasonSessionTokenWithoutClientUAT, "session cookie without a signed-in __client_uat")
	}
	return nil
}

// checkAfterVerify refuses a verified cookie token issued before the
// client's last sign-in or sign-out: a sign-out, even in another tab or on
// another app of the instance, voids the tokens left in cookies. A token
// without iat cannot be shown newer and is refused too.
func (cs *cookieSession) checkAfterVerify(c *Claims) error {
	if c.IssuedAt.IsZero() || c.IssuedAt.Unix() < cs.uat {
		return verr(ReasonSessionTokenIATBeforeClientUAT, "session token issued before the client's last sign-in or sign-out")
	}
	return nil
}
