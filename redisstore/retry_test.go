package redisstore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setOutOfMemory makes Redis refuse every write (maxmemory 1 byte with
// noeviction: SET fails with OOM, PUBLISH still works) or lifts that.
func setOutOfMemory(t testing.TB, admin *redis.Client, oom bool) {
	t.Helper()
	limit := map[bool]string{false: "0", true: "1"}[oom]
	require.NoError(t, admin.ConfigSet(bg, "maxmemory-policy", "noeviction").Err())
	require.NoError(t, admin.ConfigSet(bg, "maxmemory", limit).Err())
}

func keyExists(admin *redis.Client, id string) func() bool {
	return func() bool { return admin.Exists(bg, redisstore.DefaultPrefix+id).Val() == 1 }
}

func TestFailedWriteRetriedUntilWritten(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	admin := newClient(t, r.addr())
	var log errorLog
	opts := fastOptions()
	opts.OnError = log.add
	a := newStore(t, newClient(t, r.addr()), opts)
	b := newStore(t, newClient(t, r.addr()), fastOptions())

	setOutOfMemory(t, admin, true)
	err := a.Revoke(bg, "sess_oom", time.Now().Add(10*time.Minute))
	require.ErrorIs(t, err, redisstore.ErrNotShared)
	require.ErrorIs(t, err, clerkauth.ErrRevocationNotShared, "the core's general notion")
	require.ErrorIs(t, err, redisstore.ErrUnavailable)
	assert.ErrorContains(t, err, "OOM")
	assert.True(t, revoked(a, "sess_oom")(), "in force on the revoking replica")
	assert.Equal(t, 1, a.Status().Pending)
	assert.True(t, a.Status().Connected, "the subscription stays up: no resync would write it")
	eventually(t, 5*time.Second, "B learns it from the broadcast Redis still relays", revoked(b, "sess_oom"))
	eventually(t, 5*time.Second, "several retries fail", func() bool { return log.len() >= 3 })
	assert.False(t, keyExists(admin, "sess_oom")(), "nothing written while out of memory")

	lifted := time.Now()
	setOutOfMemory(t, admin, false)
	eventually(t, 5*time.Second, "the retry writes it", keyExists(admin, "sess_oom"))
	t.Logf("written %v after the limit was lifted (%d failed attempts reported)", time.Since(lifted), log.len())
	eventually(t, time.Second, "nothing left pending", func() bool { return a.Status().Pending == 0 })
	ttl := admin.PTTL(bg, redisstore.DefaultPrefix+"sess_oom").Val()
	assert.LessOrEqual(t, ttl, 10*time.Minute)
	assert.Greater(t, ttl, 9*time.Minute)

	c := newStore(t, newClient(t, r.addr()), fastOptions())
	assert.True(t, revoked(c, "sess_oom")(), "a replica started afterwards sees it")
}

func TestRetryWritesRemainingTTLAndNothingOnceExpired(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	admin := newClient(t, r.addr())
	start := time.Date(2026, 5, 12, 10, 0, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&start)
	opts := fastOptions()
	opts.Now = func() time.Time { return *clock.Load() }
	opts.MinTTL = time.Minute
	s := newStore(t, newClient(t, r.addr()), opts)

	setOutOfMemory(t, admin, true)
	require.ErrorIs(t, s.Revoke(bg, "sess_long", start.Add(10*time.Minute)), redisstore.ErrNotShared)
	require.ErrorIs(t, s.Revoke(bg, "sess_short", start.Add(2*time.Minute)), redisstore.ErrNotShared)
	require.Equal(t, 2, s.Status().Pending)

	later := start.Add(5 * time.Minute) // sess_short's revocation is over
	clock.Store(&later)
	setOutOfMemory(t, admin, false)
	eventually(t, 5*time.Second, "sess_long written", keyExists(admin, "sess_long"))
	eventually(t, time.Second, "nothing left pending", func() bool { return s.Status().Pending == 0 })
	assert.False(t, keyExists(admin, "sess_short")(), "a retry after until must not write")
	ttl := admin.PTTL(bg, redisstore.DefaultPrefix+"sess_long").Val()
	assert.LessOrEqual(t, ttl, 5*time.Minute, "the remaining TTL, not the original 10 minutes")
	assert.Greater(t, ttl, 5*time.Minute-5*time.Second)
}

func TestRevokeReturnsWhenContextEndsOnStalledRedis(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	admin := newClient(t, r.addr())
	s := newStore(t, newClient(t, r.addr()), fastOptions())

	// Writes (SET, PUBLISH) block server-side for 5 s; reads and pings go on.
	require.NoError(t, admin.Do(bg, "CLIENT", "PAUSE", "5000", "WRITE").Err())
	ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	err := s.Revoke(ctx, "sess_stalled", time.Time{})
	elapsed := time.Since(began)
	require.ErrorIs(t, err, redisstore.ErrNotShared)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, keyExists(admin, "sess_stalled")(), "Revoke returned before Redis wrote anything")
	assert.True(t, revoked(s, "sess_stalled")(), "in force locally")
	t.Logf("Revoke returned after %v on a Redis stalled for 5 s (context: 100 ms)", elapsed)

	require.NoError(t, admin.Do(bg, "CLIENT", "UNPAUSE").Err())
	eventually(t, 5*time.Second, "written once Redis resumes", keyExists(admin, "sess_stalled"))
	eventually(t, time.Second, "nothing left pending", func() bool { return s.Status().Pending == 0 })
}

func TestPendingOverflowReconcilesWholeLocalSet(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	admin := newClient(t, r.addr())
	var logs logBuffer
	opts := fastOptions()
	opts.MaxPending, opts.Logger = 2, logs.logger()
	s := newStore(t, newClient(t, r.addr()), opts)

	setOutOfMemory(t, admin, true)
	ids := []string{"sess_o1", "sess_o2", "sess_o3", "sess_o4"}
	for _, id := range ids {
		require.ErrorIs(t, s.Revoke(bg, id, time.Time{}), redisstore.ErrNotShared)
		assert.True(t, revoked(s, id)())
	}
	assert.Equal(t, 2, s.Status().Pending, "capped at MaxPending")
	assert.Equal(t, 1, logs.count("level=WARN"), "overflow warned once")

	setOutOfMemory(t, admin, false)
	for _, id := range ids {
		eventually(t, 5*time.Second, id+" written", keyExists(admin, id))
	}
	eventually(t, time.Second, "nothing left pending", func() bool { return s.Status().Pending == 0 })
	c := newStore(t, newClient(t, r.addr()), fastOptions())
	for _, id := range ids {
		assert.True(t, revoked(c, id)(), "a new replica sees %s", id)
	}
}

func TestEvictingPolicyWarnedOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		policy   string
		warnings int
		infos    int
	}{
		{"noeviction", []string{"--maxmemory-policy", "noeviction"}, "noeviction", 0, 0},
		{"allkeys-lru", []string{"--maxmemory-policy", "allkeys-lru"}, "allkeys-lru", 1, 0},
		{"volatile-ttl", []string{"--maxmemory-policy", "volatile-ttl"}, "volatile-ttl", 1, 0},
		{"CONFIG disabled (managed Redis)", []string{"--rename-command", "CONFIG", ""}, "", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := startRedis(t, tt.args...)
			var logs logBuffer
			opts := fastOptions()
			opts.Logger = logs.logger()
			s := newStore(t, newClient(t, r.addr()), opts)
			require.True(t, s.Status().Connected, "a refused CONFIG does not prevent the connection")
			assert.Equal(t, tt.policy, s.Status().MaxmemoryPolicy)

			r.stop() // a reconnection must not warn again
			r.start()
			eventually(t, 10*time.Second, "resynchronised after restart", func() bool {
				return s.Status().Connected && s.Status().LastErrorAt.Before(s.Status().LastSync)
			})
			assert.Equal(t, tt.warnings, logs.count("level=WARN"))
			assert.Equal(t, tt.infos, logs.count("level=INFO"))
			if tt.warnings > 0 {
				assert.Equal(t, 1, logs.count("maxmemory_policy="+tt.policy))
			}
		})
	}
}
