package clerkauth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// MiddlewareOptions configures a [Middleware]. The zero value is a
// required-session middleware reading the Authorization header and the
// __session cookie, with RFC 6750 responses and no network calls besides
// the Verifier's key fetches.
type MiddlewareOptions struct {
	// Optional lets requests without a token through, signed out:
	// [SessionFromContext] then reports false. A request with an invalid
	// token is still rejected unless TreatInvalidAsSignedOut is set, and
	// one that cannot be judged (keys unavailable) is answered 503.
	Optional bool

	// TreatInvalidAsSignedOut, with Optional, lets requests whose token is
	// invalid or expired through as signed out, as Clerk's SDKs do, instead
	// of answering 401. Malformed credentials are still answered 400.
	TreatInvalidAsSignedOut bool

	// Realm is the realm of the WWW-Authenticate challenges. Default
	// DefaultRealm. It may not hold '"', '\' or control characters.
	Realm string

	// TokenExtractor, when set, replaces the built-in token sources (the
	// Authorization header, then the session cookies), for WebSockets and
	// other carriers. It returns "", nil for a request without a token; an
	// error is answered 400 invalid_request. [BearerToken] may be used to
	// keep the header as one of its sources.
	TokenExtractor func(*http.Request) (string, error)

	// PublishableKey selects the instance's suffixed session cookie,
	// __session_<suffix> (see [CookieSuffix]), which is then preferred to
	// __session. Default: the Verifier's Config.PublishableKey. Without
	// either, only __session is read.
	PublishableKey string

	// DisableCookies reads the token from the Authorization header only.
	// Cookies are read by default, as Clerk's SDKs do, for same-origin
	// browser apps; such apps should set Config.AuthorizedParties, which
	// closes cross-site and subdomain cookie attacks.
	DisableCookies bool

	// Skip, when it returns true, lets the request through untouched and
	// signed out, for public paths such as health checks.
	Skip func(*http.Request) bool

	// AuthenticatePreflight authenticates CORS preflight requests (OPTIONS
	// with Access-Control-Request-Method) too. By default they pass
	// through untouched, since browsers never send credentials with them.
	AuthenticatePreflight bool

	// ErrorHandler answers every failed request, for a custom response or
	// logging; it receives the error, which matches one of the sentinels
	// listed at [DefaultErrorHandler]. Default DefaultErrorHandler(Realm).
	// The guards use it too for requests authenticated by this middleware.
	ErrorHandler func(http.ResponseWriter, *http.Request, error)

	// DebugHeaders adds X-Clerk-Auth-Status ("signed-in" or "signed-out")
	// and, for failures, X-Clerk-Auth-Reason (the reason code) to every
	// response, as Clerk's SDKs do. Off by default: the reason tells a
	// caller which check its token failed; the error body tells it anyway,
	// but these headers also reach responses of custom error handlers.
	DebugHeaders bool

	// SessionsClient calls Clerk's Sessions API. It is needed by
	// [Middleware.RequireActiveSession], [Middleware.Revoke] and
	// OnlineFallback, and unused otherwise.
	SessionsClient *SessionsClient

	// OnlineFallback asks Clerk to verify a token when networkless
	// verification cannot decide: the signing keys are unavailable, or the
	// token's key ID is unknown even after a key refresh. Off by default.
	// See [Middleware] for its guarantees. It needs a SessionsClient. The
	// verify endpoint was removed from Backend API versions after
	// 2025-03-12, so the fallback's calls are pinned to that version
	// whatever the client's Config.APIVersion; if Clerk answers 410 the
	// fallback disables itself and logs it once.
	OnlineFallback bool

	// FallbackFailureThreshold is the number of consecutive failed calls
	// (network errors, 5xx, 429, 401, 403) after which the fallback's
	// circuit opens. Default 5.
	FallbackFailureThreshold int

	// FallbackCoolOff is how long the open circuit refuses calls before
	// letting one probe through. Default 30 s.
	FallbackCoolOff time.Duration

	// FallbackMaxConcurrent bounds the fallback calls in flight; tokens
	// beyond it are answered as if there were no fallback. Default 16.
	// Note that anyone can mint a token with plausible claims and an
	// unknown key ID: while the fallback is on, each distinct such token
	// costs one call to Clerk. This bound, the circuit breaker (Clerk's 429s
	// count as failures) and Clerk's verdicts keep that from doing harm
	// beyond spending the instance's Backend API rate limit.
	FallbackMaxConcurrent int

	// ActiveSessionTTL is how long RequireActiveSession trusts an answer
	// of the Sessions API about a session. Default 5 s; at most 1 minute.
	ActiveSessionTTL time.Duration

	// Logger receives the middleware's rare events (the fallback disabling
	// itself, its circuit breaker opening and closing) and, at Debug, its
	// per-request decisions. Default the Verifier's Config.Logger, else the
	// SessionsClient's; without either, no logging.
	Logger *slog.Logger

	// Now returns the current time. Default time.Now. Tests inject a clock.
	Now func() time.Time
}

// Defaults of [MiddlewareOptions].
const (
	// DefaultFallbackFailureThreshold is the default of
	// MiddlewareOptions.FallbackFailureThreshold.
	DefaultFallbackFailureThreshold = 5
	// DefaultFallbackCoolOff is the default of
	// MiddlewareOptions.FallbackCoolOff.
	DefaultFallbackCoolOff = 30 * time.Second
	// DefaultFallbackMaxConcurrent is the default of
	// MiddlewareOptions.FallbackMaxConcurrent.
	DefaultFallbackMaxConcurrent = 16
	// DefaultActiveSessionTTL is the default of
	// MiddlewareOptions.ActiveSessionTTL.
	DefaultActiveSessionTTL = 5 * time.Second

	maxActiveSessionTTL = time.Minute
	sessionsCallTimeout = 10 * time.Second
)

// Middleware authenticates requests with Clerk session tokens and puts the
// verified session into the request context (see [SessionFromContext]).
// It never redirects and never runs Clerk's handshake: an API answers 400,
// 401 or 503 (see [DefaultErrorHandler]).
//
// The token is read from the Authorization header (Bearer scheme; see
// [BearerToken]) and, only when there is no bearer token, from the
// __session_<suffix> or __session cookie; a TokenExtractor replaces both.
//
// With OnlineFallback, a token that networkless verification cannot judge
// is sent to Clerk (POST /sessions/{sid}/verify) only after its unverified
// claims have passed every check but the signature, and only when the
// failure is the keys' (ErrKeysUnavailable) or an unknown key ID: never for
// a token that is malformed, expired or badly signed under a known key.
// Concurrent requests with the same token make one call; a confirmed token
// is remembered until its exp; a circuit breaker stops calling an API that
// keeps failing; and when Clerk answers that the endpoint is gone (410) the
// fallback turns itself off and logs it once.
//
// A Middleware is safe for concurrent use by multiple goroutines. Call
// Close when done with it to stop its in-flight Sessions API calls.
type Middleware struct {
	v             *Verifier
	optional      bool
	invalidIsOut  bool
	cookies       bool
	suffix        string
	extractor     func(*http.Request) (string, error)
	skip          func(*http.Request) bool
	authPreflight bool
	debug         bool
	resp          *responder
	sessions      *SessionsClient
	fallback      *onlineFallback // nil when off
	active        *activeChecker  // nil without a SessionsClient
	now           func() time.Time
	logger        *slog.Logger
	obs           *observer // nil when nothing observes
	flights       *flightScope
}

// responder answers failed requests.
type responder struct {
	handler func(http.ResponseWriter, *http.Request, error)
}

func (p *responder) fail(w http.ResponseWriter, r *http.Request, err error) {
	if p == nil {
		writeError(w, DefaultRealm, err)
		return
	}
	p.handler(w, r, err)
}

// NewMiddleware returns a Middleware that verifies tokens with v. It fails
// with an error matching ErrInvalidConfig for an invalid realm, or options
// that need a SessionsClient without one.
func NewMiddleware(v *Verifier, opts MiddlewareOptions) (*Middleware, error) {
	if v == nil {
		return nil, fmt.Errorf("%w: NewMiddleware: nil Verifier", ErrInvalidConfig)
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	m := &Middleware{
		v: v, optional: opts.Optional, invalidIsOut: opts.Optional && opts.TreatInvalidAsSignedOut,
		cookies: !opts.DisableCookies, extractor: opts.TokenExtractor, skip: opts.Skip,
		authPreflight: opts.AuthenticatePreflight, debug: opts.DebugHeaders,
		sessions: opts.SessionsClient, now: opts.Now, logger: opts.Logger,
		resp:    &responder{handler: opts.ErrorHandler},
		flights: newFlightScope(),
	}
	if m.now == nil {
		m.now = v.now
	}
	m.setObserver() // observe_points.go: the logger and observer
	m.suffix = v.cookieSuffix
	if opts.PublishableKey != "" {
		m.suffix = CookieSuffix(opts.PublishableKey)
	}
	if m.resp.handler == nil {
		m.resp.handler = DefaultErrorHandler(opts.Realm)
	}
	if m.sessions != nil {
		m.active = newActiveChecker(m, orDefault(opts.ActiveSessionTTL, DefaultActiveSessionTTL))
	}
	if opts.OnlineFallback {
		m.fallback = newOnlineFallback(m, opts)
	}
	return m, nil
}

// lastVerifyVersion is the newest Backend API version with
// POST /sessions/{id}/verify.
const lastVerifyVersion = "2025-03-12"

func (o *MiddlewareOptions) check() error {
	switch {
	case o.Realm != "" && sanitizeQuoted(o.Realm) != o.Realm:
		return fmt.Errorf("%w: Realm may hold only printable ASCII without '\"' or '\\'", ErrInvalidConfig)
	case o.OnlineFallback && o.SessionsClient == nil:
		return fmt.Errorf("%w: OnlineFallback needs a SessionsClient", ErrInvalidConfig)
	case o.ActiveSessionTTL < 0 || o.ActiveSessionTTL > maxActiveSessionTTL:
		return fmt.Errorf("%w: ActiveSessionTTL must be within (0, %v]", ErrInvalidConfig, maxActiveSessionTTL)
	case o.FallbackFailureThreshold < 0 || o.FallbackCoolOff < 0 || o.FallbackMaxConcurrent < 0:
		return fmt.Errorf("%w: negative fallback setting", ErrInvalidConfig)
	}
	return nil
}

// RequireSession returns a middleware that rejects requests without a
// valid session token, with default options. It panics if v is nil. Use
// [NewMiddleware] for options.
func RequireSession(v *Verifier) func(http.Handler) http.Handler {
	return mustMiddleware(v, MiddlewareOptions{}).Handler
}

// OptionalSession returns a middleware that lets requests without a token
// through signed out and rejects invalid tokens, with default options. It
// panics if v is nil.
func OptionalSession(v *Verifier) func(http.Handler) http.Handler {
	return mustMiddleware(v, MiddlewareOptions{Optional: true}).Handler
}

func mustMiddleware(v *Verifier, opts MiddlewareOptions) *Middleware {
	m, err := NewMiddleware(v, opts)
	if err != nil {
		panic(err)
	}
	return m
}

// Handler returns next wrapped in authentication. Its signature fits
// routers' Use methods (chi's r.Use(m.Handler)). It panics if next is nil.
// It is the net/http adapter over the transport-neutral decision (decide.go).
func (m *Middleware) Handler(next http.Handler) http.Handler {
	if next == nil {
		panic("clerkauth: Middleware.Handler: nil next handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m.skip != nil && m.skip(r) {
			next.ServeHTTP(w, r)
			return
		}
		in := m.credentialsOf(r)
		if m.passesPreflight(in) {
			next.ServeHTTP(w, r)
			return
		}
		addVary(w.Header())
		st, err := m.decide(r.Context(), in)
		m.setDebugHeaders(w, err)
		if err != nil && !m.passesSignedOut(err) {
			m.resp.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(withAuthState(r.Context(), st)))
	})
}

// credentialsOf reads r's credentials for decide. The lookups are lazy, so
// a request pays only for what the decision reads.
func (m *Middleware) credentialsOf(r *http.Request) credentials {
	in := credentials{
		authorization: r.Header.Values("Authorization"),
		source:        (*httpRequest)(r),
		method:        r.Method,
	}
	if m.extractor != nil {
		in.custom = func() (string, error) { return m.extractor(r) }
	}
	return in
}

// varyCredentials is the Vary value of every response the middleware
// handles. Its capacity is its length, so an append by a later handler
// copies it rather than writing into it.
var varyCredentials = []string{"Authorization, Cookie"}[:1:1]

// addVary adds the credentials to h's Vary header, without allocating when
// h has no Vary yet.
func addVary(h http.Header) {
	if _, ok := h["Vary"]; !ok {
		h["Vary"] = varyCredentials
		return
	}
	h.Add("Vary", "Authorization, Cookie")
}

// setDebugHeaders sets the DebugHeaders of a response to a request decided
// with err.
func (m *Middleware) setDebugHeaders(w http.ResponseWriter, err error) {
	if !m.debug {
		return
	}
	status, reason := debugValues(err)
	h := w.Header()
	h.Set("X-Clerk-Auth-Status", status)
	if reason != "" {
		h.Set("X-Clerk-Auth-Reason", reason)
	}
}

// verify verifies token networklessly, then online when that cannot decide
// and the fallback is on.
func (m *Middleware) verify(ctx context.Context, token string) (*Claims, error) {
	c, err := m.v.Verify(ctx, token)
	if err == nil || m.fallback == nil {
		return c, err
	}
	return m.fallback.verifyOnline(ctx, token, err) // fallback.verify, reported
}

// Revoke revokes the session at Clerk (POST /sessions/{id}/revoke) and
// makes this instance reject its tokens at once, through the Verifier's
// [RevocationStore] (every replica sharing the store, for a shared one).
// The local revocation is recorded first, so it holds even when the call
// to Clerk fails; the error then matches ErrRevokedLocallyOnly. Without a
// SessionsClient the session is revoked locally only and the error matches
// both ErrRevokedLocallyOnly and ErrInvalidConfig.
func (m *Middleware) Revoke(ctx context.Context, sessionID string) error {
	if err := m.v.MarkRevoked(ctx, sessionID); err != nil {
		return err
	}
	if m.active != nil {
		m.active.forget(sessionID)
	}
	if m.sessions == nil {
		return fmt.Errorf("%w: %w: Revoke needs MiddlewareOptions.SessionsClient", ErrRevokedLocallyOnly, ErrInvalidConfig)
	}
	if _, err := m.sessions.Revoke(ctx, sessionID); err != nil {
		return fmt.Errorf("%w: %w", ErrRevokedLocallyOnly, err)
	}
	return nil
}

// Close stops the Sessions API calls in flight and waits for them. It does
// not close the Verifier. The Middleware keeps working, without them.
func (m *Middleware) Close() error {
	m.flights.close()
	return nil
}
