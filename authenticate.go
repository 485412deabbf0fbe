package clerkauth

import (
	"context"
	"errors"
	"net/http"
)

// Credentials is the part of a request that authentication reads, for
// any transport: [Middleware.Authenticate] decides from it alone, so
// net/http, gin, echo and fiber (on fasthttp) reach the same verdicts and
// answers. [Middleware.AuthenticateRequest] fills it from an
// *http.Request; an adapter of another transport fills every field it can.
//
// Later versions may add fields for new rules; a zero field means the
// transport does not know, and [CredentialSource] reaches any header, so
// an adapter that fills Source keeps up without a change.
type Credentials struct {
	// Method is the request method, such as "GET".
	Method string

	// Host is the host the request was sent to, as http.Request.Host
	// holds it (the Host header, HTTP/2's :authority). Left empty, no
	// Origin matches it, so an unsafe request with a session cookie and an
	// Origin header is refused as cross-origin.
	Host string

	// Authorization holds the value of every Authorization header, in
	// order. More than one is malformed and answered 400.
	Authorization []string

	// Source looks up the request's other headers and its cookies, only
	// when the decision needs them. nil means none.
	Source CredentialSource

	// Token, when not nil, replaces Authorization and the cookies as the
	// token's source, as MiddlewareOptions.TokenExtractor does for
	// net/http. It returns "", nil for a request without a token; an error
	// is answered 400 invalid_request.
	Token func() (string, error)

	// Volatile reports that the strings of the request alias memory the
	// transport reuses once the request is answered, as fasthttp's do. The
	// decision then copies the token before keeping it (in the verified
	// state, the caches, a call to Clerk still running after the request).
	Volatile bool
}

// CredentialSource is a transport's view of a request's headers and
// cookies. An implementation should be pointer-shaped, so that storing it
// in [Credentials] does not allocate, and must answer for the duration of
// the Authenticate call.
type CredentialSource interface {
	// Get returns the first value of the request header name (such as
	// Origin, Sec-Fetch-Site or Access-Control-Request-Method), "" when
	// absent. name is in canonical form.
	Get(name string) string
	// Cookie returns the value of the first cookie named name, and whether
	// there is one.
	Cookie(name string) (string, bool)
}

// credentials turns the exported Credentials into the decision's input.
// It is the only place that does, so a field added to credentials for a
// new rule is filled here for every transport.
func (in *Credentials) credentials() credentials {
	return credentials{
		authorization: in.Authorization,
		source:        in.Source,
		method:        in.Method,
		host:          in.Host,
		volatile:      in.Volatile,
		custom:        in.Token,
	}
}

// disposition is what a transport does with a request after the decision.
// The zero value refuses, so a zero Decision lets nothing through.
type disposition uint8

const (
	refused           disposition = iota // answer with the error
	untouched                            // skipped, or a CORS preflight passed on: as is
	signedIn                             // pass on with the verified session
	signedOut                            // optional: pass on signed out
	preflightAnswered                    // a CORS preflight answered 204 here
)

// Decision is the middleware's verdict on one request, apart from any
// transport, as returned by [Middleware.Authenticate]. A transport then
// sets the headers of every answer ([Decision.SetHeaders] or
// [Decision.EachHeader]) and either answers the request itself when not
// Allowed ([Decision.ServeHTTP], or [Decision.Reply] without net/http), or
// passes it on with [Decision.Context].
//
// A Decision is a value for one request, not safe for concurrent
// mutation; its methods only read it. The zero Decision refuses the
// request with an internal error.
type Decision struct {
	m    *Middleware
	st   authState
	err  error
	disp disposition
}

// errZeroDecision is the error of a zero Decision: a bug of the caller.
var errZeroDecision = errors.New("clerkauth: zero Decision")

// Allowed reports whether the request goes on to the protected handler:
// signed in; signed out in optional mode; or untouched (Skip, a CORS
// preflight passed on). When false, answer with [Decision.ServeHTTP] or
// [Decision.Reply]: a refusal, or the 204 of a CORS preflight in required
// mode (see MiddlewareOptions.AuthenticatePreflight).
func (d *Decision) Allowed() bool {
	return d.disp == untouched || d.disp == signedIn || d.disp == signedOut
}

// Err returns why the request is not signed in: nil when it is, for an
// untouched request and for an answered CORS preflight; otherwise an
// error matching one of the sentinels listed at [DefaultErrorHandler]. An
// Allowed request may carry an error (optional mode lets it through
// signed out).
func (d *Decision) Err() error {
	if d.disp == refused && d.err == nil {
		return errZeroDecision
	}
	return d.err
}

// Claims returns the verified session claims of a signed-in request. The
// Claims are shared and MUST NOT be modified.
func (d *Decision) Claims() (*Claims, bool) {
	if d.disp != signedIn || d.st.claims == nil {
		return nil, false
	}
	return d.st.claims, true
}

// Context returns parent carrying the decision's state, for the request
// passed on: [SessionFromContext], [TokenFromContext] and the guards read
// it. It returns parent itself for an untouched or refused request. It
// allocates once.
//
// A framework whose own context type is a context.Context that does not
// reach the request's (gin's *gin.Context, fiber.Ctx) should also store
// the returned context under [ContextKey] in its own store.
func (d *Decision) Context(parent context.Context) context.Context {
	if d.disp != signedIn && d.disp != signedOut {
		return parent
	}
	return withAuthState(parent, d.st)
}

// SetHeaders sets the headers every answer to the request carries on h:
// Vary: Authorization, Cookie (added to a Vary already there), and with
// MiddlewareOptions.DebugHeaders the X-Clerk-Auth-Status and
// X-Clerk-Auth-Reason headers. For a signed-in request it also sets
// Cache-Control: private when h has no Cache-Control yet, so that no
// shared cache stores a response made for one user (RFC 9111 §3.5 keeps
// only requests with an Authorization header out of shared caches, and a
// cache that ignores Vary would serve a cookie-authenticated page to the
// next caller); a handler that sets its own Cache-Control replaces it. It
// sets nothing for an untouched request. Call it before answering or
// passing the request on.
func (d *Decision) SetHeaders(h http.Header) {
	if d.disp == untouched || d.disp == preflightAnswered {
		return
	}
	addVary(h)
	if _, ok := h["Cache-Control"]; !ok && d.disp == signedIn {
		h["Cache-Control"] = cachePrivate
	}
	d.eachDebugHeader(h.Set)
}

// cachePrivate is the Cache-Control value of a signed-in response. Its
// capacity is its length, so an Add by a later handler copies it rather
// than writing into it.
var cachePrivate = []string{"private"}[:1:1]

// EachHeader calls add with each header SetHeaders sets, for transports
// without an http.Header: add should append a "Vary" value to the
// response's Vary header, set "Cache-Control" only when the response has
// none yet, and set the others.
func (d *Decision) EachHeader(add func(key, value string)) {
	if d.disp == untouched || d.disp == preflightAnswered {
		return
	}
	add("Vary", varyCredentials[0])
	if d.disp == signedIn {
		add("Cache-Control", cachePrivate[0])
	}
	d.eachDebugHeader(add)
}

func (d *Decision) eachDebugHeader(set func(key, value string)) {
	if d.m == nil || !d.m.debug {
		return
	}
	status, reason := debugValues(d.err)
	set("X-Clerk-Auth-Status", status)
	if reason != "" {
		set("X-Clerk-Auth-Reason", reason)
	}
}

// Reply returns the default answer to a request that is not Allowed: for
// a refusal, what [DefaultErrorHandler] writes with the middleware's
// realm; for an answered CORS preflight, a bare 204 (no headers, no body).
// It ignores MiddlewareOptions.ErrorHandler, which needs an
// http.ResponseWriter (use [Decision.ServeHTTP] where there is one).
func (d *Decision) Reply() ErrorReply {
	if d.disp == preflightAnswered {
		return ErrorReply{Status: http.StatusNoContent}
	}
	realm := DefaultRealm
	if d.m != nil {
		realm = d.m.realm
	}
	return renderError(realm, d.Err())
}

// Authenticate decides a request from its credentials alone, whatever
// transport carries it: it extracts the token (Authorization header, then
// the session cookies, or Token), verifies it, and applies the
// middleware's options (Optional, TreatInvalidAsSignedOut,
// AuthenticatePreflight, OnlineFallback). The net/http middleware and the
// gin, echo and fiber adapters all call it, so each answers every request
// alike.
//
// MiddlewareOptions.Skip and TokenExtractor take an *http.Request: they
// apply through [Middleware.AuthenticateRequest] only. Authenticate does
// not allocate when the token is in the verified-token cache and
// in.Volatile is false.
func (m *Middleware) Authenticate(ctx context.Context, in Credentials) Decision {
	return m.decision(ctx, in.credentials())
}

// HTTPOnlyOptions returns the names of the options m was built with that
// take net/http types (MiddlewareOptions.Skip, TokenExtractor and
// ErrorHandler, in that order), nil when none is set. Only
// [Middleware.AuthenticateRequest], [Middleware.WriteError] and
// [Decision.ServeHTTP] apply them: an adapter that decides from
// [Credentials] alone calls it to refuse, at set-up, options it would
// otherwise ignore. It is safe for concurrent use.
func (m *Middleware) HTTPOnlyOptions() []string {
	var names []string
	if m.skip != nil {
		names = append(names, "Skip")
	}
	if m.extractor != nil {
		names = append(names, "TokenExtractor")
	}
	if m.resp.custom {
		names = append(names, "ErrorHandler")
	}
	return names
}

// AuthenticateRequest decides r as [Middleware.Handler] does: Skip first,
// then TokenExtractor or r's Authorization header and cookies, through
// [Middleware.Authenticate]. Adapters of routers built on net/http (gin,
// echo) call it.
func (m *Middleware) AuthenticateRequest(r *http.Request) Decision {
	if m.skip != nil && m.skip(r) {
		return Decision{m: m, disp: untouched}
	}
	return m.decision(r.Context(), m.credentialsOf(r))
}

// credentialsOf reads r's credentials for decide, through Credentials as
// every transport does. The lookups are lazy, so a request pays only for
// what the decision reads.
func (m *Middleware) credentialsOf(r *http.Request) credentials {
	in := Credentials{
		Method:        r.Method,
		Host:          r.Host,
		Authorization: r.Header.Values("Authorization"),
		Source:        (*httpRequest)(r),
	}
	if m.extractor != nil {
		in.Token = func() (string, error) { return m.extractor(r) }
	}
	return in.credentials()
}

func (m *Middleware) decision(ctx context.Context, in credentials) Decision {
	d := Decision{m: m}
	switch m.preflight(in) {
	case preflightPass:
		d.disp = untouched
		return d
	case preflightAnswer:
		d.disp = preflightAnswered
		return d
	}
	d.st, d.err = m.decide(ctx, in)
	switch {
	case d.err == nil:
		d.disp = signedIn
	case m.passesSignedOut(d.err):
		d.disp = signedOut
	}
	return d
}

// ServeHTTP answers a request that is not Allowed as [Middleware.Handler]
// does: a refusal through MiddlewareOptions.ErrorHandler (by default
// [DefaultErrorHandler] with the middleware's realm), a CORS preflight
// with 204. Call SetHeaders first. Adapters of routers built on net/http
// (gin, echo) answer with it. It writes nothing for an Allowed request.
func (d *Decision) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case d.disp == preflightAnswered:
		w.WriteHeader(http.StatusNoContent)
	case d.Allowed():
	case d.m == nil:
		writeError(w, DefaultRealm, d.Err())
	default:
		d.m.resp.fail(w, r, d.Err())
	}
}

// WriteError answers a failed request as the middleware does: through
// MiddlewareOptions.ErrorHandler, by default [DefaultErrorHandler] with
// its realm. Adapters of routers built on net/http answer refused
// requests and failed guards with it.
func (m *Middleware) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	m.resp.fail(w, r, err)
}

// RenderError returns the default answer to err with the middleware's
// realm, for transports without an http.ResponseWriter.
func (m *Middleware) RenderError(err error) ErrorReply {
	return renderError(m.realm, err)
}

// Authorize returns nil when claims, the verified session of a request
// (nil when signed out), satisfies c (see [Claims.Has]); otherwise the
// error the guards answer with: one matching ErrNoToken without a
// session, a [*ForbiddenError] when the session fails c. Adapters build
// their guards on it.
func Authorize(claims *Claims, c Check) error {
	switch {
	case claims == nil:
		return verr(ReasonTokenMissing, "no session")
	case !claims.Has(c):
		return &ForbiddenError{Check: c}
	}
	return nil
}
