package redisstore

import (
	"context"
	"errors"
	"fmt"
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

var errEmptySessionID = errors.New("redisstore: empty session ID")

// Store is a [clerkauth.RevocationStore] shared through Redis. See the
// package documentation for how revocations propagate and what happens
// while Redis is unreachable.
//
// A Store is safe for concurrent use. It runs one subscriber goroutine from
// [New] until [Store.Close]. It does not own the Redis client: close the
// client after the Store.
type Store struct {
	client redis.UniversalClient
	opts   Options
	local  localSet

	connected atomic.Bool
	downErr   atomic.Pointer[error] // reason the store is not synchronised

	mu        sync.Mutex // guards the fields below
	ps        *redis.PubSub
	closed    bool
	lastErr   error
	lastErrAt time.Time
	lastSync  time.Time

	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

var _ clerkauth.RevocationStore = (*Store)(nil)

// New returns a Store using client and starts its subscriber goroutine;
// call [Store.Close] to stop it. New subscribes and loads the revoked set
// before it returns, waiting at most until ctx is done. If Redis cannot be
// reached, New still returns a working Store: it starts unsynchronised
// (behaving as Options.FailClosed says), reports the failure through
// Options.OnError and [Store.Status], and keeps retrying in the background.
// Callers that must not start without Redis check Status().Connected.
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
	s := &Store{client: client, opts: opts, done: make(chan struct{})}
	s.setDown(fmt.Errorf("%w: not synchronised yet", ErrUnavailable))
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	ps, err := s.connect(ctx)
	if err != nil {
		s.markDown(err)
	}
	go s.run(runCtx, ps)
	return s, nil
}

// Revoke records sessionID as revoked until the given time (clamped to
// [Options.MinTTL, Options.MaxTTL] from now; a zero until means MaxTTL). The
// revocation takes effect in this replica's local set at once, then is
// written to Redis with that TTL and broadcast to the other replicas.
//
// If Redis cannot be reached, Revoke returns an error wrapping
// [ErrUnavailable]: the revocation is kept locally and is written back and
// broadcast when the Store next resynchronises. Retrying is harmless.
func (s *Store) Revoke(ctx context.Context, sessionID string, until time.Time) error {
	if sessionID == "" {
		return errEmptySessionID
	}
	now := s.opts.Now()
	ttl := s.opts.ttlFor(until, now)
	s.local.add(sessionID, now.Add(ttl))
	if err := s.write(ctx, sessionID, ttl); err != nil {
		return fmt.Errorf("%w: revocation of %s kept locally, to be written back on reconnect: %w",
			ErrUnavailable, sessionID, err)
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
	// LastSync is when the revoked set was last fully reloaded from Redis.
	LastSync time.Time
	// Revoked is the number of entries in the local set.
	Revoked int
}

// Status returns the Store's current link status. It is meant for health
// checks and metrics, not for the request path.
func (s *Store) Status() Status {
	s.mu.Lock()
	st := Status{LastError: s.lastErr, LastErrorAt: s.lastErrAt, LastSync: s.lastSync}
	s.mu.Unlock()
	st.Connected = s.connected.Load()
	st.Revoked = s.local.len()
	return st
}

// Close stops the subscriber goroutine and waits for it to exit. It does not
// close the Redis client. After Close, IsRevoked keeps answering from the
// local set and Revoke still writes to Redis, but nothing is received any
// more. Close is idempotent and always returns nil.
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
		<-s.done
		s.setDown(fmt.Errorf("%w: store closed", ErrUnavailable))
	})
	return nil
}

// write stores the revocation in Redis and broadcasts it.
func (s *Store) write(ctx context.Context, sessionID string, ttl time.Duration) error {
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, s.opts.Prefix+sessionID, ttl.Milliseconds(), ttl)
		p.Publish(ctx, s.opts.Channel, encodeMessage(sessionID, ttl))
		return nil
	})
	return err
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
