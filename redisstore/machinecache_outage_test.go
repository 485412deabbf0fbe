package redisstore_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMachineCacheRedisKilled kills Redis under load: requests keep being
// answered from per-process caches and direct calls to Clerk, each cache
// logs the outage once and the recovery once, sharing resumes once Redis
// is back, and nothing is left running after Close.
//
// It does not call t.Parallel: it counts the goroutines of the whole
// process, which only means something while no other test runs (Go runs
// the tests that are not parallel first, one at a time).
func TestMachineCacheRedisKilled(t *testing.T) {
	const (
		replicas = 4
		workers  = 16
		nkeys    = 20
		ttl      = 500 * time.Millisecond
		pace     = 20 * time.Millisecond
	)
	r := startRedis(t)
	e := newFleetEnv(t, nkeys)
	baseline := runtime.NumGoroutine()

	var logs logBuffer
	var clients []*redis.Client
	var caches []*redisstore.MachineCache
	var vs []*clerkauth.Verifier
	for range replicas {
		c := redis.NewClient(&redis.Options{Addr: r.addr(), MaxRetries: -1,
			DialTimeout: time.Second, ReadTimeout: time.Second, WriteTimeout: time.Second})
		mc, err := redisstore.NewMachineCache(bg, c, redisstore.MachineCacheOptions{
			Logger: logs.logger(), Timeout: 500 * time.Millisecond, RetryAfter: 100 * time.Millisecond,
			RetryInterval: 20 * time.Millisecond, MaxRetryInterval: 100 * time.Millisecond, PingInterval: 200 * time.Millisecond,
		})
		require.NoError(t, err)
		clients, caches = append(clients, c), append(caches, mc)
		vs = append(vs, e.replica(t, mc, ttl))
	}

	var elapsed time.Duration // of the last phase: a loaded machine stretches d
	phase := func(name string, d time.Duration) (calls int, tl *tally) {
		tl = new(tally)
		before := e.verifyCalls()
		began := time.Now()
		stop := make(chan struct{})
		wg := load(vs, workers, e.keys, nil, ttl, pace, stop, tl)
		time.Sleep(d)
		close(stop)
		wg.Wait()
		calls = e.verifyCalls() - before
		elapsed = time.Since(began)
		t.Logf("%s, %v (%v elapsed): %d verify calls; answers: %s", name, d, elapsed.Round(time.Millisecond), calls, tl)
		return calls, tl
	}
	shared, _ := phase("Redis up", 1500*time.Millisecond)

	r.stop()
	down, tl := phase("Redis killed", 1500*time.Millisecond)
	assert.Zero(t, tl.refused.Load()+tl.other.Load(), "valid keys never refused")
	assert.Positive(t, tl.ok.Load())
	assert.LessOrEqual(t, tl.unavailable.Load(), tl.ok.Load()/100, "at most 1% answered 503")
	for i, mc := range caches {
		assert.False(t, mc.Status().Reachable, "cache %d reports the outage", i)
	}
	assert.Equal(t, replicas, logs.count("machine token cache unreachable"), "one line per cache")
	assert.Greater(t, down, shared, "without Redis each replica calls Clerk itself")

	r.start()
	eventually(t, 10*time.Second, "every cache resubscribed", func() bool {
		for _, mc := range caches {
			if !mc.Status().Subscribed {
				return false
			}
		}
		return true
	})
	_, _ = phase("Redis back, warming up", 2*ttl)
	again, tl := phase("Redis back", 1500*time.Millisecond)
	assert.Zero(t, tl.refused.Load()+tl.other.Load())
	for i, mc := range caches {
		assert.True(t, mc.Status().Reachable, "cache %d reachable again", i)
	}
	assert.Equal(t, replicas, logs.count("machine token cache reachable again"), "one line per cache")
	assert.Equal(t, replicas, logs.count("machine token cache unreachable"), "no new outage line")
	assert.Less(t, again, down, "sharing resumed")
	// Sharing: about one call per key per TTL period elapsed for the fleet.
	assert.LessOrEqual(t, again, nkeys*(int((elapsed+ttl-1)/ttl)+1)+nkeys/2)

	for _, v := range vs {
		require.NoError(t, v.Close())
	}
	for i := range caches {
		require.NoError(t, caches[i].Close())
		require.NoError(t, clients[i].Close())
	}
	e.srv.Close() // its idle keep-alive connections hold goroutines on both sides
	eventually(t, 5*time.Second, "goroutines back to the baseline", func() bool {
		return runtime.NumGoroutine() <= baseline
	})
}

// TestMachineCacheCluster runs the shared cache on a real 3-master Redis
// Cluster: replicas missing the same key at once make one call per key
// between them, the entries spread over every master, and a key forgotten
// through one replica is refused by all of them 100 ms after
// ForgetMachineTokenID returned.
func TestMachineCacheCluster(t *testing.T) {
	t.Parallel()
	const replicas, nkeys = 3, 30
	cl := startCluster(t, 3)
	e := newFleetEnv(t, nkeys)
	var vs []*clerkauth.Verifier
	for range replicas {
		mc := newMachineCache(t, newClusterClient(t, cl.addrs()), machineOptions())
		require.True(t, mc.Status().Subscribed)
		vs = append(vs, e.replica(t, mc, time.Minute))
	}

	// Five keys at a time, each asked by every replica at once: waiters
	// give up on a lease holder after a second, and a burst of 90 calls
	// under -race, beside the other tests, can take that long.
	var tl tally
	for batch := range nkeys / 5 {
		var wg sync.WaitGroup
		for _, v := range vs {
			for _, k := range e.keys[batch*5 : batch*5+5] {
				wg.Go(func() {
					began := time.Now()
					_, err := v.VerifyMachineToken(bg, k.Secret)
					tl.add(err, time.Since(began))
				})
			}
		}
		wg.Wait()
	}
	t.Logf("%d replicas x %d keys, each asked by every replica at once, on the cluster: %d verify calls; answers: %s", replicas, nkeys, e.verifyCalls(), &tl)
	assert.Equal(t, int64(replicas*nkeys), tl.ok.Load())
	assert.LessOrEqual(t, e.verifyCalls(), nkeys+nkeys/10, "one call per key, 10% slack")

	admin := newClusterClient(t, cl.addrs())
	var mu sync.Mutex
	var sizes []int64
	require.NoError(t, admin.ForEachMaster(bg, func(ctx context.Context, n *redis.Client) error {
		size, err := n.DBSize(ctx).Result()
		mu.Lock()
		sizes = append(sizes, size)
		mu.Unlock()
		return err
	}))
	t.Logf("keys per master: %v", sizes)
	for _, n := range sizes {
		assert.Positive(t, n, "every master holds entries: %v", sizes)
	}

	require.NoError(t, e.srv.RevokeAPIKey(e.keys[0].ID, ""))
	require.NoError(t, vs[1].ForgetMachineTokenID(bg, e.keys[0].ID))
	at := time.Now()
	for i, v := range vs {
		_, err := v.VerifyMachineToken(bg, e.keys[0].Secret)
		t.Logf("replica %d, %v after ForgetMachineTokenID returned: %v", i, time.Since(at), err)
	}
	time.Sleep(time.Until(at.Add(100 * time.Millisecond)))
	for i, v := range vs {
		_, err := v.VerifyMachineToken(bg, e.keys[0].Secret)
		assert.ErrorIs(t, err, clerkauth.ErrInvalidToken, "replica %d, 100 ms after ForgetMachineTokenID returned", i)
	}
	_, err := vs[2].VerifyMachineToken(bg, e.keys[1].Secret)
	assert.NoError(t, err, "other keys unaffected")
}
