package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/redis/go-redis/v9"
)

// ErrUnavailable is wrapped by every error the Store returns because Redis
// could not be reached or the Store is not synchronised with it. The
// clerkauth Verifier treats an IsRevoked error as fail-closed: the request is
// refused as unavailable, not as carrying an invalid token.
var ErrUnavailable = errors.New("redisstore: redis unavailable")

// ErrNotShared is wrapped by the error [Store.Revoke] returns when the
// revocation is in force on this replica (its local set rejects the session
// at once) but could not be written to Redis within the caller's context,
// so the other replicas may not know it yet. Until [Store.Close], the Store
// retries the write in the background, with the TTL the revocation has
// left, until it succeeds or the revocation expires. Such an error also
// wraps [ErrUnavailable] and the cause (a Redis error or the context's).
// An error from Revoke that does not wrap ErrNotShared means nothing was
// recorded. ErrNotShared matches [clerkauth.ErrRevocationNotShared], the
// general notion that clerkauth's Middleware.Revoke reports.
var ErrNotShared error = notSharedError{}

// notSharedError is ErrNotShared's type, matching the core's sentinel.
type notSharedError struct{}

func (notSharedError) Error() string {
	return "redisstore: revocation in force on this replica only, not shared yet"
}

func (notSharedError) Is(target error) bool { return target == clerkauth.ErrRevocationNotShared }

var errEmptySessionID = errors.New("redisstore: empty session ID")

// Store is a [clerkauth.RevocationStore] shared through Redis. See the
// package documentation for how revocations propagate and what happens
// while Redis is unreachable.
//
// A Store is safe for concurrent use. It runs two goroutines from [New]
// until [Store.Close]: a subscriber, and a writer that also runs the
// periodic resync ([Options.ResyncInterval]). It does not own the Redis
// client: close the client after the Store.
type Store struct {
	client  redis.UniversalClient
	opts    Options
	local   localSet
	pending *pendingSet

	policyChecked atomic.Bool

	connected atomic.Bool
	downErr   atomic.Pointer[error] // reason the store is not synchronised

	mu        sync.Mutex // guards the fields below
	ps        *redis.PubSub
	closed    bool
	lastErr   error
	lastErrAt time.Time
	lastSync  time.Time
	policy    string

	cancel    context.CancelFunc
	wg        sync.WaitGroup // the subscriber and writer goroutines
	closeOnce sync.Once
}

var _ clerkauth.RevocationStore = (*Store)(nil)

// New returns a Store using client and starts its subscriber and writer
// goroutines; call [Store.Close] to stop them. New subscribes and loads the revoked set
// before it returns, waiting at most until ctx is done. If Redis cannot be
// reached, New still returns a working Store: it starts unsynchronised
// (behaving as Options.FailClosed says), reports the failure through
// Options.OnError and [Store.Status], and keeps retrying in the background.
// Callers that must not start without Redis check Status().Connected.
//
// At the first connection, New reads Redis's maxmemory-policy and warns
// through Options.Logger if it evicts keys (see [Status]).
//
// New fails only for a nil client or invalid options (errors wrapping
// clerkauth.ErrInvalidConfig).
func New(ctx context.Context, client redis.UniversalClient, opts Options) (*Store, error) {
	if client == nil {
		return nil, fmt.Errorf("redisstore: nil redis client: %w", clerkauth.ErrInvalidConfig)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{client: client, opts: opts, pending: newPendingSet(opts.MaxPending)}
	s.setDown(fmt.Errorf("%w: not synchronised yet", ErrUnavailable))
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	ps, err := s.connect(ctx)
	if err != nil {
		s.markDown(err)
	}
	s.wg.Add(2)
	go s.run(runCtx, ps)
	go s.writeLoop(runCtx)
	return s, nil
}

// Revoke records sessionID as revoked until the given time (clamped to
// [Options.MinTTL, Options.MaxTTL] from now; a zero until means MaxTTL). The
// revocation takes effect in this replica's local set at once, then is
// written to Redis with that TTL and broadcast to the other replicas.
//
// Revoke waits for the write at most until ctx is done. If the write fails
// or ctx ends first, it returns an error wrapping [ErrNotShared] and
// [ErrUnavailable]: the revocation is in force here and the Store keeps
// writing it in the background (with the TTL it has left, and never after
// it has expired) until Redis accepts it; the next resynchronisation
// (reconnection or periodic) writes it back too. Retrying Revoke is harmless. After
// [Store.Close] nothing is written any more: Revoke only records locally
// and returns an error wrapping ErrNotShared.
func (s *Store) Revoke(ctx context.Context, sessionID string, until time.Time) error {
	if sessionID == "" {
		return errEmptySessionID
	}
	now := s.opts.Now()
	expiry := now.Add(s.opts.ttlFor(until, now))
	s.local.add(sessionID, expiry)
	done, overflowed, err := s.pending.add(sessionID, expiry)
	if overflowed {
		s.opts.Logger.LogAttrs(ctx, slog.LevelWarn,
			"redisstore: too many revocations waiting to be written to Redis; reconciling the whole local set instead",
			slog.Int("max_pending", s.opts.MaxPending))
	}
	if err == nil {
		select {
		case err = <-done:
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %w: session %s: %w", ErrNotShared, ErrUnavailable, sessionID, err)
	}
	return nil
}

// IsRevoked reports whether sessionID is revoked. It answers from the local
// set only, without network or locks. A session known to be revoked is
// reported so in every mode. Otherwise, with Options.FailClosed, it returns
// an error wrapping [ErrUnavailable] while the Store is not synchronised
// with Redis.
func (s *Store) IsRevoked(_ context.Context, sessionID string) (bool, error) {
	if s.local.has(sessionID, s.opts.Now) {
		return true, nil
	}
	if s.opts.FailClosed && !s.connected.Load() {
		return false, *s.downErr.Load()
	}
	return false, nil
}

// Status describes a Store's link with Redis.
type Status struct {
	// Connected reports whether the Store is subscribed and has loaded the
	// revoked set since its last connection failure.
	Connected bool
	// LastError is the most recent background failure, or nil.
	LastError error
	// LastErrorAt is when LastError happened.
	LastErrorAt time.Time
	// LastSync is when the revoked set was last fully reloaded from Redis
	// (at a connection, or by the periodic resync).
	LastSync time.Time
	// Revoked is the number of entries in the local set.
	Revoked int
	// Pending is the number of revocations whose write to Redis failed and
	// is being retried (at most Options.MaxPending).
	Pending int
	// MaxmemoryPolicy is Redis's maxmemory-policy read at the first
	// connection ("" if not read yet or if CONFIG is not allowed). An
	// evicting policy (allkeys-* or volatile-*: revocation keys have a TTL)
	// lets Redis drop revocations under memory pressure; use noeviction.
	// On a cluster it is the first evicting policy among the masters.
	MaxmemoryPolicy string
}

// Status returns the Store's current link status. It is meant for health
// checks and metrics, not for the request path.
func (s *Store) Status() Status {
	s.mu.Lock()
	st := Status{LastError: s.lastErr, LastErrorAt: s.lastErrAt, LastSync: s.lastSync, MaxmemoryPolicy: s.policy}
	s.mu.Unlock()
	st.Connected = s.connected.Load()
	st.Revoked = s.local.len()
	st.Pending = s.pending.len()
	return st
}

// Close stops the subscriber and writer goroutines (and so the periodic
// resync) and waits for them to exit. It does not close the Redis client. Revocations still waiting to be
// written are abandoned (Revoke calls waiting for them return an error
// wrapping [ErrNotShared]). After Close, IsRevoked keeps answering from the
// local set and Revoke records locally only. Close is idempotent and always
// returns nil.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.mu.Lock()
		s.closed = true
		ps := s.ps
		s.mu.Unlock()
		if ps != nil {
			_ = ps.Close() // interrupts a blocked receive
		}
		s.wg.Wait()
		s.setDown(fmt.Errorf("%w: store closed", ErrUnavailable))
	})
	return nil
}

// encodeMessage builds a broadcast payload: the remaining lifetime in
// milliseconds (relative, so replicas' clock skew does not matter), a colon,
// and the session ID.
func encodeMessage(sessionID string, ttl time.Duration) string {
	return strconv.FormatInt(ttl.Milliseconds(), 10) + ":" + sessionID
}

// decodeMessage parses a payload built by encodeMessage.
func decodeMessage(payload string) (sessionID string, ttl time.Duration, err error) {
	ms, id, ok := strings.Cut(payload, ":")
	n, perr := strconv.ParseInt(ms, 10, 64)
	if !ok || perr != nil || n <= 0 || id == "" {
		return "", 0, fmt.Errorf("redisstore: ignoring malformed message on revocation channel (%d bytes)", len(payload))
	}
	return id, time.Duration(n) * time.Millisecond, nil
}
