package clerkauth

import (
	"context"
	"errors"
	"strings"
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
	//
	// It should return once the revocation is in force on this instance
	// (IsRevoked reports it) and, for a store shared between instances,
	// written where the others read it; and no later than ctx allows
	// ([Middleware.Revoke] does not wait longer). An error means nothing
	// was recorded, unless it wraps [ErrRevocationNotShared]: the
	// revocation is then in force on this instance only, and the store
	// should keep trying to share it (redisstore's ErrNotShared matches
	// it).
	Revoke(ctx context.Context, sessionID string, until time.Time) error
	// IsRevoked reports whether sessionID has been revoked. An error means
	// the store cannot tell; the Verifier then rejects the token with
	// ErrKeysUnavailable-class error (fail closed) unless the store chooses
	// to answer false.
	IsRevoked(ctx context.Context, sessionID string) (bool, error)
}

// ErrRevocationNotShared is wrapped by an error of [RevocationStore.Revoke]
// when the revocation is in force on this instance but could not be shared
// with the other instances yet (a shared store whose backend is down). A
// store returning it should keep trying in the background. Errors of
// [Middleware.Revoke] match it in that case too.
var ErrRevocationNotShared = errors.New("clerkauth: revocation in force on this instance only, not shared")

// RevokeError is returned by [Middleware.Revoke] when the revocation did
// not fully succeed. Clerk and the RevocationStore are both always asked,
// and each part says how that went; errors.Is and errors.As see both
// causes (as with errors.Join).
//
// The error matches [ErrRevokedLocallyOnly] when Clerk was not told but the
// revocation is in force on this instance, and [ErrRevocationNotShared]
// when it is in force here but not shared with the other instances.
type RevokeError struct {
	// Clerk is why the session could not be revoked at Clerk: no
	// SessionsClient (ErrInvalidConfig), or the call's error. Nil when
	// Clerk revoked it: no new token can be issued for the session, and
	// its tokens expire within their lifetime (about a minute).
	Clerk error
	// Store is the RevocationStore's error, or the context's when the
	// store did not answer in time. Nil when the revocation was recorded.
	// When it matches ErrRevocationNotShared the revocation is in force on
	// this instance; otherwise nothing is known to be recorded.
	Store error
}

// Error describes each failed part.
func (e *RevokeError) Error() string {
	var parts []string
	if e.Clerk != nil {
		parts = append(parts, "clerkauth: session not revoked at Clerk: "+e.Clerk.Error())
	}
	if e.Store != nil {
		parts = append(parts, "clerkauth: revocation store: "+e.Store.Error())
	}
	return strings.Join(parts, "; ")
}

// Unwrap returns the non-nil parts.
func (e *RevokeError) Unwrap() []error {
	var errs []error
	for _, err := range [...]error{e.Clerk, e.Store} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// Is reports whether target is ErrRevokedLocallyOnly and it describes e.
func (e *RevokeError) Is(target error) bool {
	return target == ErrRevokedLocallyOnly && e.Clerk != nil && e.inForceHere()
}

// inForceHere reports whether the revocation is in force on this instance.
func (e *RevokeError) inForceHere() bool {
	return e.Store == nil || errors.Is(e.Store, ErrRevocationNotShared)
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
