package clerkauth

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// This file is the middleware's authentication decision, apart from any
// transport. Its exported face is Middleware.Authenticate (authenticate.go):
// Middleware.Handler and the adapters of other frameworks (clerkgin,
// clerkecho, clerkecho5, clerkfiber) all fill a Credentials, which becomes the
// credentials below in one place (Credentials.credentials), call decide
// through Authenticate, and answer a failure with RenderError (respond.go)
// or their ErrorHandler, as Go's http.CrossOriginProtection separates Check
// from Handler. A rule that needs another part of the request reads it
// through in.get (any header) or a new field filled from Credentials.

// credentials is what the decision needs from a request, whatever carries
// it. It is built only by Credentials.credentials.
type credentials struct {
	// authorization holds the value of every Authorization header, in
	// order: more than one is malformed.
	authorization []string
	// source looks up cookies and other headers lazily, so that a request
	// pays only for what the decision reads; nil for none.
	source requestSource
	// method is the request method.
	method string
	// host is the request's Host (host[:port]), to which a cookie-carried
	// request's Origin is compared.
	host string
	// volatile reports that the strings above alias memory the transport
	// reuses once the request is answered: decide copies the token.
	volatile bool
	// custom, when set, is the MiddlewareOptions.TokenExtractor bound to the
	// request: it replaces the Authorization header and the cookies.
	custom func() (string, error)
}

// requestSource is a transport's view of a request's cookies and headers:
// the exported CredentialSource, which adapters implement.
type requestSource = CredentialSource

// httpRequest is the requestSource of a net/http request.
type httpRequest http.Request

// Cookie returns the value of r's first cookie named name.
func (r *httpRequest) Cookie(name string) (string, bool) {
	c, err := (*http.Request)(r).Cookie(name)
	if err != nil {
		return "", false
	}
	return c.Value, true
}

// Get returns the first value of r's header name.
func (r *httpRequest) Get(name string) string { return r.Header.Get(name) }

// get returns the named header, "" when absent or unknown.
func (in *credentials) get(name string) string {
	if in.source == nil {
		return ""
	}
	return in.source.Get(name)
}

// preflightAction is what the middleware does with a request before
// authenticating it.
type preflightAction uint8

const (
	// preflightDecide: not a CORS preflight, or AuthenticatePreflight is
	// set; the request is decided like any other.
	preflightDecide preflightAction = iota
	// preflightPass: a preflight that goes to the next handler signed out
	// (optional mode, or InsecurePassPreflight).
	preflightPass
	// preflightAnswer: a preflight answered 204 No Content without calling
	// the next handler (required mode, the default).
	preflightAnswer
)

// isPreflight reports whether in is a CORS preflight: OPTIONS with
// Access-Control-Request-Method.
func (in *credentials) isPreflight() bool {
	return in.method == http.MethodOptions && in.get("Access-Control-Request-Method") != ""
}

// preflight decides what becomes of a CORS preflight. Browsers never send
// credentials with one, so authenticating it would fail it; passing it to
// the next handler would run a protected handler with no session. In
// required mode it is therefore answered here (204), leaving the CORS
// headers to a CORS middleware placed in front; in optional mode it goes on
// signed out, as any request without a token.
func (m *Middleware) preflight(in credentials) preflightAction {
	switch {
	case m.authPreflight || !in.isPreflight():
		return preflightDecide
	case m.optional || m.passPreflight:
		return preflightPass
	}
	return preflightAnswer
}

// decideUnobserved extracts and verifies the token of in. The state it
// returns is signed out when err is not nil; the request then goes on
// signed out when passesSignedOut(err), and is answered with err otherwise.
// Callers use decide (observe_points.go), which reports the decision.
func (m *Middleware) decideUnobserved(ctx context.Context, in credentials) (authState, error) {
	st := authState{resp: m.resp}
	token, from, err := m.extract(in)
	if err != nil {
		return st, err
	}
	if from == fromCookie {
		return m.decideCookie(ctx, in, st)
	}
	if token == "" {
		return st, verr(ReasonTokenMissing, "no session token")
	}
	if in.volatile {
		token = strings.Clone(token) // kept in the state, caches and calls
	}
	if m.accepts != kindSession {
		return m.decideKind(ctx, st, token, from) // machine_decide.go
	}
	c, err := m.verify(ctx, token)
	if err != nil {
		if from == fromHeader && !isB64Token(token) {
			return st, errNotB64Token() // malformed credentials: 400, not 401
		}
		return st, sessionOnlyError(token, err)
	}
	st.claims, st.token = c, token
	return st, nil
}

// decideCookie decides a request whose token, if any, is in the session
// cookies: Clerk's __client_uat rules, then the cross-origin check, then
// verification.
func (m *Middleware) decideCookie(ctx context.Context, in credentials, st authState) (authState, error) {
	cs := readCookieSession(in.source.Cookie, m.suffix)
	if in.volatile {
		cs.token = strings.Clone(cs.token) // kept in the state, caches and calls
	}
	if err := cs.checkBeforeVerify(); err != nil {
		return st, err
	}
	if m.csrfCheck {
		if err := m.checkCrossOrigin(&in); err != nil {
			return st, err
		}
	}
	c, err := m.verify(ctx, cs.token)
	if err == nil {
		err = cs.checkAfterVerify(c)
	}
	if err != nil {
		return st, sessionOnlyError(cs.token, err) // machine tokens are never read from cookies
	}
	st.claims, st.token = c, cs.token
	return st, nil
}

// tokenCarrier says where a request's token was found.
type tokenCarrier uint8

const (
	fromNothing   tokenCarrier = iota
	fromHeader                 // the Authorization header
	fromCookie                 // the session cookies, read by decideCookie
	fromExtractor              // MiddlewareOptions.TokenExtractor
)

// extract finds the token of in and where it was. A token of the
// Authorization header still has its b64token syntax to be checked if it
// fails to verify: the per-byte check is skipped for tokens that verify.
// For fromCookie it returns no token: the cookies are read by decideCookie.
func (m *Middleware) extract(in credentials) (token string, from tokenCarrier, err error) {
	if in.custom != nil {
		tok, err := in.custom()
		if err != nil {
			return "", fromNothing, invalidRequestWrap("token extractor failed", err)
		}
		return tok, fromExtractor, nil
	}
	tok, err := bearerFromValues(in.authorization, false)
	switch {
	case err != nil:
		return "", fromNothing, err
	case tok != "":
		return tok, fromHeader, nil
	case !m.cookies || in.source == nil || m.accepts&kindSession == 0:
		return "", fromNothing, nil // a route without sessions reads no cookies
	}
	return "", fromCookie, nil
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
