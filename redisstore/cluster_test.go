package redisstore_test

import (
	"context"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// redisCluster is a Redis Cluster of masters without replicas, each a
// private redis-server on loopback ports.
type redisCluster struct {
	nodes []*redisServer
}

// startCluster starts n cluster-enabled redis-servers, joins them with
// redis-cli --cluster create and waits for cluster_state:ok. It skips the
// test (fails it when CI is set) without redis-server or redis-cli.
func startCluster(t *testing.T, n int) *redisCluster {
	t.Helper()
	server, cli := requireBinary(t, "redis-server"), requireBinary(t, "redis-cli")
	c := &redisCluster{}
	var addrs []string
	for range n {
		r := &redisServer{t: t, bin: server, dir: t.TempDir(), port: freePort(t), args: []string{
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "500", "--cluster-port", strconv.Itoa(freePort(t))}}
		r.start()
		t.Cleanup(r.stop)
		c.nodes = append(c.nodes, r)
		addrs = append(addrs, r.addr())
	}
	ctx, cancel := context.WithTimeout(bg, 15*time.Second)
	defer cancel()
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	c.waitState(t, "ok", c.nodes...)
	return c
}

func (c *redisCluster) addrs() []string {
	var a []string
	for _, r := range c.nodes {
		a = append(a, r.addr())
	}
	return a
}

// waitState waits until every given node reports cluster_state:state.
func (c *redisCluster) waitState(t *testing.T, state string, nodes ...*redisServer) {
	t.Helper()
	for _, r := range nodes {
		admin := newClient(t, r.addr())
		eventually(t, 15*time.Second, r.addr()+" reports cluster_state:"+state, func() bool {
			return strings.Contains(admin.ClusterInfo(bg).Val(), "cluster_state:"+state+"\r\n")
		})
	}
}

// node returns the node listening on addr.
func (c *redisCluster) node(addr string) *redisServer {
	i := slices.IndexFunc(c.nodes, func(r *redisServer) bool { return r.addr() == addr })
	return c.nodes[i]
}

func newClusterClient(t testing.TB, addrs []string) *redis.ClusterClient {
	t.Helper()
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, MaxRetries: -1,
		DialTimeout: time.Second, ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// propagation revokes ids on from and returns how long each took to be
// seen by to (polled every 50 µs: an upper bound of the pub/sub delay).
func propagation(t *testing.T, from, to *redisstore.Store, ids []string) []time.Duration {
	t.Helper()
	var took []time.Duration
	for _, id := range ids {
		began := time.Now()
		require.NoError(t, from.Revoke(bg, id, time.Now().Add(10*time.Minute)))
		for !revoked(to, id)() {
			if time.Since(began) > 5*time.Second {
				t.Fatalf("%s not propagated within 5 s", id)
			}
			time.Sleep(50 * time.Microsecond)
		}
		took = append(took, time.Since(began))
	}
	slices.Sort(took)
	return took
}

func TestCluster(t *testing.T) {
	t.Parallel()
	began := time.Now()
	cl := startCluster(t, 3)
	t.Logf("3-master cluster up in %v", time.Since(began))
	ca := newClusterClient(t, cl.addrs())
	a := newStore(t, ca, fastOptions())
	b := newStore(t, newClusterClient(t, cl.addrs()), fastOptions())
	require.True(t, a.Status().Connected)
	require.True(t, b.Status().Connected)

	var ids []string
	for i := range 60 {
		ids = append(ids, "sess_cluster_"+strconv.Itoa(i))
	}
	took := propagation(t, a, b, ids[:30])
	t.Logf("propagation A->B over the cluster, %d revocations: median %v, max %v", len(took), took[len(took)/2], took[len(took)-1])
	took = propagation(t, b, a, ids[30:])
	t.Logf("propagation B->A over the cluster, %d revocations: median %v, max %v", len(took), took[len(took)/2], took[len(took)-1])

	t.Run("revocations spread over every master", func(t *testing.T) {
		var mu sync.Mutex // ForEachMaster calls back concurrently
		var sizes []int64
		require.NoError(t, ca.ForEachMaster(bg, func(ctx context.Context, n *redis.Client) error {
			size, err := n.DBSize(ctx).Result()
			mu.Lock()
			sizes = append(sizes, size)
			mu.Unlock()
			return err
		}))
		require.Len(t, sizes, 3)
		for _, n := range sizes {
			assert.Positive(t, n, "each master holds some revocations: %v", sizes)
		}
	})

	t.Run("a new replica loads every master", func(t *testing.T) {
		c := newStore(t, newClusterClient(t, cl.addrs()), fastOptions())
		require.True(t, c.Status().Connected)
		for _, id := range ids {
			assert.True(t, revoked(c, id)(), id)
		}
		assert.Equal(t, len(ids), c.Status().Revoked)
	})

	t.Run("a master down stops the feed until it is back", func(t *testing.T) {
		// Kill the master serving the channel's slot: the replicas'
		// subscriptions live there. With no replica to promote, the cluster
		// goes to cluster_state:fail and refuses every command.
		sub, err := ca.MasterForKey(bg, redisstore.DefaultPrefix+"events")
		require.NoError(t, err)
		down := cl.node(sub.Options().Addr)
		var rest []*redisServer
		for _, r := range cl.nodes {
			if r != down {
				rest = append(rest, r)
			}
		}
		down.stop()
		cl.waitState(t, "fail", rest...)
		eventually(t, 10*time.Second, "A notices", func() bool { return !a.Status().Connected })
		eventually(t, 10*time.Second, "B notices", func() bool { return !b.Status().Connected })

		ctx, cancel := context.WithTimeout(bg, 3*time.Second)
		defer cancel()
		err = a.Revoke(ctx, "sess_master_down", time.Now().Add(10*time.Minute))
		require.ErrorIs(t, err, redisstore.ErrNotShared)
		t.Logf("Revoke while a master is down: %v", err)
		assert.True(t, revoked(a, "sess_master_down")(), "in force on A")
		assert.Equal(t, 1, a.Status().Pending)
		assert.False(t, revoked(b, "sess_master_down")(), "the feed is stopped: B cannot learn it")

		restarted := time.Now()
		down.start() // same port, same nodes.conf: it rejoins as the same master
		cl.waitState(t, "ok", cl.nodes...)
		t.Logf("cluster_state:ok %v after the master restarted", time.Since(restarted))
		eventually(t, 15*time.Second, "B learns it once the master is back", revoked(b, "sess_master_down"))
		t.Logf("B saw the revocation made during the outage %v after the master restarted", time.Since(restarted))
		eventually(t, 10*time.Second, "A's write retried until written", func() bool { return a.Status().Pending == 0 })
		eventually(t, 10*time.Second, "both resubscribed", func() bool { return a.Status().Connected && b.Status().Connected })

		c := newStore(t, newClusterClient(t, cl.addrs()), fastOptions())
		assert.True(t, revoked(c, "sess_master_down")(), "a replica started afterwards sees it")
		assert.Equal(t, len(ids)+1, c.Status().Revoked)
	})
}

// TestClusterMasterRestartedEmpty restarts, without persistence, a master
// that does not serve the channel's slot: the subscriptions stay up, so
// only the periodic resync can write back the revocations it lost.
func TestClusterMasterRestartedEmpty(t *testing.T) {
	t.Parallel()
	cl := startCluster(t, 3)
	ca := newClusterClient(t, cl.addrs())
	var logs logBuffer
	opts := resyncOptions()
	opts.Logger = logs.logger()
	a := newStore(t, ca, opts)
	b := newStore(t, newClusterClient(t, cl.addrs()), opts) // same log: either may win a key

	var ids []string
	for i := range 60 {
		id := "sess_restart_" + strconv.Itoa(i)
		ids = append(ids, id)
		require.NoError(t, a.Revoke(bg, id, time.Now().Add(10*time.Minute)))
	}
	// A periodic resync that loaded Redis while those writes were under
	// way writes back (and logs) keys that were never lost: count the
	// write-backs from two completed resyncs after the last write on.
	for _, s := range []*redisstore.Store{a, b} {
		last := time.Now()
		eventually(t, 10*time.Second, "a resync begun after the writes", func() bool { return s.Status().LastSync.After(last) })
		last = s.Status().LastSync
		eventually(t, 10*time.Second, "a second one", func() bool { return s.Status().LastSync.After(last) })
	}
	before := logs.sum("wrote back revocations", "count")
	beforeLines := logs.count("wrote back revocations")
	sub, err := ca.MasterForKey(bg, redisstore.DefaultPrefix+"events")
	require.NoError(t, err)
	var victim *redisServer
	for _, r := range cl.nodes {
		if r.addr() != sub.Options().Addr {
			victim = r
			break
		}
	}
	held := newClient(t, victim.addr()).DBSize(bg).Val()
	require.Positive(t, held, "the restarted master held some revocations")

	restarted := time.Now()
	victim.stop()
	victim.start() // same nodes.conf, no data: it rejoins as the same master, empty
	cl.waitState(t, "ok", cl.nodes...)
	t.Logf("master holding %d of %d revocations restarted empty; cluster_state:ok after %v", held, len(ids), time.Since(restarted))

	total := func() int64 {
		var n int64
		for _, r := range cl.nodes {
			n += newClient(t, r.addr()).DBSize(bg).Val()
		}
		return n
	}
	eventually(t, 10*time.Second, "every revocation back in Redis", func() bool { return total() == int64(len(ids)) })
	t.Logf("all %d revocations back in Redis %v after the restart", len(ids), time.Since(restarted))
	assert.True(t, a.Status().Connected && b.Status().Connected, "the subscriptions stayed up")
	// The write-backs are logged with their counts. A SET NX whose reply
	// is lost (a slow, loaded machine, a node still settling) has written
	// the key without being counted, so the logged sum is at most what
	// was lost, and usually all of it.
	eventually(t, 5*time.Second, "the write-backs logged, with their counts", func() bool {
		return logs.sum("wrote back revocations", "count") > before
	})
	logged := logs.sum("wrote back revocations", "count") - before
	t.Logf("write-backs logged since the restart: %d of the %d lost (%d before it)", logged, held, before)
	assert.LessOrEqual(t, logged, int(held), "SET NX: no key counted twice")
	assert.Equal(t, logs.count("wrote back revocations"), logs.count("trigger=periodic"))
	assert.Positive(t, logs.count("wrote back revocations")-beforeLines)

	c := newStore(t, newClusterClient(t, cl.addrs()), redisstore.Options{ResyncInterval: -1})
	for _, id := range ids {
		assert.True(t, revoked(c, id)(), "a replica started afterwards sees %s", id)
	}
}
