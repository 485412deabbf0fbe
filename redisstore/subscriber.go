package redisstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

const scanCount = 1000

// run is the subscriber goroutine: it listens while connected and
// reconnects with exponential backoff otherwise, until ctx is cancelled.
func (s *Store) run(ctx context.Context, ps *redis.PubSub) {
	defer s.wg.Done()
	backoff := s.opts.RetryInterval
	for {
		if ps != nil {
			err := s.listen(ctx, ps)
			s.dropConn(ps)
			if ctx.Err() != nil {
				return
			}
			s.markDown(err)
			backoff = s.opts.RetryInterval
		}
		if !sleep(ctx, backoff) {
			return
		}
		var err error
		if ps, err = s.connect(ctx); err != nil {
			s.markDown(err)
			backoff = min(2*backoff, s.opts.MaxRetryInterval)
		}
	}
}

// connect subscribes, waits for the confirmation and then resynchronises.
// Subscribing first means nothing revoked during the reload is missed.
func (s *Store) connect(ctx context.Context) (*redis.PubSub, error) {
	ps := s.client.Subscribe(ctx)
	if !s.setConn(ps) {
		return nil, fmt.Errorf("%w: store closed", ErrUnavailable)
	}
	err := ps.Subscribe(ctx, s.opts.Channel)
	if err == nil {
		err = s.awaitSubscription(ctx, ps)
	}
	if err == nil {
		err = s.resync(ctx, resyncConnect)
	}
	if err != nil {
		s.dropConn(ps)
		return nil, err
	}
	s.markUp()
	s.checkEvictionPolicy(ctx)
	return ps, nil
}

// awaitSubscription reads until Redis confirms the subscription.
func (s *Store) awaitSubscription(ctx context.Context, ps *redis.PubSub) error {
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.opts.PingInterval)
		if err != nil {
			return err
		}
		s.handle(msg)
		if sub, ok := msg.(*redis.Subscription); ok && sub.Kind == "subscribe" {
			return nil
		}
	}
}

// listen receives broadcasts until the connection fails. A silent
// connection is pinged; a ping left unanswered counts as a failure.
func (s *Store) listen(ctx context.Context, ps *redis.PubSub) error {
	pinged := false
	lastPurge := s.opts.Now()
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.opts.PingInterval)
		switch {
		case err == nil:
			pinged = false
			s.handle(msg)
		case !isTimeout(err):
			return err
		case pinged:
			return fmt.Errorf("redisstore: no reply to ping within %v", s.opts.PingInterval)
		default:
			if err := ps.Ping(ctx); err != nil {
				return err
			}
			pinged = true
		}
		if now := s.opts.Now(); now.Sub(lastPurge) >= s.opts.MinTTL {
			s.local.purge(now)
			lastPurge = now
		}
	}
}

// handle applies one message received on the subscription.
func (s *Store) handle(msg any) {
	m, ok := msg.(*redis.Message)
	if !ok {
		return // subscription confirmations and pongs
	}
	id, ttl, err := decodeMessage(m.Payload)
	if err != nil {
		s.report(err)
		return
	}
	s.local.add(id, s.opts.Now().Add(min(ttl, s.opts.MaxTTL)))
}

// Why a resynchronisation runs, as logged.
const (
	resyncConnect  = "connect"  // the subscription was (re)established
	resyncOverflow = "overflow" // the pending set overflowed
	resyncPeriodic = "periodic" // Options.ResyncInterval elapsed
)

// resync loads every revocation held in Redis into the local set, then
// writes back the local revocations Redis lacks (made while it was
// unreachable, or lost by a Redis restart without persistence). It logs
// one Info line if it wrote any back.
func (s *Store) resync(ctx context.Context, trigger string) error {
	remote, err := s.loadRemote(ctx)
	if err != nil {
		return fmt.Errorf("redisstore: reloading revoked sessions: %w", err)
	}
	now := s.opts.Now()
	for id, ttl := range remote {
		s.local.add(id, now.Add(ttl))
	}
	missing := make(map[string]time.Duration)
	s.local.live(now, func(id string, remaining time.Duration) {
		if _, ok := remote[id]; !ok && remaining >= time.Millisecond {
			missing[id] = remaining
		}
	})
	written, err := s.writeBack(ctx, missing)
	if written > 0 {
		s.opts.Logger.LogAttrs(ctx, slog.LevelInfo,
			"redisstore: wrote back revocations Redis had lost",
			slog.Int("count", written), slog.Int("in_redis", len(remote)), slog.String("trigger", trigger))
	}
	if err != nil {
		return fmt.Errorf("redisstore: writing back local revocations: %w", err)
	}
	return nil
}

// loadRemote returns every revoked session ID in Redis with its remaining
// TTL (capped at MaxTTL), scanning each master of a cluster.
func (s *Store) loadRemote(ctx context.Context) (map[string]time.Duration, error) {
	var mu sync.Mutex
	remote := make(map[string]time.Duration)
	err := s.forEachShard(ctx, func(ctx context.Context, c redis.Cmdable) error {
		return s.scanShard(ctx, c, func(id string, ttl time.Duration) {
			mu.Lock()
			remote[id] = ttl
			mu.Unlock()
		})
	})
	return remote, err
}

func (s *Store) forEachShard(ctx context.Context, fn func(context.Context, redis.Cmdable) error) error {
	switch c := s.client.(type) {
	case *redis.ClusterClient:
		return c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return fn(ctx, n) })
	case *redis.Ring:
		return c.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error { return fn(ctx, n) })
	}
	return fn(ctx, s.client)
}

// scanShard SCANs one node for keys under the prefix and reads their TTLs.
func (s *Store) scanShard(ctx context.Context, c redis.Cmdable, fn func(string, time.Duration)) error {
	match := escapeGlob(s.opts.Prefix) + "*"
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, match, scanCount).Result()
		if err != nil {
			return err
		}
		if err := s.readTTLs(ctx, c, keys, fn); err != nil {
			return err
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// readTTLs reads the remaining TTL of keys in one round trip. A key without
// TTL is kept for MaxTTL; a key gone meanwhile is skipped.
func (s *Store) readTTLs(ctx context.Context, c redis.Cmdable, keys []string, fn func(string, time.Duration)) error {
	if len(keys) == 0 {
		return nil
	}
	cmds := make([]*redis.DurationCmd, len(keys))
	_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			cmds[i] = p.PTTL(ctx, k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, k := range keys {
		ttl := cmds[i].Val()
		if ttl == -1 { // no expiry set: bound it ourselves
			ttl = s.opts.MaxTTL
		}
		if ttl > 0 {
			fn(strings.TrimPrefix(k, s.opts.Prefix), min(ttl, s.opts.MaxTTL))
		}
	}
	return nil
}

// writeBack stores the given revocations in Redis where absent (SET NX, so
// when many replicas write back after a Redis restart only one wins per
// key) and broadcasts those it wrote. It returns how many it wrote, even
// when some writes failed (a cluster master down).
func (s *Store) writeBack(ctx context.Context, missing map[string]time.Duration) (int, error) {
	if len(missing) == 0 {
		return 0, nil
	}
	set := make(map[string]*redis.BoolCmd, len(missing))
	_, setErr := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for id, ttl := range missing {
			set[id] = p.SetNX(ctx, s.opts.Prefix+id, ttl.Milliseconds(), ttl)
		}
		return nil
	})
	var written []string
	for id, cmd := range set {
		if cmd.Err() == nil && cmd.Val() {
			written = append(written, id)
		}
	}
	if len(written) == 0 {
		return 0, setErr
	}
	_, pubErr := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, id := range written {
			p.Publish(ctx, s.opts.Channel, encodeMessage(id, missing[id]))
		}
		return nil
	})
	return len(written), errors.Join(setErr, pubErr)
}

// setConn records ps as the current subscription so Close can interrupt it;
// it refuses (and closes ps) once the store is closed.
func (s *Store) setConn(ps *redis.PubSub) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = ps.Close()
		return false
	}
	s.ps = ps
	return true
}

// dropConn closes ps and forgets it.
func (s *Store) dropConn(ps *redis.PubSub) {
	s.mu.Lock()
	if s.ps == ps {
		s.ps = nil
	}
	s.mu.Unlock()
	_ = ps.Close() // a second close only returns an error
}

func (s *Store) markUp() {
	s.mu.Lock()
	s.lastSync = s.opts.Now()
	s.mu.Unlock()
	s.connected.Store(true)
}

// markDown records that the store is no longer synchronised and reports why.
func (s *Store) markDown(err error) {
	if !errors.Is(err, ErrUnavailable) {
		err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	s.setDown(err)
	s.report(err)
}

func (s *Store) setDown(err error) {
	s.downErr.Store(&err)
	s.connected.Store(false)
}

// report records a background failure and passes it to Options.OnError.
func (s *Store) report(err error) {
	s.mu.Lock()
	s.lastErr, s.lastErrAt = err, s.opts.Now()
	s.mu.Unlock()
	if s.opts.OnError != nil {
		s.opts.OnError(err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// sleep waits for d or until ctx is done; it reports whether d elapsed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// escapeGlob escapes the characters SCAN MATCH treats as a pattern.
func escapeGlob(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
