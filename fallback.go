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

	"github.com/clerkauth/clerkauth/internal/budget"
)

// fallbackCacheSize is the number of Clerk's verdicts (tokens confirmed or
// refused online) remembered until the token's exp.
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
	budget   *budget.Bucket // the fallback's own share of the Backend API rate limit
	slots    chan struct{}  // bounds the calls in flight
	flight   *flightGroup[*Claims]
	verdicts *lru.Cache[[sha256.Size]byte, verdict]
	disabled atomic.Bool
}

// verdict is Clerk's answer about one token: its claims once confirmed, or
// the refusal; remembered until the token's exp.
type verdict struct {
	claims *Claims
	err    error
	until  time.Time
}

func newOnlineFallback(m *Middleware, opts MiddlewareOptions) *onlineFallback {
	verdicts, _ := lru.New[[sha256.Size]byte, verdict](fallbackCacheSize)
	return &onlineFallback{
		v: m.v, sessions: verifyClient(m.sessions), now: m.now, logger: m.logger, obs: m.obs,
		breaker: &breaker{
			threshold: orDefault(opts.FallbackFailureThreshold, DefaultFallbackFailureThreshold),
			coolOff:   orDefault(opts.FallbackCoolOff, DefaultFallbackCoolOff),
			now:       m.now,
		},
		budget: budget.New(orDefault(opts.FallbackCallsPerSecond, DefaultFallbackCallsPerSecond),
			orDefault(opts.FallbackBurst, DefaultFallbackBurst), m.now),
		slots:    make(chan struct{}, orDefault(opts.FallbackMaxConcurrent, DefaultFallbackMaxConcurrent)),
		flight:   newFlightGroup[*Claims](m.flights),
		verdicts: verdicts,
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

// triggers reports whether cause is one the fallback may decide: the key
// source fails (or the secret key it needs is refused). An unknown kid
// never triggers it: the key source answered (see
// Config.JWKSRefreshCooldown), and anyone can forge a kid. Nor does a
// revocation store that cannot answer: Clerk cannot say more about it.
func (f *onlineFallback) triggers(cause error) bool {
	switch ReasonOf(cause) {
	case ReasonJWKRemoteFailedToLoad, ReasonJWKFailedToResolve, ReasonSecretKeyInvalid:
		return true
	}
	return false
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
	c, err := f.remembered(key, now)
	if c == nil && err == nil {
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

// remembered returns Clerk's remembered verdict on the token hashed to key:
// its claims or its refusal; nil and nil when there is none.
func (f *onlineFallback) remembered(key [sha256.Size]byte, now time.Time) (*Claims, error) {
	v, ok := f.verdicts.Get(key)
	if !ok {
		return nil, nil
	}
	if !now.Before(v.until) {
		f.verdicts.Remove(key)
		return nil, nil
	}
	return v.claims, v.err
}

// confirm asks Clerk about the token whose unverified claims are c, within
// the fallback's rate budget, and remembers Clerk's verdict, confirmation
// or refusal, until the token's exp: a replayed token costs no new call.
func (f *onlineFallback) confirm(ctx context.Context, key [sha256.Size]byte, token string, c *Claims) (*Claims, error) {
	select {
	case f.slots <- struct{}{}:
		defer func() { <-f.slots }()
	default:
		return nil, errUndecided
	}
	until := c.Expiry.Add(f.v.leeway)
	if _, err := sessionPath("verify session", c.SessionID); err != nil {
		err = verr(ReasonTokenInvalid, "the token's sid cannot be a Clerk session ID")
		f.verdicts.Add(key, verdict{err: err, until: until})
		return nil, err
	}
	if f.disabled.Load() || !f.budget.Allow() || !f.breaker.allow() {
		return nil, errUndecided
	}
	//nolint:staticcheck // The deprecated endpoint is the point of the fallback.
	s, err := f.sessions.Verify(ctx, c.SessionID, token)
	f.recordCall(ctx, outcomeOf(err)) // f.breaker.record, reported
	if err == nil {
		err = f.checkSession(s, c)
	} else {
		err = f.verdictOf(err)
	}
	if err == errUndecided {
		return nil, err
	}
	if err != nil {
		f.verdicts.Add(key, verdict{err: err, until: until})
		return nil, err
	}
	c.expandPermissions() // Clerk confirmed the token: its claims are Clerk's
	f.verdicts.Add(key, verdict{claims: c, until: until})
	return c, nil
}

// callOutcome is what a call tells the circuit breaker.
type callOutcome int

const (
	callWorked   callOutcome = iota // Clerk confirmed the token: the API works
	callAnswered                    // Clerk refused the token: says nothing of the API's health
	callFailed                      // the API did not work
)

// outcomeOf classifies a call's error for the circuit breaker: network
// errors, 5xx and 429 are failures, as are 401 and 403 (the secret key is
// refused: every call would fail alike); Clerk's answers about the token
// (400, 404, 422 with Clerk's error body) are neither failures nor
// successes, so forged tokens can neither open nor reset the circuit. The
// same statuses without Clerk's body come from something in between (a
// proxy, a wrong APIURL): failures.
func outcomeOf(err error) callOutcome {
	var ae *APIError
	switch {
	case err == nil:
		return callWorked
	case !errors.As(err, &ae):
		if errors.Is(err, ErrInvalidArgument) {
			return callAnswered
		}
		return callFailed
	case ae.StatusCode == http.StatusUnauthorized, ae.StatusCode == http.StatusForbidden,
		ae.StatusCode == http.StatusTooManyRequests, ae.StatusCode >= 500, !ae.fromClerk():
		return callFailed
	}
	return callAnswered
}

// verdictOf turns a failed call into Clerk's refusal of the token, or
// errUndecided. A 404 with Clerk's error body says Clerk has no such
// session (the fallback's calls are pinned to an API version that has the
// endpoint; its removal is answered 410, which disables the fallback). A
// 400, 404 or 422 without Clerk's body comes from something in between
// and decides nothing: a refusal is remembered until the token expires.
func (f *onlineFallback) verdictOf(err error) error {
	var ae *APIError
	switch {
	case errors.Is(err, ErrEndpointDeprecated):
		f.disable(err)
	case !errors.As(err, &ae) || !ae.fromClerk():
	case ae.StatusCode == http.StatusNotFound:
		return verr(ReasonTokenInvalid, "Clerk has no such session")
	case ae.StatusCode == http.StatusBadRequest || ae.StatusCode == http.StatusUnprocessableEntity:
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
	return verr(ReasonSessionRevoked, endedMessage(s.Status))
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

// record reports the outcome of an allowed call (see outcomeOf). A
// confirmation closes the circuit and resets the count; a refusal of the
// token only closes a half-open circuit (its probe reached a working API),
// so refusals of forged tokens never reset the count of real failures.
func (b *breaker) record(o callOutcome) {
	b.mu.Lock()
	defer b.mu.Unlock()
	wasProbe := b.probing
	b.probing = false
	switch {
	case o == callWorked, o == callAnswered && wasProbe:
		b.failures, b.openUntil = 0, time.Time{}
		return
	case o == callAnswered:
		return
	}
	b.failures++
	if wasProbe || b.failures >= b.threshold {
		b.openUntil = b.now().Add(b.coolOff)
	}
}
