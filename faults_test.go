package clerkauth_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// Faults of the key server, injected through clerktest, and what the
// Verifier must make of them. The rule under test everywhere: a failure of
// the key source is ErrKeysUnavailable (503), never ErrInvalidToken (401),
// and the last good keys keep serving for as long as they are allowed to.

// requireKeysUnavailable asserts that err blames the keys, not the token.
func requireKeysUnavailable(t *testing.T, err error) {
	t.Helper()
	require.ErrorIs(t, err, clerkauth.ErrKeysUnavailable)
	require.NotErrorIs(t, err, clerkauth.ErrInvalidToken)
	require.NotErrorIs(t, err, clerkauth.ErrNoToken)
}

// requireVerifies asserts that the token verifies as the env's session.
func (e *faultEnv) requireVerifies(t *testing.T, tok string) {
	t.Helper()
	c, err := e.v.Verify(context.Background(), tok)
	require.NoError(t, err)
	require.Equal(t, e.sid, c.SessionID)
}

func TestFaultJWKSDownAtStartThenRecovers(t *testing.T) {
	e := newFaultEnv(t, nil)
	ctx := context.Background()
	e.srv.SetFault(clerktest.EndpointJWKS, clerktest.Fault{Down: true})

	_, err := e.v.Verify(ctx, e.token(t))
	requireKeysUnavailable(t, err)
	assert.Equal(t, clerkauth.ReasonJWKRemoteFailedToLoad, clerkauth.ReasonOf(err))
	requireKeysUnavailable(t, e.v.Warm(ctx))
	st := e.v.Status()
	assert.False(t, st.Ready)
	assert.Zero(t, st.Keys)
	assert.NotEmpty(t, st.LastError)
	fetched := e.srv.Requests(clerktest.EndpointJWKS)
	require.GreaterOrEqual(t, fetched, 1)

	// The fault clears, but the Verifier is inside its failure backoff: it
	// answers at once, without hammering the key server.
	e.srv.SetFault(clerktest.EndpointJWKS, clerktest.Fault{})
	_, err = e.v.Verify(ctx, e.token(t))
	requireKeysUnavailable(t, err)
	assert.Equal(t, fetched, e.srv.Requests(clerktest.EndpointJWKS), "no fetch during the backoff")

	// Past the backoff (at most the 30 s refresh cooldown), the next
	// request fetches and recovers on its own: no restart, no Warm.
	e.clock.Advance(clerkauth.DefaultJWKSRefreshCooldown + time.Second)
	e.requireVerifies(t, e.token(t))
	st = e.v.Status()
	assert.True(t, st.Ready)
	assert.Equal(t, 1, st.Keys)
	assert.Empty(t, st.LastError)
	assert.Equal(t, fetched+1, e.srv.Requests(clerktest.EndpointJWKS))
}

func TestFaultJWKSDownAfterWarmUpServesStaleKeys(t *testing.T) {
	e := newFaultEnv(t, nil)
	ctx := context.Background()
	require.NoError(t, e.v.Warm(ctx))
	e.srv.SetFault(clerktest.EndpointJWKS, clerktest.Fault{Down: true})

	// Past the cache TTL: the keys are stale, a background refresh fails,
	// and tokens keep verifying with the last good keys.
	e.clock.Advance(clerkauth.DefaultJWKSCacheTTL + time.Second)
	e.requireVerifies(t, e.token(t))
	eventually(t, func() bool { return e.v.Status().LastError != "" }, "background refresh never failed")
	st := e.v.Status()
	assert.True(t, st.Ready)
	assert.Equal(t, 1, st.Keys)
	assert.Equal(t, time.Second, st.Staleness)
	e.requireVerifies(t, e.token(t))

	// Up to JWKSMaxStaleness (10 min here) included...
	e.clock.Advance(e.cfg.JWKSMaxStaleness - time.Second)
	e.requireVerifies(t, e.token(t))
	// ...and not beyond it.
	e.clock.Advance(time.Second)
	_, err := e.v.Verify(ctx, e.token(t))
	requireKeysUnavailable(t, err)
	st = e.v.Status()
	assert.False(t, st.Ready)
	assert.NotEmpty(t, st.LastError)
	assert.Greater(t, st.Staleness, e.cfg.JWKSMaxStaleness)

	// The key server comes back: recovery after the failure backoff.
	e.srv.SetFault(clerktest.EndpointJWKS, clerktest.Fault{})
	e.clock.Advance(clerkauth.DefaultJWKSRefreshCooldown + time.Second)
	e.requireVerifies(t, e.token(t))
	st = e.v.Status()
	assert.True(t, st.Ready)
	assert.Empty(t, st.LastError)
	assert.Zero(t, st.Staleness)
}

func TestFaultSlowJWKSHonoursDeadlinesAndLeaksNothing(t *testing.T) {
	before := settledGoroutines()
	e := newFaultEnv(t, nil)
	e.srv.SetFault(clerktest.EndpointJWKS, clerktest.Fault{Delay: time.Hour})

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := e.v.Verify(ctx, e.token(t))
	requireKeysUnavailable(t, err)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	// Concurrent callers share the one slow fetch and each gives up at
	// its own deadline.
	eventually(t, func() bool { return e.srv.Requests(clerktest.EndpointJWKS) == 1 }, "fetch never arrived")
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		tok := e.token(t)
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
			defer cancel()
			_, errs[i] = e.v.Verify(ctx, tok)
		})
	}
	wg.Wait()
	for _, err := range errs {
		requireKeysUnavailable(t, err)
		require.ErrorIs(t, err, context.DeadlineExceeded)
	}
	assert.Equal(t, 1, e.srv.Requests(clerktest.EndpointJWKS), "waiters share one fetch")

	// Close cancels the fetch still held back by the server and waits for
	// it: the fetch's error is then recorded, and is the cancellation (not
	// the fetch's own 10 s timeout). Afterwards no goroutine of the
	// Verifier, server or transport remains.
	require.NoError(t, e.v.Close())
	assert.Contains(t, e.v.Status().LastError, context.Canceled.Error())
	e.close()
	eventually(t, func() bool { return runtime.NumGoroutine() <= before+2 },
		"goroutines: %d before, %d after Close", before, runtime.NumGoroutine())
}

func TestFaultUnusableJWKSBody(t *testing.T) {
	faults := map[string]clerktest.Fault{
		"empty key set":  {EmptyKeys: true},
		"malformed body": {MalformedBody: true},
		"status 500":     {Status: 500},
		"status 401":     {Status: 401},
	}
	for name, f := range faults {
		t.Run(name+"/cold start", func(t *testing.T) {
			e := newFaultEnv(t, nil)
			e.srv.SetFault(clerktest.EndpointJWKS, f)
			_, err := e.v.Verify(context.Background(), e.token(t))
			requireKeysUnavailable(t, err)
			requireKeysUnavailable(t, e.v.Warm(context.Background()))
			assert.False(t, e.v.Status().Ready)
		})
		t.Run(name+"/after warm-up", func(t *testing.T) {
			e := newFaultEnv(t, nil)
			require.NoError(t, e.v.Warm(context.Background()))
			e.srv.SetFault(clerktest.EndpointJWKS, f)
			e.clock.Advance(clerkauth.DefaultJWKSCacheTTL + time.Second)
			requireKeysUnavailable(t, e.v.Warm(context.Background()))
			e.requireVerifies(t, e.token(t))
			st := e.v.Status()
			assert.True(t, st.Ready)
			assert.Equal(t, 1, st.Keys, "the good key is kept")
			assert.NotEmpty(t, st.LastError)
		})
	}
}

func TestFaultJWKSRetriedWithinOneFetch(t *testing.T) {
	e := newFaultEnv(t, func(c *clerkauth.Config) { c.MaxRetries = 1 })
	e.srv.SetFault(clerktest.EndpointJWKS, clerktest.Fault{Status: 503, Times: 1})
	e.requireVerifies(t, e.token(t))
	assert.Equal(t, 2, e.srv.Requests(clerktest.EndpointJWKS))
	assert.Equal(t, int64(1), e.v.Status().Fetches, "retries count within one fetch")
}

func TestFaultKeyRotation(t *testing.T) {
	t.Run("old key kept", func(t *testing.T) {
		e := newFaultEnv(t, nil)
		require.NoError(t, e.v.Warm(context.Background()))
		oldKid := e.srv.KeyID()
		e.srv.RotateKey(true)

		// The new kid is unknown: one fetch picks it up.
		e.requireVerifies(t, e.token(t))
		assert.Equal(t, 2, e.srv.Requests(clerktest.EndpointJWKS))
		// Fresh tokens of the old key still verify, with no further fetch.
		e.requireVerifies(t, e.token(t, clerktest.WithKeyID(oldKid)))
		assert.Equal(t, 2, e.srv.Requests(clerktest.EndpointJWKS))
		assert.Equal(t, 2, e.v.Status().Keys)
	})
	t.Run("old key dropped", func(t *testing.T) {
		e := newFaultEnv(t, nil)
		require.NoError(t, e.v.Warm(context.Background()))
		oldKid := e.srv.KeyID()
		e.srv.RotateKey(false)

		e.requireVerifies(t, e.token(t))
		assert.Equal(t, 1, e.v.Status().Keys)
		// A token of the dropped key issued before the key set was fetched
		// is the token's fault, not the keys': invalid, and answered
		// without another fetch (see Config.JWKSRefreshCooldown).
		_, err := e.v.Verify(context.Background(), e.token(t, clerktest.WithKeyID(oldKid),
			clerktest.WithIssuedAt(e.clock.Now().Add(-10*time.Second))))
		require.ErrorIs(t, err, clerkauth.ErrInvalidToken)
		require.NotErrorIs(t, err, clerkauth.ErrKeysUnavailable)
		assert.Equal(t, clerkauth.ReasonJWKKidMismatch, clerkauth.ReasonOf(err))
		assert.Equal(t, 2, e.srv.Requests(clerktest.EndpointJWKS))
	})
}
