package bench

import (
	"context"
	"fmt"
	"runtime"
	"strings"

	"github.com/clerkauth/clerkauth"
)

// CacheMemory is the heap cost of the verified-token cache.
type CacheMemory struct {
	Entries       int     // tokens verified and found cached afterwards
	HeapBefore    uint64  // HeapAlloc before, after a GC
	HeapAfter     uint64  // HeapAlloc after, after a GC
	BytesPerEntry float64 // (after - before) / Entries
}

// MeasureCacheMemory verifies every token once through v (whose cache must
// hold them all), then checks that each is answered from the cache, and
// reports the heap growth per cached token. Each token is passed as a fresh
// copy, as a request would hand it over, so the bytes the cache retains
// count too.
func MeasureCacheMemory(ctx context.Context, v *clerkauth.Verifier, tokens []string) (CacheMemory, error) {
	first := make([]*clerkauth.Claims, len(tokens))
	before := heapAfterGC()
	for i, tok := range tokens {
		c, err := v.Verify(ctx, strings.Clone(tok))
		if err != nil {
			return CacheMemory{}, fmt.Errorf("bench: token %d rejected: %w", i, err)
		}
		first[i] = c
	}
	after := heapAfterGC()
	m := CacheMemory{HeapBefore: before, HeapAfter: after}
	for i, tok := range tokens {
		// A cached token is answered with the very Claims first returned.
		if c, err := v.Verify(ctx, tok); err == nil && c == first[i] {
			m.Entries++
		}
	}
	if m.Entries > 0 && after > before {
		m.BytesPerEntry = float64(after-before) / float64(m.Entries)
	}
	runtime.KeepAlive(first)
	return m, nil
}

func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
