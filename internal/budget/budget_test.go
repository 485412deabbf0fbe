package budget

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestBucket(t *testing.T) {
	tests := []struct {
		name    string
		rate    float64
		burst   int
		advance time.Duration
		want    int // tokens allowed after draining the burst and advancing
	}{
		{"refills at rate", 2, 5, time.Second, 2},
		{"never beyond burst", 2, 5, time.Hour, 5},
		{"fractional refill waits for a whole token", 2, 5, 400 * time.Millisecond, 0},
		{"zero rate allows nothing", 0, 5, time.Hour, 0},
		{"zero burst allows nothing", 10, 0, time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
			b := New(tt.rate, tt.burst, clk.now)
			drained := 0
			for b.Allow() {
				drained++
			}
			if tt.rate > 0 {
				assert.Equal(t, tt.burst, drained, "a new bucket is full")
			}
			clk.advance(tt.advance)
			got := 0
			for b.Allow() {
				got++
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestBucketWait(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	b := New(4, 1, clk.now)
	assert.Zero(t, b.Wait())
	assert.True(t, b.Allow())
	assert.Equal(t, 250*time.Millisecond, b.Wait())
	clk.advance(250 * time.Millisecond)
	assert.Zero(t, b.Wait())
	var nilBucket *Bucket
	assert.False(t, nilBucket.Allow())
}

// TestBucketConcurrent shows that concurrent callers never take more than
// the bucket holds.
func TestBucketConcurrent(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	b := New(1, 50, clk.now)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				if b.Allow() {
					allowed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	assert.EqualValues(t, 50, allowed.Load())
}

// TestAllowAboveKeepsTheReserve shows that a low-priority caller cannot
// take the reserve, even as the bucket refills, while a high-priority one
// can, and that the two together never exceed the bucket's bound.
func TestAllowAboveKeepsTheReserve(t *testing.T) {
	clk := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	b := New(2, 8, clk.now)
	low := 0
	for b.AllowAbove(2) {
		low++
	}
	assert.Equal(t, 6, low, "low priority stops at the reserve")
	high := 0
	for b.Allow() {
		high++
	}
	assert.Equal(t, 2, high, "high priority takes the reserve")
	// Refill: the low-priority caller gets nothing until the reserve is
	// back, whoever asks first.
	clk.advance(time.Second) // +2 tokens
	assert.False(t, b.AllowAbove(2), "refill restores the reserve first")
	assert.True(t, b.Allow())
	assert.True(t, b.Allow())
	assert.False(t, b.Allow())
	clk.advance(10 * time.Second) // full again: 8
	total := 0
	for b.AllowAbove(2) {
		total++
	}
	for b.Allow() {
		total++
	}
	assert.Equal(t, 8, total, "together never more than the bucket holds")
}
