package clerkauth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpaqueRequests(t *testing.T) {
	for _, prefix := range []string{"/v1", ""} {
		t.Run("base URL "+prefix, func(t *testing.T) {
			clock := newClock()
			api := newFakeVerify(t, clock, prefix)
			e := newMachineEnv(t, func(c *Config) { c.APIURL = api.URL + prefix; c.Now = clock.Now })
			e.api, e.clock = api, clock
			ctx := context.Background()

			mt, err := e.v.VerifyMachineToken(ctx, goodM2M)
			require.NoError(t, err)
			assert.Equal(t, TokenKindM2M, mt.Kind)
			assert.False(t, mt.JWT)
			assert.Equal(t, testMachine, mt.MachineID())
			assert.Equal(t, []string{testTarget}, mt.Scopes)
			assert.JSONEq(t, `{"role":"worker"}`, string(mt.Claims))
			assert.Equal(t, clock.Now().Add(time.Hour).UnixMilli(), mt.Expiration.UnixMilli(), "M2M timestamps are ms")

			ot, err := e.v.VerifyMachineToken(ctx, goodOAuth)
			require.NoError(t, err)
			assert.Equal(t, "user_1", ot.UserID())
			assert.Equal(t, "client_1", ot.ClientID)
			assert.Equal(t, clock.Now().Add(time.Hour).Unix(), ot.Expiration.Unix(), "OAuth timestamps are seconds")

			ak, err := e.v.VerifyMachineToken(ctx, goodAPIKey)
			require.NoError(t, err)
			assert.Equal(t, "ci key", ak.Name)
			assert.Equal(t, "user_1", ak.UserID())
			assert.Nil(t, ak.Claims, "null claims")
			assert.True(t, ak.Expiration.IsZero(), "null expiration: never expires")

			org, err := e.v.VerifyMachineToken(ctx, orgAPIKey)
			require.NoError(t, err)
			assert.Equal(t, "org_1", org.OrgID())
			assert.Equal(t, "", org.UserID())

			reqs := api.recorded()
			require.Len(t, reqs, 4)
			want := []struct{ path, field, token string }{
				{"/m2m_tokens/verify", "token", goodM2M},
				{"/oauth_applications/access_tokens/verify", "access_token", goodOAuth},
				{"/api_keys/verify", "secret", goodAPIKey},
				{"/api_keys/verify", "secret", orgAPIKey},
			}
			for i, w := range want {
				assert.Equal(t, prefix+w.path, reqs[i].path)
				assert.Equal(t, map[string]string{w.field: w.token}, reqs[i].body)
				assert.Equal(t, "Bearer "+testSecret, reqs[i].auth)
				assert.Equal(t, DefaultAPIVersion, reqs[i].version)
				assert.Equal(t, "application/json", reqs[i].contentType)
			}
		})
	}
}

func TestOpaqueM2MUsesMachineSecretKey(t *testing.T) {
	e := newMachineEnv(t, func(c *Config) { c.MachineSecretKey = testMachineSecret })
	ctx := context.Background()
	_, err := e.v.VerifyMachineToken(ctx, goodM2M)
	require.NoError(t, err)
	_, err = e.v.VerifyMachineToken(ctx, goodAPIKey)
	require.NoError(t, err)
	reqs := e.api.recorded()
	require.Len(t, reqs, 2)
	assert.Equal(t, "Bearer "+testMachineSecret, reqs[0].auth, "M2M tokens with the machine key")
	assert.Equal(t, "Bearer "+testSecret, reqs[1].auth, "API keys with the instance key")
}

// TestOpaqueAnswers judges each answer of the verify endpoint: a verdict
// on the token is 401, an answer that is not one is 503.
func TestOpaqueAnswers(t *testing.T) {
	now := newClock().Now()
	past := now.Add(-time.Minute)
	cases := []struct {
		name   string
		status int
		body   string
		header http.Header
		reason Reason
		class  error
	}{
		{"revoked", 200, m2mAnswer(now, map[string]any{"revoked": true, "revocation_reason": "leaked"}), nil, ReasonTokenRevoked, ErrInvalidToken},
		{"expired flag", 200, m2mAnswer(now, map[string]any{"expired": true}), nil, ReasonTokenExpired, ErrTokenExpired},
		{"expiration in the past", 200, m2mAnswer(now, map[string]any{"expiration": past.UnixMilli()}), nil, ReasonTokenExpired, ErrTokenExpired},
		{"wrong object", 200, m2mAnswer(now, map[string]any{"object": "api_key"}), nil, ReasonUnexpectedError, ErrKeysUnavailable},
		{"no object", 200, m2mAnswer(now, map[string]any{"object": "<delete>"}), nil, ReasonUnexpectedError, ErrKeysUnavailable},
		{"no id", 200, m2mAnswer(now, map[string]any{"id": ""}), nil, ReasonUnexpectedError, ErrKeysUnavailable},
		{"subject of another kind", 200, m2mAnswer(now, map[string]any{"subject": "user_1"}), nil, ReasonTokenInvalid, ErrInvalidToken},
		{"active false", 200, `{"active":false}`, nil, ReasonTokenInvalid, ErrInvalidToken},
		{"truncated JSON", 200, m2mAnswer(now, nil)[:40], nil, ReasonUnexpectedError, ErrKeysUnavailable},
		{"not JSON", 200, "<html>hello</html>", nil, ReasonUnexpectedError, ErrKeysUnavailable},
		{"oversized JSON", 200, `{"object":"machine_to_machine_token","pad":"` + strings.Repeat("x", maxVerifyBody) + `"}`, nil, ReasonUnexpectedError, ErrKeysUnavailable},
		{"scopes not strings", 200, m2mAnswer(now, map[string]any{"scopes": []int{1}}), nil, ReasonUnexpectedError, ErrKeysUnavailable},
		{"negative expiration", 200, m2mAnswer(now, map[string]any{"expiration": -5}), nil, ReasonUnexpectedError, ErrKeysUnavailable},
		{"404", 404, "", nil, ReasonTokenInvalid, ErrInvalidToken},
		{"400", 400, "", nil, ReasonTokenInvalid, ErrInvalidToken},
		{"404 from a proxy: no Clerk error body", 404, "<html>not found</html>", nil, ReasonUnexpectedError, ErrKeysUnavailable},
		{"422 from a proxy: an empty error list", 422, `{"errors":[]}`, nil, ReasonUnexpectedError, ErrKeysUnavailable},
		{"401: our key", 401, "", nil, ReasonSecretKeyInvalid, ErrKeysUnavailable},
		{"403: our key", 403, "", nil, ReasonSecretKeyInvalid, ErrKeysUnavailable},
		{"429", 429, "", http.Header{"Retry-After": {"3"}}, ReasonUnexpectedError, ErrKeysUnavailable},
		{"500", 500, "", nil, ReasonUnexpectedError, ErrKeysUnavailable},
		{"502", 502, "", nil, ReasonUnexpectedError, ErrKeysUnavailable},
		{"302", 302, "", http.Header{"Location": {"https://evil.test/"}}, ReasonUnexpectedError, ErrKeysUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newMachineEnv(t)
			e.api.set(func(f *fakeVerify) {
				f.answer = func(string, string) (int, string, http.Header) { return tc.status, tc.body, tc.header }
			})
			var mt *MachineToken
			var err error
			require.NotPanics(t, func() { mt, err = e.v.VerifyMachineToken(context.Background(), goodM2M) })
			require.Error(t, err)
			assert.Nil(t, mt)
			assert.Equal(t, tc.reason, ReasonOf(err), err.Error())
			assert.ErrorIs(t, err, tc.class)
			assert.NotContains(t, err.Error(), goodM2M)
			assert.NotContains(t, e.logText(), goodM2M)
			assert.NotContains(t, e.logText(), testSecret)
		})
	}
}

// TestOpaqueProxyNotFoundIsNotRemembered: a 404 that is not Clerk's (a
// proxy's page, a wrong APIURL) refuses nothing: the token is accepted
// once the path to Clerk heals, where a refusal would have been
// remembered.
func TestOpaqueProxyNotFoundIsNotRemembered(t *testing.T) {
	e := newMachineEnv(t)
	ctx := context.Background()
	e.api.set(func(f *fakeVerify) {
		f.answer = func(string, string) (int, string, http.Header) { return 404, "404 page not found", nil }
	})
	_, err := e.v.VerifyMachineToken(ctx, goodAPIKey)
	require.ErrorIs(t, err, ErrKeysUnavailable)
	e.api.set(func(f *fakeVerify) { f.answer = nil })
	_, err = e.v.VerifyMachineToken(ctx, goodAPIKey)
	require.NoError(t, err)
	assert.EqualValues(t, 2, e.api.calls.Load())
}

func TestOpaqueCache(t *testing.T) {
	e := newMachineEnv(t)
	ctx := context.Background()
	for range 3 {
		_, err := e.v.VerifyMachineToken(ctx, goodAPIKey)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 1, e.api.calls.Load(), "confirmed once, then cached")
	e.clock.Advance(DefaultMachineTokenCacheTTL - time.Millisecond)
	_, err := e.v.VerifyMachineToken(ctx, goodAPIKey)
	require.NoError(t, err)
	assert.EqualValues(t, 1, e.api.calls.Load())

	// Revoked at Clerk: refused once the TTL has passed.
	e.api.set(func(f *fakeVerify) {
		f.answer = func(_, _ string) (int, string, http.Header) {
			return 200, apiKeyAnswer(e.clock.Now(), "user_1", map[string]any{"revoked": true}), nil
		}
	})
	e.clock.Advance(time.Millisecond)
	_, err = e.v.VerifyMachineToken(ctx, goodAPIKey)
	assert.Equal(t, ReasonTokenRevoked, ReasonOf(err))
	assert.EqualValues(t, 2, e.api.calls.Load())
	_, err = e.v.VerifyMachineToken(ctx, goodAPIKey)
	assert.Equal(t, ReasonTokenInvalid, ReasonOf(err), "a refusal is remembered")
	assert.EqualValues(t, 2, e.api.calls.Load())
}

func TestOpaqueCacheBoundedByExpiration(t *testing.T) {
	e := newMachineEnv(t, func(c *Config) { c.MachineTokenCacheTTL = time.Minute; c.Leeway = NoLeeway })
	expiration := e.clock.Now().Add(2 * time.Second).UnixMilli()
	e.api.set(func(f *fakeVerify) {
		f.answer = func(_, _ string) (int, string, http.Header) {
			return 200, m2mAnswer(e.clock.Now(), map[string]any{"expiration": expiration}), nil
		}
	})
	_, err := e.v.VerifyMachineToken(context.Background(), goodM2M)
	require.NoError(t, err)
	e.clock.Advance(2 * time.Second)
	_, err = e.v.VerifyMachineToken(context.Background(), goodM2M)
	require.Error(t, err, "not trusted past its expiration")
	assert.EqualValues(t, 2, e.api.calls.Load())
}

func TestOpaqueCacheDisabled(t *testing.T) {
	e := newMachineEnv(t, func(c *Config) { c.MachineTokenCacheTTL = -1 })
	for range 3 {
		_, err := e.v.VerifyMachineToken(context.Background(), goodAPIKey)
		require.NoError(t, err)
	}
	assert.EqualValues(t, 3, e.api.calls.Load())
}

func TestOpaqueNegativeCache(t *testing.T) {
	e := newMachineEnv(t)
	for range 5 {
		_, err := e.v.VerifyMachineToken(context.Background(), "ak_guess")
		assert.Equal(t, ReasonTokenInvalid, ReasonOf(err))
	}
	assert.EqualValues(t, 1, e.api.calls.Load(), "a refused token is not asked about again")
	e.clock.Advance(negativeTTL)
	_, _ = e.v.VerifyMachineToken(context.Background(), "ak_guess")
	assert.EqualValues(t, 2, e.api.calls.Load(), "until negativeTTL has passed")
}

// TestOpaqueConcurrentRequestsShareOneCall: 64 concurrent requests with
// the same new token make exactly one call per TTL.
func TestOpaqueConcurrentRequestsShareOneCall(t *testing.T) {
	e := newMachineEnv(t)
	m := e.middleware(MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindAPIKey}})
	h := m.Handler(whoisMachine)
	gate := make(chan struct{})
	e.api.set(func(f *fakeVerify) { f.gate = gate })
	const n = 64
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() { codes[i] = serve(h, bearerRequest(goodAPIKey)).Code })
	}
	waitFor(t, "all requests to wait for the one call", func() bool {
		return e.v.opaque.flight.waiting(string(TokenKindAPIKey)+string(keyOf(e.v, goodAPIKey))) == n
	})
	close(gate)
	wg.Wait()
	for _, c := range codes {
		assert.Equal(t, 200, c)
	}
	assert.EqualValues(t, 1, e.api.calls.Load())
	e.clock.Advance(DefaultMachineTokenCacheTTL)
	require.Equal(t, 200, serve(h, bearerRequest(goodAPIKey)).Code)
	assert.EqualValues(t, 2, e.api.calls.Load(), "one more after the TTL")
}

func keyOf(v *Verifier, token string) []byte {
	k := v.opaque.hasher.sum(token)
	return k[:]
}

// TestOpaqueFloodIsBounded: 10,000 distinct random API keys cost at most
// MachineVerifyBurst calls at a frozen clock less the reserve kept for
// tokens Clerk confirmed before, then MachineVerifyRate per second; the
// rest are answered 503 with Retry-After, never 401, and never reach
// Clerk. A token Clerk confirmed before keeps being verified during the
// flood, even once its cache entry expired.
func TestOpaqueFloodIsBounded(t *testing.T) {
	e := newMachineEnv(t) // sk_test_: rate 5/s, burst 20
	m := e.middleware(MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindAPIKey, TokenKindM2M}})
	h := m.Handler(whoisMachine)
	var unavailable, refused int
	buf := make([]byte, 16)
	for i := range 10000 {
		_, _ = rand.Read(buf)
		prefix := "ak_"
		if i%2 == 0 {
			prefix = "mt_"
		}
		rec := serve(h, bearerRequest(prefix+hex.EncodeToString(buf)))
		switch rec.Code {
		case 503:
			unavailable++
			assert.NotEmpty(t, rec.Header().Get("Retry-After"))
		case 401:
			refused++
		default:
			t.Fatalf("unexpected %d", rec.Code)
		}
	}
	assert.EqualValues(t, 15, e.api.calls.Load(), "burst less the reserve (20/4), at a frozen clock")
	assert.Equal(t, 15, refused)
	e.clock.Advance(10 * time.Second)
	for range 1000 {
		_, _ = rand.Read(buf)
		serve(h, bearerRequest("ak_"+hex.EncodeToString(buf)))
	}
	assert.EqualValues(t, 15+15, e.api.calls.Load(), "then the rate (5/s × 10 s, capped by the burst), less the reserve")
	// A cached token keeps working during the flood.
	e2 := newMachineEnv(t)
	m2 := e2.middleware(MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindAPIKey}})
	h2 := m2.Handler(whoisMachine)
	require.Equal(t, 200, serve(h2, bearerRequest(goodAPIKey)).Code)
	for range 200 {
		_, _ = rand.Read(buf)
		serve(h2, bearerRequest("ak_"+hex.EncodeToString(buf)))
	}
	assert.Equal(t, 200, serve(h2, bearerRequest(goodAPIKey)).Code, "a confirmed token is unaffected by the spent budget")
	// Its cache entry expires while the flood goes on: renewing it takes
	// the reserve, which the flood cannot touch.
	e2.clock.Advance(DefaultMachineTokenCacheTTL + time.Second)
	for range 200 {
		_, _ = rand.Read(buf)
		serve(h2, bearerRequest("ak_"+hex.EncodeToString(buf)))
	}
	before := e2.api.calls.Load()
	assert.Equal(t, 200, serve(h2, bearerRequest(goodAPIKey)).Code, "a known token is renewed from the reserve during the flood")
	assert.EqualValues(t, before+1, e2.api.calls.Load())
}

// TestOpaqueReserveOnlyForConfirmedTokens: a token Clerk refused loses its
// priority, and a flood never spends the reserve, so the calls of unknown
// tokens stay within burst − reserve + rate·t.
func TestOpaqueReserveOnlyForConfirmedTokens(t *testing.T) {
	e := newMachineEnv(t)
	m := e.middleware(MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindAPIKey}})
	h := m.Handler(whoisMachine)
	require.Equal(t, 200, serve(h, bearerRequest(goodAPIKey)).Code)
	assert.True(t, m.v.opaque.isKnown(m.v.opaque.hasher.sum(goodAPIKey)))
	assert.False(t, m.v.opaque.isKnown(m.v.opaque.hasher.sum(orgAPIKey)), "never confirmed")
	// Clerk now refuses it (revoked): it loses its priority.
	e.api.set(func(f *fakeVerify) {
		f.answer = func(string, string) (int, string, http.Header) {
			return 404, `{"errors":[{"code":"resource_not_found","message":"not found"}]}`, nil
		}
	})
	e.clock.Advance(DefaultMachineTokenCacheTTL + time.Second)
	assert.Equal(t, 401, serve(h, bearerRequest(goodAPIKey)).Code)
	assert.False(t, m.v.opaque.isKnown(m.v.opaque.hasher.sum(goodAPIKey)), "refused: no priority any more")
}

func TestOpaqueFaultsAndRecovery(t *testing.T) {
	t.Run("429 pauses every call for Retry-After, then recovers", func(t *testing.T) {
		e := newMachineEnv(t)
		m := e.middleware(MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindAPIKey}})
		h := m.Handler(whoisMachine)
		e.api.set(func(f *fakeVerify) {
			f.answer = func(string, string) (int, string, http.Header) {
				return 429, "", http.Header{"Retry-After": {"3"}}
			}
		})
		rec := serve(h, bearerRequest(goodAPIKey))
		assert.Equal(t, 503, rec.Code)
		assert.Equal(t, "3", rec.Header().Get("Retry-After"))
		rec = serve(h, bearerRequest(orgAPIKey))
		assert.Equal(t, 503, rec.Code)
		assert.EqualValues(t, 1, e.api.calls.Load(), "no call during Retry-After")
		assert.Contains(t, e.logText(), "rate limited")
		e.api.set(func(f *fakeVerify) { f.answer = nil })
		e.clock.Advance(3 * time.Second)
		assert.Equal(t, 200, serve(h, bearerRequest(goodAPIKey)).Code)
	})
	t.Run("401 is 503 with one loud log per transition", func(t *testing.T) {
		e := newMachineEnv(t)
		m := e.middleware(MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindAPIKey}})
		h := m.Handler(whoisMachine)
		e.api.set(func(f *fakeVerify) {
			f.answer = func(string, string) (int, string, http.Header) { return 401, "", nil }
		})
		for range 3 {
			rec := serve(h, bearerRequest(goodAPIKey))
			assert.Equal(t, 503, rec.Code)
			assert.Equal(t, string(ReasonSecretKeyInvalid), reasonOf(t, rec))
		}
		assert.Equal(t, 1, strings.Count(e.logText(), "refuses the instance secret key"))
		assert.NotContains(t, e.logText(), testSecret)
		e.api.set(func(f *fakeVerify) { f.answer = nil })
		e.clock.Advance(verifyBreakerCoolOff)
		assert.Equal(t, 200, serve(h, bearerRequest(goodAPIKey)).Code)
		assert.Equal(t, 1, strings.Count(e.logText(), "accepts the instance secret key (SecretKey) again"))
	})
	t.Run("5xx opens the breaker, which recovers", func(t *testing.T) {
		e := newMachineEnv(t)
		m := e.middleware(MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindAPIKey}})
		h := m.Handler(whoisMachine)
		e.api.set(func(f *fakeVerify) {
			f.answer = func(string, string) (int, string, http.Header) { return 500, "", nil }
		})
		for i := range 10 {
			assert.Equal(t, 503, serve(h, bearerRequest(fmt.Sprintf("ak_distinct%d", i))).Code)
		}
		assert.EqualValues(t, verifyBreakerThreshold, e.api.calls.Load(), "the breaker stops calls after the threshold")
		e.api.set(func(f *fakeVerify) { f.answer = nil })
		e.clock.Advance(verifyBreakerCoolOff)
		assert.Equal(t, 200, serve(h, bearerRequest(goodAPIKey)).Code, "the probe closes it")
		assert.Equal(t, 200, serve(h, bearerRequest(orgAPIKey)).Code)
	})
	t.Run("slow endpoint: the request's deadline answers 503", func(t *testing.T) {
		e := newMachineEnv(t)
		gate := make(chan struct{})
		e.api.set(func(f *fakeVerify) { f.gate = gate })
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := e.v.VerifyMachineToken(ctx, goodAPIKey)
		assert.ErrorIs(t, err, ErrKeysUnavailable)
		close(gate)
		waitFor(t, "the call to finish", func() bool { _, ok := e.v.opaque.local.Get(e.v.opaque.hasher.sum(goodAPIKey)); return ok })
		_, err = e.v.VerifyMachineToken(context.Background(), goodAPIKey)
		require.NoError(t, err, "the shared call finished and was remembered")
	})
	t.Run("endpoint down", func(t *testing.T) {
		e := newMachineEnv(t)
		e.api.Close()
		_, err := e.v.VerifyMachineToken(context.Background(), goodAPIKey)
		assert.ErrorIs(t, err, ErrKeysUnavailable)
		assert.NotContains(t, err.Error(), goodAPIKey)
	})
}

// mapCache is a MachineTokenCache in a map, recording the keys it sees.
type mapCache struct {
	mu   sync.Mutex
	m    map[string][]byte
	keys []string
}

func (c *mapCache) Get(_ context.Context, key string) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = append(c.keys, key)
	return c.m[key], nil
}

func (c *mapCache) Set(_ context.Context, key string, v []byte, ttl time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ttl <= 0 {
		return fmt.Errorf("bad ttl %v", ttl)
	}
	c.keys = append(c.keys, key)
	c.m[key] = v
	return nil
}

func (c *mapCache) Delete(_ context.Context, key string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, key)
	return nil
}

func TestSharedMachineTokenCache(t *testing.T) {
	shared := &mapCache{m: map[string][]byte{}}
	e := newMachineEnv(t, func(c *Config) { c.MachineTokenCache = shared })
	_, err := e.v.VerifyMachineToken(context.Background(), goodM2M)
	require.NoError(t, err)
	require.Len(t, shared.m, 2, "the token's entry and the index entry of its ID (ForgetMachineTokenID)")

	// A second replica, same secret, same Backend API: no call.
	replica := newTestVerifier(t, Config{
		SecretKey: testSecret, JWKSURL: e.jwks.URL, APIURL: e.api.URL + "/v1", PublishableKey: testPK,
		Now: e.clock.Now, MachineTokenCache: shared,
	})
	mt, err := replica.VerifyMachineToken(context.Background(), goodM2M)
	require.NoError(t, err)
	assert.Equal(t, testMachine, mt.Subject)
	assert.JSONEq(t, `{"role":"worker"}`, string(mt.Claims))
	assert.EqualValues(t, 1, e.api.calls.Load())
	for _, k := range shared.keys {
		assert.Len(t, k, 64, "a hex HMAC")
		assert.NotContains(t, k, "goodtoken")
	}
	for _, v := range shared.m {
		assert.NotContains(t, string(v), goodM2M, "values never hold the token")
	}

	// After a revocation, ForgetMachineToken drops it everywhere it can.
	require.NoError(t, replica.ForgetMachineToken(context.Background(), goodM2M))
	assert.Empty(t, shared.m)

	// A corrupted or foreign entry under the token's key is a miss, not a
	// token: a fresh replica (nothing cached in process) asks Clerk.
	e.clock.Advance(DefaultMachineTokenCacheTTL)
	for _, bad := range []string{
		`{"v":1,"kind":"api_key","id":"ak_x","sub":"user_evil","until":99999999999999}`,
		`not json`,
		`{"v":99}`,
	} {
		fresh := newTestVerifier(t, Config{
			SecretKey: testSecret, JWKSURL: e.jwks.URL, APIURL: e.api.URL + "/v1", PublishableKey: testPK,
			Now: e.clock.Now, MachineTokenCache: shared,
		})
		shared.mu.Lock()
		shared.m[sharedKey(fresh.opaque.hasher.sum(goodM2M))] = []byte(bad)
		shared.mu.Unlock()
		before := e.api.calls.Load()
		mt, err = fresh.VerifyMachineToken(context.Background(), goodM2M)
		require.NoError(t, err, bad)
		assert.Equal(t, testMachine, mt.Subject, bad)
		assert.Equal(t, TokenKindM2M, mt.Kind, bad)
		assert.EqualValues(t, before+1, e.api.calls.Load(), "%s: not trusted, Clerk asked", bad)
	}
}

// TestOpaqueConcurrencyCap: at most maxVerifyInFlight calls run at once;
// the others are answered 503 without a call.
func TestOpaqueConcurrencyCap(t *testing.T) {
	e := newMachineEnv(t, func(c *Config) { c.MachineVerifyRate, c.MachineVerifyBurst = 1000, 1000 })
	gate := make(chan struct{})
	e.api.set(func(f *fakeVerify) { f.gate = gate })
	const n = maxVerifyInFlight + 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range maxVerifyInFlight {
		wg.Go(func() { _, errs[i] = e.v.VerifyMachineToken(context.Background(), fmt.Sprintf("ak_slow%d", i)) })
	}
	waitFor(t, "the calls to fill every slot", func() bool { return e.api.calls.Load() == maxVerifyInFlight })
	for i := maxVerifyInFlight; i < n; i++ {
		_, errs[i] = e.v.VerifyMachineToken(context.Background(), fmt.Sprintf("ak_extra%d", i))
		assert.ErrorIs(t, errs[i], ErrKeysUnavailable)
	}
	assert.EqualValues(t, maxVerifyInFlight, e.api.calls.Load())
	close(gate)
	wg.Wait()
}

// TestMachineVerifyDefaultsFollowTheInstance: the default budget is half
// of the instance's rate limit, so a development instance gets the small
// one however it is recognised: by its secret key, or, for a receiver
// configured with a machine secret key and no instance secret key, by its
// publishable key.
func TestMachineVerifyDefaultsFollowTheInstance(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		rate  float64
		burst int
	}{
		{"development secret key", Config{SecretKey: testSecret, PublishableKey: testPK}, 5, 20},
		{"machine key, development publishable key", Config{MachineSecretKey: testMachineSecret, PublishableKey: testPK, JWKSURL: "https://clerk.example.test/.well-known/jwks.json"}, 5, 20},
		{"production keys", Config{SecretKey: "sk_live_0123456789abcdef", PublishableKey: "pk_live_Y2xlcmsuZXhhbXBsZS5jb20k"}, 50, 200},
		{"explicit", Config{SecretKey: testSecret, PublishableKey: testPK, MachineVerifyRate: 7, MachineVerifyBurst: 9}, 7, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tt.cfg.withDefaults()
			require.NoError(t, err)
			assert.Equal(t, tt.rate, cfg.MachineVerifyRate)
			assert.Equal(t, tt.burst, cfg.MachineVerifyBurst)
		})
	}
}

// TestOpaqueVerifyHonoursRequestTimeout: a verify call is bounded by
// Config.RequestTimeout when it is shorter than the built-in 5 s.
func TestOpaqueVerifyHonoursRequestTimeout(t *testing.T) {
	assert.Equal(t, machineVerifyTimeout, verifyTimeoutOf(0))
	assert.Equal(t, machineVerifyTimeout, verifyTimeoutOf(time.Minute))
	assert.Equal(t, 200*time.Millisecond, verifyTimeoutOf(200*time.Millisecond))

	e := newMachineEnv(t, func(c *Config) { c.RequestTimeout = 200 * time.Millisecond })
	gate := make(chan struct{}) // the endpoint never answers until the test ends
	t.Cleanup(func() { close(gate) })
	e.api.set(func(f *fakeVerify) { f.gate = gate })
	start := time.Now()
	_, err := e.v.VerifyMachineToken(context.Background(), goodAPIKey)
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrKeysUnavailable, "not judged: 503")
	assert.Less(t, time.Since(start), 3*time.Second, "bounded by RequestTimeout, not the 5 s default")
}

// TestOpaqueRefusalCostsNoSharedRead: a token Clerk refused is refused
// from process memory before the shared cache is asked.
func TestOpaqueRefusalCostsNoSharedRead(t *testing.T) {
	shared := &countingCache{mapCache: mapCache{m: map[string][]byte{}}}
	e := newMachineEnv(t, func(c *Config) { c.MachineTokenCache = shared })
	e.api.set(func(f *fakeVerify) {
		f.answer = func(string, string) (int, string, http.Header) {
			return 404, `{"errors":[{"code":"resource_not_found","message":"not found"}]}`, nil
		}
	})
	_, err := e.v.VerifyMachineToken(context.Background(), goodAPIKey)
	require.ErrorIs(t, err, ErrInvalidToken)
	reads := shared.gets.Load()
	for range 50 {
		_, err := e.v.VerifyMachineToken(context.Background(), goodAPIKey)
		require.ErrorIs(t, err, ErrInvalidToken)
	}
	assert.Equal(t, reads, shared.gets.Load(), "repeats of a refused token read nothing shared")
	assert.EqualValues(t, 1, e.api.calls.Load())
}

// TestSharedConfirmationGivesPriority: a token another replica confirmed
// (read from the shared cache) gets the budget priority of known tokens
// here too, so it is renewed from the reserve during a flood.
func TestSharedConfirmationGivesPriority(t *testing.T) {
	shared := &mapCache{m: map[string][]byte{}}
	e := newMachineEnv(t, func(c *Config) { c.MachineTokenCache = shared })
	_, err := e.v.VerifyMachineToken(context.Background(), goodAPIKey)
	require.NoError(t, err)
	replica := newTestVerifier(t, Config{
		SecretKey: testSecret, JWKSURL: e.jwks.URL, APIURL: e.api.URL + "/v1", PublishableKey: testPK,
		Now: e.clock.Now, MachineTokenCache: shared,
	})
	_, err = replica.VerifyMachineToken(context.Background(), goodAPIKey)
	require.NoError(t, err)
	assert.True(t, replica.opaque.isKnown(replica.opaque.hasher.sum(goodAPIKey)))
}

type countingCache struct {
	mapCache
	gets atomic.Int64
}

func (c *countingCache) Get(ctx context.Context, key string) ([]byte, error) {
	c.gets.Add(1)
	return c.mapCache.Get(ctx, key)
}
