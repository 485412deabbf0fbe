package redisstore_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth/redisstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resyncOptions resyncs every 200 ms (each wait drawn between 100 and
// 200 ms).
func resyncOptions() redisstore.Options {
	opts := fastOptions()
	opts.ResyncInterval = 200 * time.Millisecond
	return opts
}

// TestPeriodicResyncWritesBackLostKeys deletes the revocation keys behind
// the Stores' back (FLUSHALL: the subscriptions stay up, so no reconnection
// resync runs) and checks the periodic resync writes them back with the TTL
// they have left, so a replica started afterwards sees them.
func TestPeriodicResyncWritesBackLostKeys(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	admin := newClient(t, r.addr())
	var logs logBuffer
	opts := resyncOptions()
	opts.Logger = logs.logger()
	a := newStore(t, newClient(t, r.addr()), opts)
	bOpts := fastOptions()
	bOpts.ResyncInterval = -1 // only A writes back, so the log count is A's
	b := newStore(t, newClient(t, r.addr()), bOpts)

	const lifetime = 10 * time.Minute
	var ids []string
	learnedAt := make(map[string]time.Time) // A's copy lasts at most lifetime from here
	for i := range 5 {
		id := "sess_lost_" + strconv.Itoa(i)
		ids = append(ids, id)
		require.NoError(t, b.Revoke(bg, id, time.Now().Add(lifetime)))
		eventually(t, 5*time.Second, "A learns "+id, revoked(a, id))
		learnedAt[id] = time.Now()
	}

	time.Sleep(300 * time.Millisecond) // so a TTL reset to lifetime would show
	require.NoError(t, admin.FlushAll(bg).Err())
	flushed := time.Now()
	assert.Zero(t, admin.DBSize(bg).Val(), "every revocation key gone")
	for _, id := range ids {
		eventually(t, 5*time.Second, id+" written back", keyExists(admin, id))
	}
	t.Logf("all %d keys back %v after FLUSHALL (ResyncInterval 200 ms)", len(ids), time.Since(flushed))
	assert.True(t, a.Status().Connected, "the subscription stayed up: only the periodic resync can have written them")
	for _, id := range ids {
		// TTLs travel relative (in the broadcast, and read by PTTL at each
		// resync), so A's copy may outlast lifetime-from-learnedAt by the
		// latency of one such read, plus Redis's millisecond rounding:
		// 50 ms of slack, far below the 300 ms a reset TTL would add.
		left := lifetime - time.Since(learnedAt[id]) + 50*time.Millisecond
		ttl := admin.PTTL(bg, redisstore.DefaultPrefix+id).Val()
		assert.LessOrEqual(t, ttl, left, "%s: no longer than the TTL it had left", id)
		assert.Greater(t, ttl, lifetime-time.Minute, "%s: about the TTL it had left", id)
	}
	eventually(t, 5*time.Second, "one Info line for the write-back", func() bool {
		return logs.count("wrote back revocations") == 1
	})
	assert.Equal(t, 1, logs.count("count=5"), logs.buf.String())
	assert.Equal(t, 1, logs.count("trigger=periodic"))

	c := newStore(t, newClient(t, r.addr()), redisstore.Options{ResyncInterval: -1})
	for _, id := range ids {
		assert.True(t, revoked(c, id)(), "a replica started afterwards sees %s", id)
	}

	t.Run("loads what Redis has and the local set lacks", func(t *testing.T) {
		// Written behind the Stores' back, without a broadcast.
		require.NoError(t, admin.Set(bg, redisstore.DefaultPrefix+"sess_unannounced", "1", lifetime).Err())
		eventually(t, 5*time.Second, "A loads it", revoked(a, "sess_unannounced"))
		assert.False(t, revoked(b, "sess_unannounced")(), "B resyncs only when it reconnects")
	})

	t.Run("a resync with nothing to write logs nothing", func(t *testing.T) {
		before, bBefore := a.Status().LastSync, b.Status().LastSync
		time.Sleep(500 * time.Millisecond) // at least two more resyncs
		assert.Equal(t, 1, logs.count("wrote back revocations"))
		assert.True(t, a.Status().LastSync.After(before), "Status().LastSync follows the periodic resync")
		assert.Equal(t, bBefore, b.Status().LastSync, "B's resync is disabled")
	})
}

// TestPeriodicResyncStopped checks that nothing writes lost keys back
// with a negative ResyncInterval (the gap the option closes) or after
// Close, while the store keeps the revocation in force locally.
func TestPeriodicResyncStopped(t *testing.T) {
	t.Parallel()
	r := startRedis(t)
	admin := newClient(t, r.addr())
	disabled := fastOptions()
	disabled.ResyncInterval = -1
	tests := []struct {
		name  string
		opts  redisstore.Options
		close bool
	}{
		{"disabled", disabled, false},
		{"closed", resyncOptions(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := "sess_" + tt.name
			s := newStore(t, newClient(t, r.addr()), tt.opts)
			require.NoError(t, s.Revoke(bg, id, time.Time{}))
			if tt.close {
				require.NoError(t, s.Close())
			}
			require.NoError(t, admin.Del(bg, redisstore.DefaultPrefix+id).Err())
			time.Sleep(time.Second) // five 200 ms intervals
			assert.False(t, keyExists(admin, id)(), "nothing writes it back")
			assert.True(t, revoked(s, id)(), "still in force locally")
			assert.Equal(t, !tt.close, s.Status().Connected)
		})
	}
}
