package clerkauth

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// fallbackCacheSize is the number of tokens confirmed online remembered
// until their exp.
const fallbackCacheSize = 4096

// errUndecided says the online verification gave no verdict: the caller
// keeps the networkless verification's error.
var errUndecided = errors.New("clerkauth: online verification gave no verdict")

// onlineFallback verifies tokens through POST /sessions/{sid}/verify when
// networkless verification cannot decide. See [Middleware].
type onlineFallback struct {
	v        *Verifier
	sessions *SessionsClient
	now      func() time.Time
	logger   *slog.Logger
	obs      *observer // nil when nothing observes
	breaker  *breaker
	slots    chan struct{} // bounds the calls in flight
	flight   *flightGroup[*Claims]
	cache    *lru.Cache[[sha256.Size]byte, *Claims]
	disabled atomic.Bool
}

func newOnlineFallback(m *Middleware, opts MiddlewareOptions) *onlineFallback {
	cache, _ := lru.New[[sha256.Size]byte, *Claims](fallbackCacheSize)
	return &onlineFallback{
		v: m.v, sessions: verifyClient(m.sessions), now: m.now, logger: m.logger, obs: m.obs,
		breaker: &breaker{
			threshold: orDefault(opts.FallbackFailureThreshold, DefaultFallbackFailureThreshold),
			coolOff:   orDefault(opts.FallbackCoolOff, DefaultFallbackCoolOff),
			now:       m.now,
		},
		slots:  make(chan struct{}, orDefault(opts.FallbackMaxConcurrent, DefaultFallbackMaxConcurrent)),
		flight: newFlightGroup[*Claims](m.flights),
		cache:  cache,
	}
}

// verifyClient returns c pinned to the last API version that has
// POST /sessions/{id}/verify, unless c already asks for an older one.
func verifyClient(c *SessionsClient) *SessionsClient {
	if c.apiVersion > lastVerifyVersion {
		return c.pinnedTo(lastVerifyVersion)
	}
	return c
}

// triggers reports whether cause is one the fallback may decide: the keys
// are unavailable, or no key matches the token's kid.
func (f *onlineFallback) triggers(cause error) bool {
	switch ReasonOf(cause) {
	case ReasonRevocationUnavailable:
		return false // the keys were fine: Clerk cannot say more about revocation
	case ReasonJWKKidMismatch:
		return true
	}
	return errors.Is(cause, ErrKeysUnavailable)
}

// verify returns the claims of token once Clerk confirmed it, or the error
// to answer with: cause when Clerk gives no verdict.
func (f *onlineFallback) verify(ctx context.Context, token string, cause error) (*Claims, error) {
	if f.disabled.Load() || !f.triggers(cause) {
		return nil, cause
	}
	t, err := f.v.parse(token)
	if err != nil || t.kid == "" {
		return nil, cause
	}
	now := f.now()
	if err := f.v.checkClaims(t.claims, now); err != nil {
		return nil, err
	}
	key := sha256.Sum256([]byte(token))
	c, ok := f.cached(key, now)
	if !ok {
		c, err = f.flight.do(ctx, string(key[:]), func(ctx context.Context) (*Claims, error) {
			return f.confirm(ctx, key, token, t.claims)
		})
	}
	if err != nil {
		var ve *VerificationError
		if errors.As(err, &ve) {
			return nil, err // Clerk's verdict
		}
		return nil, cause
	}
	if err := f.v.checkRevoked(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}

func (f *onlineFallback) cached(key [sha256.Size]byte, now time.Time) (*Claims, bool) {
	c, ok := f.cache.Get(key)
	if !ok {
		return nil, false
	}
	if !now.Before(c.Expiry.Add(f.v.leeway)) {
		f.cache.Remove(key)
		return nil, false
	}
	return c, true
}

// confirm asks Clerk about the token whose unverified claims are c, and
// remembers a confirmed token until its exp.
func (f *onlineFallback) confirm(ctx context.Context, key [sha256.Size]byte, token string, c *Claims) (*Claims, error) {
	select {
	case f.slots <- struct{}{}:
		defer func() { <-f.slots }()
	default:
		return nil, errUndecided
	}
	if f.disabled.Load() || !f.breaker.allow() {
		return nil, errUndecided
	}
	//nolint:staticcheck // The deprecated endpoint is the point of the fallback.
	s, err := f.sessions.Verify(ctx, c.SessionID, token)
	f.recordCall(ctx, apiFailed(err)) // f.breaker.record, reported
	if err != nil {
		return nil, f.verdictOf(err)
	}
	if err := f.checkSession(s, c); err != nil {
		return nil, err
	}
	f.cache.Add(key, c)
	return c, nil
}

// apiFailed reports whether err says the API does not work (for the
// circuit breaker), as opposed to an answer about the token.
func apiFailed(err error) bool {
	var ae *APIError
	if err == nil {
		return false
	}
	if !errors.As(err, &ae) {
		return !errors.Is(err, ErrInvalidArgument)
	}
	switch ae.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return true
	}
	return ae.StatusCode >= 500
}

// verdictOf turns a failed call into Clerk's verdict on the token, or
// errUndecided.
func (f *onlineFallback) verdictOf(err error) error {
	var ae *APIError
	switch {
	case errors.Is(err, ErrEndpointDeprecated):
		f.disable(err)
	case errors.As(err, &ae) && (ae.StatusCode == http.StatusBadRequest || ae.StatusCode == http.StatusUnprocessableEntity):
		return verr(ReasonTokenInvalid, "Clerk did not confirm the token")
	}
	return errUndecided
}

// disable turns the fallback off for good, and says so once.
func (f *onlineFallback) disable(err error) {
	if f.disabled.CompareAndSwap(false, true) && f.logger != nil {
		f.logger.Warn("clerkauth: online fallback disabled: Clerk answered that POST /sessions/{id}/verify is gone; tokens that cannot be verified networklessly are now rejected",
			"error", err.Error())
	}
}

// checkSession checks Clerk's session against the token's claims.
func (f *onlineFallback) checkSession(s *Session, c *Claims) error {
	switch {
	case s.ID != c.SessionID || s.UserID != c.UserID:
		return verr(ReasonTokenInvalid, "Clerk's session does not match the token")
	case s.Status == SessionActive, s.Status == SessionPending && f.v.allowPend:
		return nil
	case s.Status == SessionPending:
		return verr(ReasonSessionPending, "session is pending")
	}
	return verr(ReasonSessionRevoked, "Clerk reports the session is "+string(s.Status))
}

// breaker is a circuit breaker: after threshold consecutive failures it
// opens and refuses calls for coolOff, then lets one probe through
// (half-open); the probe's success closes it, its failure reopens it.
type breaker struct {
	threshold int
	coolOff   time.Duration
	now       func() time.Time

	mu        sync.Mutex
	failures  int
	openUntil time.Time // zero when closed
	probing   bool
}

// allow reports whether a call may be made now. A true answer must be
// followed by record.
func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.openUntil.IsZero():
		return true
	case b.probing || b.now().Before(b.openUntil):
		return false
	}
	b.probing = true
	return true
}

// record reports the outcome of an allowed call: failed when the API did
// not work (network error, 5xx, 429, rejected secret key). Any answer about
// the token itself counts as the API working.
func (b *breaker) record(failed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	wasProbe := b.probing
	b.probing = false
	if !failed {
		b.failures, b.openUntil = 0, time.Time{}
		return
	}
	b.failures++
	if wasProbe || b.failures >= b.threshold {
		b.openUntil = b.now().Add(b.coolOff)
	}
}
