package clerkauth

import (
	"context"
	"errors"
	"net/http"
)

// This file is the middleware's authentication decision, apart from any
// transport: Middleware.Handler is its net/http adapter, and adapters for
// other frameworks fill a credentials from their own request type, call
// decide, and answer a failure with renderError (respond.go) or their
// ErrorHandler, as Go's http.CrossOriginProtection separates Check from
// Handler.

// credentials is what the decision needs from a request, whatever carries
// it.
type credentials struct {
	// authorization holds the value of every Authorization header, in
	// order: more than one is malformed.
	authorization []string
	// source looks up cookies and other headers lazily, so that a request
	// pays only for what the decision reads; nil for none.
	source requestSource
	// method is the request method.
	method string
	// custom, when set, is the MiddlewareOptions.TokenExtractor bound to the
	// request: it replaces the Authorization header and the cookies.
	custom func() (string, error)
}

// requestSource is a transport's view of a request's cookies and headers.
// An implementation should be pointer-shaped (as *httpRequest is), so that
// storing it in credentials does not allocate.
type requestSource interface {
	// cookie returns the value of the first cookie named name, and whether
	// there is one.
	cookie(name string) (string, bool)
	// header returns the first value of a request header such as Origin,
	// Sec-Fetch-Site or Access-Control-Request-Method, "" when absent.
	header(name string) string
}

// httpRequest is the requestSource of a net/http request.
type httpRequest http.Request

func (r *httpRequest) cookie(name string) (string, bool) {
	c, err := (*http.Request)(r).Cookie(name)
	if err != nil {
		return "", false
	}
	return c.Value, true
}

func (r *httpRequest) header(name string) string { return r.Header.Get(name) }

// get returns the named header, "" when absent or unknown.
func (in *credentials) get(name string) string {
	if in.source == nil {
		return ""
	}
	return in.source.header(name)
}

// passesPreflight reports whether the request is a CORS preflight (OPTIONS
// with Access-Control-Request-Method) that passes untouched: browsers never
// send credentials with them.
func (m *Middleware) passesPreflight(in credentials) bool {
	return !m.authPreflight && in.method == http.MethodOptions &&
		in.get("Access-Control-Request-Method") != ""
}

// decideUnobserved extracts and verifies the token of in. The state it
// returns is signed out when err is not nil; the request then goes on
// signed out when passesSignedOut(err), and is answered with err otherwise.
// Callers use decide (observe_points.go), which reports the decision.
func (m *Middleware) decideUnobserved(ctx context.Context, in credentials) (authState, error) {
	st := authState{resp: m.resp}
	token, fromHeader, err := m.extract(in)
	if err != nil {
		return st, err
	}
	if token == "" {
		return st, verr(ReasonTokenMissing, "no session token")
	}
	c, err := m.verify(ctx, token)
	if err != nil {
		if fromHeader && !isB64Token(token) {
			return st, errNotB64Token() // malformed credentials: 400, not 401
		}
		return st, err
	}
	st.claims, st.token = c, token
	return st, nil
}

// extract finds the token of in. fromHeader reports a token of the
// Authorization header, whose b64token syntax is still to be checked if it
// fails to verify: the per-byte check is skipped for tokens that verify.
func (m *Middleware) extract(in credentials) (token string, fromHeader bool, err error) {
	if in.custom != nil {
		tok, err := in.custom()
		if err != nil {
			return "", false, invalidRequestWrap("token extractor failed", err)
		}
		return tok, false, nil
	}
	tok, err := bearerFromValues(in.authorization, false)
	if err != nil || tok != "" || !m.cookies || in.source == nil {
		return tok, tok != "", err
	}
	return cookieToken(in.source.cookie, m.suffix), false, nil
}

// passesSignedOut reports whether a failed request goes on signed out.
func (m *Middleware) passesSignedOut(err error) bool {
	switch {
	case !m.optional:
		return false
	case errors.Is(err, ErrNoToken):
		return true
	}
	return m.invalidIsOut && errors.Is(err, ErrInvalidToken)
}

// debugValues returns the X-Clerk-Auth-Status and X-Clerk-Auth-Reason
// values (DebugHeaders) of a request decided with err; reason is "" when
// signed in.
func debugValues(err error) (status, reason string) {
	if err == nil {
		return "signed-in", ""
	}
	return "signed-out", string(describe(err).reason)
}
