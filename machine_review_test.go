package clerkauth

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpaqueSmallBurstStillVerifiesNewTokens: whatever MachineVerifyBurst,
// a fresh budget lets an unknown token be confirmed; the reserve kept for
// known tokens never takes the whole burst (with a burst of 1, a reserve
// of one call would refuse every new token forever).
func TestOpaqueSmallBurstStillVerifiesNewTokens(t *testing.T) {
	for _, burst := range []int{1, 2, 3, 4, 8} {
		t.Run(fmt.Sprint(burst), func(t *testing.T) {
			e := newMachineEnv(t, func(c *Config) { c.MachineVerifyRate, c.MachineVerifyBurst = 0.001, burst })
			_, err := e.v.VerifyMachineToken(t.Context(), goodAPIKey)
			require.NoError(t, err, "an unknown token on a full budget")
			assert.EqualValues(t, 1, e.api.calls.Load())
			assert.Less(t, e.v.opaque.reserve, burst, "the reserve leaves unknown tokens at least one call")
		})
	}
}

// TestFleetSaturatedReplicaDoesNotPollForNobody: a replica whose verify
// calls are all in flight (each holding its token's lease) cannot take the
// lease of a new token. When no other replica holds that lease either
// (the case of a flood of made-up tokens), nobody will answer: waiting
// fleetLeaseWait polling the shared cache only holds the request and
// multiplies the shared cache's load (about 80 operations per request).
// The request is answered at once, as without a shared cache.
func TestFleetSaturatedReplicaDoesNotPollForNobody(t *testing.T) {
	e := newMachineEnv(t)
	shared := newFleetCache()
	gate := make(chan struct{})
	e.api.set(func(f *fakeVerify) { f.gate = gate })
	v := replicaOf(t, e, shared.view(), func(c *Config) { c.MachineVerifyRate, c.MachineVerifyBurst = 1000, 1000 })
	var wg sync.WaitGroup
	defer func() { close(gate); wg.Wait() }()
	for i := range maxVerifyInFlight {
		wg.Go(func() {
			_, _ = v.VerifyMachineToken(context.Background(), fmt.Sprintf("ak_flood%04d0123456789abcdef", i))
		})
	}
	require.Eventually(t, func() bool { return e.api.calls.Load() == maxVerifyInFlight }, 5*time.Second, time.Millisecond)

	shared.mu.Lock()
	before := shared.gets
	shared.mu.Unlock()
	_, err := v.VerifyMachineToken(t.Context(), "ak_onemore0123456789abcdef")
	require.ErrorIs(t, err, ErrKeysUnavailable, "no call can be made: 503")
	shared.mu.Lock()
	gets := shared.gets - before
	shared.mu.Unlock()
	assert.LessOrEqual(t, gets, 3, "looked at the shared cache, then answered without polling")
	assert.EqualValues(t, maxVerifyInFlight, e.api.calls.Load())
}

// TestFleetSaturatedReplicaWaitsForAHolder: the same saturated replica
// still waits for a token whose lease another replica holds, and takes
// its answer without calling.
func TestFleetSaturatedReplicaWaitsForAHolder(t *testing.T) {
	e := newMachineEnv(t)
	shared := newFleetCache()
	gate := make(chan struct{})
	e.api.set(func(f *fakeVerify) { f.gate = gate })
	v := replicaOf(t, e, shared.view(), func(c *Config) { c.MachineVerifyRate, c.MachineVerifyBurst = 1000, 1000 })
	other := replicaOf(t, e, shared.view())
	var wg sync.WaitGroup
	defer func() { wg.Wait() }()
	for i := range maxVerifyInFlight {
		wg.Go(func() {
			_, _ = v.VerifyMachineToken(context.Background(), fmt.Sprintf("ak_flood%04d0123456789abcdef", i))
		})
	}
	require.Eventually(t, func() bool { return e.api.calls.Load() == maxVerifyInFlight }, 5*time.Second, time.Millisecond)
	// Another replica verifies goodAPIKey and holds its lease meanwhile.
	otherDone := make(chan error, 1)
	go func() { _, err := other.VerifyMachineToken(context.Background(), goodAPIKey); otherDone <- err }()
	require.Eventually(t, func() bool { return e.api.calls.Load() == maxVerifyInFlight+1 }, 5*time.Second, time.Millisecond)

	done := make(chan error, 1)
	go func() { _, err := v.VerifyMachineToken(context.Background(), goodAPIKey); done <- err }()
	time.Sleep(50 * time.Millisecond) // the saturated replica is waiting for the holder's answer
	close(gate)
	require.NoError(t, <-otherDone)
	require.NoError(t, <-done, "took the other replica's answer")
	assert.EqualValues(t, maxVerifyInFlight+1, e.api.calls.Load(), "no call of its own")
}
