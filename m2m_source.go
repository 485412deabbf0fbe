package clerkauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clerkauth/clerkauth/internal/httpx"
)

// ErrM2MTokenUnavailable is matched by every error of [M2MTokenSource.Token]:
// no valid token could be had. The error also wraps its cause, such as an
// [*APIError] matching [ErrUnauthorized] (the machine secret key was
// refused) or [ErrRateLimited], or [ErrTokenSourceClosed].
var ErrM2MTokenUnavailable = errors.New("clerkauth: no M2M token available")

// ErrTokenSourceClosed is returned by an [M2MTokenSource] after Close.
var ErrTokenSourceClosed = errors.New("clerkauth: token source closed")

// Timing of the token source.
const (
	// maxRefreshMargin caps the default refresh margin.
	maxRefreshMargin = time.Minute
	// expiryGuard is the life a token must still have to be handed out:
	// enough to reach a receiver that allows no clock skew.
	expiryGuard = time.Second
	// minRenewInterval is the least time between two replacements of a
	// token caused by receivers rejecting it ([M2MTransport] on a 401), so
	// that a receiver rejecting every token cannot make the caller mint
	// tokens without bound.
	minRenewInterval = 10 * time.Second
	// transientCoolOff and permanentCoolOff are how long a failed creation
	// is answered from memory, without calling Clerk again, when no valid
	// token is held: short for network errors, 5xx and 429 (longer when
	// Retry-After says so), long for answers that will not change by
	// themselves (401 refused key, 400, 403). A Retry-After counts up to
	// httpx.MaxRetryAfter.
	transientCoolOff = time.Second
	permanentCoolOff = 30 * time.Second
	// refreshTimeout bounds one refresh, retries included.
	refreshTimeout = 2 * time.Minute
)

// M2MTokenSource hands out M2M tokens of one machine, creating them with
// Clerk's Backend API as needed. Token returns the current token while it
// has more than the refresh margin left; within the margin it starts
// creating the next one in the background and keeps returning the current
// one; once it has expired (less than a second left), callers wait for the
// new one. Concurrent refreshes are merged into one Backend API call, and a
// failed creation is answered from memory for a short cool-off (1 s, or the
// Retry-After up to 60 s; 30 s when Clerk refused the key or the request)
// instead of calling Clerk for every caller. It never returns an expired token.
//
// Expiry is measured on the local clock: a token's lifetime (expiration
// minus creation, both by Clerk's clock) is counted from when the create
// request was sent, so a skewed local clock cannot make it hand out an
// expired token.
//
// An M2MTokenSource is safe for concurrent use by multiple goroutines.
// Background refreshes run on goroutines that Close cancels and waits for.
type M2MTokenSource struct {
	client   *M2MTokensClient
	params   CreateM2MTokenParams
	margin   time.Duration // 0: per token, min(1 min, lifetime/4)
	now      func() time.Time
	logger   *slog.Logger
	ctx      context.Context // of background refreshes; canceled by Close
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	cur      atomic.Pointer[heldToken] // the token handed out, nil for none
	mu       sync.Mutex                // guards the fields below
	inflight chan struct{}             // closed when the running refresh ends; nil when none runs
	lastErr  error                     // the last refresh's error, nil after a success
	quietTil time.Time                 // no refresh is started before this, after a failure
	renewed  time.Time                 // when a rejected token was last dropped
	closed   bool
	creates  int // refreshes started (tests read it)
}

// heldToken is a token with its local schedule.
type heldToken struct {
	tok       *M2MToken
	authz     string    // "Bearer " + tok.Token, built once
	refreshAt time.Time // start the next token from here on
	expiresAt time.Time // hand it out only before this; zero: never expires
}

func (h *heldToken) fresh(now time.Time) bool {
	return h != nil && (h.refreshAt.IsZero() || now.Before(h.refreshAt))
}

func (h *heldToken) usable(now time.Time) bool {
	return h != nil && (h.expiresAt.IsZero() || now.Before(h.expiresAt))
}

// NewM2MTokenSource returns a source creating tokens as cfg describes (see
// [M2MConfig]); it makes no request until the first Token. A configuration
// it cannot use yields an error matching [ErrInvalidConfig].
func NewM2MTokenSource(cfg M2MConfig) (*M2MTokenSource, error) {
	params, margin, err := sourceParams(cfg)
	if err != nil {
		return nil, err
	}
	client, err := NewM2MTokensClient(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &M2MTokenSource{client: client, params: params, margin: margin, now: cfg.Now,
		logger: cfg.Logger, ctx: ctx, cancel: cancel}
	if s.now == nil {
		s.now = time.Now
	}
	return s, nil
}

// sourceParams checks the token fields of cfg and returns the creation
// parameters and the configured refresh margin.
func sourceParams(cfg M2MConfig) (CreateM2MTokenParams, time.Duration, error) {
	p := CreateM2MTokenParams{Format: orDefault(cfg.Format, M2MFormatJWT),
		Lifetime: orDefault(cfg.Lifetime, DefaultM2MTokenLifetime), MinRemainingTTL: cfg.MinRemainingTTL}
	bad := func(format string, a ...any) (CreateM2MTokenParams, time.Duration, error) {
		return p, 0, fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, a...))
	}
	if cfg.Claims != nil {
		b, err := json.Marshal(cfg.Claims)
		if err != nil {
			return bad("Claims cannot be encoded: %v", err)
		}
		p.Claims = b
	}
	switch {
	case cfg.RefreshMargin < 0 || cfg.RefreshMargin >= p.Lifetime:
		return bad("RefreshMargin must be shorter than Lifetime (%v)", p.Lifetime)
	case p.MinRemainingTTL > 0 && p.MinRemainingTTL <= defaultMargin(cfg.RefreshMargin, p.Lifetime):
		return bad("MinRemainingTTL must be longer than the refresh margin, or the same token would come back")
	}
	if _, err := p.body("configure M2M token source"); err != nil {
		return bad("%s", strings.TrimPrefix(err.Error(), ErrInvalidArgument.Error()+": configure M2M token source: "))
	}
	return p, cfg.RefreshMargin, nil
}

// defaultMargin returns margin, or min(1 min, lifetime/4) when it is 0.
func defaultMargin(margin, lifetime time.Duration) time.Duration {
	if margin > 0 {
		return margin
	}
	return min(maxRefreshMargin, lifetime/4)
}

// Client returns the Backend API client the source creates tokens with
// (to list or revoke the machine's tokens).
func (s *M2MTokenSource) Client() *M2MTokensClient { return s.client }

// Token returns a token valid for at least a second more, creating one if
// needed. It waits for a creation at most until ctx is done. Every error
// matches [ErrM2MTokenUnavailable]. The caller must not modify the token.
func (s *M2MTokenSource) Token(ctx context.Context) (*M2MToken, error) {
	h, err := s.current(ctx)
	if err != nil {
		return nil, err
	}
	return h.tok, nil
}

// current is Token returning the held token; its fast path reads one
// atomic pointer and the clock.
func (s *M2MTokenSource) current(ctx context.Context) (*heldToken, error) {
	h := s.cur.Load()
	now := s.now()
	if h.fresh(now) {
		return h, nil
	}
	if h.usable(now) {
		s.refreshInBackground()
		return h, nil
	}
	return s.await(ctx)
}

// await waits for a usable token, starting a refresh unless one runs or
// the last one failed within its cool-off.
func (s *M2MTokenSource) await(ctx context.Context) (*heldToken, error) {
	s.mu.Lock()
	if h := s.cur.Load(); h.usable(s.now()) {
		s.mu.Unlock()
		return h, nil
	}
	done, err := s.startLocked()
	s.mu.Unlock()
	if err != nil {
		return nil, noM2MToken(err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return nil, noM2MToken(fmt.Errorf("gave up waiting for a new token: %w", ctx.Err()))
	}
	if h := s.cur.Load(); h.usable(s.now()) {
		return h, nil
	}
	s.mu.Lock()
	err = s.lastErr
	s.mu.Unlock()
	if err == nil {
		err = errors.New("the new token expired at once")
	}
	return nil, noM2MToken(err)
}

func noM2MToken(cause error) error {
	return fmt.Errorf("%w: %w", ErrM2MTokenUnavailable, cause)
}

// refreshInBackground starts a refresh unless one runs, the source is
// closed, or the last one failed within its cool-off.
func (s *M2MTokenSource) refreshInBackground() {
	s.mu.Lock()
	_, _ = s.startLocked()
	s.mu.Unlock()
}

// startLocked returns the channel closed when the running refresh ends,
// starting one if none runs. During the cool-off after a failure it
// returns the failure instead. s.mu must be held.
func (s *M2MTokenSource) startLocked() (<-chan struct{}, error) {
	switch {
	case s.closed:
		return nil, ErrTokenSourceClosed
	case s.inflight != nil:
		return s.inflight, nil
	case s.lastErr != nil && s.now().Before(s.quietTil):
		return nil, s.lastErr
	}
	done := make(chan struct{})
	s.inflight = done
	s.creates++
	s.wg.Add(1)
	go s.refresh(done)
	return done, nil
}

// refresh creates a token on the source's own context, so that no
// caller's cancellation cancels it for the others, and installs it.
func (s *M2MTokenSource) refresh(done chan struct{}) {
	defer s.wg.Done()
	ctx, cancel := context.WithTimeout(s.ctx, refreshTimeout)
	sent := s.now()
	tok, err := s.client.Create(ctx, s.params)
	cancel()
	s.mu.Lock()
	if err == nil {
		s.cur.Store(s.schedule(tok, sent))
		s.lastErr = nil
	} else {
		s.lastErr = err
		s.quietTil = s.now().Add(coolOff(err))
	}
	s.inflight = nil
	s.mu.Unlock()
	close(done)
	if err != nil && s.logger != nil {
		s.logger.LogAttrs(context.Background(), slog.LevelWarn, "clerkauth: creating an M2M token failed",
			slog.String("error", err.Error()))
	}
}

// schedule computes when tok, whose create request was sent at sent
// (local clock), must be refreshed and stops being handed out.
func (s *M2MTokenSource) schedule(tok *M2MToken, sent time.Time) *heldToken {
	h := &heldToken{tok: tok, authz: "Bearer " + tok.Token}
	if tok.Expiration.IsZero() {
		return h
	}
	lifetime := tok.Expiration.Sub(tok.CreatedAt)
	if pooled := s.params.MinRemainingTTL; pooled > 0 {
		// Clerk may have handed back a token created earlier (by another
		// process), whose life left is only known to be at least pooled.
		lifetime = min(lifetime, pooled)
	}
	h.expiresAt = sent.Add(lifetime - expiryGuard)
	h.refreshAt = sent.Add(lifetime - defaultMargin(s.margin, lifetime))
	if h.refreshAt.After(h.expiresAt) {
		h.refreshAt = h.expiresAt
	}
	return h
}

// coolOff returns how long a creation failure is answered from memory.
func coolOff(err error) time.Duration {
	var apiErr *APIError
	switch {
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests:
		// Capped: a day-long Retry-After from a broken proxy must not
		// leave the source without a token until the process restarts.
		return min(max(apiErr.RetryAfter, transientCoolOff), httpx.MaxRetryAfter)
	case errors.As(err, &apiErr) && apiErr.StatusCode < 500:
		return permanentCoolOff
	case errors.Is(err, ErrUnexpectedResponse):
		return permanentCoolOff
	}
	return transientCoolOff
}

// renew is called when a receiver rejected h. It returns a different
// usable token, creating one if h is still current, or ok false when none
// can be had now: a token was already replaced for a rejection less than
// minRenewInterval ago, or creation fails.
func (s *M2MTokenSource) renew(ctx context.Context, rejected *heldToken) (*heldToken, bool) {
	s.mu.Lock()
	if s.cur.Load() == rejected {
		now := s.now()
		if !s.renewed.IsZero() && now.Sub(s.renewed) < minRenewInterval {
			s.mu.Unlock()
			return nil, false
		}
		s.renewed = now
		s.cur.CompareAndSwap(rejected, nil)
		s.lastErr = nil // a rejection is news: try Clerk again even within a cool-off
	}
	s.mu.Unlock()
	h, err := s.current(ctx)
	if err != nil || h.tok.Token == rejected.tok.Token {
		return nil, false
	}
	return h, true
}

// Revoke revokes the current token at Clerk (for an opaque token) and
// drops it, so that the next Token creates a new one. reason may be empty.
// A JWT token cannot be revoked: Revoke then returns an error matching
// [ErrInvalidArgument] and keeps the token. With no current token it does
// nothing.
func (s *M2MTokenSource) Revoke(ctx context.Context, reason string) error {
	h := s.cur.Load()
	if h == nil {
		return nil
	}
	if s.params.Format == M2MFormatJWT {
		return argError("revoke M2M token", "JWT M2M tokens cannot be revoked; they expire")
	}
	if _, err := s.client.Revoke(ctx, h.tok.ID, reason); err != nil {
		return err
	}
	s.cur.CompareAndSwap(h, nil)
	return nil
}

// Close stops the source: it cancels a running refresh, waits for it and
// makes later Token calls fail with [ErrTokenSourceClosed]. It revokes
// nothing: call Revoke first to revoke the current opaque token. It is
// safe to call more than once.
func (s *M2MTokenSource) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	s.cur.Store(nil)
	return nil
}
