package redisstore_test

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fastOptions reconnects quickly so outage tests converge fast.
func fastOptions() redisstore.Options {
	return redisstore.Options{
		RetryInterval:    10 * time.Millisecond,
		MaxRetryInterval: 50 * time.Millisecond,
		PingInterval:     200 * time.Millisecond,
	}
}

// errorLog collects what a Store reports through OnError.
type errorLog struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorLog) add(err error) { l.mu.Lock(); l.errs = append(l.errs, err); l.mu.Unlock() }
func (l *errorLog) len() int      { l.mu.Lock(); defer l.mu.Unlock(); return len(l.errs) }

func newStore(t testing.TB, c redis.UniversalClient, opts redisstore.Options) *redisstore.Store {
	t.Helper()
	s, err := redisstore.New(bg, c, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func revoked(s *redisstore.Store, id string) func() bool {
	return func() bool { ok, err := s.IsRevoked(bg, id); return ok && err == nil }
}

func TestRevocationPropagatesToOtherReplica(t *testing.T) {
	r := startRedis(t)
	a := newStore(t, newClient(t, r.addr()), redisstore.Options{})
	b := newStore(t, newClient(t, r.addr()), redisstore.Options{})
	require.True(t, a.Status().Connected)
	require.True(t, b.Status().Connected)

	for _, id := range []string{"sess_1", "sess_2", "sess:with:colons"} {
		t.Run(id, func(t *testing.T) {
			ok, err := b.IsRevoked(bg, id)
			require.NoError(t, err)
			require.False(t, ok, "revoked before Revoke")
			require.NoError(t, a.Revoke(bg, id, time.Now().Add(time.Minute)))
			require.True(t, revoked(a, id)(), "revoking replica must know at once")
			eventually(t, 100*time.Millisecond, "replica B learns "+id, revoked(b, id))
		})
	}
	ok, err := b.IsRevoked(bg, "sess_other")
	require.NoError(t, err)
	assert.False(t, ok)
}

func TestRevokeSetsClampedTTL(t *testing.T) {
	r := startRedis(t)
	c := newClient(t, r.addr())
	now := time.Date(2026, 5, 12, 10, 0, 0, 0, time.UTC)
	var clock atomic.Pointer[time.Time]
	clock.Store(&now)
	s := newStore(t, c, redisstore.Options{
		Now: func() time.Time { return *clock.Load() }, MinTTL: 3 * time.Minute, MaxTTL: time.Hour})

	tests := []struct {
		name  string
		until time.Time
		want  time.Duration
	}{
		{"token life plus leeway", now.Add(10 * time.Minute), 10 * time.Minute},
		{"until in the past clamps to MinTTL", now.Add(-time.Hour), 3 * time.Minute},
		{"short until clamps to MinTTL", now.Add(time.Second), 3 * time.Minute},
		{"far until clamps to MaxTTL", now.Add(48 * time.Hour), time.Hour},
		{"zero until means MaxTTL", time.Time{}, time.Hour},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "sess_ttl_" + string(rune('a'+i))
			require.NoError(t, s.Revoke(bg, id, tt.until))
			ttl, err := c.TTL(bg, redisstore.DefaultPrefix+id).Result()
			require.NoError(t, err)
			assert.LessOrEqual(t, ttl, tt.want)
			assert.Greater(t, ttl, tt.want-5*time.Second)

			later := now.Add(tt.want - time.Millisecond)
			clock.Store(&later)
			assert.True(t, revoked(s, id)(), "still revoked just before the TTL")
			later = now.Add(tt.want)
			clock.Store(&later)
			assert.False(t, revoked(s, id)(), "forgotten locally once the TTL is over")
			clock.Store(&now)
		})
	}
}

func TestRedisDown(t *testing.T) {
	t.Parallel()
	for _, failClosed := range []bool{false, true} {
		name := map[bool]string{false: "default keeps serving", true: "fail closed"}[failClosed]
		t.Run(name, func(t *testing.T) {
			r := startRedis(t)
			var log errorLog
			opts := fastOptions()
			opts.FailClosed, opts.OnError = failClosed, log.add
			s := newStore(t, newClient(t, r.addr()), opts)
			require.NoError(t, s.Revoke(bg, "sess_before", time.Time{}))
			ok, err := s.IsRevoked(bg, "sess_unknown")
			require.NoError(t, err)
			require.False(t, ok)

			r.stop()
			eventually(t, 10*time.Second, "outage noticed", func() bool { return !s.Status().Connected })
			st := s.Status()
			require.ErrorIs(t, st.LastError, redisstore.ErrUnavailable)
			assert.Positive(t, log.len(), "OnError called")

			ok, err = s.IsRevoked(bg, "sess_before")
			assert.NoError(t, err, "a known revocation is answered in every mode")
			assert.True(t, ok)
			ok, err = s.IsRevoked(bg, "sess_unknown")
			assert.False(t, ok)
			if failClosed {
				assert.ErrorIs(t, err, redisstore.ErrUnavailable)
			} else {
				assert.NoError(t, err)
			}

			err = s.Revoke(bg, "sess_during", time.Time{})
			require.ErrorIs(t, err, redisstore.ErrUnavailable)
			assert.True(t, revoked(s, "sess_during")(), "kept locally")

			r.start()
			eventually(t, 10*time.Second, "reconnected", func() bool { return s.Status().Connected })
			ok, err = s.IsRevoked(bg, "sess_unknown")
			assert.NoError(t, err)
			assert.False(t, ok)
		})
	}
}

func TestResyncAfterPartition(t *testing.T) {
	r := startRedis(t)
	link := newProxy(t, r.addr())
	a := newStore(t, newClient(t, r.addr()), fastOptions())
	b := newStore(t, newClient(t, link.addr()), fastOptions())
	require.True(t, b.Status().Connected)

	link.setCut(true)
	eventually(t, 10*time.Second, "B notices the partition", func() bool { return !b.Status().Connected })
	require.NoError(t, a.Revoke(bg, "sess_missed", time.Time{}), "Redis is up for A")
	assert.False(t, revoked(b, "sess_missed")(), "B is partitioned: the broadcast cannot reach it")

	link.setCut(false)
	eventually(t, 10*time.Second, "B reloads the missed revocation", revoked(b, "sess_missed"))
	assert.True(t, b.Status().Connected)
}

func TestResyncAfterRedisRestart(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	ca, cb := newClient(t, r.addr()), newClient(t, r.addr())
	a := newStore(t, ca, fastOptions())
	b := newStore(t, cb, fastOptions())
	require.NoError(t, a.Revoke(bg, "sess_before", time.Time{}))
	eventually(t, time.Second, "B learns sess_before", revoked(b, "sess_before"))

	r.stop() // no persistence: the restarted Redis is empty
	require.ErrorIs(t, a.Revoke(bg, "sess_during", time.Time{}), redisstore.ErrUnavailable)
	r.start()

	eventually(t, 10*time.Second, "B learns the revocation made during the outage", revoked(b, "sess_during"))
	eventually(t, 10*time.Second, "A reconnected", func() bool { return a.Status().Connected })
	for _, id := range []string{"sess_before", "sess_during"} {
		ttl, err := ca.TTL(bg, redisstore.DefaultPrefix+id).Result()
		require.NoError(t, err)
		assert.Positive(t, ttl, "%s written back to Redis with a TTL", id)
	}
	c := newStore(t, newClient(t, r.addr()), fastOptions())
	assert.True(t, revoked(c, "sess_before")(), "a new replica loads the written-back set")
	assert.True(t, revoked(c, "sess_during")())
}

func TestInitialLoadHonoursPrefix(t *testing.T) {
	r := startRedis(t)
	c := newClient(t, r.addr())
	const prefix = "app?[1]*:"
	require.NoError(t, c.Set(bg, prefix+"sess_mine", "1", time.Hour).Err())
	require.NoError(t, c.Set(bg, "appX[1]*:sess_glob", "1", time.Hour).Err())
	require.NoError(t, c.Set(bg, "other:sess_other", "1", time.Hour).Err())

	s := newStore(t, c, redisstore.Options{Prefix: prefix})
	assert.True(t, revoked(s, "sess_mine")())
	assert.False(t, revoked(s, "sess_glob")(), "prefix is matched literally, not as a glob")
	assert.False(t, revoked(s, "sess_other")())
}

func TestMalformedBroadcastIsReported(t *testing.T) {
	r := startRedis(t)
	c := newClient(t, r.addr())
	var log errorLog
	s := newStore(t, c, redisstore.Options{OnError: log.add})
	channel := redisstore.DefaultPrefix + "events"
	for _, payload := range []string{"garbage", "-5:sess_x", "100:", "abc:sess_x"} {
		require.NoError(t, c.Publish(bg, channel, payload).Err())
	}
	require.NoError(t, c.Publish(bg, channel, "60000:sess_wire").Err())
	eventually(t, 5*time.Second, "well-formed broadcast applied", revoked(s, "sess_wire"))
	assert.Equal(t, 4, log.len(), "each malformed payload reported")
	assert.False(t, revoked(s, "sess_x")())
}

func TestNewWithoutRedis(t *testing.T) {
	t.Parallel()
	for _, failClosed := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "fail closed"}[failClosed], func(t *testing.T) {
			var log errorLog
			opts := redisstore.Options{FailClosed: failClosed, OnError: log.add, RetryInterval: time.Hour}
			s := newStore(t, newClient(t, unreachableAddr(t)), opts)
			st := s.Status()
			assert.False(t, st.Connected)
			assert.ErrorIs(t, st.LastError, redisstore.ErrUnavailable)
			assert.Equal(t, 1, log.len())

			ok, err := s.IsRevoked(bg, "sess_1")
			assert.False(t, ok)
			assert.Equal(t, failClosed, err != nil, "error iff fail closed: %v", err)
			require.ErrorIs(t, s.Revoke(bg, "sess_1", time.Time{}), redisstore.ErrUnavailable)
			assert.True(t, revoked(s, "sess_1")())
			assert.Equal(t, 1, s.Status().Revoked)
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	c := newClient(t, unreachableAddr(t))
	tests := []struct {
		name   string
		client redis.UniversalClient
		opts   redisstore.Options
	}{
		{"nil client", nil, redisstore.Options{}},
		{"MinTTL above MaxTTL", c, redisstore.Options{MinTTL: time.Hour, MaxTTL: time.Minute}},
		{"negative duration", c, redisstore.Options{PingInterval: -time.Second}},
		{"retry above max", c, redisstore.Options{RetryInterval: time.Hour, MaxRetryInterval: time.Second}},
		{"resync interval too short", c, redisstore.Options{ResyncInterval: time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := redisstore.New(bg, tt.client, tt.opts)
			assert.Nil(t, s)
			assert.ErrorIs(t, err, clerkauth.ErrInvalidConfig)
		})
	}
}

func TestRevokeRejectsEmptySessionID(t *testing.T) {
	s := newStore(t, newClient(t, unreachableAddr(t)), redisstore.Options{RetryInterval: time.Hour})
	assert.Error(t, s.Revoke(bg, "", time.Time{}))
	assert.Zero(t, s.Status().Revoked)
}

func TestCloseStopsSubscriber(t *testing.T) {
	r := startRedis(t)
	tests := []struct {
		name   string
		setup  func() string // returns the address to use
		shared bool          // Revoke reaches Redis
	}{
		{"connected", func() string { return r.addr() }, true},
		{"redis unreachable", func() string { return unreachableAddr(t) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.setup())
			eventually(t, 5*time.Second, "no goroutine before New", func() bool { return storeGoroutines() == 0 })
			s, err := redisstore.New(bg, c, fastOptions())
			require.NoError(t, err)
			eventually(t, 5*time.Second, "New starts a subscriber and a writer", func() bool { return storeGoroutines() == 2 })
			ctx, cancel := context.WithTimeout(bg, time.Second)
			defer cancel()
			if err := s.Revoke(ctx, "sess_before_close", time.Time{}); tt.shared {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, redisstore.ErrNotShared)
				require.Equal(t, 1, s.Status().Pending, "unreachable: the write is being retried")
			}
			require.NoError(t, s.Close())
			require.NoError(t, s.Close(), "Close is idempotent")
			eventually(t, 5*time.Second, "goroutines gone after Close", func() bool { return storeGoroutines() == 0 })
			assert.False(t, s.Status().Connected)

			err = s.Revoke(bg, "sess_after_close", time.Time{})
			assert.ErrorIs(t, err, redisstore.ErrNotShared, "after Close: recorded locally, not written")
			assert.True(t, revoked(s, "sess_after_close")())
		})
	}
}

// storeGoroutines counts the live subscriber and writer goroutines of all
// Stores. Tests using it must not run in parallel.
func storeGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			stacks := string(buf[:n])
			return strings.Count(stacks, "redisstore.(*Store).run(") + strings.Count(stacks, "redisstore.(*Store).writeLoop(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

func TestConcurrentUse(t *testing.T) {
	r := startRedis(t)
	a := newStore(t, newClient(t, r.addr()), redisstore.Options{})
	b := newStore(t, newClient(t, r.addr()), redisstore.Options{})
	ctx, cancel := context.WithCancel(bg)
	defer cancel()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				id := "sess_" + string(rune('a'+w)) + "_" + string(rune('a'+i%26))
				assert.NoError(t, a.Revoke(ctx, id, time.Time{}))
				_, _ = b.IsRevoked(ctx, id)
				_ = b.Status()
			}
		}()
	}
	wg.Wait()
	eventually(t, 5*time.Second, "B holds all revocations", func() bool { return b.Status().Revoked == 4*26 })
}
