package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// The machine token benchmarks (#12): cold and warm JWT verification of an
// M2M and an OAuth token against the RSA limit on the very same token, the
// warm middleware path of cached opaque tokens against the session one
// (BenchmarkMiddlewareWarm), and clerk-sdk-go's opaque verification, one
// Backend API call per request to the loopback instance.

func newMachineVerifier(tb testing.TB, cacheSize int) *clerkauth.Verifier {
	tb.Helper()
	v, err := NewClerkauth(context.Background(), menv.Config(cacheSize))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = v.Close() })
	return v
}

func benchLimit(b *testing.B, token string) {
	l := NewLimit(&fx.Key.PublicKey)
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Verify(token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLimitM2M is the RSA limit on the M2M JWT.
func BenchmarkLimitM2M(b *testing.B) { benchLimit(b, menv.M2MJWT) }

// BenchmarkLimitOAuth is the RSA limit on the OAuth JWT.
func BenchmarkLimitOAuth(b *testing.B) { benchLimit(b, menv.OAuthJWT) }

func benchVerifyMachine(b *testing.B, token string, cacheSize int) {
	v := newMachineVerifier(b, cacheSize)
	ctx := context.Background()
	if _, err := v.VerifyMachineToken(ctx, token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyMachineToken(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyM2MCold verifies the M2M JWT with the token cache off.
func BenchmarkVerifyM2MCold(b *testing.B) { benchVerifyMachine(b, menv.M2MJWT, -1) }

// BenchmarkVerifyM2MWarm verifies the M2M JWT again (cache hit).
func BenchmarkVerifyM2MWarm(b *testing.B) { benchVerifyMachine(b, menv.M2MJWT, 0) }

// BenchmarkVerifyOAuthCold verifies the OAuth JWT with the token cache off.
func BenchmarkVerifyOAuthCold(b *testing.B) { benchVerifyMachine(b, menv.OAuthJWT, -1) }

// BenchmarkVerifyOAuthWarm verifies the OAuth JWT again (cache hit).
func BenchmarkVerifyOAuthWarm(b *testing.B) { benchVerifyMachine(b, menv.OAuthJWT, 0) }

func guard(b *testing.B, kind clerkauth.TokenKind) http.Handler {
	h, done, err := Guard(newMachineVerifier(b, 0), okHandler, kind)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(done)
	return h
}

// BenchmarkMiddlewareAPIKeyWarm is the warm middleware on a route
// accepting API keys, the key confirmed by the instance once (the default
// 5 s cache TTL outlasts the run): the request is answered from memory.
func BenchmarkMiddlewareAPIKeyWarm(b *testing.B) {
	serveLoop(b, guard(b, clerkauth.TokenKindAPIKey), menv.APIKey)
}

// BenchmarkMiddlewareOpaqueM2MWarm is the same with an opaque M2M token.
func BenchmarkMiddlewareOpaqueM2MWarm(b *testing.B) {
	serveLoop(b, guard(b, clerkauth.TokenKindM2M), menv.OpaqueM2M)
}

// BenchmarkClerkSDKM2MVerify is clerk-sdk-go's m2m_token Verify of the
// opaque M2M token: the one Backend API call per request Clerk's SDKs
// make, here to the loopback instance (Clerk's API is a WAN round trip
// away).
func BenchmarkClerkSDKM2MVerify(b *testing.B) {
	c := menv.ClerkSDKM2M()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifySDKM2M(ctx, c, menv.OpaqueM2M); err != nil {
			b.Fatal(err)
		}
	}
}

// TestMachineTokensVerify checks what the machine benchmarks measure: each
// token verifies as its kind, and the cached opaque paths make no call.
func TestMachineTokensVerify(t *testing.T) {
	v := newMachineVerifier(t, 0)
	ctx := context.Background()
	for _, tc := range []struct {
		token string
		kind  clerkauth.TokenKind
	}{
		{menv.M2MJWT, clerkauth.TokenKindM2M},
		{menv.OAuthJWT, clerkauth.TokenKindOAuth},
		{menv.OpaqueM2M, clerkauth.TokenKindM2M},
		{menv.APIKey, clerkauth.TokenKindAPIKey},
	} {
		mt, err := v.VerifyMachineToken(ctx, tc.token)
		if err != nil {
			t.Fatalf("%s: %v", tc.kind, err)
		}
		if mt.Kind != tc.kind {
			t.Errorf("kind %s, want %s", mt.Kind, tc.kind)
		}
	}
	if err := NewLimit(&fx.Key.PublicKey).Verify(menv.M2MJWT); err != nil {
		t.Errorf("the RSA limit refuses the M2M JWT: %v", err)
	}
	for _, kind := range []clerkauth.TokenKind{clerkauth.TokenKindAPIKey, clerkauth.TokenKindM2M} {
		h, done, err := Guard(v, okHandler, kind)
		if err != nil {
			t.Fatal(err)
		}
		token := menv.APIKey
		if kind == clerkauth.TokenKindM2M {
			token = menv.OpaqueM2M
		}
		before := menv.Clerk.Requests(clerktest.EndpointMachineVerify)
		for range 3 {
			req := httptest.NewRequest(http.MethodGet, "/private", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: status %d", kind, rec.Code)
			}
		}
		if n := menv.Clerk.Requests(clerktest.EndpointMachineVerify) - before; n != 0 {
			t.Errorf("%s: %d verify calls for a cached token, want 0", kind, n)
		}
		done()
	}
	before := menv.Clerk.Requests(clerktest.EndpointMachineVerify)
	if err := VerifySDKM2M(ctx, menv.ClerkSDKM2M(), menv.OpaqueM2M); err != nil {
		t.Fatalf("clerk-sdk-go refuses the opaque M2M token: %v", err)
	}
	if n := menv.Clerk.Requests(clerktest.EndpointMachineVerify) - before; n != 1 {
		t.Errorf("clerk-sdk-go made %d verify calls, want 1", n)
	}
}
