package clerkauth

import (
	"context"
	"crypto/rsa"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jwksFixture is a Verifier on a JWKS server with an injected clock.
type jwksFixture struct {
	srv   *jwksServer
	v     *Verifier
	clock *testClock
}

func newJWKSFixture(t *testing.T, mutate func(*Config), keys ...map[string]any) *jwksFixture {
	t.Helper()
	f := &jwksFixture{srv: newJWKSServer(t, keys...), clock: newClock()}
	cfg := Config{SecretKey: testSecret, APIURL: f.srv.URL, PublishableKey: testPK, Now: f.clock.Now}
	if mutate != nil {
		mutate(&cfg)
	}
	f.v = newTestVerifier(t, cfg)
	f.v.remote.sleep = noSleep
	return f
}

func (f *jwksFixture) middleware(t *testing.T) http.Handler {
	t.Helper()
	m, err := NewMiddleware(f.v, MiddlewareOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	return m.Handler(whoami)
}

func (f *jwksFixture) token(t *testing.T, kid string, key any) string {
	t.Helper()
	a, _, _ := testKeys(t)
	k := a
	if key != nil {
		k = key.(*rsa.PrivateKey)
	}
	return mint(t, k, stdHeader(kid), stdClaims(f.clock.Now()))
}

func TestJWKSConcurrentColdStartFetchesOnce(t *testing.T) {
	a, _, _ := testKeys(t)
	f := newJWKSFixture(t, nil, jwkOf("ins_a", "RS256", &a.PublicKey))
	f.srv.set(func(s *jwksServer) { s.delay = 50 * time.Millisecond })
	tok := f.token(t, "ins_a", nil)
	var wg sync.WaitGroup
	errs := make(chan error, 500)
	for range 500 {
		wg.Go(func() {
			_, err := f.v.Verify(context.Background(), tok)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, f.srv.requests.Load(), "500 concurrent callers share one fetch")
	assert.Equal(t, "Bearer "+testSecret, f.srv.auth.Load())
}

// TestJWKSResolveAfterTheFetchItMissed: a caller that looked the kid up
// before the cold-start fetch ended, and asks for a fetch after it ended,
// gets the fetched key and starts no second fetch. (Under load this race
// made TestJWKSConcurrentColdStartFetchesOnce see two fetches.)
func TestJWKSResolveAfterTheFetchItMissed(t *testing.T) {
	a, _, _ := testKeys(t)
	f := newJWKSFixture(t, nil, jwkOf("ins_a", "RS256", &a.PublicKey))
	require.NoError(t, f.v.Warm(context.Background()))
	require.EqualValues(t, 1, f.srv.requests.Load())
	k, err := f.v.remote.resolve(context.Background(), "ins_a", f.clock.Now())
	require.NoError(t, err)
	require.NotNil(t, k)
	assert.Equal(t, "ins_a", k.kid)
	assert.EqualValues(t, 1, f.srv.requests.Load(), "the key was there: no second fetch")
}

func TestJWKSUnknownKidStormFetchesOncePerCooldown(t *testing.T) {
	a, _, _ := testKeys(t)
	f := newJWKSFixture(t, nil, jwkOf("ins_a", "RS256", &a.PublicKey))
	require.NoError(t, f.v.Warm(context.Background()))
	var wg sync.WaitGroup
	for i := range 500 {
		wg.Go(func() {
			// Issued now, after the key set was fetched: the kid may be
			// new, so each is refused (401) or undecided (503), never
			// accepted, and they share at most one fetch.
			_, err := f.v.Verify(context.Background(), f.token(t, fmt.Sprintf("ins_forged_%d", i), nil))
			switch ReasonOf(err) {
			case ReasonJWKKidMismatch:
				assert.ErrorIs(t, err, ErrInvalidToken)
			case ReasonJWKRefreshCoolingDown:
				assert.ErrorIs(t, err, ErrKeysUnavailable)
			default:
				t.Errorf("unexpected answer to a forged kid: %v", err)
			}
		})
	}
	wg.Wait()
	assert.EqualValues(t, 2, f.srv.requests.Load(), "warm-up plus at most one storm fetch")

	f.clock.Advance(DefaultJWKSRefreshCooldown + time.Second)
	_, err := f.v.Verify(context.Background(), f.token(t, "ins_forged_new", nil))
	assert.Equal(t, ReasonJWKKidMismatch, ReasonOf(err))
	assert.EqualValues(t, 3, f.srv.requests.Load(), "after the cooldown one more fetch is allowed")

	f.clock.Advance(DefaultJWKSRefreshCooldown + time.Second)
	old := mint(t, a, stdHeader("ins_forged_old"), with(stdClaims(f.clock.Now()), "iat", f.clock.Now().Add(-time.Minute).Unix()))
	_, err = f.v.Verify(context.Background(), old)
	assert.Equal(t, ReasonJWKKidMismatch, ReasonOf(err))
	assert.EqualValues(t, 3, f.srv.requests.Load(), "a token issued before the last fetch is judged by it, with no fetch")
}

// TestJWKSForgedKidDoesNotBlockRotation is item 8 of #11: a forged kid
// used to spend the cooldown, so a genuinely new kid arriving just after
// was refused (401) for up to 30 s. It is now undecided (503 with the rest
// of the cooldown as Retry-After), then verified by the next fetch.
func TestJWKSForgedKidDoesNotBlockRotation(t *testing.T) {
	a, b, _ := testKeys(t)
	f := newJWKSFixture(t, nil, jwkOf("ins_a", "RS256", &a.PublicKey))
	require.NoError(t, f.v.Warm(context.Background()))
	_, err := f.v.Verify(context.Background(), f.token(t, "ins_forged", nil))
	require.Equal(t, ReasonJWKKidMismatch, ReasonOf(err))
	require.EqualValues(t, 2, f.srv.requests.Load())

	f.clock.Advance(time.Second)
	f.srv.set(func(s *jwksServer) { s.keys = append(s.keys, jwkOf("ins_b", "RS256", &b.PublicKey)) })
	f.clock.Advance(time.Second)
	rotated := f.token(t, "ins_b", b)
	_, err = f.v.Verify(context.Background(), rotated)
	require.ErrorIs(t, err, ErrKeysUnavailable, "a new kid during the cooldown is undecided, not refused")
	require.NotErrorIs(t, err, ErrInvalidToken)
	assert.Equal(t, ReasonJWKRefreshCoolingDown, ReasonOf(err))
	var ve *VerificationError
	require.ErrorAs(t, err, &ve)
	assert.Equal(t, DefaultJWKSRefreshCooldown-2*time.Second, ve.retryAfter)
	rec := serve(f.middleware(t), bearerRequest(rotated))
	assert.Equal(t, 503, rec.Code)
	assert.Equal(t, "28", rec.Header().Get("Retry-After"))

	f.clock.Advance(DefaultJWKSRefreshCooldown)
	_, err = f.v.Verify(context.Background(), rotated)
	require.NoError(t, err, "the next fetch finds the rotated key")
	assert.EqualValues(t, 3, f.srv.requests.Load())
}

func TestJWKSKnownKidBadSignatureNeverFetches(t *testing.T) {
	a, b, _ := testKeys(t)
	f := newJWKSFixture(t, nil, jwkOf("ins_a", "RS256", &a.PublicKey))
	require.NoError(t, f.v.Warm(context.Background()))
	for range 10 {
		_, err := f.v.Verify(context.Background(), mint(t, b, stdHeader("ins_a"), stdClaims(f.clock.Now())))
		assert.Equal(t, ReasonTokenInvalidSignature, ReasonOf(err))
	}
	assert.EqualValues(t, 1, f.srv.requests.Load())
}

func TestJWKSTokensThatFailAnywayNeverFetch(t *testing.T) {
	a, _, _ := testKeys(t)
	f := newJWKSFixture(t, func(c *Config) { c.AuthorizedParties = []string{"https://app.example.test"} },
		jwkOf("ins_a", "RS256", &a.PublicKey))
	now := f.clock.Now()
	bad := map[string]map[string]any{
		"expired":        with(stdClaims(now), "exp", now.Unix()-3600),
		"foreign issuer": with(stdClaims(now), "iss", "https://other.clerk.accounts.dev"),
		"template token": with(stdClaims(now), "sid", nil),
		"wrong azp":      with(stdClaims(now), "azp", "https://evil.test"),
	}
	for name, claims := range bad {
		t.Run(name, func(t *testing.T) {
			_, err := f.v.Verify(context.Background(), mint(t, a, stdHeader("ins_a"), claims))
			require.ErrorIs(t, err, ErrInvalidToken)
		})
	}
	assert.EqualValues(t, 0, f.srv.requests.Load())
}

func TestJWKSKeyRotation(t *testing.T) {
	a, b, _ := testKeys(t)
	f := newJWKSFixture(t, nil, jwkOf("ins_a", "RS256", &a.PublicKey))
	_, err := f.v.Verify(context.Background(), f.token(t, "ins_a", nil))
	require.NoError(t, err)
	f.srv.set(func(s *jwksServer) {
		s.keys = []map[string]any{jwkOf("ins_b", "RS256", &b.PublicKey)}
	})
	_, err = f.v.Verify(context.Background(), mint(t, b, stdHeader("ins_b"), stdClaims(f.clock.Now())))
	require.NoError(t, err, "a new kid is fetched")
	issuedBefore := f.clock.Now().Add(-10 * time.Second).Unix() // before the fetch that dropped the key
	_, err = f.v.Verify(context.Background(), mint(t, a, with(stdHeader("ins_a"), "jti", "x"), with(stdClaims(f.clock.Now()), "jti", "2", "iat", issuedBefore)))
	assert.Equal(t, ReasonJWKKidMismatch, ReasonOf(err), "a key removed from the set stops verifying")
}

func TestJWKSOutageServesStaleKeysUpToMaxStaleness(t *testing.T) {
	a, _, _ := testKeys(t)
	f := newJWKSFixture(t, func(c *Config) { c.JWKSMaxStaleness = time.Hour }, jwkOf("ins_a", "RS256", &a.PublicKey))
	require.NoError(t, f.v.Warm(context.Background()))
	f.srv.set(func(s *jwksServer) { s.status = http.StatusServiceUnavailable })

	f.clock.Advance(DefaultJWKSCacheTTL + time.Minute)
	_, err := f.v.Verify(context.Background(), f.token(t, "ins_a", nil))
	require.NoError(t, err, "stale keys keep serving")
	require.Eventually(t, func() bool { return f.v.Status().LastError != "" }, 5*time.Second, 5*time.Millisecond,
		"the background refresh reports its failure")
	st := f.v.Status()
	assert.True(t, st.Ready)
	assert.Equal(t, 1, st.Keys)
	assert.Contains(t, st.LastError, "503")
	assert.Equal(t, time.Minute, st.Staleness)

	f.clock.Advance(2 * time.Hour)
	_, err = f.v.Verify(context.Background(), f.token(t, "ins_a", nil))
	require.ErrorIs(t, err, ErrKeysUnavailable, "past the maximum staleness keys stop serving")
	assert.False(t, f.v.Status().Ready)

	f.srv.set(func(s *jwksServer) { s.status = 200 })
	f.clock.Advance(time.Hour)
	_, err = f.v.Verify(context.Background(), f.token(t, "ins_a", nil))
	require.NoError(t, err, "recovers when the key server is back")
}

func TestJWKSUnusableResponsesNeverReplaceGoodKeys(t *testing.T) {
	a, _, small := testKeys(t)
	tests := []struct {
		name   string
		set    func(s *jwksServer)
		reason string
	}{
		{"empty set", func(s *jwksServer) { s.keys = []map[string]any{} }, "no usable signing key"},
		{"only a small key", func(s *jwksServer) {
			s.keys = []map[string]any{jwkOf("ins_a", "RS256", &small.PublicKey)}
		}, "no usable signing key"},
		{"only an encryption key", func(s *jwksServer) {
			k := jwkOf("ins_a", "RS256", &a.PublicKey)
			k["use"] = "enc"
			s.keys = []map[string]any{k}
		}, "no usable signing key"},
		{"not json", func(s *jwksServer) { s.body = []byte("<html>") }, "malformed JWKS"},
		{"oversize", func(s *jwksServer) { s.body = []byte(`{"keys":[],"x":"` + strings.Repeat("a", 1<<20) + `"}`) }, "exceeds 1 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newJWKSFixture(t, nil, jwkOf("ins_a", "RS256", &a.PublicKey))
			require.NoError(t, f.v.Warm(context.Background()))
			f.srv.set(tt.set)
			err := f.v.Warm(context.Background())
			require.ErrorIs(t, err, ErrKeysUnavailable)
			assert.Contains(t, err.Error(), tt.reason)
			_, err = f.v.Verify(context.Background(), f.token(t, "ins_a", nil))
			assert.NoError(t, err, "the good keys still verify")
		})
	}
}

func TestJWKSColdStartFailures(t *testing.T) {
	a, _, _ := testKeys(t)
	tests := []struct {
		name     string
		status   int
		reason   Reason
		requests int64
	}{
		{"bad secret key is not retried", http.StatusUnauthorized, ReasonSecretKeyInvalid, 1},
		{"not found is not retried", http.StatusNotFound, ReasonJWKRemoteFailedToLoad, 1},
		{"redirects are not followed", http.StatusFound, ReasonJWKRemoteFailedToLoad, 1},
		{"server errors are retried", http.StatusBadGateway, ReasonJWKRemoteFailedToLoad, 1 + DefaultMaxRetries},
		{"rate limits are retried", http.StatusTooManyRequests, ReasonJWKRemoteFailedToLoad, 1 + DefaultMaxRetries},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newJWKSFixture(t, nil, jwkOf("ins_a", "RS256", &a.PublicKey))
			f.srv.set(func(s *jwksServer) { s.status, s.header = tt.status, http.Header{"Location": {"/elsewhere"}} })
			tok := f.token(t, "ins_a", nil)
			_, err := f.v.Verify(context.Background(), tok)
			require.ErrorIs(t, err, ErrKeysUnavailable)
			assert.NotErrorIs(t, err, ErrInvalidToken)
			assert.Equal(t, tt.reason, ReasonOf(err))
			assert.Equal(t, tt.requests, f.srv.requests.Load())
			assert.NotContains(t, err.Error(), testSecret)

			_, err = f.v.Verify(context.Background(), tok)
			require.ErrorIs(t, err, ErrKeysUnavailable)
			assert.Equal(t, tt.requests, f.srv.requests.Load(), "failures back off before the next fetch")

			f.srv.set(func(s *jwksServer) { s.status = 200 })
			f.clock.Advance(DefaultJWKSRefreshCooldown)
			_, err = f.v.Verify(context.Background(), tok)
			assert.NoError(t, err, "recovers after the backoff")
		})
	}
}

func TestJWKSSlowServerHonoursRequestDeadline(t *testing.T) {
	a, _, _ := testKeys(t)
	before := runtime.NumGoroutine()
	f := newJWKSFixture(t, nil, jwkOf("ins_a", "RS256", &a.PublicKey))
	f.srv.set(func(s *jwksServer) { s.delay = 5 * time.Second })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := f.v.Verify(ctx, f.token(t, "ins_a", nil))
	require.ErrorIs(t, err, ErrKeysUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NoError(t, f.v.Close(), "Close stops the in-flight fetch")
	f.srv.CloseClientConnections()
	// A leaked goroutine stays for good: the wait is long so that a loaded
	// machine's slow teardown is not taken for one.
	if !assert.Eventually(t, func() bool { return runtime.NumGoroutine() <= before+2 }, 15*time.Second, 10*time.Millisecond,
		"no goroutine is left behind: %d before", before) {
		buf := make([]byte, 1<<20)
		t.Logf("goroutines now:\n%s", buf[:runtime.Stack(buf, true)])
	}
}

func TestJWKSCacheControlAndETag(t *testing.T) {
	a, _, _ := testKeys(t)
	f := newJWKSFixture(t, nil, jwkOf("ins_a", "RS256", &a.PublicKey))
	f.srv.set(func(s *jwksServer) {
		s.header = http.Header{"Cache-Control": {"public, max-age=7200"}, "Etag": {`"v1"`}}
	})
	require.NoError(t, f.v.Warm(context.Background()))
	st := f.v.Status()
	assert.Equal(t, f.clock.Now().Add(time.Hour), st.FreshUntil, "max-age is clamped to one hour")

	f.srv.set(func(s *jwksServer) {
		s.status = http.StatusNotModified
		s.header = http.Header{"Cache-Control": {"max-age=120"}}
	})
	f.clock.Advance(2 * time.Hour)
	require.NoError(t, f.v.Warm(context.Background()))
	assert.Equal(t, f.clock.Now().Add(2*time.Minute), f.v.Status().FreshUntil, "a 304 revalidates the held keys")
	_, err := f.v.Verify(context.Background(), f.token(t, "ins_a", nil))
	assert.NoError(t, err)
}

func TestJWKSPublicURLSendsNoSecret(t *testing.T) {
	a, _, _ := testKeys(t)
	srv := newJWKSServer(t, jwkOf("ins_a", "", &a.PublicKey))
	clock := newClock()
	v := newTestVerifier(t, Config{JWKSURL: srv.URL + "/.well-known/jwks.json", SecretKey: testSecret, PublishableKey: testPK, Now: clock.Now})
	_, err := v.Verify(context.Background(), mint(t, a, stdHeader("ins_a"), stdClaims(clock.Now())))
	require.NoError(t, err, "a key without alg accepts any allowed alg")
	assert.Equal(t, "", srv.auth.Load())
}

func TestPEMFallsBackToJWKSAfterRotation(t *testing.T) {
	a, b, _ := testKeys(t)
	f := newJWKSFixture(t, func(c *Config) { c.JWTKey = pemOf(t, &a.PublicKey) }, jwkOf("ins_b", "RS256", &b.PublicKey))
	_, err := f.v.Verify(context.Background(), f.token(t, "ins_a", nil))
	require.NoError(t, err)
	assert.EqualValues(t, 0, f.srv.requests.Load(), "the PEM key verifies without a request")
	_, err = f.v.Verify(context.Background(), mint(t, b, stdHeader("ins_b"), stdClaims(f.clock.Now())))
	require.NoError(t, err, "a rotated key is found in the JWKS")
	assert.EqualValues(t, 1, f.srv.requests.Load())
}

func TestPEMOnlyMakesNoRequests(t *testing.T) {
	a, b, _ := testKeys(t)
	clock := newClock()
	v := newTestVerifier(t, Config{JWTKey: pemOf(t, &a.PublicKey), PublishableKey: testPK, Now: clock.Now})
	assert.NoError(t, v.Warm(context.Background()))
	_, err := v.Verify(context.Background(), mint(t, b, stdHeader("x"), stdClaims(clock.Now())))
	assert.Equal(t, ReasonTokenInvalidSignature, ReasonOf(err))
	st := v.Status()
	assert.Equal(t, "pem", st.Source)
	assert.True(t, st.Ready)
}
