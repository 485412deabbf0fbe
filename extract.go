package clerkauth

import (
	"net/http"
	"strings"
)

// Cookie names Clerk's frontend SDKs store the session token in.
const (
	sessionCookie = "__session"
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

// cookieToken returns the session token of the __session_<suffix> cookie
// when there is a non-empty one, else of the __session cookie, else "".
// This is a subset of Clerk's rules (clerk-session-tokens.md §1.2): the
// suffixed cookie is the instance's own, the unsuffixed one a fallback for
// applications that predate suffixed cookies. When a cookie name repeats,
// the first value is used, as browsers send the most specific path first.
func cookieToken(cookie func(name string) (string, bool), suffix string) string {
	if suffix != "" {
		if v, ok := cookie(sessionCookie + "_" + suffix); ok && v != "" {
			return v
		}
	}
	if v, ok := cookie(sessionCookie); ok {
		return v
	}
	return ""
}
