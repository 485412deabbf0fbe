package clerkauth

import (
	"context"
	"time"
)

// Observer is a set of hooks called when clerkauth decides, caches, fetches
// or calls something, for metrics, traces and audit logs (the
// otelclerkauth module builds one for OpenTelemetry). Set it in
// [Config.Observer]: a [Verifier] and a [Middleware] built on it report to
// the Verifier's Observer, a [SessionsClient] to its own Config's.
//
// Every field is optional; a nil hook costs one branch, and an Observer
// with no hook set costs nothing at all on the hot path. Hooks are called
// synchronously on the goroutine of the event, never with a lock of
// clerkauth held, and may be called concurrently: they must be safe for
// concurrent use, fast, and must not block. The context is the request's
// when there is one (so a hook can find the request's trace span), else
// the context of the background work. No event ever holds a token or a
// secret key.
type Observer struct {
	// AuthDecision is called once for every request the middleware
	// decides (not for skipped requests or passed preflights).
	AuthDecision func(context.Context, AuthDecision)

	// TokenCacheLookup is called on every lookup in the verified-token
	// cache, that is on every Verify of a token when the cache is on.
	TokenCacheLookup func(context.Context, TokenCacheLookup)

	// KeyFetchStart and KeyFetchDone are called when a JWKS fetch starts
	// and when it ends, its retries included.
	KeyFetchStart func(context.Context, KeyFetchStart)
	KeyFetchDone  func(context.Context, KeyFetchDone)

	// UnknownKID is called when a token names a key ID the held key set
	// lacks, with what became of it.
	UnknownKID func(context.Context, UnknownKID)

	// UpstreamCall is called after every HTTP request to Clerk, each retry
	// being a request of its own: JWKS fetches and Backend API calls.
	UpstreamCall func(context.Context, UpstreamCall)

	// BreakerChange is called when a circuit breaker (the online
	// fallback's, the machine token verify calls') opens or closes.
	BreakerChange func(context.Context, BreakerChange)

	// Fallback is called for every token the online fallback was asked to
	// judge (MiddlewareOptions.OnlineFallback).
	Fallback func(context.Context, FallbackDecision)

	// ActiveSession is called for every request judged by
	// [Middleware.RequireActiveSession].
	ActiveSession func(context.Context, ActiveSessionCheck)

	// RevocationStoreError is called for every error of the
	// [RevocationStore]: the request it happened on is refused (fail
	// closed) for IsRevoked, or the revocation is not (fully) recorded for
	// Revoke.
	RevocationStoreError func(context.Context, RevocationStoreError)
}

// Outcome says how a decision went.
type Outcome string

// Outcomes of [AuthDecision], [FallbackDecision] and [ActiveSessionCheck].
const (
	// OutcomeAuthenticated: the credential was verified (or confirmed).
	OutcomeAuthenticated Outcome = "authenticated"
	// OutcomeSignedOut: no valid credential, and the request goes on
	// signed out (MiddlewareOptions.Optional).
	OutcomeSignedOut Outcome = "signed_out"
	// OutcomeRejected: the request is refused because of its credential
	// (400, 401 or 403).
	OutcomeRejected Outcome = "rejected"
	// OutcomeUnavailable: the credential could not be judged (keys, the
	// revocation store or the Sessions API unavailable), answered 503.
	OutcomeUnavailable Outcome = "unavailable"
)

// Carrier says where a request's token was found.
type Carrier string

// Carriers of [AuthDecision].
const (
	CarrierHeader Carrier = "header" // the Authorization header
	CarrierCookie Carrier = "cookie" // a __session cookie
	CarrierCustom Carrier = "custom" // MiddlewareOptions.TokenExtractor
	CarrierNone   Carrier = "none"   // no token at all
)

// AuthDecision is the middleware's decision on one request.
type AuthDecision struct {
	// Outcome is how the request is answered.
	Outcome Outcome
	// Reason is the failure's reason code, "" when authenticated.
	Reason Reason
	// Status is the HTTP status the default error handler answers a
	// refused request with, 0 when the request goes on.
	Status int
	// TokenKind is the kind of credential: the verified kind when
	// authenticated, else the kind the token looks like (its shape and
	// prefix, unverified), or "" when there was none or it is unknown.
	TokenKind TokenKind
	// Carrier is where the token was found.
	Carrier Carrier
	// Duration is the time the decision took, verification included.
	Duration time.Duration
}

// TokenCacheLookup is a lookup in the verified-token cache.
type TokenCacheLookup struct {
	// Hit reports that the token was found: its signature was not
	// checked again.
	Hit bool
}

// KeyFetchStart is the start of a JWKS fetch.
type KeyFetchStart struct {
	// URL is the JWKS URL.
	URL string
}

// KeyFetchDone is the end of a JWKS fetch, retries included.
type KeyFetchDone struct {
	// URL is the JWKS URL.
	URL string
	// Start is when the fetch started; Duration how long it took.
	Start    time.Time
	Duration time.Duration
	// Attempts is the number of HTTP requests made (1 without retries).
	Attempts int
	// StatusCode is the status of the last answer, 0 when there was none
	// (network error).
	StatusCode int
	// Keys is the number of keys held after the fetch: the new ones on
	// success, the last good ones on failure.
	Keys int
	// Ready reports that tokens can be verified after the fetch: it
	// succeeded, or the last good keys are within Config.JWKSMaxStaleness.
	Ready bool
	// Err is the failure, nil on success.
	Err error
}

// UnknownKID is a token whose key ID the held key set lacks. It is not
// reported while no key set serves (before the first is loaded, or past
// Config.JWKSMaxStaleness).
type UnknownKID struct {
	// KID is the key ID the token names, cut to 64 bytes. It comes from an
	// unverified token: treat it as attacker-controlled text.
	KID string
	// Outcome is OutcomeAuthenticated when a refresh found the key (the
	// signature is checked next), OutcomeRejected when no key matches
	// (jwk-kid-mismatch, with or without a refresh: see
	// Config.JWKSRefreshCooldown), OutcomeUnavailable when the keys could
	// not be fetched.
	Outcome Outcome
}

// UpstreamCall is one HTTP request to Clerk.
type UpstreamCall struct {
	// Service is "jwks" for key fetches, "backend_api" for the Sessions
	// API.
	Service string
	// Operation names the call, such as "jwks", "get session",
	// "verify session" or "verify api_key".
	Operation string
	// Method is the HTTP method; Host the server's host[:port].
	Method string
	Host   string
	// Route is the URL path with its variable segments replaced, such as
	// "/v1/sessions/{id}/revoke".
	Route string
	// Attempt is 0 for the first request of a call, n for its n-th retry.
	Attempt int
	// StatusCode is the answer's status, 0 when there was none.
	StatusCode int
	// RetryAfter is the wait the answer asked for (429, 503), else 0.
	RetryAfter time.Duration
	// Start is when the request was sent; Duration how long it took,
	// until the answer's body was read for Backend API calls and until its
	// headers for JWKS fetches.
	Start    time.Time
	Duration time.Duration
	// Err is the failure without an answer (network error, timeout); an
	// error status is in StatusCode only.
	Err error
}

// BreakerChange is a transition of a circuit breaker.
type BreakerChange struct {
	// Breaker names it: "online_fallback" or "machine_verify" (the
	// machine token verify endpoints).
	Breaker string
	// Open reports that it opened (calls refused); false that it closed.
	Open bool
}

// FallbackDecision is the online fallback's verdict on a token that
// networkless verification could not judge.
type FallbackDecision struct {
	// Outcome is OutcomeAuthenticated when Clerk confirmed the token,
	// OutcomeRejected when Clerk refused it, and OutcomeUnavailable when no
	// verdict was had (circuit open, too many calls, Clerk failing).
	Outcome Outcome
	// Cause is the reason networkless verification gave.
	Cause Reason
	// Reason is the refusal's reason, "" unless rejected.
	Reason Reason
}

// ActiveSessionCheck is a decision of [Middleware.RequireActiveSession].
type ActiveSessionCheck struct {
	// Outcome is OutcomeAuthenticated when Clerk holds the session active,
	// OutcomeRejected when it does not, OutcomeUnavailable when Clerk
	// could not be asked.
	Outcome Outcome
	// Reason is the failure's reason, "" when authenticated.
	Reason Reason
}

// RevocationStoreError is an error returned by the [RevocationStore].
type RevocationStoreError struct {
	// Op is "is_revoked" or "revoke".
	Op string
	// Err is the store's error.
	Err error
}

// empty reports whether no hook is set.
func (o *Observer) empty() bool {
	return o.AuthDecision == nil && o.TokenCacheLookup == nil && o.KeyFetchStart == nil &&
		o.KeyFetchDone == nil && o.UnknownKID == nil && o.UpstreamCall == nil &&
		o.BreakerChange == nil && o.Fallback == nil && o.ActiveSession == nil &&
		o.RevocationStoreError == nil
}
