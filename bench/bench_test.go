package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"testing"

	"github.com/clerkauth/clerkauth"
)

// Test fixtures, made once per test binary: RSA keys and signatures are
// slow, and every benchmark must verify the very same token.
var (
	fx      *Fixture
	keySrv  *JWKSServer
	coldSet []string // distinct tokens, for cache misses
	menv    *MachineEnv
)

const coldPoolSize = 256

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	var err error
	if fx, err = NewFixture(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	keySrv = NewJWKSServer(fx.JWKS)
	defer keySrv.Close()
	if coldSet, err = fx.MintPool(coldPoolSize); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if menv, err = NewMachineEnv(fx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer menv.Close()
	return m.Run()
}

func newVerifier(tb testing.TB, cacheSize int) *clerkauth.Verifier {
	tb.Helper()
	v, err := NewClerkauth(context.Background(), ClerkauthConfig(keySrv, cacheSize, nil))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = v.Close() })
	return v
}

func BenchmarkLimit(b *testing.B) {
	l := NewLimit(&fx.Key.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Verify(fx.Token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyCold verifies the token with the verified-token cache
// disabled: every call checks the signature.
func BenchmarkVerifyCold(b *testing.B) {
	v := newVerifier(b, -1)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, fx.Token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyColdMiss cycles through distinct tokens with a cache too
// small to hold them: every call misses, verifies and inserts (evicting).
func BenchmarkVerifyColdMiss(b *testing.B) {
	v := newVerifier(b, 16)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := v.Verify(ctx, coldSet[i%len(coldSet)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

func BenchmarkVerifyWarm(b *testing.B) {
	v := newVerifier(b, 0)
	ctx := context.Background()
	if _, err := v.Verify(ctx, fx.Token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, fx.Token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyWarmParallel is the warm Verify on every core: the hot
// path without net/http's allocations, to show that nothing in clerkauth
// serialises concurrent requests.
func BenchmarkVerifyWarmParallel(b *testing.B) {
	v := newVerifier(b, 0)
	ctx := context.Background()
	if _, err := v.Verify(ctx, fx.Token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(ctx, fx.Token); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkClerkSDKVerify(b *testing.B) {
	sdk, err := NewClerkSDK(keySrv, fx.JWKS)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sdk.Verify(ctx, fx.Token); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAuth0Validator(b *testing.B) {
	v, err := NewAuth0Validator(&fx.Key.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.ValidateToken(ctx, fx.Token); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGolangJWT(b *testing.B) {
	g := NewGolangJWT(&fx.Key.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Verify(fx.Token); err != nil {
			b.Fatal(err)
		}
	}
}

// serveLoop sends the same request through h b.N times, each with a fresh
// recorder, and fails on anything but 200.
func serveLoop(b *testing.B, h http.Handler, token string) {
	req := httptest.NewRequest(http.MethodGet, "/private", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
	}
}

func BenchmarkClerkSDKMiddleware(b *testing.B) {
	sdk, err := NewClerkSDK(keySrv, fx.JWKS)
	if err != nil {
		b.Fatal(err)
	}
	serveLoop(b, sdk.Middleware(requireClerkSDK(b)), fx.Token)
}

func requireClerkSDK(b *testing.B) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !ClerkSDKClaimsFrom(r) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}

func BenchmarkAuth0Middleware(b *testing.B) {
	v, err := NewAuth0Validator(&fx.Key.PublicKey)
	if err != nil {
		b.Fatal(err)
	}
	serveLoop(b, Auth0Middleware(v, okHandler), fx.Token)
}

func protect(b *testing.B, cacheSize int) http.Handler {
	h, done, err := Protect(newVerifier(b, cacheSize), okHandler)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(done)
	return h
}

// BenchmarkMiddlewareCold runs the request through clerkauth's middleware
// with the token cache off: every request checks the signature.
func BenchmarkMiddlewareCold(b *testing.B) {
	serveLoop(b, protect(b, -1), fx.Token)
}

func BenchmarkMiddlewareWarm(b *testing.B) {
	serveLoop(b, protect(b, 0), fx.Token)
}

// BenchmarkMiddlewareWarmSingleCore is the warm middleware with
// GOMAXPROCS=1, the single-core base of the RunParallel figure: with two
// Ps, a lone goroutine gets the garbage collector's work done on the idle
// core for free.
func BenchmarkMiddlewareWarmSingleCore(b *testing.B) {
	h := protect(b, 0)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	serveLoop(b, h, fx.Token)
}

// BenchmarkMiddlewareWarmParallel is the warm middleware on every core
// (GOMAXPROCS goroutines), each with its own request.
func BenchmarkMiddlewareWarmParallel(b *testing.B) {
	h := protect(b, 0)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest(http.MethodGet, "/private", nil)
		req.Header.Set("Authorization", "Bearer "+fx.Token)
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("status %d", rec.Code)
				return
			}
		}
	})
}
