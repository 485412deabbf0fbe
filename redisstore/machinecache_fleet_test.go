package redisstore_test

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
	"github.com/clerkauth/clerkauth/redisstore"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fleetEnv is a clerktest instance with API keys, and replicas verifying
// them.
type fleetEnv struct {
	srv  *clerktest.Server
	keys []*clerktest.APIKey
}

func newFleetEnv(t testing.TB, keys int) *fleetEnv {
	t.Helper()
	srv := clerktest.NewServer(clerktest.Config{SigningKey: testKey})
	t.Cleanup(srv.Close)
	e := &fleetEnv{srv: srv}
	for i := range keys {
		subject := fmt.Sprintf("user_%027d", i)
		e.keys = append(e.keys, srv.MustAPIKey(clerktest.APIKeyParams{Subject: subject}))
	}
	return e
}

func (e *fleetEnv) verifyCalls() int { return e.srv.Requests(clerktest.EndpointAPIKeyVerify) }

// replica returns a Verifier of the instance, sharing cache when it is
// not nil. The verify budget is generous: the test measures what the
// caches save, not what the budget refuses.
func (e *fleetEnv) replica(t testing.TB, cache clerkauth.MachineTokenCache, ttl time.Duration) *clerkauth.Verifier {
	t.Helper()
	cfg := clerkauth.Config{
		SecretKey: e.srv.SecretKey(), PublishableKey: e.srv.PublishableKey(), APIURL: e.srv.APIURL(),
		MaxRetries: -1, MachineTokenCacheTTL: ttl, MachineVerifyRate: 1e5, MachineVerifyBurst: 1e5,
	}
	if cache != nil {
		cfg.MachineTokenCache = cache
	}
	v, err := clerkauth.NewVerifier(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	return v
}

func newMachineCache(t testing.TB, c redis.UniversalClient, opts redisstore.MachineCacheOptions) *redisstore.MachineCache {
	t.Helper()
	mc, err := redisstore.NewMachineCache(bg, c, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = mc.Close() })
	return mc
}

// tally counts the answers of a load run.
type tally struct {
	ok, refused, unavailable, other atomic.Int64
	total, slowest                  atomic.Int64 // ns
}

func (tl *tally) add(err error, took time.Duration) {
	tl.total.Add(int64(took))
	for {
		s := tl.slowest.Load()
		if int64(took) <= s || tl.slowest.CompareAndSwap(s, int64(took)) {
			break
		}
	}
	switch {
	case err == nil:
		tl.ok.Add(1)
	case errors.Is(err, clerkauth.ErrInvalidToken):
		tl.refused.Add(1)
	case errors.Is(err, clerkauth.ErrKeysUnavailable):
		tl.unavailable.Add(1)
	default:
		tl.other.Add(1)
	}
}

func (tl *tally) String() string {
	n := tl.ok.Load() + tl.refused.Load() + tl.unavailable.Load() + tl.other.Load()
	return fmt.Sprintf("ok %d, refused %d, unavailable %d, other %d; mean %v, slowest %v",
		tl.ok.Load(), tl.refused.Load(), tl.unavailable.Load(), tl.other.Load(),
		time.Duration(tl.total.Load()/max(n, 1)), time.Duration(tl.slowest.Load()))
}

// load runs workers goroutines per replica until stop is closed, each
// starting at a random moment of the first spread and then verifying a
// random key (skip excluded) every pace: a request in flight per worker
// with some think time, as a server's clients send them, rather than
// goroutines spinning on the CPU (which, on a shared 2-core machine,
// starves every other goroutine, the subscribers included, for seconds).
func load(replicas []*clerkauth.Verifier, workers int, keys []*clerktest.APIKey, skip func(i int) bool, spread, pace time.Duration, stop <-chan struct{}, tl *tally) *sync.WaitGroup {
	var wg sync.WaitGroup
	for _, v := range replicas {
		for range workers {
			wg.Go(func() {
				wait := time.NewTimer(rand.N(spread))
				defer wait.Stop()
				for {
					select {
					case <-stop:
						return
					case <-wait.C:
					}
					if i := rand.IntN(len(keys)); skip == nil || !skip(i) {
						began := time.Now()
						_, err := v.VerifyMachineToken(bg, keys[i].Secret)
						tl.add(err, time.Since(began))
					}
					wait.Reset(pace)
				}
			})
		}
	}
	return &wg
}

// TestMachineCacheFleet is issue #16's proof, scaled down: 8 replicas
// with 64 concurrent requests each over 100 API keys for 3 s with a 1 s
// TTL make about 100 calls per TTL between them with the Redis cache,
// and about 8 times more with per-process caches only (same run). One key
// revoked mid-run is refused by every replica within 100 ms of
// ForgetMachineTokenID's return, and the
// Redis dump holds no key material.
func TestMachineCacheFleet(t *testing.T) {
	t.Parallel()
	const (
		replicas = 8
		workers  = 64
		nkeys    = 100
		ttl      = time.Second
		run      = 3 * time.Second
		pace     = 200 * time.Millisecond
	)
	r := startRedis(t)
	e := newFleetEnv(t, nkeys)
	client := newClient(t, r.addr())

	var shared []*clerkauth.Verifier
	for range replicas {
		mc := newMachineCache(t, newClient(t, r.addr()), machineOptions())
		shared = append(shared, e.replica(t, mc, ttl))
	}
	var local []*clerkauth.Verifier
	for range replicas {
		local = append(local, e.replica(t, nil, ttl))
	}

	// Shared phase, with key 0 revoked at Clerk and forgotten through
	// replica 3 halfway. Workers leave key 0 to the prober below.
	var revokedAt atomic.Int64 // Unix ns, 0 before
	before := e.verifyCalls()
	phaseStart := time.Now()
	var tl tally
	stop := make(chan struct{})
	wg := load(shared, workers, e.keys, func(i int) bool { return i == 0 }, ttl, pace, stop, &tl)
	// The prober keeps key 0 cached on every replica until the revocation.
	probe := make(chan struct{})
	var acceptedLate atomic.Int64
	var lastLate [replicas]atomic.Int64     // ns from the revocation to the last late acceptance
	var probedLate [replicas]atomic.Int64   // requests begun more than 100 ms after it
	var refusedAfter [replicas]atomic.Int64 // ns from ForgetMachineTokenID's return to the first refusal
	var pwg sync.WaitGroup
	for i, v := range shared {
		pwg.Go(func() {
			for {
				select {
				case <-probe:
					return
				default:
				}
				began := time.Now().UnixNano()
				_, err := v.VerifyMachineToken(bg, e.keys[0].Secret)
				at := revokedAt.Load()
				switch {
				case at == 0:
				case began > at+int64(100*time.Millisecond) && err == nil:
					acceptedLate.Add(1)
					lastLate[i].Store(began - at)
					fallthrough
				case began > at+int64(100*time.Millisecond):
					probedLate[i].Add(1)
				case err != nil && began >= at:
					refusedAfter[i].CompareAndSwap(0, time.Now().UnixNano()-at)
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	time.Sleep(run / 2)
	require.NoError(t, e.srv.RevokeAPIKey(e.keys[0].ID, "leaked"))
	forgetting := time.Now()
	require.NoError(t, shared[3].ForgetMachineTokenID(bg, e.keys[0].ID))
	revokedAt.Store(time.Now().UnixNano())
	t.Logf("ForgetMachineTokenID took %v", time.Since(forgetting))
	time.Sleep(run / 2)
	// The dump is taken while the shared load still runs: its entries
	// live one TTL, and the per-process phase below leaves Redis alone
	// for longer than that.
	dump := dumpRedis(t, client)
	close(stop)
	wg.Wait()
	close(probe)
	pwg.Wait()
	sharedCalls := e.verifyCalls() - before
	// The phase lasts run, plus what a loaded machine adds to the sleeps,
	// the revocation and the dump: the bound below counts the periods that
	// actually elapsed.
	elapsed := time.Since(phaseStart)
	t.Logf("shared (Redis): %d replicas x %d requests in flight x %d keys, TTL %v, %v: %d verify calls; answers: %s",
		replicas, workers, nkeys, ttl, run, sharedCalls, &tl)

	// The revocation: no replica accepted key 0 in a request begun more
	// than 100 ms after ForgetMachineTokenID returned, and each refuses it
	// now. How soon each answered its first refusal is logged: it adds the
	// time of that request (a call to Clerk, or a wait for another
	// replica's), which a loaded machine stretches.
	assert.Zero(t, acceptedLate.Load(), "revoked key accepted more than 100 ms after ForgetMachineTokenID returned")
	for i := range lastLate {
		if d := lastLate[i].Load(); d != 0 {
			t.Logf("replica %d accepted the revoked key until %v after the revocation", i, time.Duration(d))
		}
	}
	var worst time.Duration
	var late int64
	for i, v := range shared {
		_, err := v.VerifyMachineToken(bg, e.keys[0].Secret)
		assert.ErrorIs(t, err, clerkauth.ErrInvalidToken, "replica %d", i)
		worst = max(worst, time.Duration(refusedAfter[i].Load()))
		late += probedLate[i].Load()
	}
	t.Logf("revoked key: %d requests begun 100 ms or more after ForgetMachineTokenID returned, all refused; first refusals answered at most %v after it returned",
		late, worst)

	// Per-process phase, same load.
	before = e.verifyCalls()
	var tlLocal tally
	stop = make(chan struct{})
	phaseStart = time.Now()
	wg = load(local, workers, e.keys[1:], nil, ttl, pace, stop, &tlLocal)
	time.Sleep(run)
	close(stop)
	wg.Wait()
	localCalls := e.verifyCalls() - before
	localElapsed := time.Since(phaseStart)
	t.Logf("per-process only: %d verify calls; answers: %s", localCalls, &tlLocal)
	// What each phase needed from Clerk: the calls made, and the
	// requests answered 503 because the replica could not make one more
	// call at once (16 per replica): on a loaded machine calls are slow,
	// and the per-process phase hits that bound.
	sharedNeeded := sharedCalls + int(tl.unavailable.Load())
	localNeeded := localCalls + int(tlLocal.unavailable.Load())
	// The phases compare per second: a loaded machine stretches the
	// shared one (the revocation, the dump) more than the other.
	sharedRate := float64(sharedNeeded) / elapsed.Seconds()
	localRate := float64(localNeeded) / localElapsed.Seconds()
	t.Logf("calls needed (made + answered 503): shared %d in %v, per-process %d in %v; per second %.0f and %.0f, ratio %.1f",
		sharedNeeded, elapsed.Round(time.Millisecond), localNeeded, localElapsed.Round(time.Millisecond),
		sharedRate, localRate, localRate/sharedRate)

	// One call per key per TTL, and one period more: the first calls
	// start the clock and the last period may have begun. Slack: the
	// revoked key (a call for the revocation, refusals shared) and
	// waiters that gave up on a slow lease holder.
	periods := int((elapsed+ttl-1)/ttl) + 1
	bound := nkeys*periods + nkeys/10
	assert.LessOrEqual(t, sharedCalls, bound, "shared: at most %d keys x %d periods (%v elapsed) + 10%% slack", nkeys, periods, elapsed)
	assert.Greater(t, localRate, 3*sharedRate, "per-process caches need several times more calls per second")
	assert.Zero(t, tl.refused.Load()+tl.other.Load(), "valid keys are never refused")
	assert.Positive(t, tl.ok.Load())

	t.Run("the Redis dump holds no key material", func(t *testing.T) {
		require.NotEmpty(t, dump, "the shared phase left entries in Redis")
		for _, k := range e.keys {
			secret := strings.TrimPrefix(k.Secret, "ak_")
			for _, line := range dump {
				assert.NotContains(t, line, secret[:12], "a key's secret, or its start")
			}
		}
	})
}

// dumpRedis returns every key of a Redis server with its value.
func dumpRedis(t testing.TB, c *redis.Client) []string {
	t.Helper()
	keys, err := c.Keys(bg, "*").Result()
	require.NoError(t, err)
	var out []string
	for _, k := range keys {
		v, err := c.Dump(bg, k).Result()
		if errors.Is(err, redis.Nil) {
			continue // expired meanwhile
		}
		require.NoError(t, err)
		s, _ := c.Get(bg, k).Result()
		out = append(out, k+" "+v+" "+s)
	}
	return out
}

// machineOptions are the cache options of the load and cluster tests.
// The timeout is raised from its default (100 ms) to 2 s: under -race, on
// a shared 2-core machine running the other tests in parallel, a Redis
// round trip sometimes takes hundreds of milliseconds of waiting for a
// CPU, which would count as Redis failing and switch the replica to its
// own calls (TestMachineCacheRedisKilled and TestMachineCacheSlowRedis
// test that switch).
func machineOptions() redisstore.MachineCacheOptions {
	return redisstore.MachineCacheOptions{Logger: discardLogger(), Timeout: 2 * time.Second}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
