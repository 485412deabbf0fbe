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
	// browser apps. A cookie-carried token is subject to a cross-origin
	// check (see [Middleware]); an API called only with Authorization
	// headers should set DisableCookies.
	DisableCookies bool

	// TrustedOrigins lists origins, as "scheme://host[:port]" (such as
	// "https://admin.example.com"), whose cross-origin unsafe requests
	// (POST, PUT, DELETE…) may be authenticated by a session cookie. By
	// default none may: see [Middleware]. An origin with a path, query or
	// fragment is rejected with ErrInvalidConfig, as by
	// [http.CrossOriginProtection.AddTrustedOrigin]. Config.AuthorizedParties
	// does not imply trust here.
	TrustedOrigins []string

	// InsecureSkipCSRFCheck turns off the cross-origin check of unsafe
	// requests authenticated by a session cookie, leaving them open to
	// cross-site request forgery. Only for apps that stop forged requests
	// otherwise, for example with [http.CrossOriginProtection] in front of
	// the middleware.
	InsecureSkipCSRFCheck bool

	// Skip, when it returns true, lets the request through untouched and
	// signed out, for public paths such as health checks.
	Skip func(*http.Request) bool

	// AuthenticatePreflight authenticates CORS preflight requests (OPTIONS
	// with Access-Control-Request-Method) like any other request. Browsers
	// never send credentials with a preflight, so in required mode a
	// browser's preflight is then answered 401 and fails. By default a
	// preflight is not authenticated: see [Middleware] for what becomes of
	// it.
	AuthenticatePreflight bool

	// InsecurePassPreflight, in required mode, passes CORS preflight
	// requests to the next handler, unauthenticated and signed out,
	// instead of answering them 204 here. Only for a next handler that
	// answers preflights itself (a CORS middleware placed after this one):
	// any other handler would run without a session. Placing the CORS
	// middleware in front is safer. It cannot be combined with
	// AuthenticatePreflight.
	InsecurePassPreflight bool

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
	// verification cannot decide because the key source fails (key server
	// down or erroring, secret key refused). An unknown key ID never
	// triggers it: see Config.JWKSRefreshCooldown. Off by default.
	// See [Middleware] for its guarantees and its cost bound. It needs a
	// SessionsClient. The
	// verify endpoint was removed from Backend API versions after
	// 2025-03-12, so the fallback's calls are pinned to that version
	// whatever the client's Config.APIVersion; if Clerk answers 410 the
	// fallback disables itself and logs it once.
	OnlineFallback bool

	// FallbackFailureThreshold is the number of consecutive failed calls
	// (network errors, 5xx, 429, 401, 403) after which the fallback's
	// circuit opens. Clerk's refusals of a token (400, 404, 422) neither
	// count nor reset the count. Default 5.
	FallbackFailureThreshold int

	// FallbackCoolOff is how long the open circuit refuses calls before
	// letting one probe through. Default 30 s.
	FallbackCoolOff time.Duration

	// FallbackMaxConcurrent bounds the fallback calls in flight; tokens
	// beyond it are answered as if there were no fallback. Default 16.
	FallbackMaxConcurrent int

	// FallbackCallsPerSecond and FallbackBurst are the fallback's own rate
	// budget, a token bucket of FallbackBurst calls refilled at
	// FallbackCallsPerSecond: beyond it tokens are answered as if there
	// were no fallback. It keeps the fallback's share of the instance's
	// Backend API rate limit (100 requests per 10 s on development
	// instances) small, so that Revoke, RequireActiveSession and the
	// application's own calls are never starved. Defaults
	// DefaultFallbackCallsPerSecond (0.5) and DefaultFallbackBurst (5): at
	// most 10 calls in any 10 s, whatever the traffic.
	FallbackCallsPerSecond float64
	FallbackBurst          int

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

	// AcceptsToken lists the kinds of token the middleware accepts:
	// TokenKindSession, TokenKindM2M, TokenKindOAuth, TokenKindAPIKey, or
	// TokenKindAny for all four. Default: session tokens only. Machine
	// tokens are read only from the Authorization header (or the
	// TokenExtractor), never from cookies; a route that accepts no session
	// tokens reads no cookies at all. A token of a kind not listed is
	// answered 401 with reason token-type-mismatch, before any
	// verification and without any network request. See [MachineToken]
	// and the README's "Guarding internal APIs" for the decision table.
	// Accepting API keys or OAuth tokens needs the Verifier's
	// Config.SecretKey, M2M tokens its SecretKey or MachineSecretKey.
	AcceptsToken []TokenKind

	// StrictMachineTokens asks Clerk about every opaque machine token
	// (mt_…, oat_…, ak_…) instead of trusting an answer cached for
	// Config.MachineTokenCacheTTL: a revoked token is refused at once, for
	// one Backend API call per request. For revocation-sensitive routes.
	// Concurrent requests with the same token still share one call.
	StrictMachineTokens bool
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
	// DefaultFallbackCallsPerSecond is the default of
	// MiddlewareOptions.FallbackCallsPerSecond.
	DefaultFallbackCallsPerSecond = 0.5
	// DefaultFallbackBurst is the default of MiddlewareOptions.FallbackBurst.
	DefaultFallbackBurst = 5
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
// A cookie-carried token obeys Clerk's __client_uat rules, as Clerk's
// authenticateRequest applies them (header tokens do not): the Frontend API
// sets __client_uat (suffixed like the session cookie, and read from the
// same family) to the time of the client's last sign-in or sign-out, "0"
// when signed out. A session cookie is refused (401) when __client_uat is
// missing, "0" or not a positive integer (reason
// session-token-but-no-client-uat), or newer than the token's iat
// (session-token-iat-before-client-uat): so a sign-out in one tab or app of
// the instance ends the session's cookies everywhere at once, without
// waiting for the token to expire. Clerk's handshake outcomes are answered
// 401 with Clerk's reason, since the middleware never redirects. In
// optional mode these refusals pass signed out with TreatInvalidAsSignedOut,
// as Clerk's SDKs do.
//
// A CORS preflight (OPTIONS with Access-Control-Request-Method) carries no
// credentials and is never authenticated. In required mode it is answered
// 204 No Content with no body and the next handler is not called, so a
// handler behind the middleware never runs without a verified session. The
// preflight's CORS headers are a CORS middleware's job: place it in front,
// so that it answers preflights before they reach this one, as with
// github.com/rs/cors:
//
//	http.Handle("/api/", cors.New(cors.Options{
//		AllowedOrigins: []string{"https://app.example.com"},
//		AllowedHeaders: []string{"Authorization"},
//	}).Handler(m.Handler(api)))
//
// In optional mode a preflight goes to the next handler signed out.
// MiddlewareOptions.InsecurePassPreflight and AuthenticatePreflight change
// this.
//
// A token read from a session cookie is sent by the browser whichever site
// made the request, and its azp claim names the origin it was minted for,
// not the origin of the request: Config.AuthorizedParties does not stop
// cross-site request forgery. So an unsafe request (any method but GET,
// HEAD and OPTIONS) authenticated by a cookie is refused with 403
// ([ErrCrossOriginRequest]) when the browser reports it as cross-origin, by
// the rules of [http.CrossOriginProtection]: Sec-Fetch-Site other than
// "same-origin" or "none", or, from browsers that do not send it, an Origin
// whose host is not the request's Host. Requests without either header (not
// from a browser) pass. MiddlewareOptions.TrustedOrigins allows given
// origins; InsecureSkipCSRFCheck turns the check off. Tokens of the
// Authorization header are not affected (a browser never attaches one by
// itself), nor are those of a TokenExtractor, which must do its own check
// if it reads cookies. Safe methods are not checked: handlers must not
// change state on GET.
//
// With OnlineFallback, a token that networkless verification cannot judge
// is sent to Clerk (POST /sessions/{sid}/verify) only after its unverified
// claims have passed every check but the signature, and only when the key
// source fails: never for an unknown key ID, nor for a token that is
// malformed, expired or badly signed under a known key. Concurrent requests
// with the same token make one call; Clerk's verdict, confirmation or
// refusal, is remembered until the token's exp; calls are limited by the
// fallback's own rate budget and stopped by a circuit breaker while the API
// keeps failing; and when Clerk answers that the endpoint is gone (410) the
// fallback turns itself off and logs it once.
//
// Cost bound: anyone can forge a token with plausible claims. While the
// keys are available, N forged requests cost no Backend API call and at
// most one key fetch per Config.JWKSRefreshCooldown, whatever N. While the
// key source fails, they cost at most FallbackBurst +
// FallbackCallsPerSecond·t verify calls over t seconds (with the defaults,
// 10 per 10 s), and a token Clerk has answered costs nothing more until its
// exp. RequireActiveSession adds none: it runs only for verified tokens.
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
	passPreflight bool
	csrfCheck     bool
	trusted       trustedOrigins
	debug         bool
	realm         string // sanitized, never empty
	resp          *responder
	sessions      *SessionsClient
	fallback      *onlineFallback // nil when off
	active        *activeChecker  // nil without a SessionsClient
	now           func() time.Time
	logger        *slog.Logger
	obs           *observer // nil when nothing observes
	flights       *flightScope
	accepts       kindSet // token kinds accepted
	strict        bool    // StrictMachineTokens
}

// responder answers failed requests.
type responder struct {
	handler func(http.ResponseWriter, *http.Request, error)
	custom  bool // handler is MiddlewareOptions.ErrorHandler
}

func (p *responder) fail(w http.ResponseWriter, r *http.Request, err error) {
	if p == nil {
		writeError(w, DefaultRealm, err)
		return
	}
	p.handler(w, r, err)
}

// NewMiddleware returns a Middleware that verifies tokens with v. It fails
// with a [*ConfigError] (matching ErrInvalidConfig) naming the field for
// an invalid realm or duration, or options that need a SessionsClient
// without one.
func NewMiddleware(v *Verifier, opts MiddlewareOptions) (*Middleware, error) {
	if v == nil {
		return nil, fmt.Errorf("%w: NewMiddleware: nil Verifier", ErrInvalidConfig)
	}
	if err := opts.check(); err != nil {
		return nil, err
	}
	accepts, err := kindSetOf(opts.AcceptsToken)
	if err != nil {
		return nil, err
	}
	if err := v.checkAccepts(accepts); err != nil {
		return nil, err
	}
	trusted, err := newTrustedOrigins(opts.TrustedOrigins)
	if err != nil {
		return nil, err
	}
	m := &Middleware{
		v: v, optional: opts.Optional, invalidIsOut: opts.Optional && opts.TreatInvalidAsSignedOut,
		cookies: !opts.DisableCookies, extractor: opts.TokenExtractor, skip: opts.Skip,
		authPreflight: opts.AuthenticatePreflight, passPreflight: opts.InsecurePassPreflight,
		csrfCheck: !opts.InsecureSkipCSRFCheck, trusted: trusted,
		debug: opts.DebugHeaders, sessions: opts.SessionsClient, now: opts.Now, logger: opts.Logger,
		resp:    &responder{handler: opts.ErrorHandler, custom: opts.ErrorHandler != nil},
		flights: newFlightScope(),
		accepts: accepts, strict: opts.StrictMachineTokens,
	}
	if m.now == nil {
		m.now = v.now
	}
	m.setObserver() // observe_points.go: the logger and observer
	m.suffix = v.cookieSuffix
	if opts.PublishableKey != "" {
		m.suffix = CookieSuffix(opts.PublishableKey)
	}
	m.realm = orDefault(opts.Realm, DefaultRealm)
	if m.resp.handler == nil {
		m.resp.handler = DefaultErrorHandler(m.realm)
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
		return configError("%s may hold only printable ASCII without '\"' or '\\'", "Realm")
	case o.InsecurePassPreflight && o.AuthenticatePreflight:
		return configError("%s and %s contradict each other", "InsecurePassPreflight", "AuthenticatePreflight")
	case o.OnlineFallback && o.SessionsClient == nil:
		return configError("%s needs a %s", "OnlineFallback", "SessionsClient")
	case o.ActiveSessionTTL < 0 || o.ActiveSessionTTL > maxActiveSessionTTL:
		return configError("%s must be within (0, "+maxActiveSessionTTL.String()+"]", "ActiveSessionTTL")
	case o.FallbackFailureThreshold < 0:
		return configError("%s is negative", "FallbackFailureThreshold")
	case o.FallbackCoolOff < 0:
		return configError("%s is negative", "FallbackCoolOff")
	case o.FallbackMaxConcurrent < 0:
		return configError("%s is negative", "FallbackMaxConcurrent")
	case o.FallbackBurst < 0:
		return configError("%s is negative", "FallbackBurst")
	case !(o.FallbackCallsPerSecond >= 0):
		return configError("%s is negative or NaN", "FallbackCallsPerSecond")
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
// It is the net/http adapter of the transport-neutral decision
// ([Middleware.AuthenticateRequest]).
func (m *Middleware) Handler(next http.Handler) http.Handler {
	if next == nil {
		panic("clerkauth: Middleware.Handler: nil next handler")
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d := m.AuthenticateRequest(r)
		switch d.disp {
		case untouched:
			next.ServeHTTP(w, r)
			return
		case refused:
			d.SetHeaders(w.Header())
			d.ServeHTTP(w, r)
			return
		case preflightAnswered:
			d.ServeHTTP(w, r)
			return
		}
		d.SetHeaders(w.Header())
		next.ServeHTTP(w, r.WithContext(d.Context(r.Context())))
	})
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
//
// Clerk is the authority and is always asked, whatever the store does; the
// store is a best-effort cache that stops the session's tokens before they
// expire. Both are asked concurrently, and Revoke waits for the store no
// longer than ctx allows (a store that ignores ctx finishes in the
// background). It returns nil when both succeeded, and otherwise a
// [*RevokeError] holding each part's failure: it matches
// ErrRevokedLocallyOnly when Clerk was not told but the revocation is in
// force here, and ErrRevocationNotShared when it is in force here but not
// shared with the other replicas yet. Revoking again is harmless. Without a
// SessionsClient, Clerk's part matches ErrInvalidConfig.
func (m *Middleware) Revoke(ctx context.Context, sessionID string) error {
	if sessionID == "" {
		return fmt.Errorf("%w: Revoke: empty session ID", ErrInvalidConfig)
	}
	stored := make(chan error, 1) // buffered: a late store never blocks
	go func() { stored <- m.v.MarkRevoked(ctx, sessionID) }()
	clerkErr := m.revokeAtClerk(ctx, sessionID)
	storeErr := awaitStore(ctx, stored)
	if m.active != nil {
		m.active.forget(sessionID)
	}
	if clerkErr == nil && storeErr == nil {
		return nil
	}
	return &RevokeError{Clerk: clerkErr, Store: storeErr}
}

// revokeAtClerk revokes the session at Clerk.
func (m *Middleware) revokeAtClerk(ctx context.Context, sessionID string) error {
	if m.sessions == nil {
		return fmt.Errorf("%w: Revoke needs MiddlewareOptions.SessionsClient", ErrInvalidConfig)
	}
	_, err := m.sessions.Revoke(ctx, sessionID)
	return err
}

// awaitStore returns the store's answer, or the context's error when the
// store has not answered by the time ctx ends.
func awaitStore(ctx context.Context, stored <-chan error) error {
	select {
	case err := <-stored:
		return err
	case <-ctx.Done():
	}
	select {
	case err := <-stored:
		return err
	default:
		return fmt.Errorf("clerkauth: no answer before the context ended: %w", context.Cause(ctx))
	}
}

// Close stops the Sessions API calls in flight and waits for them. It does
// not close the Verifier. The Middleware keeps working, without them.
func (m *Middleware) Close() error {
	m.flights.close()
	return nil
}
