package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/redis/go-redis/v9"
)

// Defaults for [MachineCacheOptions].
const (
	DefaultMachinePrefix      = "clerkauth:mt:"
	DefaultMachineTimeout     = 100 * time.Millisecond
	DefaultMachineRetryAfter  = time.Second
	maxMachineKey             = 128
	machineForgetAllOnConnect = ""
)

// MachineCacheOptions configures a [MachineCache]. The zero value is
// usable: every field documents its default.
type MachineCacheOptions struct {
	// Prefix starts every key the cache writes. Every replica of a fleet
	// must use the same Prefix; services that verify machine tokens with
	// different keys may share one (their entries never collide: they are
	// keyed by a hash under those keys). Default "clerkauth:mt:".
	Prefix string

	// Channel is the pub/sub channel deletions are broadcast on. Default
	// Prefix+"forget".
	Channel string

	// Timeout bounds each Redis operation of the request path (Get, Set,
	// Delete, Lease, Unlease): past it, the Verifier carries on without
	// the shared cache. It holds whatever the client's own timeouts are.
	// Default 100 ms.
	Timeout time.Duration

	// RetryAfter is how long the cache is skipped (Get misses at once,
	// Set does nothing) after an operation failed or timed out; then one
	// request tries Redis again. Default 1 s.
	RetryAfter time.Duration

	// PingInterval, RetryInterval and MaxRetryInterval tune the
	// subscriber of the deletion channel as in [Options]. Defaults 5 s,
	// 500 ms and 30 s.
	PingInterval     time.Duration
	RetryInterval    time.Duration
	MaxRetryInterval time.Duration

	// Logger receives one line each time the cache becomes unreachable
	// and reachable again. It never receives tokens. Default
	// slog.Default().
	Logger *slog.Logger
}

func (o MachineCacheOptions) withDefaults() (MachineCacheOptions, error) {
	for _, d := range []time.Duration{o.Timeout, o.RetryAfter, o.PingInterval, o.RetryInterval, o.MaxRetryInterval} {
		if d < 0 {
			return o, fmt.Errorf("redisstore: negative duration in machine cache options: %w", clerkauth.ErrInvalidConfig)
		}
	}
	if o.Prefix == "" {
		o.Prefix = DefaultMachinePrefix
	}
	if o.Channel == "" {
		o.Channel = o.Prefix + "forget"
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	o.Timeout = orDefault(o.Timeout, DefaultMachineTimeout)
	o.RetryAfter = orDefault(o.RetryAfter, DefaultMachineRetryAfter)
	o.PingInterval = orDefault(o.PingInterval, DefaultPingInterval)
	o.RetryInterval = orDefault(o.RetryInterval, DefaultRetryInterval)
	o.MaxRetryInterval = orDefault(o.MaxRetryInterval, max(DefaultMaxRetry, o.RetryInterval))
	if o.RetryInterval > o.MaxRetryInterval {
		return o, fmt.Errorf("redisstore: RetryInterval exceeds MaxRetryInterval: %w", clerkauth.ErrInvalidConfig)
	}
	return o, nil
}

// MachineCache is a [clerkauth.MachineTokenCache] shared by the replicas
// of a service through Redis, so that the fleet asks Clerk about an
// opaque machine token (mt_…, oat_…, ak_…) about once per
// Config.MachineTokenCacheTTL, not once per replica. It is also a
// [clerkauth.MachineTokenLeaser] (SET NX PX leases: one replica asks
// Clerk, the others wait for its answer) and a
// [clerkauth.MachineTokenWatcher] (Delete publishes the key; every
// replica's Verifier drops it from its in-process cache).
//
// Keys are the Verifier's keyed hashes of tokens, never tokens:
// <Prefix>{<hash>} for an entry and <Prefix>{<hash>}:lease for its lease
// (the hash tag keeps both in one Redis Cluster slot; tokens spread over
// every slot).
//
// Redis is never a dependency of the request path: each operation gives
// up after Options.Timeout, and after a failure the cache is skipped for
// Options.RetryAfter (Get misses, Set and Lease do nothing), so the
// Verifier falls back to its in-process cache and its own calls to Clerk,
// within Config.MachineVerifyRate. The transition is logged once each way.
//
// A MachineCache is safe for concurrent use. It runs one subscriber
// goroutine from [NewMachineCache] until [MachineCache.Close]. It does not
// own the Redis client: close the client after the cache (and after the
// Verifiers using it).
type MachineCache struct {
	client redis.UniversalClient
	opts   MachineCacheOptions
	nonce  string // this cache's lease value

	skipUntil atomic.Int64 // Unix ns: Redis is skipped before
	down      atomic.Bool  // the last operation failed
	subbed    atomic.Bool  // the deletion channel is subscribed

	mu       sync.Mutex // guards the fields below
	watchers map[int]func(string)
	nextID   int
	ps       *redis.PubSub
	closed   bool
	lastErr  error

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

var (
	_ clerkauth.MachineTokenCache   = (*MachineCache)(nil)
	_ clerkauth.MachineTokenLeaser  = (*MachineCache)(nil)
	_ clerkauth.MachineTokenWatcher = (*MachineCache)(nil)
)

// errSkipped is returned while the cache skips Redis after a failure.
var errSkipped = fmt.Errorf("%w: skipped after a recent failure", ErrUnavailable)

// NewMachineCache returns a MachineCache using client and starts its
// subscriber goroutine; call [MachineCache.Close] to stop it. It waits for
// the subscription at most until ctx is done; if Redis cannot be reached
// it still returns a working cache, which retries in the background (see
// [MachineCache.Status]). It fails only for a nil client or invalid
// options (errors wrapping clerkauth.ErrInvalidConfig).
func NewMachineCache(ctx context.Context, client redis.UniversalClient, opts MachineCacheOptions) (*MachineCache, error) {
	if client == nil {
		return nil, fmt.Errorf("redisstore: nil redis client: %w", clerkauth.ErrInvalidConfig)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	var n [16]byte
	_, _ = rand.Read(n[:])
	c := &MachineCache{client: client, opts: opts, nonce: hex.EncodeToString(n[:]), watchers: make(map[int]func(string))}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	c.cancel = cancel
	ps, err := c.subscribe(ctx)
	if err != nil {
		c.setErr(err)
	}
	c.wg.Add(1)
	go c.run(runCtx, ps)
	return c, nil
}

func (c *MachineCache) entryKey(key string) string { return c.opts.Prefix + "{" + key + "}" }
func (c *MachineCache) leaseKey(key string) string { return c.opts.Prefix + "{" + key + "}:lease" }

// checkKey refuses keys the Verifier never passes: empty, long, or with
// characters that could break out of the hash tag.
func checkKey(key string) error {
	if key == "" || len(key) > maxMachineKey || strings.ContainsAny(key, "{}") {
		return fmt.Errorf("redisstore: invalid machine cache key: %w", clerkauth.ErrInvalidArgument)
	}
	return nil
}

// do runs op against Redis within Options.Timeout, unless Redis is being
// skipped after a failure. The operation runs on its own goroutine, so
// that the caller never waits longer than the timeout even when the
// client ignores context deadlines; the goroutine ends with the client's
// own timeouts.
func do[T any](c *MachineCache, ctx context.Context, op func(ctx context.Context) (T, error)) (T, error) {
	var zero T
	if !c.tryRedis() {
		return zero, errSkipped
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.Timeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := op(ctx)
		done <- result{v, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		r.err = ctx.Err()
	}
	if r.err != nil && !errors.Is(r.err, redis.Nil) {
		c.fail(r.err)
		return zero, fmt.Errorf("%w: %w", ErrUnavailable, r.err)
	}
	c.recover()
	return r.v, nil
}

// tryRedis reports whether an operation may use Redis now. While it is
// skipped, one caller per RetryAfter is let through to probe it.
func (c *MachineCache) tryRedis() bool {
	if !c.down.Load() {
		return true
	}
	until, now := c.skipUntil.Load(), time.Now().UnixNano()
	return now >= until && c.skipUntil.CompareAndSwap(until, now+int64(c.opts.RetryAfter))
}

// fail skips Redis for RetryAfter and logs the transition once.
func (c *MachineCache) fail(err error) {
	c.skipUntil.Store(time.Now().Add(c.opts.RetryAfter).UnixNano())
	c.setErr(err)
	if !c.down.Swap(true) {
		c.opts.Logger.LogAttrs(context.Background(), slog.LevelWarn,
			"redisstore: machine token cache unreachable; verifying opaque machine tokens with per-process caches and direct calls to Clerk until it is back",
			slog.String("error", err.Error()))
	}
}

// recover notes a successful operation and logs the transition once.
func (c *MachineCache) recover() {
	if c.down.Load() && c.down.Swap(false) {
		c.opts.Logger.LogAttrs(context.Background(), slog.LevelInfo,
			"redisstore: machine token cache reachable again; sharing verifications across replicas")
	}
}

func (c *MachineCache) setErr(err error) {
	c.mu.Lock()
	c.lastErr = err
	c.mu.Unlock()
}

// Get returns the value stored under key, or nil. It returns an error
// wrapping [ErrUnavailable] when Redis failed, timed out or is skipped.
func (c *MachineCache) Get(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	return do(c, ctx, func(ctx context.Context) ([]byte, error) {
		return c.client.Get(ctx, c.entryKey(key)).Bytes()
	})
}

// Set stores value under key for ttl (at least a millisecond).
func (c *MachineCache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if ttl < time.Millisecond {
		return fmt.Errorf("redisstore: machine cache ttl %v below 1 ms: %w", ttl, clerkauth.ErrInvalidArgument)
	}
	_, err := do(c, ctx, func(ctx context.Context) (string, error) {
		return c.client.Set(ctx, c.entryKey(key), value, ttl).Result()
	})
	return err
}

// Delete removes key and publishes the deletion on Options.Channel, so
// that every replica's Verifier drops it from its in-process cache. It is
// not skipped after a failure: a revocation must be tried. An error
// (wrapping [ErrUnavailable]) means the other replicas may still accept
// the token until their in-process entries expire: retry.
func (c *MachineCache) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	c.notify(key) // this replica's Verifiers, even if Redis fails
	ctx, cancel := context.WithTimeout(ctx, max(c.opts.Timeout, time.Second))
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := c.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, c.entryKey(key))
			p.Publish(ctx, c.opts.Channel, key)
			return nil
		})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%w: deleting a machine token entry: %w", ErrUnavailable, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%w: deleting a machine token entry: %w", ErrUnavailable, ctx.Err())
	}
}

// Lease takes the lease of key for ttl (SET NX PX) unless another
// replica holds it, and reports whether it was taken.
func (c *MachineCache) Lease(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if err := checkKey(key); err != nil {
		return false, err
	}
	return do(c, ctx, func(ctx context.Context) (bool, error) {
		return c.client.SetNX(ctx, c.leaseKey(key), c.nonce, max(ttl, time.Millisecond)).Result()
	})
}

// unleaseScript deletes a lease only if this cache still holds it.
var unleaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// Unlease gives back a lease of key this cache holds; it leaves a lease
// another replica took alone.
func (c *MachineCache) Unlease(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	_, err := do(c, ctx, func(ctx context.Context) (any, error) {
		return unleaseScript.Run(ctx, c.client, []string{c.leaseKey(key)}, c.nonce).Result()
	})
	return err
}

// Watch registers forget, called with the key of every entry deleted by
// any replica (and "" after a reconnection, when deletions may have been
// missed), until stop is called.
func (c *MachineCache) Watch(forget func(key string)) (stop func()) {
	c.mu.Lock()
	id := c.nextID
	c.nextID++
	c.watchers[id] = forget
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		delete(c.watchers, id)
		c.mu.Unlock()
	}
}

// notify calls every watcher with key.
func (c *MachineCache) notify(key string) {
	c.mu.Lock()
	fns := make([]func(string), 0, len(c.watchers))
	for _, f := range c.watchers {
		fns = append(fns, f)
	}
	c.mu.Unlock()
	for _, f := range fns {
		f(key)
	}
}

// MachineCacheStatus describes a MachineCache's link with Redis.
type MachineCacheStatus struct {
	// Reachable reports whether the last Redis operation succeeded.
	Reachable bool
	// Subscribed reports whether deletions made by other replicas are
	// being received.
	Subscribed bool
	// LastError is the most recent failure, or nil.
	LastError error
}

// Status returns the cache's link status, for health checks and metrics.
func (c *MachineCache) Status() MachineCacheStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return MachineCacheStatus{Reachable: !c.down.Load(), Subscribed: c.subbed.Load(), LastError: c.lastErr}
}

// Close stops the subscriber goroutine and waits for it. It does not close
// the Redis client. Close is idempotent and returns nil.
func (c *MachineCache) Close() error {
	c.closeOnce.Do(func() {
		c.cancel()
		c.mu.Lock()
		c.closed = true
		ps := c.ps
		c.mu.Unlock()
		if ps != nil {
			_ = ps.Close()
		}
		c.wg.Wait()
		c.subbed.Store(false)
	})
	return nil
}

// run is the subscriber goroutine: it receives deletions while subscribed
// and resubscribes with exponential backoff otherwise.
func (c *MachineCache) run(ctx context.Context, ps *redis.PubSub) {
	defer c.wg.Done()
	backoff := c.opts.RetryInterval
	for {
		if ps != nil {
			err := c.listen(ctx, ps)
			c.dropConn(ps)
			c.subbed.Store(false)
			if ctx.Err() != nil {
				return
			}
			c.setErr(fmt.Errorf("%w: machine cache deletions: %w", ErrUnavailable, err))
			backoff = c.opts.RetryInterval
		}
		if !sleep(ctx, backoff) {
			return
		}
		var err error
		if ps, err = c.subscribe(ctx); err != nil {
			c.setErr(err)
			backoff = min(2*backoff, c.opts.MaxRetryInterval)
		}
	}
}

// subscribe subscribes to the channel and waits for the confirmation.
// Deletions made while unsubscribed were missed: every watcher drops its
// whole in-process cache.
func (c *MachineCache) subscribe(ctx context.Context) (*redis.PubSub, error) {
	ps := c.client.Subscribe(ctx)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = ps.Close()
		return nil, fmt.Errorf("%w: machine cache closed", ErrUnavailable)
	}
	c.ps = ps
	c.mu.Unlock()
	err := ps.Subscribe(ctx, c.opts.Channel)
	for err == nil {
		var msg any
		msg, err = ps.ReceiveTimeout(ctx, c.opts.PingInterval)
		if sub, ok := msg.(*redis.Subscription); ok && sub.Kind == "subscribe" {
			break
		}
	}
	if err != nil {
		c.dropConn(ps)
		return nil, fmt.Errorf("%w: subscribing to machine cache deletions: %w", ErrUnavailable, err)
	}
	c.subbed.Store(true)
	c.notify(machineForgetAllOnConnect)
	return ps, nil
}

// listen receives deletions until the connection fails; a quiet
// connection is pinged, and a ping left unanswered is a failure.
func (c *MachineCache) listen(ctx context.Context, ps *redis.PubSub) error {
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, c.opts.PingInterval)
		switch {
		case err == nil:
			pinged = false
			if m, ok := msg.(*redis.Message); ok && checkKey(m.Payload) == nil {
				c.notify(m.Payload)
			}
		case !isTimeout(err):
			return err
		case pinged:
			return fmt.Errorf("redisstore: no reply to ping within %v", c.opts.PingInterval)
		default:
			if err := ps.Ping(ctx); err != nil {
				return err
			}
			pinged = true
		}
	}
}

func (c *MachineCache) dropConn(ps *redis.PubSub) {
	c.mu.Lock()
	if c.ps == ps {
		c.ps = nil
	}
	c.mu.Unlock()
	_ = ps.Close()
}
