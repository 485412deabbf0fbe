package redisstore_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/redisstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// key is a cache key as the Verifier makes them: 64 hex digits.
var key = strings.Repeat("ab", 32)

// watched records what a watcher is told.
type watched struct {
	mu   sync.Mutex
	keys []string
}

func (w *watched) forget(k string) { w.mu.Lock(); w.keys = append(w.keys, k); w.mu.Unlock() }

func (w *watched) has(k string) func() bool {
	return func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, got := range w.keys {
			if got == k {
				return true
			}
		}
		return false
	}
}

func TestMachineCacheOperations(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	admin := newClient(t, r.addr())
	a := newMachineCache(t, newClient(t, r.addr()), redisstore.MachineCacheOptions{})
	b := newMachineCache(t, newClient(t, r.addr()), redisstore.MachineCacheOptions{})

	t.Run("get, set, layout", func(t *testing.T) {
		v, err := a.Get(bg, key)
		require.NoError(t, err)
		assert.Nil(t, v, "a miss is nil, nil")
		require.NoError(t, a.Set(bg, key, []byte("value"), time.Minute))
		v, err = b.Get(bg, key)
		require.NoError(t, err)
		assert.Equal(t, "value", string(v))
		ttl, err := admin.PTTL(bg, "clerkauth:mt:{"+key+"}").Result()
		require.NoError(t, err)
		assert.InDelta(t, time.Minute, ttl, float64(time.Second), "stored under the hash-tagged key with its TTL")
	})

	t.Run("leases", func(t *testing.T) {
		k := strings.Repeat("cd", 32)
		ok, err := a.Lease(bg, k, time.Minute)
		require.NoError(t, err)
		assert.True(t, ok, "free lease taken")
		ok, err = b.Lease(bg, k, time.Minute)
		require.NoError(t, err)
		assert.False(t, ok, "held by A")
		require.NoError(t, b.Unlease(bg, k))
		ok, _ = b.Lease(bg, k, time.Minute)
		assert.False(t, ok, "B cannot give back A's lease")
		require.NoError(t, a.Unlease(bg, k))
		ok, _ = b.Lease(bg, k, time.Minute)
		assert.True(t, ok, "given back by A, taken by B")
		ttl := admin.PTTL(bg, "clerkauth:mt:{"+k+"}:lease").Val()
		assert.Positive(t, ttl, "a lease always expires")
	})

	t.Run("delete tells every watcher", func(t *testing.T) {
		var wa, wb watched
		stopA, stopB := a.Watch(wa.forget), b.Watch(wb.forget)
		defer stopA()
		require.NoError(t, a.Set(bg, key, []byte("value"), time.Minute))
		require.NoError(t, a.Delete(bg, key))
		assert.True(t, wa.has(key)(), "the deleting replica's watcher at once")
		eventually(t, 100*time.Millisecond, "the other replica's watcher", wb.has(key))
		v, err := b.Get(bg, key)
		require.NoError(t, err)
		assert.Nil(t, v)

		stopB()
		other := strings.Repeat("ef", 32)
		require.NoError(t, a.Delete(bg, other))
		eventually(t, time.Second, "A hears its own publication", func() bool {
			wa.mu.Lock()
			defer wa.mu.Unlock()
			return len(wa.keys) >= 4 // key twice (direct, published), other twice
		})
		assert.False(t, wb.has(other)(), "a stopped watcher is not called")
	})

	t.Run("invalid arguments", func(t *testing.T) {
		for _, k := range []string{"", "a}b", "{x}", strings.Repeat("a", 129)} {
			_, err := a.Get(bg, k)
			assert.ErrorIs(t, err, clerkauth.ErrInvalidArgument, "%q", k)
			_, err = a.Lease(bg, k, time.Second)
			assert.ErrorIs(t, err, clerkauth.ErrInvalidArgument, "%q", k)
			assert.ErrorIs(t, a.Delete(bg, k), clerkauth.ErrInvalidArgument, "%q", k)
		}
		assert.ErrorIs(t, a.Set(bg, key, []byte("v"), 0), clerkauth.ErrInvalidArgument)
		_, err := redisstore.NewMachineCache(bg, nil, redisstore.MachineCacheOptions{})
		assert.ErrorIs(t, err, clerkauth.ErrInvalidConfig)
		_, err = redisstore.NewMachineCache(bg, admin, redisstore.MachineCacheOptions{Timeout: -1})
		assert.ErrorIs(t, err, clerkauth.ErrInvalidConfig)
	})
}

// TestMachineCacheSlowRedis: a Redis that stops answering (CLIENT PAUSE)
// holds a request for one Timeout, then the cache skips Redis until it
// answers again; both transitions are logged once.
func TestMachineCacheSlowRedis(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	admin := newClient(t, r.addr())
	var logs logBuffer
	// Timeout 500 ms: short against the pause, long enough that a loaded
	// machine does not add transitions of its own. The entry is written
	// by a cache with a generous Timeout, so that the one under test
	// starts without a failure logged.
	mc := newMachineCache(t, newClient(t, r.addr()), redisstore.MachineCacheOptions{
		Logger: logs.logger(), Timeout: 500 * time.Millisecond, RetryAfter: 200 * time.Millisecond})
	setup := newMachineCache(t, newClient(t, r.addr()), redisstore.MachineCacheOptions{
		Logger: discardLogger(), Timeout: 10 * time.Second})
	require.NoError(t, setup.Set(bg, key, []byte("v"), time.Minute))

	const pause = 3 * time.Second
	require.NoError(t, admin.Do(bg, "CLIENT", "PAUSE", pause.Milliseconds(), "ALL").Err())
	paused := time.Now()
	began := time.Now()
	_, err := mc.Get(bg, key)
	took := time.Since(began)
	require.ErrorIs(t, err, redisstore.ErrUnavailable)
	t.Logf("Get against a paused Redis returned after %v: %v", took, err)
	assert.Less(t, took, pause/2, "bounded by Timeout, not by the pause")
	_, err = mc.Get(bg, key)
	assert.ErrorIs(t, err, redisstore.ErrUnavailable, "skipped while it fails")
	assert.False(t, mc.Status().Reachable)
	assert.Equal(t, 1, logs.count("machine token cache unreachable"))

	// After the pause, one request probes Redis again and sharing resumes.
	time.Sleep(time.Until(paused.Add(pause)))
	eventually(t, 5*time.Second, "cache answers again", func() bool {
		v, err := mc.Get(bg, key)
		return err == nil && string(v) == "v"
	})
	assert.True(t, mc.Status().Reachable)
	assert.Equal(t, 1, logs.count("machine token cache unreachable"), "one line per transition")
	assert.Equal(t, 1, logs.count("machine token cache reachable again"))
}

// TestMachineCacheResubscribeForgetsAll: deletions published while a
// replica was disconnected are lost; on resubscribing, the cache tells
// its watchers to drop everything.
func TestMachineCacheResubscribeForgetsAll(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	mc := newMachineCache(t, newClient(t, r.addr()), redisstore.MachineCacheOptions{
		Logger: discardLogger(), RetryInterval: 10 * time.Millisecond, MaxRetryInterval: 50 * time.Millisecond,
		PingInterval: 200 * time.Millisecond})
	var w watched
	defer mc.Watch(w.forget)()
	r.stop()
	eventually(t, 5*time.Second, "subscription lost", func() bool { return !mc.Status().Subscribed })
	assert.False(t, w.has("")(), "nothing to drop yet")
	r.start()
	eventually(t, 5*time.Second, "resubscribed", func() bool { return mc.Status().Subscribed })
	assert.True(t, w.has("")(), "told to drop every entry")
	assert.ErrorIs(t, mc.Status().LastError, redisstore.ErrUnavailable, "the outage is recorded")
}
