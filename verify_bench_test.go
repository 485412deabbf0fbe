package clerkauth

import (
	"context"
	"testing"
	"time"
)

// BenchmarkVerify measures Verify on the same token, warm (answered from
// the verified-token cache) and cold (cache off), for each key source.
// Compare sub-benchmarks within one run: go test -run '^$' -bench Verify
// -benchmem .
func BenchmarkVerify(b *testing.B) {
	a, _, _ := testKeys(b)
	clock := newClock()
	srv := newJWKSServer(b, jwkOf("k1", "RS256", &a.PublicKey))
	sources := []struct {
		name string
		cfg  Config
	}{
		{"JWKS", Config{JWKSURL: srv.URL}},
		{"PEM", Config{JWTKey: pemOf(b, &a.PublicKey)}},
	}
	tok := mint(b, a, stdHeader("k1"), with(stdClaims(clock.Now()), "exp", clock.Now().Add(time.Hour).Unix()))
	for _, src := range sources {
		for _, warm := range []bool{true, false} {
			name := src.name + "/warm"
			cfg := src.cfg
			cfg.PublishableKey, cfg.Now = testPK, clock.Now
			if !warm {
				name, cfg.TokenCacheSize = src.name+"/cold", -1
			}
			b.Run(name, func(b *testing.B) {
				v := newTestVerifier(b, cfg)
				ctx := context.Background()
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := v.Verify(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
