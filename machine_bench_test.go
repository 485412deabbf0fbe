package clerkauth

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The machine token benchmarks are read as ratios within one run: cold
// M2M and OAuth JWT verification against BenchmarkRSALimit (the bare
// RSA-2048 signature check), warm against the same, and the opaque warm
// middleware path against the session one (BenchmarkMachineMiddleware).

// BenchmarkRSALimit is the bare signature check of an M2M JWT: the floor
// of cold verification.
func BenchmarkRSALimit(b *testing.B) {
	e := newMachineEnv(b)
	tok := e.m2m()
	i := strings.LastIndexByte(tok, '.')
	sig, _ := b64url.DecodeString(tok[i+1:])
	a, _, _ := testKeys(b)
	for b.Loop() {
		sum := sha256.Sum256([]byte(tok[:i]))
		if rsa.VerifyPKCS1v15(&a.PublicKey, crypto.SHA256, sum[:], sig) != nil {
			b.Fatal("bad signature")
		}
	}
}

func BenchmarkVerifyMachineJWT(b *testing.B) {
	for _, kind := range []string{"m2m", "oauth"} {
		for _, warm := range []bool{false, true} {
			name := kind + "/cold"
			if warm {
				name = kind + "/warm"
			}
			b.Run(name, func(b *testing.B) {
				e := newMachineEnv(b, func(c *Config) {
					if !warm {
						c.TokenCacheSize = -1
					}
				})
				tok := e.m2m()
				if kind == "oauth" {
					tok = e.oauth()
				}
				ctx := context.Background()
				_, err := e.v.VerifyMachineToken(ctx, tok)
				require.NoError(b, err)
				b.ReportAllocs()
				for b.Loop() {
					if _, err := e.v.VerifyMachineToken(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkMachineMiddleware compares the warm middleware paths: a session
// token on a session route, an opaque API key (cached) and an M2M JWT
// (cached) on a route accepting any kind, and a session token there.
func BenchmarkMachineMiddleware(b *testing.B) {
	e := newMachineEnv(b)
	a, _, _ := testKeys(b)
	session := mint(b, a, stdHeader("k1"), stdClaims(e.clock.Now()))
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	sessionMW := e.middleware(MiddlewareOptions{}).Handler(noop)
	anyMW := e.middleware(MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindAny}}).Handler(noop)
	cases := []struct {
		name  string
		h     http.Handler
		token string
	}{
		{"session route/session", sessionMW, session},
		{"any route/session", anyMW, session},
		{"any route/api key cached", anyMW, goodAPIKey},
		{"any route/m2m jwt cached", anyMW, e.m2m()},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			r := bearerRequest(tc.token)
			require.Equal(b, 200, serve(tc.h, r).Code)
			b.ReportAllocs()
			for b.Loop() {
				tc.h.ServeHTTP(discardWriter{}, r)
			}
		})
	}
}

// BenchmarkMachineRatios interleaves the compared operations in one loop,
// so that the noise of a shared machine hits both sides alike, and reports
// their ratios: cold M2M and OAuth JWT verification over the bare RSA
// check (target ≤ 1.20), warm over it (target ≤ 0.02), and the cached
// opaque API key over the session token on the warm middleware path
// (target ≤ 2).
func BenchmarkMachineRatios(b *testing.B) {
	cold := newMachineEnv(b, func(c *Config) { c.TokenCacheSize = -1 })
	warm := newMachineEnv(b)
	a, _, _ := testKeys(b)
	m2m, oauth := cold.m2m(), cold.oauth()
	i := strings.LastIndexByte(m2m, '.')
	ctx := context.Background()
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	sessionMW := warm.middleware(MiddlewareOptions{}).Handler(noop)
	keyMW := warm.middleware(MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindAPIKey}}).Handler(noop)
	sessionReq := bearerRequest(mint(b, a, stdHeader("k1"), stdClaims(warm.clock.Now())))
	keyReq := bearerRequest(goodAPIKey)
	require.Equal(b, 200, serve(sessionMW, sessionReq).Code)
	require.Equal(b, 200, serve(keyMW, keyReq).Code)
	_, err := warm.v.VerifyMachineToken(ctx, m2m)
	require.NoError(b, err)
	var rsaT, m2mT, oauthT, warmT, sessT, keyT time.Duration
	timed := func(d *time.Duration, f func()) {
		start := time.Now()
		f()
		*d += time.Since(start)
	}
	for b.Loop() {
		timed(&rsaT, func() { // the README's RSA limit: base64 decode + SHA-256 + verify
			sig, _ := b64url.DecodeString(m2m[i+1:])
			sum := sha256.Sum256([]byte(m2m[:i]))
			_ = rsa.VerifyPKCS1v15(&a.PublicKey, crypto.SHA256, sum[:], sig)
		})
		timed(&m2mT, func() { _, _ = cold.v.VerifyMachineToken(ctx, m2m) })
		timed(&oauthT, func() { _, _ = cold.v.VerifyMachineToken(ctx, oauth) })
		timed(&warmT, func() { _, _ = warm.v.VerifyMachineToken(ctx, m2m) })
		for range 10 {
			timed(&sessT, func() { sessionMW.ServeHTTP(discardWriter{}, sessionReq) })
			timed(&keyT, func() { keyMW.ServeHTTP(discardWriter{}, keyReq) })
		}
	}
	b.ReportMetric(float64(m2mT)/float64(rsaT), "m2m-cold/rsa")
	b.ReportMetric(float64(oauthT)/float64(rsaT), "oauth-cold/rsa")
	b.ReportMetric(float64(warmT)/float64(rsaT), "m2m-warm/rsa")
	b.ReportMetric(float64(keyT)/float64(sessT), "apikey-warm/session-warm")
}
