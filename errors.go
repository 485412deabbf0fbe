package clerkauth

import (
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/clerkauth/clerkauth/internal/httpx"
)

// The sentinel errors below are the distinctions a caller acts on. Every
// error returned by [Verifier.Verify] matches exactly one of ErrNoToken,
// ErrInvalidToken or ErrKeysUnavailable with [errors.Is]; the finer sentinels
// (ErrTokenExpired, ErrSessionRevoked, ErrSessionPending) also match
// ErrInvalidToken.
var (
	// ErrNoToken is returned when a request carries no session token. The
	// middleware answers it with a bare 401 challenge.
	ErrNoToken = errors.New("clerkauth: no session token")

	// ErrInvalidToken is returned for every token that is rejected on its
	// own merits: malformed, badly signed, expired, for another instance or
	// party. The middleware answers it with 401 invalid_token.
	ErrInvalidToken = errors.New("clerkauth: invalid session token")

	// ErrTokenExpired is returned when the token's exp has passed (leeway
	// included). It also matches ErrInvalidToken. Clients should fetch a
	// fresh token and retry.
	ErrTokenExpired = errors.New("clerkauth: session token expired")

	// ErrSessionRevoked is returned when the token is valid but its session
	// has been revoked. It also matches ErrInvalidToken.
	ErrSessionRevoked = errors.New("clerkauth: session revoked")

	// ErrSessionPending is returned for a session whose status is pending
	// (sign-in tasks incomplete) unless Config.AllowPendingSessions is set.
	// It also matches ErrInvalidToken.
	ErrSessionPending = errors.New("clerkauth: session pending")

	// ErrKeysUnavailable is returned when the token could not be judged
	// because what judges it could not be reached: the signing keys (key
	// server down, invalid secret key, empty key set) or, for opaque
	// machine tokens, Clerk's verify endpoints (down, rate limited, or
	// refusing our key). It never means the token is bad: the middleware
	// answers it with 503 and Retry-After, never 401.
	ErrKeysUnavailable = errors.New("clerkauth: signing keys unavailable")

	// ErrInvalidConfig is returned by constructors for a configuration that
	// cannot be used safely.
	ErrInvalidConfig = httpx.ErrInvalidConfig
)

// Reason is a machine-readable verification failure code. The values reuse
// the reason strings of Clerk's reference SDK where one exists, so logs and
// alerts line up with Clerk's; the rest are clerkauth's own.
type Reason string

// Reasons shared with Clerk's reference implementation.
const (
	ReasonTokenExpired                  Reason = "token-expired"
	ReasonTokenInvalid                  Reason = "token-invalid"
	ReasonTokenInvalidAlgorithm         Reason = "token-invalid-algorithm"
	ReasonTokenInvalidAuthorizedParties Reason = "token-invalid-authorized-parties"
	ReasonTokenInvalidSignature         Reason = "token-invalid-signature"
	ReasonTokenNotActiveYet             Reason = "token-not-active-yet"
	ReasonTokenIatInTheFuture           Reason = "token-iat-in-the-future"
	ReasonTokenVerificationFailed       Reason = "token-verification-failed"
	ReasonJWKKidMismatch                Reason = "jwk-kid-mismatch"
	ReasonJWKRemoteFailedToLoad         Reason = "jwk-remote-failed-to-load"
	ReasonJWKFailedToResolve            Reason = "jwk-failed-to-resolve"
	ReasonSecretKeyInvalid              Reason = "secret-key-invalid"

	// The __client_uat rules of a cookie-carried session token
	// (Clerk's AuthErrorReason). The first two match ErrNoToken, the
	// others ErrInvalidToken.

	// ReasonSessionTokenAndUATMissing: no session cookie and a signed-out
	// __client_uat ("0" or unparsable).
	ReasonSessionTokenAndUATMissing Reason = "session-token-and-uat-missing"
	// ReasonClientUATWithoutSessionToken: __client_uat says signed in, but
	// there is no session cookie.
	ReasonClientUATWithoutSessionToken Reason = "client-uat-but-no-session-token"
	// ReasonSessionTokenWithoutClientUAT: a session cookie while
	// __client_uat is missing, "0" or unparsable: the client signed out.
	ReasonSessionTokenWithoutClientUAT Reason = "session-token-but-no-client-uat"
	// ReasonSessionTokenIATBeforeClientUAT: the cookie's token was issued
	// before the client's last sign-in or sign-out (its iat is older than
	// __client_uat).
	ReasonSessionTokenIATBeforeClientUAT Reason = "session-token-iat-before-client-uat"
)

// Reasons clerkauth adds where Clerk has none.
const (
	ReasonTokenInvalidIssuer   Reason = "token-invalid-issuer"
	ReasonTokenInvalidAudience Reason = "token-invalid-audience"
	ReasonTokenMissingSID      Reason = "token-missing-sid"
	ReasonTokenTypeMismatch    Reason = "token-type-mismatch"
	ReasonSessionPending       Reason = "session-pending"
	ReasonSessionRevoked       Reason = "session-revoked"
	ReasonTokenMissing         Reason = "session-token-missing"
	// ReasonTokenLifetimeExceeded marks a token whose exp - iat exceeds
	// Config.MaxTokenLifetime: a revocation would be forgotten before it
	// expires.
	ReasonTokenLifetimeExceeded Reason = "token-lifetime-exceeded"
	// ReasonJWKRefreshCoolingDown means the token's kid is unknown to a key
	// set fetched before the token was issued, and the next fetch is not
	// allowed yet (Config.JWKSRefreshCooldown): undecided, in the
	// keys-unavailable class, answered 503 with Retry-After.
	ReasonJWKRefreshCoolingDown Reason = "jwk-refresh-cooling-down"
	// ReasonTokenRevoked marks a machine token that Clerk reports revoked
	// (answered 401; Clerk's SDKs accept such an answer).
	ReasonTokenRevoked Reason = "token-revoked"
	// ReasonRevocationUnavailable means the RevocationStore could not say
	// whether the session is revoked; the token is refused (fail closed)
	// in the keys-unavailable class, answered 503.
	ReasonRevocationUnavailable Reason = "revocation-unavailable"
)

// keysUnavailable reports whether r says the key source failed rather than
// the token.
func (r Reason) keysUnavailable() bool {
	switch r {
	case ReasonJWKRemoteFailedToLoad, ReasonJWKFailedToResolve, ReasonSecretKeyInvalid,
		ReasonRevocationUnavailable, ReasonJWKRefreshCoolingDown, ReasonUnexpectedError:
		return true
	}
	return false
}

// noToken reports whether r says the request carries no session token.
func (r Reason) noToken() bool {
	switch r {
	case ReasonTokenMissing, ReasonSessionTokenAndUATMissing, ReasonClientUATWithoutSessionToken:
		return true
	}
	return false
}

// VerificationError describes why a token was rejected. Its message never
// holds the token, nor any claim read before the signature was checked.
//
// errors.Is matches the sentinel of its class: ErrKeysUnavailable for key
// source failures, ErrNoToken for a missing token, ErrInvalidToken for all
// others, and additionally ErrTokenExpired, ErrSessionRevoked or
// ErrSessionPending for those reasons.
type VerificationError struct {
	// Reason is the machine-readable code.
	Reason Reason
	// Message is a short human-readable explanation, safe to log.
	Message string
	// Err is the underlying cause, if any.
	Err error

	// retryAfter is when an undecided answer may change, for the
	// keys-unavailable class; 0 means unknown (DefaultRetryAfter).
	retryAfter time.Duration
}

// Error returns "clerkauth: <reason>: <message>[: <cause>]".
func (e *VerificationError) Error() string {
	var b strings.Builder
	b.WriteString("clerkauth: ")
	b.WriteString(string(e.Reason))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *VerificationError) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's class.
func (e *VerificationError) Is(target error) bool {
	switch target {
	case ErrKeysUnavailable:
		return e.Reason.keysUnavailable()
	case ErrNoToken:
		return e.Reason.noToken()
	case ErrInvalidToken:
		return !e.Reason.keysUnavailable() && !e.Reason.noToken()
	case ErrTokenExpired:
		return e.Reason == ReasonTokenExpired
	case ErrSessionRevoked:
		return e.Reason == ReasonSessionRevoked
	case ErrSessionPending:
		return e.Reason == ReasonSessionPending
	}
	return false
}

// ReasonOf returns the Reason carried by err, or "" when err holds no
// *VerificationError.
func ReasonOf(err error) Reason {
	var ve *VerificationError
	if errors.As(err, &ve) {
		return ve.Reason
	}
	return ""
}

func verr(reason Reason, msg string) *VerificationError {
	return &VerificationError{Reason: reason, Message: msg}
}

func verrWrap(reason Reason, msg string, err error) *VerificationError {
	return &VerificationError{Reason: reason, Message: msg, Err: err}
}

// Errors of the middleware, in addition to the verification errors of
// [ErrNoToken], [ErrInvalidToken] and [ErrKeysUnavailable]. The default
// error handler answers each with its own status code.
var (
	// ErrInvalidRequest is returned for credentials that are malformed
	// rather than absent or invalid: several Authorization headers, an
	// empty one, "Bearer" without a token, or an error of a custom token
	// extractor. It is answered with 400 invalid_request.
	ErrInvalidRequest = errors.New("clerkauth: malformed credentials")

	// ErrForbidden is returned by the guards ([RequirePermission] and
	// friends) for a signed-in session that lacks what the route requires.
	// It is answered with 403 insufficient_scope; see [ForbiddenError].
	ErrForbidden = errors.New("clerkauth: insufficient authorization")

	// ErrSessionsUnavailable is returned when a check that needs Clerk's
	// Sessions API (RequireActiveSession) cannot get an answer: the API is
	// down, rate limits us or rejects the secret key. Like
	// ErrKeysUnavailable it never means the token is bad: it is answered
	// with 503 and Retry-After.
	ErrSessionsUnavailable = errors.New("clerkauth: sessions API unavailable")

	// ErrCrossOriginRequest is returned for an unsafe request (not GET,
	// HEAD or OPTIONS) authenticated by a session cookie that the browser
	// reports as cross-origin, by the rules of [http.CrossOriginProtection]:
	// a cross-site request forgery unless its Origin is one of
	// MiddlewareOptions.TrustedOrigins. It is answered with 403 and reason
	// cross-origin-request, without a challenge.
	ErrCrossOriginRequest = errors.New("clerkauth: cross-origin request with a session cookie")
)

// Sentinel errors of the Sessions API. An error returned by a
// [SessionsClient] method matches at most one of them with [errors.Is]; each
// is matched by the [*APIError] the error holds.
var (
	// ErrNotFound is matched by a 404 answer with Clerk's error body
	// (ClerkErrors): no session with that ID, or no JWT template with that
	// name. A 404 without one (a proxy's page, an empty body) does not
	// match: it says nothing about the resource.
	ErrNotFound = errors.New("clerkauth: not found")

	// ErrUnauthorized is matched by a 401 answer: the secret key is missing,
	// malformed or not valid for the instance.
	ErrUnauthorized = errors.New("clerkauth: unauthorized")

	// ErrRateLimited is matched by a 429 answer that was still rate limited
	// after the client's retries. [APIError.RetryAfter] says how long to
	// wait.
	ErrRateLimited = errors.New("clerkauth: rate limited")

	// ErrEndpointDeprecated is matched by a 410 answer with Clerk's error
	// body, or an operation_deprecated error code: the endpoint (such as
	// POST /sessions/{id}/verify) is deprecated and pending removal. A 410
	// page that is not Clerk's does not match.
	ErrEndpointDeprecated = errors.New("clerkauth: endpoint deprecated")

	// ErrUnexpectedResponse is returned for a successful (2xx) answer whose
	// body is not what the operation expects: not JSON, cut short, or
	// missing the object's ID. The error also wraps the decoding cause.
	ErrUnexpectedResponse = errors.New("clerkauth: unexpected response from Clerk")

	// ErrInvalidArgument is returned, before any request is sent, for an
	// argument the API would reject or that is unsafe to put in a URL: an
	// empty ID, an ID with '/' or a dot segment, an out-of-range limit or
	// token lifetime, a status the list cannot filter on.
	ErrInvalidArgument = errors.New("clerkauth: invalid argument")
)

// ErrRevokedLocallyOnly is matched by the error of [Middleware.Revoke] when
// the revocation is in force on this instance (its tokens are refused here)
// but Clerk was not told: no SessionsClient, or the call failed (the error
// wraps the cause too). See [RevokeError] for the other outcomes.
var ErrRevokedLocallyOnly = errors.New("clerkauth: session revoked on this instance only, not at Clerk")

// Reasons that the middleware's error bodies carry in meta.reason where the
// error is not a [VerificationError] (whose own Reason is used).
const (
	// ReasonInvalidRequest marks malformed credentials (400).
	ReasonInvalidRequest Reason = "invalid-request"
	// ReasonInsufficientScope marks a session that fails a guard (403).
	ReasonInsufficientScope Reason = "insufficient-scope"
	// ReasonReverificationRequired is the reason of Clerk's reverification
	// error body (403).
	ReasonReverificationRequired Reason = "reverification-error"
	// ReasonSessionsUnavailable marks a Sessions API that cannot be asked (503).
	ReasonSessionsUnavailable Reason = "sessions-api-unavailable"
	// ReasonCrossOriginRequest marks a cross-origin unsafe request
	// authenticated by a cookie (403, ErrCrossOriginRequest).
	ReasonCrossOriginRequest Reason = "cross-origin-request"
	// ReasonUnexpectedError marks an error of no known class (500), as in
	// Clerk's SDKs. A [VerificationError] with it says that Clerk's verify
	// endpoint for opaque machine tokens could not be asked (down, slow,
	// rate limited, answering nonsense): it is in the ErrKeysUnavailable
	// class, answered 503.
	ReasonUnexpectedError Reason = "unexpected-error"
)

// middlewareError is a failure of the middleware's own rather than of the
// token: malformed credentials (class ErrInvalidRequest, answered 400) or a
// Sessions API that cannot be asked (class ErrSessionsUnavailable, answered
// 503). It matches its class and wraps the cause. msg is safe to send to the
// client; the cause is not.
type middlewareError struct {
	class      error
	msg        string
	retryAfter time.Duration // 0: DefaultRetryAfter
	err        error
}

func invalidRequest(msg string) error {
	return &middlewareError{class: ErrInvalidRequest, msg: msg}
}

func invalidRequestWrap(msg string, err error) error {
	return &middlewareError{class: ErrInvalidRequest, msg: msg, err: err}
}

func sessionsUnavailable(msg string, err error) *middlewareError {
	return &middlewareError{class: ErrSessionsUnavailable, msg: msg, err: err}
}

func (e *middlewareError) Error() string {
	if e.err != nil {
		return "clerkauth: " + e.msg + ": " + e.err.Error()
	}
	return "clerkauth: " + e.msg
}

func (e *middlewareError) Unwrap() error        { return e.err }
func (e *middlewareError) Is(target error) bool { return target == e.class }

// ForbiddenError is returned by the guards for a signed-in session that
// fails their [Check]. It matches [ErrForbidden]. Check is what the route
// asked for; a custom error handler may use it to explain the refusal.
type ForbiddenError struct {
	// Check is the requirement the session failed.
	Check Check
}

// Error returns a message naming what was required.
func (e *ForbiddenError) Error() string {
	if e.reverification() {
		return "clerkauth: session needs reverification (" + string(e.Check.Reverification.Level) +
			" within " + strconv.Itoa(e.Check.Reverification.AfterMinutes) + " minutes)"
	}
	return "clerkauth: session lacks the required role, permission, feature or plan"
}

// Is reports whether target is ErrForbidden.
func (e *ForbiddenError) Is(target error) bool { return target == ErrForbidden }

func (e *ForbiddenError) reverification() bool {
	return e.Check.Reverification != (Reverification{})
}
