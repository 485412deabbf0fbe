package clerkauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// notSharedStore records revocations locally and fails to share them, as
// redisstore does while Redis is down.
type notSharedStore struct{ *MemoryRevocationStore }

func (s notSharedStore) Revoke(ctx context.Context, id string, until time.Time) error {
	_ = s.MemoryRevocationStore.Revoke(ctx, id, until)
	return fmt.Errorf("replica: %w: connection refused", ErrRevocationNotShared)
}

// stuckStore never answers Revoke until released, whatever its context
// says: the worst store there is. It reports when its Revoke returned.
type stuckStore struct {
	*MemoryRevocationStore
	release  chan struct{}
	returned chan struct{}
}

func (s *stuckStore) Revoke(context.Context, string, time.Time) error {
	<-s.release
	close(s.returned)
	return nil
}

// revokeEnv is a Middleware over a Verifier with the given store, and a
// fake Sessions API knowing sess_1 (other IDs: 404).
func revokeEnv(t *testing.T, store RevocationStore) (*mwEnv, *fakeSessions, *Middleware) {
	e := newMWEnv(t)
	e.v = newTestVerifier(t, Config{
		JWKSURL: e.jwks.URL, PublishableKey: testPK, Now: e.clock.Now, MaxRetries: -1, Revocations: store,
	})
	api := newFakeSessions(t)
	return e, api, e.middleware(MiddlewareOptions{SessionsClient: api.client(t, e.clock, "")})
}

// TestRevokeAlwaysCallsClerk is issue #11's finding: with the shared store
// failing, Clerk (the authority) must still be told, and the error must say
// what happened where.
func TestRevokeAlwaysCallsClerk(t *testing.T) {
	tests := []struct {
		name         string
		store        func() RevocationStore
		session      string // sess_1 is known to Clerk; others are 404
		clerkFails   bool
		storeFails   bool
		notShared    bool // the store error matches ErrRevocationNotShared
		refusedHere  bool // the session's tokens are refused on this instance afterwards
		locallyOnly  bool // the error matches ErrRevokedLocallyOnly
		wantNoErrors bool
	}{
		{"store and Clerk succeed", func() RevocationStore { return NewMemoryRevocationStore(nil) },
			"sess_1", false, false, false, true, false, true},
		{"Clerk fails", func() RevocationStore { return NewMemoryRevocationStore(nil) },
			"sess_gone", true, false, false, true, true, false},
		{"store fails", func() RevocationStore { return failingStore{} },
			"sess_1", false, true, false, false, false, false},
		{"store and Clerk fail", func() RevocationStore { return failingStore{} },
			"sess_gone", true, true, false, false, false, false},
		{"store records but cannot share", func() RevocationStore { return notSharedStore{NewMemoryRevocationStore(nil)} },
			"sess_1", false, true, true, true, false, false},
		{"store cannot share and Clerk fails", func() RevocationStore { return notSharedStore{NewMemoryRevocationStore(nil)} },
			"sess_gone", true, true, true, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := tt.store()
			e, api, m := revokeEnv(t, store)
			err := m.Revoke(t.Context(), tt.session)
			assert.EqualValues(t, 1, api.revokes.Load(), "Clerk is always called")
			if tt.wantNoErrors {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
				var re *RevokeError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, tt.clerkFails, re.Clerk != nil, "Clerk part: %v", re.Clerk)
				assert.Equal(t, tt.storeFails, re.Store != nil, "store part: %v", re.Store)
				if tt.clerkFails {
					assert.ErrorIs(t, err, ErrNotFound, "the Clerk cause is kept")
				}
				assert.Equal(t, tt.notShared, errors.Is(err, ErrRevocationNotShared))
				assert.Equal(t, tt.locallyOnly, errors.Is(err, ErrRevokedLocallyOnly))
				if tt.storeFails && !tt.notShared {
					assert.NotContains(t, err.Error(), "in force", "a failed store is not reported as a local revocation")
				}
			}
			if _, ok := store.(failingStore); ok {
				return // the Verifier fails closed on every token with this store
			}
			code := serve(m.Handler(whoami), bearerRequest(e.token("sid", tt.session))).Code
			assert.Equal(t, tt.refusedHere, code == http.StatusUnauthorized, "status %d", code)
		})
	}
}

// TestRevokeSlowStore checks that a store that never answers holds Revoke
// no longer than its context, and does not keep Clerk from being called.
func TestRevokeSlowStore(t *testing.T) {
	store := &stuckStore{MemoryRevocationStore: NewMemoryRevocationStore(nil),
		release: make(chan struct{}), returned: make(chan struct{})}
	_, api, m := revokeEnv(t, store)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Revoke(ctx, "sess_1") }()
	waitFor(t, "Clerk to revoke the session while the store hangs", func() bool {
		var revoked bool
		api.set(func(f *fakeSessions) { revoked = f.status["sess_1"] == SessionRevoked })
		return revoked
	})
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Revoke still waits for the store after its context ended")
	}
	var re *RevokeError
	require.ErrorAs(t, err, &re)
	// Clerk's answer may or may not have been read before the cancellation.
	assert.True(t, re.Clerk == nil || errors.Is(re.Clerk, context.Canceled), "Clerk part: %v", re.Clerk)
	assert.ErrorIs(t, re.Store, context.Canceled, "the store did not answer")
	assert.NotErrorIs(t, err, ErrRevokedLocallyOnly, "nothing is known to be recorded here")

	close(store.release)
	<-store.returned // the store's call ends when the store does: nothing is left waiting on it
}

func TestRevokeWithoutClient(t *testing.T) {
	e := newMWEnv(t)
	m := e.middleware(MiddlewareOptions{})
	err := m.Revoke(t.Context(), "sess_3")
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.ErrorIs(t, err, ErrRevokedLocallyOnly)
	assert.Equal(t, http.StatusUnauthorized, serve(m.Handler(whoami), bearerRequest(e.token("sid", "sess_3"))).Code)
}
