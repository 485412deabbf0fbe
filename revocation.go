package clerkauth

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// RevocationStore records revoked sessions so their tokens are rejected
// before they expire. IsRevoked sits on the hot path of every request: an
// implementation should answer from local memory and never block on the
// network (the Redis store in the redisstore module keeps a local replica).
//
// Implementations must be safe for concurrent use.
type RevocationStore interface {
	// Revoke records that sessionID is revoked. The record may be dropped
	// after until: no token of the session can be valid past it.
	Revoke(ctx context.Context, sessionID string, until time.Time) error
	// IsRevoked reports whether sessionID has been revoked. An error means
	// the store cannot tell; the Verifier then rejects the token with
	// ErrKeysUnavailable-class error (fail closed) unless the store chooses
	// to answer false.
	IsRevoked(ctx context.Context, sessionID string) (bool, error)
}

// checkRevoked rejects tokens of a revoked session. A store that cannot
// answer fails closed.
func (v *Verifier) checkRevoked(ctx context.Context, c *Claims) error {
	revoked, err := v.revocations.IsRevoked(ctx, c.SessionID)
	v.obs.revocationResult(ctx, opIsRevoked, err) // observer.go
	switch {
	case err != nil:
		return verrWrap(ReasonRevocationUnavailable, "revocation store unavailable", err)
	case revoked:
		return verr(ReasonSessionRevoked, "session has been revoked")
	}
	return nil
}

// MemoryRevocationStore is a [RevocationStore] local to one process. It is
// safe for concurrent use. Entries are dropped lazily once past their until
// time. The zero value is not usable: call [NewMemoryRevocationStore].
type MemoryRevocationStore struct {
	now func() time.Time
	n   atomic.Int64 // len(m), read without the lock on the hot path
	mu  sync.RWMutex
	m   map[string]time.Time
	ops int
}

// NewMemoryRevocationStore returns an empty in-memory store. now may be nil
// for time.Now.
func NewMemoryRevocationStore(now func() time.Time) *MemoryRevocationStore {
	if now == nil {
		now = time.Now
	}
	return &MemoryRevocationStore{now: now, m: make(map[string]time.Time)}
}

// Revoke records sessionID as revoked until the given time.
func (s *MemoryRevocationStore) Revoke(_ context.Context, sessionID string, until time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[sessionID]; !ok || until.After(old) {
		s.m[sessionID] = until
	}
	s.n.Store(int64(len(s.m)))
	s.ops++
	if s.ops%1024 == 0 {
		s.purgeLocked()
	}
	return nil
}

// IsRevoked reports whether sessionID is revoked. It never fails.
func (s *MemoryRevocationStore) IsRevoked(_ context.Context, sessionID string) (bool, error) {
	if s.n.Load() == 0 {
		return false, nil
	}
	s.mu.RLock()
	until, ok := s.m[sessionID]
	s.mu.RUnlock()
	if !ok {
		return false, nil
	}
	return s.now().Before(until), nil
}

// Len returns the number of sessions currently recorded, expired entries
// not yet purged included.
func (s *MemoryRevocationStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}

func (s *MemoryRevocationStore) purgeLocked() {
	now := s.now()
	for id, until := range s.m {
		if !now.Before(until) {
			delete(s.m, id)
		}
	}
	s.n.Store(int64(len(s.m)))
}
