package clerkauth

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fleetCache is a MachineTokenCache with leases and watchers, in memory:
// what redisstore.MachineCache does over Redis, for the replicas of one
// test. Entries do not expire (the Verifier checks their time itself);
// leases do, on the real clock.
type fleetCache struct {
	mu       sync.Mutex
	m        map[string][]byte
	leases   map[string]leaseOf
	watchers map[int]func(string)
	next     int
	gets     int
}

type leaseOf struct {
	owner *fleetView
	until time.Time
}

// fleetView is one replica's handle on a fleetCache: leases are owned per
// view.
type fleetView struct{ *fleetCache }

func newFleetCache() *fleetCache {
	return &fleetCache{m: map[string][]byte{}, leases: map[string]leaseOf{}, watchers: map[int]func(string){}}
}

func (c *fleetCache) view() *fleetView { return &fleetView{c} }

func (c *fleetCache) Get(_ context.Context, k string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets++
	return c.m[k], nil
}

func (c *fleetCache) Set(_ context.Context, k string, v []byte, _ time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k] = v
	return nil
}

func (c *fleetCache) Delete(_ context.Context, k string) error {
	c.mu.Lock()
	delete(c.m, k)
	var fns []func(string)
	for _, f := range c.watchers {
		fns = append(fns, f)
	}
	c.mu.Unlock()
	for _, f := range fns {
		f(k)
	}
	return nil
}

func (c *fleetCache) Watch(f func(string)) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.next
	c.next++
	c.watchers[id] = f
	return func() { c.mu.Lock(); delete(c.watchers, id); c.mu.Unlock() }
}

func (c *fleetCache) len() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.m) }

func (v *fleetView) Lease(_ context.Context, k string, ttl time.Duration) (bool, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if l, ok := v.leases[k]; ok && time.Now().Before(l.until) {
		return false, nil
	}
	v.leases[k] = leaseOf{owner: v, until: time.Now().Add(ttl)}
	return true, nil
}

func (v *fleetView) Unlease(_ context.Context, k string) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.leases[k].owner == v {
		delete(v.leases, k)
	}
	return nil
}

var (
	_ MachineTokenLeaser  = (*fleetView)(nil)
	_ MachineTokenWatcher = (*fleetView)(nil)
)

// replicaOf returns a Verifier sharing e's Backend API and clock, with
// cache as its MachineTokenCache.
func replicaOf(t *testing.T, e *machineEnv, cache MachineTokenCache, mutate ...func(*Config)) *Verifier {
	cfg := Config{
		SecretKey: testSecret, JWKSURL: e.jwks.URL, APIURL: e.api.URL + "/v1", PublishableKey: testPK,
		Now: e.clock.Now, MaxRetries: -1, MachineTokenCache: cache,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	return newTestVerifier(t, cfg)
}

// TestFleetOneCallPerToken: replicas missing a token at once make one
// call between them; the others wait for its answer in the shared cache.
func TestFleetOneCallPerToken(t *testing.T) {
	e := newMachineEnv(t)
	shared := newFleetCache()
	gate := make(chan struct{})
	e.api.set(func(f *fakeVerify) { f.gate = gate })
	var replicas []*Verifier
	for range 4 {
		replicas = append(replicas, replicaOf(t, e, shared.view()))
	}
	var wg sync.WaitGroup
	errs := make([]error, len(replicas))
	for i, v := range replicas {
		wg.Go(func() { _, errs[i] = v.VerifyMachineToken(t.Context(), goodAPIKey) })
	}
	require.Eventually(t, func() bool { return e.api.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	// The waiters look at the shared cache meanwhile, and do not call.
	require.Eventually(t, func() bool { shared.mu.Lock(); defer shared.mu.Unlock(); return shared.gets > 10 },
		5*time.Second, time.Millisecond)
	assert.EqualValues(t, 1, e.api.calls.Load(), "only the lease holder calls")
	close(gate)
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "replica %d", i)
	}
	assert.EqualValues(t, 1, e.api.calls.Load())
}

// TestFleetSilentLeaseHolder: a lease whose holder never answers delays
// the others by at most fleetLeaseWait; they then ask Clerk themselves.
func TestFleetSilentLeaseHolder(t *testing.T) {
	e := newMachineEnv(t)
	shared := newFleetCache()
	v := replicaOf(t, e, shared.view())
	key := v.opaque.hasher.sum(goodAPIKey)
	ok, _ := shared.view().Lease(t.Context(), sharedKey(key), time.Hour) // a replica that died
	require.True(t, ok)
	done := make(chan error, 1)
	go func() { _, err := v.VerifyMachineToken(context.Background(), goodAPIKey); done <- err }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(fleetLeaseWait + 10*time.Second):
		t.Fatal("waited for the silent lease holder without bound")
	}
	assert.EqualValues(t, 1, e.api.calls.Load(), "asked Clerk itself")
}

// TestFleetSharedRefusal: a token Clerk refused on one replica is refused
// by the others without a call, for negativeTTL; the entry names no token.
func TestFleetSharedRefusal(t *testing.T) {
	e := newMachineEnv(t)
	shared := newFleetCache()
	a, b := replicaOf(t, e, shared.view()), replicaOf(t, e, shared.view())
	const guessed = "ak_guessed0123456789abcdef"
	_, err := a.VerifyMachineToken(t.Context(), guessed)
	require.ErrorIs(t, err, ErrInvalidToken)
	_, err = b.VerifyMachineToken(t.Context(), guessed)
	require.ErrorIs(t, err, ErrInvalidToken)
	assert.EqualValues(t, 1, e.api.calls.Load(), "B trusted A's refusal")
	require.Equal(t, 1, shared.len())
	for _, v := range shared.m {
		assert.NotContains(t, string(v), "guessed")
		var r sharedRefusal
		require.NoError(t, json.Unmarshal(v, &r))
		assert.True(t, r.Refused)
		assert.Equal(t, TokenKindAPIKey, r.Kind)
	}

	// A refusal never stands for a confirmation, nor for another kind.
	e.clock.Advance(negativeTTL)
	c := replicaOf(t, e, shared.view())
	_, err = c.VerifyMachineToken(t.Context(), goodAPIKey)
	require.NoError(t, err)
	assert.EqualValues(t, 2, e.api.calls.Load(), "the refusal expired: asked again")
}

// TestFleetForgetByID: forgetting a token by its ID on one replica drops
// it from the shared cache and from every replica's in-process cache.
func TestFleetForgetByID(t *testing.T) {
	e := newMachineEnv(t)
	shared := newFleetCache()
	a, b := replicaOf(t, e, shared.view()), replicaOf(t, e, shared.view())
	mt, err := a.VerifyMachineToken(t.Context(), goodAPIKey)
	require.NoError(t, err)
	_, err = b.VerifyMachineToken(t.Context(), goodAPIKey)
	require.NoError(t, err)
	require.EqualValues(t, 1, e.api.calls.Load())
	require.Equal(t, 2, shared.len(), "the entry and its ID's index")

	require.NoError(t, b.ForgetMachineTokenID(t.Context(), mt.ID))
	assert.Zero(t, shared.len(), "both gone from the shared cache")
	_, err = a.VerifyMachineToken(t.Context(), goodAPIKey)
	require.NoError(t, err)
	assert.EqualValues(t, 2, e.api.calls.Load(), "A's in-process entry was dropped too")

	assert.ErrorIs(t, a.ForgetMachineTokenID(t.Context(), ""), ErrInvalidArgument)
	assert.NoError(t, a.ForgetMachineTokenID(t.Context(), "ak_unknown"), "an unknown ID is nothing to forget")

	// Without a shared cache, the in-process entry goes.
	solo := replicaOf(t, e, nil)
	mt, err = solo.VerifyMachineToken(t.Context(), goodAPIKey)
	require.NoError(t, err)
	calls := e.api.calls.Load()
	require.NoError(t, solo.ForgetMachineTokenID(t.Context(), mt.ID))
	_, err = solo.VerifyMachineToken(t.Context(), goodAPIKey)
	require.NoError(t, err)
	assert.Equal(t, calls+1, e.api.calls.Load())
}

// TestFleetForgetDuringCall: an answer obtained by a call in flight when
// its token was forgotten may predate the revocation: it answers that
// request, and is cached nowhere.
func TestFleetForgetDuringCall(t *testing.T) {
	e := newMachineEnv(t)
	shared := newFleetCache()
	a, b := replicaOf(t, e, shared.view()), replicaOf(t, e, shared.view())
	gate := make(chan struct{})
	e.api.set(func(f *fakeVerify) { f.gate = gate })
	done := make(chan error, 1)
	go func() { _, err := a.VerifyMachineToken(context.Background(), goodAPIKey); done <- err }()
	require.Eventually(t, func() bool { return e.api.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, b.ForgetMachineToken(t.Context(), goodAPIKey))
	close(gate)
	require.NoError(t, <-done)
	assert.Zero(t, shared.len(), "the stale answer was not shared")
	_, err := a.VerifyMachineToken(t.Context(), goodAPIKey)
	require.NoError(t, err)
	assert.EqualValues(t, 2, e.api.calls.Load(), "nor cached by A")
}

// TestFleetKeysBoundToMachineKey: services verifying M2M tokens with
// different machine secret keys (Clerk confirms a token only to the
// machines it is scoped to) never share verdicts, even through one cache.
func TestFleetKeysBoundToMachineKey(t *testing.T) {
	e := newMachineEnv(t)
	shared := newFleetCache()
	a := replicaOf(t, e, shared.view(), func(c *Config) { c.MachineSecretKey = "ak_machineA0123456789" })
	b := replicaOf(t, e, shared.view(), func(c *Config) { c.MachineSecretKey = "ak_machineB0123456789" })
	_, err := a.VerifyMachineToken(t.Context(), goodM2M)
	require.NoError(t, err)
	_, err = b.VerifyMachineToken(t.Context(), goodM2M)
	require.NoError(t, err)
	assert.EqualValues(t, 2, e.api.calls.Load(), "B asked Clerk with its own key")
}

// TestFleetWatchStopsOnClose: a Verifier stops watching when it closes.
func TestFleetWatchStopsOnClose(t *testing.T) {
	e := newMachineEnv(t)
	shared := newFleetCache()
	v := replicaOf(t, e, shared.view())
	shared.mu.Lock()
	require.Len(t, shared.watchers, 1)
	shared.mu.Unlock()
	require.NoError(t, v.Close())
	shared.mu.Lock()
	defer shared.mu.Unlock()
	assert.Empty(t, shared.watchers)
}

// TestFleetForgetIDWithoutIndex: forgetting an ID that no cache can map
// to a token (its entry written after the look-up, by a call in flight)
// still reaches every replica: the answer in flight is not cached, a
// replica holding the token drops it, and the others distrust the shared
// entry for a TTL.
func TestFleetForgetIDWithoutIndex(t *testing.T) {
	id := "ak_" + strings.Repeat("c", 32) // apiKeyAnswer's
	t.Run("a call in flight", func(t *testing.T) {
		e := newMachineEnv(t)
		shared := newFleetCache()
		a, b := replicaOf(t, e, shared.view()), replicaOf(t, e, shared.view())
		gate := make(chan struct{})
		e.api.set(func(f *fakeVerify) { f.gate = gate })
		done := make(chan error, 1)
		go func() { _, err := a.VerifyMachineToken(context.Background(), goodAPIKey); done <- err }()
		require.Eventually(t, func() bool { return e.api.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
		require.NoError(t, b.ForgetMachineTokenID(t.Context(), id))
		close(gate)
		require.NoError(t, <-done, "the request in flight gets its answer")
		assert.Zero(t, shared.len(), "not shared")
		_, err := a.VerifyMachineToken(t.Context(), goodAPIKey)
		require.NoError(t, err)
		assert.EqualValues(t, 2, e.api.calls.Load(), "nor cached by A")
	})
	t.Run("an entry without index", func(t *testing.T) {
		e := newMachineEnv(t)
		shared := newFleetCache()
		a, b, c := replicaOf(t, e, shared.view()), replicaOf(t, e, shared.view()), replicaOf(t, e, shared.view())
		_, err := a.VerifyMachineToken(t.Context(), goodAPIKey)
		require.NoError(t, err)
		shared.mu.Lock()
		delete(shared.m, sharedKey(a.opaque.idSum(id))) // lost, and no replica told
		shared.mu.Unlock()
		require.NoError(t, b.ForgetMachineTokenID(t.Context(), id))
		require.Equal(t, 1, shared.len(), "the entry could not be found")
		for name, v := range map[string]*Verifier{"A, which held it": a, "C, which reads the shared entry": c} {
			calls := e.api.calls.Load()
			_, err = v.VerifyMachineToken(t.Context(), goodAPIKey)
			require.NoError(t, err)
			assert.Equal(t, calls+1, e.api.calls.Load(), "%s asks Clerk", name)
		}
	})
}
