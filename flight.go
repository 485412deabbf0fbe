package clerkauth

import (
	"context"
	"sync"
	"time"
)

// flightGroup merges concurrent calls with the same key into one, run on
// the scope's context so that no caller's cancellation cancels the others'
// call. Each caller waits for the result or its own context, whichever
// comes first.
type flightGroup[V any] struct {
	scope *flightScope
	mu    sync.Mutex
	calls map[string]*flightCall[V]
}

type flightCall[V any] struct {
	done    chan struct{}
	val     V
	err     error
	waiters int // callers that joined, the first included (tests read it)
}

func newFlightGroup[V any](scope *flightScope) *flightGroup[V] {
	return &flightGroup[V]{scope: scope, calls: make(map[string]*flightCall[V])}
}

// do returns fn's result for key, calling fn unless a call for key is in
// flight. fn gets a context bounded by sessionsCallTimeout.
func (g *flightGroup[V]) do(ctx context.Context, key string, fn func(context.Context) (V, error)) (V, error) {
	g.mu.Lock()
	c, ok := g.calls[key]
	if !ok {
		c = &flightCall[V]{done: make(chan struct{})}
		if !g.scope.goIfOpen(func() { g.run(key, c, fn) }) {
			g.mu.Unlock()
			var zero V
			return zero, &unavailableError{msg: "middleware closed"}
		}
		g.calls[key] = c
	}
	c.waiters++
	g.mu.Unlock()
	select {
	case <-c.done:
		return c.val, c.err
	case <-ctx.Done():
		var zero V
		return zero, &unavailableError{msg: "gave up waiting for the Sessions API", err: ctx.Err()}
	}
}

func (g *flightGroup[V]) run(key string, c *flightCall[V], fn func(context.Context) (V, error)) {
	ctx, cancel := context.WithTimeout(g.scope.ctx, sessionsCallTimeout)
	c.val, c.err = fn(ctx)
	cancel()
	g.mu.Lock()
	delete(g.calls, key)
	g.mu.Unlock()
	close(c.done)
}

// waiting returns the number of callers waiting for key's call, 0 when
// none is in flight.
func (g *flightGroup[V]) waiting(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.calls[key]; ok {
		return c.waiters
	}
	return 0
}

// breaker is a circuit breaker: after threshold consecutive failures it
// opens and refuses calls for coolOff, then lets one probe through
// (half-open); the probe's success closes it, its failure reopens it.
type breaker struct {
	threshold int
	coolOff   time.Duration
	now       func() time.Time

	mu        sync.Mutex
	failures  int
	openUntil time.Time // zero when closed
	probing   bool
}

// allow reports whether a call may be made now. A true answer must be
// followed by record.
func (b *breaker) allow() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.openUntil.IsZero():
		return true
	case b.probing || b.now().Before(b.openUntil):
		return false
	}
	b.probing = true
	return true
}

// record reports the outcome of an allowed call: failed when the API did
// not work (network error, 5xx, 429, rejected secret key). Any answer about
// the token itself counts as the API working.
func (b *breaker) record(failed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	wasProbe := b.probing
	b.probing = false
	if !failed {
		b.failures, b.openUntil = 0, time.Time{}
		return
	}
	b.failures++
	if wasProbe || b.failures >= b.threshold {
		b.openUntil = b.now().Add(b.coolOff)
	}
}
