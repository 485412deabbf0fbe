package bench

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth"
)

// tamper flips one character of the payload, keeping the token well formed.
func tamper(tok string) string {
	i := strings.IndexByte(tok, '.') + 5
	b := []byte(tok)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestEveryVerifierJudgesTheTokenAlike checks that the benchmarks compare
// like with like: each verifier accepts the reference token and rejects a
// tampered copy.
func TestEveryVerifierJudgesTheTokenAlike(t *testing.T) {
	ctx := context.Background()
	sdk, err := NewClerkSDK(keySrv, fx.JWKS)
	if err != nil {
		t.Fatal(err)
	}
	auth0, err := NewAuth0Validator(&fx.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	gj := NewGolangJWT(&fx.Key.PublicKey)
	v := newVerifier(t, -1)
	verifiers := []struct {
		name   string
		verify func(string) error
	}{
		{"limit", NewLimit(&fx.Key.PublicKey).Verify},
		{"clerkauth", func(s string) error { _, err := v.Verify(ctx, s); return err }},
		{"clerk-sdk-go", func(s string) error { _, err := sdk.Verify(ctx, s); return err }},
		{"go-jwt-middleware", func(s string) error { _, err := auth0.ValidateToken(ctx, s); return err }},
		{"golang-jwt", func(s string) error { _, err := gj.Verify(s); return err }},
	}
	for _, tc := range verifiers {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.verify(fx.Token); err != nil {
				t.Fatalf("reference token rejected: %v", err)
			}
			if err := tc.verify(tamper(fx.Token)); err == nil {
				t.Fatal("tampered token accepted")
			}
		})
	}
}

func TestClerkauthReadsTheClerkClaims(t *testing.T) {
	c, err := newVerifier(t, -1).Verify(context.Background(), fx.Token)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != 2 || c.Org == nil || c.Org.ID != "org_2NNEqL2nrIRdJ194ndJqAHwEfxD" ||
		c.Org.Role != "org:admin" || c.SessionStatus != "active" || len(c.FactorVerificationAge) != 2 {
		t.Fatalf("claims not decoded as expected: %+v (org %+v)", c, c.Org)
	}
}

func TestPeerMiddlewaresAcceptTheToken(t *testing.T) {
	sdk, err := NewClerkSDK(keySrv, fx.JWKS)
	if err != nil {
		t.Fatal(err)
	}
	auth0, err := NewAuth0Validator(&fx.Key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	seen := func(ok *bool) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			*ok = true
			w.WriteHeader(http.StatusOK)
		})
	}
	var sdkOK, auth0OK bool
	handlers := []struct {
		name    string
		handler http.Handler
		reached *bool
	}{
		{"clerk-sdk-go", sdk.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sdkOK = ClerkSDKClaimsFrom(r)
			w.WriteHeader(http.StatusOK)
		})), &sdkOK},
		{"go-jwt-middleware", Auth0Middleware(auth0, seen(&auth0OK)), &auth0OK},
	}
	for _, tc := range handlers {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/private", nil)
			req.Header.Set("Authorization", "Bearer "+fx.Token)
			rec := httptest.NewRecorder()
			tc.handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || !*tc.reached {
				t.Fatalf("status %d, verified claims reached handler: %v", rec.Code, *tc.reached)
			}
		})
	}
}

func TestLoopbackClientRefusesOtherHosts(t *testing.T) {
	for _, url := range []string{"https://api.clerk.com/v1/jwks", "http://10.0.0.1/jwks"} {
		t.Run(url, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			resp, err := LoopbackClient().Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatal("request to a non-loopback host was sent")
			}
		})
	}
}

// TestStormFetchesAtMostOncePerCooldown floods a verifier with forged
// tokens under random kids while valid traffic flows, on a stopped clock
// (so the storm falls in one cooldown window): the key server must see at
// most one fetch, every forged token must fail and every valid one pass.
func TestStormFetchesAtMostOncePerCooldown(t *testing.T) {
	issued := fx.Issued
	res, err := RunStorm(context.Background(), fx, StormOptions{
		Valid: coldSet[:32], ValidRequests: 200, ValidWorkers: 2,
		Forged: 2000, StormWorkers: 2, MaxDuration: 20 * time.Second,
		CacheSize: -1, Now: func() time.Time { return issued },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("storm: %d forged sent, %d fetches (allowed %d); quiet %v; storm %v",
		res.ForgedSent, res.StormFetches, res.AllowedFetches, res.Quiet, res.Storm)
	switch {
	case res.ForgedAccepted != 0:
		t.Errorf("%d forged tokens accepted", res.ForgedAccepted)
	case res.ValidErrors != 0:
		t.Errorf("%d valid requests rejected", res.ValidErrors)
	case res.StormFetches > res.AllowedFetches:
		t.Errorf("%d JWKS fetches during the storm, at most %d allowed", res.StormFetches, res.AllowedFetches)
	case res.ForgedSent == 0:
		t.Error("no forged request was sent")
	}
}

// TestCacheMemoryIsMeasurable fills a cache with distinct tokens and checks
// that the measurement sees each of them cached and some heap growth.
func TestCacheMemoryIsMeasurable(t *testing.T) {
	v := newVerifier(t, 4*len(coldSet))
	m, err := MeasureCacheMemory(context.Background(), v, coldSet)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d entries, %.0f bytes/entry", m.Entries, m.BytesPerEntry)
	if m.Entries != len(coldSet) || m.BytesPerEntry <= 0 {
		t.Fatalf("entries %d (want %d), bytes/entry %.0f", m.Entries, len(coldSet), m.BytesPerEntry)
	}
}

func TestStormRejectsWithTheKidError(t *testing.T) {
	v := newVerifier(t, -1)
	forged, err := fx.Forge("ins_unknown")
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Verify(context.Background(), forged)
	var ve *clerkauth.VerificationError
	if !errors.As(err, &ve) || ve.Reason != clerkauth.ReasonJWKKidMismatch {
		t.Fatalf("forged token: %v, want reason %s", err, clerkauth.ReasonJWKKidMismatch)
	}
}

// TestClerkauthMiddlewareProtects checks the middleware the benchmarks
// measure: the token reaches the handler as a session, no token gets 401.
func TestClerkauthMiddlewareProtects(t *testing.T) {
	var sub string
	h, done, err := Protect(newVerifier(t, 0), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, ok := clerkauth.SessionFromContext(r.Context()); ok {
			sub = c.UserID
		}
		w.WriteHeader(http.StatusOK)
	}))
	if err != nil {
		t.Fatal(err)
	}
	defer done()
	tests := []struct {
		name   string
		header string
		want   int
	}{
		{"valid token", "Bearer " + fx.Token, http.StatusOK},
		{"no token", "", http.StatusUnauthorized},
		{"tampered token", "Bearer " + tamper(fx.Token), http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/private", nil)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d", rec.Code, tc.want)
			}
		})
	}
	if sub != "user_2NNEqL2nrIRdJ194ndJqAHwEfxF" {
		t.Fatalf("handler saw session of %q", sub)
	}
}
