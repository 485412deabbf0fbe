package clerkauth

import (
	"context"
	"sync"
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
			return zero, sessionsUnavailable("middleware closed", nil)
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
		return zero, sessionsUnavailable("gave up waiting for the Sessions API", ctx.Err())
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

// flightScope owns the goroutines of shared Sessions API calls: they run
// on its context, never a request's, and close cancels and waits for them.
type flightScope struct {
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

func newFlightScope() *flightScope {
	ctx, cancel := context.WithCancel(context.Background())
	return &flightScope{ctx: ctx, cancel: cancel}
}

// goIfOpen runs f on a new goroutine unless the scope is closed.
func (s *flightScope) goIfOpen(f func()) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
	return true
}

func (s *flightScope) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}
