package clerkauth

import (
	"context"
	"net/http"
	"runtime"
	"syscall"
	"testing"
	"unsafe"
)

// BenchmarkWarmPaths measures the warm Verify and the warm middleware with
// no Observer and no Logger, the paths the observer seam must leave as
// they were: run it on the commit before the seam and on this one,
// interleaved, and compare (README, "Operating clerkauth"). Besides ns/op
// it reports cpu-ns/op, the benchmark thread's CPU time per operation,
// which time spent waiting for a core on a busy machine does not inflate.
func BenchmarkWarmPaths(b *testing.B) {
	b.Run("verify", func(b *testing.B) {
		e := newMWEnv(b)
		tok, ctx := e.token(), context.Background()
		if _, err := e.v.Verify(ctx, tok); err != nil {
			b.Fatal(err)
		}
		cpuLoop(b, func() { _, _ = e.v.Verify(ctx, tok) })
	})
	b.Run("middleware", func(b *testing.B) {
		e := newMWEnv(b)
		m, err := NewMiddleware(e.v, MiddlewareOptions{})
		if err != nil {
			b.Fatal(err)
		}
		h := m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		r := bearerRequest(e.token())
		h.ServeHTTP(discardWriter{}, r)
		cpuLoop(b, func() { h.ServeHTTP(discardWriter{}, r) })
	})
}

// cpuLoop runs op b.N times on a locked thread, reporting allocations and
// the thread's CPU time per operation (cpu-ns/op; 0 where the thread clock
// cannot be read).
func cpuLoop(b *testing.B, op func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	start := threadCPU()
	for b.Loop() {
		op()
	}
	b.ReportMetric(float64(threadCPU()-start)/float64(b.N), "cpu-ns/op")
}

// threadCPU returns the calling thread's CPU time in ns
// (CLOCK_THREAD_CPUTIME_ID), 0 when it cannot be read.
func threadCPU() int64 {
	const clockThreadCPUTime = 3
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0
	}
	return ts.Nano()
}
