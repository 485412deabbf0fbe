package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	errStoreClosed = errors.New("redisstore: store closed, not retried")
	errExpired     = errors.New("redisstore: revocation expired before it could be written")
)

// pendingSet holds the revocations recorded locally whose write to Redis
// has not succeeded yet, and the Revoke calls waiting for the next write
// attempt. It is safe for concurrent use.
//
// It holds at most max entries. Beyond that it only remembers that it
// overflowed: the writer then reconciles the whole local set with Redis,
// which covers every revocation left out, so none is lost, and memory stays
// bounded by the local set itself.
type pendingSet struct {
	max  int
	wake chan struct{} // capacity 1: a caller waits for an attempt

	mu       sync.Mutex // guards the fields below
	entries  map[string]time.Time
	overflow bool
	waiters  []waiter
	closed   bool
}

// waiter is a Revoke call waiting for the outcome of the next attempt.
type waiter struct {
	id string
	ch chan error // capacity 1: the writer never blocks on it
}

// batch is what one write attempt covers.
type batch struct {
	entries   map[string]time.Time // id -> until (local clock)
	reconcile bool                 // the set overflowed: resync everything
	waiters   []waiter
}

func newPendingSet(max int) *pendingSet {
	return &pendingSet{max: max, wake: make(chan struct{}, 1), entries: make(map[string]time.Time)}
}

// add records id as to be written with the given expiry and returns the
// channel the outcome of the next attempt is sent on. It reports whether
// the set has just overflowed, and fails once the set is closed.
func (p *pendingSet) add(id string, until time.Time) (ch <-chan error, overflowed bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, false, errStoreClosed
	}
	old, ok := p.entries[id]
	switch {
	case ok && until.After(old), !ok && len(p.entries) < p.max:
		p.entries[id] = until
	case !ok:
		overflowed = !p.overflow
		p.overflow = true
	}
	w := waiter{id: id, ch: make(chan error, 1)}
	p.waiters = append(p.waiters, w)
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return w.ch, overflowed, nil
}

// take returns what the next attempt must cover: a copy of the entries,
// the overflow flag (cleared) and the waiters (removed).
func (p *pendingSet) take() batch {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := batch{entries: make(map[string]time.Time, len(p.entries)), reconcile: p.overflow, waiters: p.waiters}
	for id, u := range p.entries {
		b.entries[id] = u
	}
	p.overflow, p.waiters = false, nil
	return b
}

// settle records the outcome of the attempt on b: results maps each id of
// b.entries to its error (nil: written, or expired and dropped). An entry
// Revoke extended meanwhile stays for the next attempt. A failed reconcile
// sets the overflow flag again. Each waiter of b receives the outcome for
// its id. It reports whether everything in b was settled.
func (p *pendingSet) settle(b batch, results map[string]error, reconcileErr error) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	ok := reconcileErr == nil
	for id, until := range b.entries {
		err, tried := results[id]
		if b.reconcile && !tried {
			err = reconcileErr
		}
		if err != nil && !errors.Is(err, errExpired) {
			ok = false
			continue
		}
		if p.entries[id].Equal(until) {
			delete(p.entries, id)
		}
	}
	if reconcileErr != nil {
		p.overflow = true
	}
	for _, w := range b.waiters {
		err, tried := results[w.id]
		if !tried {
			err = reconcileErr // only entries left out by an overflow are untried
		}
		w.ch <- err
	}
	return ok
}

// close fails the waiting callers and refuses further additions.
func (p *pendingSet) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, w := range p.waiters {
		w.ch <- errStoreClosed
	}
	p.waiters = nil
}

// busy reports whether anything is left to write.
func (p *pendingSet) busy() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.entries) > 0 || p.overflow
}

func (p *pendingSet) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.entries)
}

// writeLoop is the writer goroutine: it makes a write attempt whenever a
// Revoke call waits for one, and retries what is left with jittered
// exponential backoff; between attempts it runs the periodic resync
// (Options.ResyncInterval). It returns once ctx is cancelled.
func (s *Store) writeLoop(ctx context.Context) {
	defer s.wg.Done()
	defer s.pending.close()
	timer := time.NewTimer(0)
	if !timer.Stop() {
		<-timer.C
	}
	defer timer.Stop()
	periodic := newResyncTimer(s.opts.ResyncInterval)
	defer periodic.stop()
	backoff := time.Duration(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-periodic.c():
			s.periodicResync(ctx)
			periodic.reset()
			continue
		case <-s.pending.wake:
		case <-timer.C:
		}
		if s.flush(ctx) || ctx.Err() != nil {
			backoff = 0
			timer.Stop()
			continue
		}
		backoff = min(max(2*backoff, s.opts.RetryInterval), s.opts.MaxRetryInterval)
		timer.Reset(jitter(backoff))
	}
}

// periodicResync reconciles the local set with Redis while the Store is
// synchronised; a failure is reported and left for the next interval.
// While the Store is not synchronised, the reconnection resyncs instead.
func (s *Store) periodicResync(ctx context.Context) {
	if !s.connected.Load() {
		return
	}
	err := s.resync(ctx, resyncPeriodic)
	switch {
	case err == nil:
		s.mu.Lock()
		s.lastSync = s.opts.Now()
		s.mu.Unlock()
	case ctx.Err() == nil:
		s.report(fmt.Errorf("%w: periodic resync, will retry in %v: %w", ErrUnavailable, s.opts.ResyncInterval, err))
	}
}

// resyncTimer fires after a jittered Options.ResyncInterval; a disabled
// one (negative interval) never fires.
type resyncTimer struct {
	interval time.Duration
	t        *time.Timer
}

func newResyncTimer(interval time.Duration) *resyncTimer {
	r := &resyncTimer{interval: interval}
	if interval > 0 {
		r.t = time.NewTimer(jitter(interval))
	}
	return r
}

// c returns the channel the timer fires on, nil (never ready) if disabled.
func (r *resyncTimer) c() <-chan time.Time {
	if r.t == nil {
		return nil
	}
	return r.t.C
}

// reset schedules the next firing; call it only after c fired.
func (r *resyncTimer) reset() {
	if r.t != nil {
		r.t.Reset(jitter(r.interval))
	}
}

func (r *resyncTimer) stop() {
	if r.t != nil {
		r.t.Stop()
	}
}

// flush makes one write attempt over the pending set and reports whether
// nothing is left to retry from it.
func (s *Store) flush(ctx context.Context) bool {
	b := s.pending.take()
	if len(b.entries) == 0 && !b.reconcile && len(b.waiters) == 0 {
		return true
	}
	results := s.writeEntries(ctx, b.entries)
	var reconcileErr error
	if b.reconcile {
		reconcileErr = s.resync(ctx, resyncOverflow)
	}
	ok := s.pending.settle(b, results, reconcileErr)
	if !ok {
		s.report(fmt.Errorf("%w: writing %d pending revocation(s), will retry: %w",
			ErrUnavailable, s.pending.len(), firstError(results, reconcileErr)))
	}
	return ok && !s.pending.busy()
}

// writeEntries writes each revocation with the TTL it has left now, in one
// pipeline, and returns the outcome per session ID. A revocation whose time
// is over is not written: its tokens have expired.
func (s *Store) writeEntries(ctx context.Context, entries map[string]time.Time) map[string]error {
	results := make(map[string]error, len(entries))
	if len(entries) == 0 {
		return results
	}
	now := s.opts.Now()
	type cmds struct{ set, pub redis.Cmder }
	sent := make(map[string]cmds, len(entries))
	_, _ = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for id, until := range entries {
			ttl := until.Sub(now).Truncate(time.Millisecond)
			if ttl <= 0 {
				results[id] = errExpired
				continue
			}
			sent[id] = cmds{s.setCmd(ctx, p, id, ttl), s.publishCmd(ctx, p, id, ttl)}
		}
		return nil
	})
	for id, c := range sent {
		results[id] = errors.Join(c.set.Err(), c.pub.Err())
	}
	return results
}

// setCmd queues the write of one revocation key; publishCmd its broadcast.
// The broadcast is sent even if the write fails (Redis out of memory
// refuses SET but not PUBLISH): the replicas listening learn it at once,
// and the retry writes it for those that start later.
func (s *Store) setCmd(ctx context.Context, p redis.Pipeliner, id string, ttl time.Duration) redis.Cmder {
	return p.Set(ctx, s.opts.Prefix+id, ttl.Milliseconds(), ttl)
}

func (s *Store) publishCmd(ctx context.Context, p redis.Pipeliner, id string, ttl time.Duration) redis.Cmder {
	return p.Publish(ctx, s.opts.Channel, encodeMessage(id, ttl))
}

func firstError(results map[string]error, err error) error {
	if err != nil {
		return err
	}
	for _, e := range results {
		if e != nil && !errors.Is(e, errExpired) {
			return e
		}
	}
	return nil
}

// jitter returns a random duration between d/2 and d, so that replicas
// failing together do not retry together.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}
