// Package budget holds the token bucket that bounds how often clerkauth may
// spend a scarce upstream resource (Clerk's Backend API rate limit) on
// behalf of callers it cannot yet trust.
package budget

import (
	"sync"
	"time"
)

// Bucket is a token bucket: it holds at most burst tokens and gains rate
// tokens per second. The zero value allows nothing. A Bucket is safe for
// concurrent use by multiple goroutines.
type Bucket struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64
	last   time.Time
	now    func() time.Time
}

// New returns a full bucket of burst tokens refilled at rate tokens per
// second. now defaults to time.Now. A rate or burst of zero or less gives a
// bucket that allows nothing.
func New(rate float64, burst int, now func() time.Time) *Bucket {
	if now == nil {
		now = time.Now
	}
	b := &Bucket{rate: rate, burst: float64(burst), now: now}
	if rate <= 0 || burst <= 0 {
		b.rate, b.burst = 0, 0
	}
	b.tokens = b.burst
	b.last = now()
	return b
}

// Allow takes one token if there is one and reports whether it did.
func (b *Bucket) Allow() bool { return b.AllowAbove(0) }

// AllowAbove takes one token only if reserve tokens remain after it, and
// reports whether it did. Callers of lower priority use it so that the
// last reserve tokens, and the refill that restores them, are left to
// callers of Allow: while the bucket holds no more than reserve, only
// Allow succeeds. The bucket's bound on all callers together is
// unchanged.
func (b *Bucket) AllowAbove(reserve int) bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refillLocked()
	if b.tokens < 1+float64(max(reserve, 0)) {
		return false
	}
	b.tokens--
	return true
}

// Wait reports how long until the next token is available: zero when one is
// available now. It takes nothing.
func (b *Bucket) Wait() time.Duration {
	if b == nil || b.rate <= 0 {
		return time.Duration(1<<63 - 1)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.refillLocked()
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

func (b *Bucket) refillLocked() {
	now := b.now()
	if elapsed := now.Sub(b.last); elapsed > 0 {
		b.tokens = min(b.burst, b.tokens+elapsed.Seconds()*b.rate)
	}
	b.last = now
}
