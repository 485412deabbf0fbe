package clerkauth

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
)

// observer delivers events to an Observer's hooks and logs them through a
// slog.Logger: the rare and operational ones once per transition, at Info
// or above; per-request ones at Debug only. A nil *observer observes
// nothing, and each emission point checks for nil first, so an unobserved
// hot path pays one branch.
//
// Log records use stable messages and attribute names (see the README's
// "Operating clerkauth"); they never hold a token or a secret.
type observer struct {
	hooks  Observer
	logger *slog.Logger // nil: no logging

	keys       atomic.Int32   // keyState after the last JWKS fetch
	revFailing [2]atomic.Bool // by revocation op: the store is failing
	limited    [2]atomic.Bool // by upstream service: Clerk answers 429
	breakerMu  sync.Mutex     // serialises breaker records, for exact transitions
}

// newObserver returns an observer for hooks and logger, nil for neither.
func newObserver(hooks Observer, logger *slog.Logger) *observer {
	if hooks.empty() && logger == nil {
		return nil
	}
	return &observer{hooks: hooks, logger: logger}
}

// withLogger returns an observer with o's hooks that logs to logger: o
// itself when it already does.
func (o *observer) withLogger(logger *slog.Logger) *observer {
	var hooks Observer
	if o != nil {
		if o.logger == logger {
			return o
		}
		hooks = o.hooks
	}
	return newObserver(hooks, logger)
}

// loggerOrNil returns o's logger, nil for none.
func (o *observer) loggerOrNil() *slog.Logger {
	if o == nil {
		return nil
	}
	return o.logger
}

// log logs a record when o has a logger enabled for level.
func (o *observer) log(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if o.logger != nil && o.logger.Enabled(ctx, level) {
		o.logger.LogAttrs(ctx, level, msg, attrs...)
	}
}

func (o *observer) debugEnabled(ctx context.Context) bool {
	return o.logger != nil && o.logger.Enabled(ctx, slog.LevelDebug)
}

func errAttr(err error) slog.Attr { return slog.String("error", err.Error()) }

// decisionOutcome classifies a decision's error.
func decisionOutcome(err error) Outcome {
	switch {
	case err == nil:
		return OutcomeAuthenticated
	case errors.Is(err, ErrKeysUnavailable), errors.Is(err, ErrSessionsUnavailable):
		return OutcomeUnavailable
	}
	return OutcomeRejected
}

// cacheLookup reports a lookup in the verified-token cache (a Verifier
// without one has no TokenCacheLookup hook: see Config.withDefaults). It
// is inlined: unobserved, it costs a nil check on the hot path.
func (o *observer) cacheLookup(ctx context.Context, hit bool) {
	if o != nil {
		o.tokenCacheLookup(ctx, hit)
	}
}

//go:noinline // keeps cacheLookup within the inlining budget
func (o *observer) tokenCacheLookup(ctx context.Context, hit bool) {
	if h := o.hooks.TokenCacheLookup; h != nil {
		h(ctx, TokenCacheLookup{Hit: hit})
	}
}

// --- middleware decisions

// wantsDecisions reports whether decisions are worth describing.
func (o *observer) wantsDecisions(ctx context.Context) bool {
	return o != nil && (o.hooks.AuthDecision != nil || o.debugEnabled(ctx))
}

func (o *observer) decision(ctx context.Context, d AuthDecision) {
	if h := o.hooks.AuthDecision; h != nil {
		h(ctx, d)
	}
	if o.debugEnabled(ctx) {
		o.logger.LogAttrs(ctx, slog.LevelDebug, "clerkauth: auth decision",
			slog.String("outcome", string(d.Outcome)), slog.String("reason", string(d.Reason)),
			slog.Int("status", d.Status), slog.String("token_kind", string(d.TokenKind)),
			slog.String("carrier", string(d.Carrier)), slog.Duration("duration", d.Duration))
	}
}

// --- key fetches

// keyState is the health of the signing keys after a fetch.
const (
	keysUnknown int32 = iota // no fetch ended yet
	keysOK
	keysStale       // the fetch failed; the last good keys still serve
	keysUnavailable // the fetch failed; no key serves
)

func (o *observer) keyFetchStart(ctx context.Context, s KeyFetchStart) {
	if h := o.hooks.KeyFetchStart; h != nil {
		h(ctx, s)
	}
}

func (o *observer) keyFetchDone(ctx context.Context, d KeyFetchDone) {
	if h := o.hooks.KeyFetchDone; h != nil {
		h(ctx, d)
	}
	state := keysOK
	switch {
	case d.Err != nil && d.Ready:
		state = keysStale
	case d.Err != nil:
		state = keysUnavailable
	}
	if prev := o.keys.Swap(state); prev != state {
		o.logKeyTransition(ctx, prev, state, d)
	}
	if o.debugEnabled(ctx) {
		attrs := []slog.Attr{slog.String("url", d.URL), slog.Int("attempts", d.Attempts),
			slog.Int("status_code", d.StatusCode), slog.Int("keys", d.Keys), slog.Duration("duration", d.Duration)}
		if d.Err != nil {
			attrs = append(attrs, errAttr(d.Err))
		}
		o.logger.LogAttrs(ctx, slog.LevelDebug, "clerkauth: JWKS fetch", attrs...)
	}
}

func (o *observer) logKeyTransition(ctx context.Context, prev, state int32, d KeyFetchDone) {
	url, keys := slog.String("url", d.URL), slog.Int("keys", d.Keys)
	switch {
	case state == keysOK && prev == keysUnknown:
		o.log(ctx, slog.LevelInfo, "clerkauth: signing keys loaded", url, keys)
	case state == keysOK:
		o.log(ctx, slog.LevelInfo, "clerkauth: signing keys refreshed after failures", url, keys)
	case state == keysStale:
		o.log(ctx, slog.LevelWarn, "clerkauth: JWKS refresh failed; serving last good keys",
			url, keys, slog.Int("status_code", d.StatusCode), errAttr(d.Err))
	default:
		o.log(ctx, slog.LevelError, "clerkauth: signing keys unavailable; requests are answered 503",
			url, slog.Int("status_code", d.StatusCode), errAttr(d.Err))
	}
}

// maxKIDReported is the length a reported key ID is cut to.
const maxKIDReported = 64

func (o *observer) unknownKID(ctx context.Context, kid string, err error) {
	if len(kid) > maxKIDReported {
		kid = strings.ToValidUTF8(kid[:maxKIDReported], "")
	}
	u := UnknownKID{KID: kid, Outcome: decisionOutcome(err)}
	if h := o.hooks.UnknownKID; h != nil {
		h(ctx, u)
	}
	if o.debugEnabled(ctx) {
		o.logger.LogAttrs(ctx, slog.LevelDebug, "clerkauth: unknown key ID",
			slog.String("kid", u.KID), slog.String("outcome", string(u.Outcome)))
	}
}

// --- upstream calls

// Upstream services, the index of their rate-limit state.
const (
	serviceJWKS = iota
	serviceBackendAPI
)

func serviceName(service int) string {
	if service == serviceJWKS {
		return "jwks"
	}
	return "backend_api"
}

func (o *observer) upstream(ctx context.Context, service int, c UpstreamCall) {
	c.Service = serviceName(service)
	if h := o.hooks.UpstreamCall; h != nil {
		h(ctx, c)
	}
	o.trackRateLimit(ctx, service, c)
	if o.debugEnabled(ctx) {
		attrs := []slog.Attr{slog.String("service", c.Service), slog.String("operation", c.Operation),
			slog.String("method", c.Method), slog.String("host", c.Host), slog.String("route", c.Route),
			slog.Int("attempt", c.Attempt), slog.Int("status_code", c.StatusCode), slog.Duration("duration", c.Duration)}
		if c.Err != nil {
			attrs = append(attrs, errAttr(c.Err))
		}
		o.logger.LogAttrs(ctx, slog.LevelDebug, "clerkauth: upstream call", attrs...)
	}
}

// trackRateLimit logs when Clerk starts and stops answering 429.
func (o *observer) trackRateLimit(ctx context.Context, service int, c UpstreamCall) {
	if c.StatusCode == 0 {
		return // no answer: says nothing about rate limiting
	}
	limited := c.StatusCode == 429
	if o.limited[service].Load() == limited || o.limited[service].Swap(limited) == limited {
		return
	}
	svc := slog.String("service", c.Service)
	if limited {
		o.log(ctx, slog.LevelWarn, "clerkauth: Clerk is rate limiting requests",
			svc, slog.String("operation", c.Operation), slog.Duration("retry_after", c.RetryAfter))
		return
	}
	o.log(ctx, slog.LevelInfo, "clerkauth: Clerk no longer rate limiting requests", svc)
}

// --- the online fallback and the active-session check

func (o *observer) breakerChange(ctx context.Context, c BreakerChange) {
	if h := o.hooks.BreakerChange; h != nil {
		h(ctx, c)
	}
	if c.Open {
		o.log(ctx, slog.LevelWarn, "clerkauth: circuit breaker opened", slog.String("breaker", c.Breaker))
		return
	}
	o.log(ctx, slog.LevelInfo, "clerkauth: circuit breaker closed", slog.String("breaker", c.Breaker))
}

func (o *observer) fallback(ctx context.Context, d FallbackDecision) {
	if h := o.hooks.Fallback; h != nil {
		h(ctx, d)
	}
	if o.debugEnabled(ctx) {
		o.logger.LogAttrs(ctx, slog.LevelDebug, "clerkauth: online fallback decision",
			slog.String("outcome", string(d.Outcome)), slog.String("cause", string(d.Cause)),
			slog.String("reason", string(d.Reason)))
	}
}

func (o *observer) activeSession(ctx context.Context, c ActiveSessionCheck) {
	if h := o.hooks.ActiveSession; h != nil {
		h(ctx, c)
	}
	if o.debugEnabled(ctx) {
		o.logger.LogAttrs(ctx, slog.LevelDebug, "clerkauth: active session check",
			slog.String("outcome", string(c.Outcome)), slog.String("reason", string(c.Reason)))
	}
}

// --- the revocation store

// Revocation store operations, the index of their failure state.
const (
	opIsRevoked = iota
	opRevoke
)

func revocationOpName(op int) string {
	if op == opIsRevoked {
		return "is_revoked"
	}
	return "revoke"
}

// revocationResult reports the result of a store operation and returns
// err. It is inlined: unobserved, it costs a nil check on the hot path.
func (o *observer) revocationResult(ctx context.Context, op int, err error) error {
	if o != nil {
		o.revocationChange(ctx, op, err)
	}
	return err
}

func (o *observer) revocationChange(ctx context.Context, op int, err error) {
	if err == nil && !o.revFailing[op].Load() {
		return
	}
	name := slog.String("op", revocationOpName(op))
	if err == nil {
		if o.revFailing[op].CompareAndSwap(true, false) {
			o.log(ctx, slog.LevelInfo, "clerkauth: revocation store recovered", name)
		}
		return
	}
	if h := o.hooks.RevocationStoreError; h != nil {
		h(ctx, RevocationStoreError{Op: revocationOpName(op), Err: err})
	}
	if !o.revFailing[op].CompareAndSwap(false, true) {
		return
	}
	msg := "clerkauth: revocation store failing; revocations may not be recorded"
	if op == opIsRevoked {
		msg = "clerkauth: revocation store failing; tokens are refused (503) until it answers"
	}
	o.log(ctx, slog.LevelWarn, msg, name, errAttr(err))
}

// --- configuration

// warnConfig logs the configuration choices an operator should know of.
func (o *observer) warnConfig(ctx context.Context, cfg *Config) {
	if o == nil {
		return
	}
	if cfg.InsecureSkipIssuerCheck {
		o.log(ctx, slog.LevelWarn, "clerkauth: InsecureSkipIssuerCheck is set: tokens of any issuer are accepted")
	}
	if len(cfg.AuthorizedParties) == 0 {
		o.log(ctx, slog.LevelInfo, "clerkauth: AuthorizedParties is empty: the azp claim is not checked")
	}
}
