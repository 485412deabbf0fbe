package redisstore

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/redis/go-redis/v9"
)

// BenchmarkIsRevoked measures the request hot path under parallel load,
// against the RWMutex-based clerkauth.MemoryRevocationStore for scale. It
// needs no Redis: IsRevoked never touches the network.
func BenchmarkIsRevoked(b *testing.B) {
	const n = 10000
	ctx := context.Background()
	s := benchStore(b)
	mem := clerkauth.NewMemoryRevocationStore(nil)
	until := time.Now().Add(time.Hour)
	for i := range n {
		id := "sess_" + strconv.Itoa(i)
		s.local.add(id, until)
		_ = mem.Revoke(ctx, id, until)
	}
	for _, tc := range []struct {
		name  string
		store clerkauth.RevocationStore
		id    string
	}{
		{"redisstore/miss", s, "sess_active"},
		{"redisstore/hit", s, "sess_42"},
		{"memory-rwmutex/miss", mem, "sess_active"},
		{"memory-rwmutex/hit", mem, "sess_42"},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := tc.store.IsRevoked(ctx, tc.id); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// benchStore returns a Store whose Redis is unreachable, retrying rarely.
func benchStore(b *testing.B) *Store {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	b.Cleanup(func() { _ = c.Close() })
	s, err := New(context.Background(), c, Options{RetryInterval: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close() })
	return s
}
