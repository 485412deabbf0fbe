package clerkauth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// events records every event an Observer receives.
type events struct {
	mu        sync.Mutex
	decisions []AuthDecision
	lookups   []TokenCacheLookup
	starts    []KeyFetchStart
	fetches   []KeyFetchDone
	kids      []UnknownKID
	calls     []UpstreamCall
	breakers  []BreakerChange
	fallbacks []FallbackDecision
	actives   []ActiveSessionCheck
	revErrs   []RevocationStoreError
}

func record[E any](e *events, list *[]E) func(context.Context, E) {
	return func(_ context.Context, ev E) {
		e.mu.Lock()
		defer e.mu.Unlock()
		*list = append(*list, ev)
	}
}

func (e *events) observer() Observer {
	return Observer{
		AuthDecision:         record(e, &e.decisions),
		TokenCacheLookup:     record(e, &e.lookups),
		KeyFetchStart:        record(e, &e.starts),
		KeyFetchDone:         record(e, &e.fetches),
		UnknownKID:           record(e, &e.kids),
		UpstreamCall:         record(e, &e.calls),
		BreakerChange:        record(e, &e.breakers),
		Fallback:             record(e, &e.fallbacks),
		ActiveSession:        record(e, &e.actives),
		RevocationStoreError: record(e, &e.revErrs),
	}
}

// snapshot returns a copy of one list, under the lock.
func snapshot[E any](e *events, list *[]E) []E {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]E(nil), *list...)
}

// obsEnv is mwEnv with an Observer and a captured debug log.
type obsEnv struct {
	*mwEnv
	ev  *events
	log *bytes.Buffer
}

// newObsEnv builds a Verifier on a JWKS server (keyA as k1) fetched with
// the secret key, observed and logging at Debug as JSON; mutate may change
// the Config.
func newObsEnv(t *testing.T, mutate func(*Config)) *obsEnv {
	t.Helper()
	a, _, _ := testKeys(t)
	e := &obsEnv{mwEnv: &mwEnv{t: t, clock: newClock()}, ev: &events{}, log: &bytes.Buffer{}}
	e.jwks = newJWKSServer(t, jwkOf("k1", "RS256", &a.PublicKey))
	cfg := Config{
		SecretKey: testSecret, APIURL: e.jwks.URL + "/v1", PublishableKey: testPK, Now: e.clock.Now,
		MaxRetries: -1, Observer: e.ev.observer(),
		Logger: slog.New(slog.NewJSONHandler(&lockedWriter{w: e.log}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mutate != nil {
		mutate(&cfg)
	}
	e.v = newTestVerifier(t, cfg)
	if e.v.remote != nil {
		e.v.remote.sleep = noSleep
	}
	return e
}

// logged returns the captured log lines holding msg.
func (e *obsEnv) logged(msg string) []string {
	var out []string
	for _, line := range strings.Split(e.log.String(), "\n") {
		if strings.Contains(line, `"msg":"`+msg+`"`) {
			out = append(out, line)
		}
	}
	return out
}

func TestObserverDecisions(t *testing.T) {
	cookieRequest := func(tok string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.AddCookie(&http.Cookie{Name: "__session", Value: tok})
		r.AddCookie(&http.Cookie{Name: "__client_uat", Value: "1"})
		return r
	}
	tests := []struct {
		name     string
		opts     MiddlewareOptions
		keysDown bool
		request  func(e *obsEnv) *http.Request
		want     AuthDecision
	}{
		{"valid header token", MiddlewareOptions{}, false,
			func(e *obsEnv) *http.Request { return bearerRequest(e.token()) },
			AuthDecision{Outcome: OutcomeAuthenticated, TokenKind: "session_token", Carrier: CarrierHeader}},
		{"valid cookie token", MiddlewareOptions{}, false,
			func(e *obsEnv) *http.Request { return cookieRequest(e.token()) },
			AuthDecision{Outcome: OutcomeAuthenticated, TokenKind: "session_token", Carrier: CarrierCookie}},
		{"no token", MiddlewareOptions{}, false,
			func(*obsEnv) *http.Request { return httptest.NewRequest(http.MethodGet, "/", nil) },
			AuthDecision{Outcome: OutcomeRejected, Reason: ReasonTokenMissing, Status: 401, Carrier: CarrierNone}},
		{"no token, optional", MiddlewareOptions{Optional: true}, false,
			func(*obsEnv) *http.Request { return httptest.NewRequest(http.MethodGet, "/", nil) },
			AuthDecision{Outcome: OutcomeSignedOut, Reason: ReasonTokenMissing, Carrier: CarrierNone}},
		{"expired", MiddlewareOptions{}, false,
			func(e *obsEnv) *http.Request {
				return bearerRequest(e.token("exp", e.clock.Now().Add(-time.Hour).Unix()))
			},
			AuthDecision{Outcome: OutcomeRejected, Reason: ReasonTokenExpired, Status: 401, TokenKind: "session_token", Carrier: CarrierHeader}},
		{"malformed header", MiddlewareOptions{}, false,
			func(*obsEnv) *http.Request { return bearerRequest("not a token") },
			AuthDecision{Outcome: OutcomeRejected, Reason: ReasonInvalidRequest, Status: 400, TokenKind: "session_token", Carrier: CarrierHeader}},
		{"keys unavailable", MiddlewareOptions{}, true,
			func(e *obsEnv) *http.Request { return bearerRequest(e.token()) },
			AuthDecision{Outcome: OutcomeUnavailable, Reason: ReasonJWKRemoteFailedToLoad, Status: 503, TokenKind: "session_token", Carrier: CarrierHeader}},
		{"custom extractor", MiddlewareOptions{TokenExtractor: func(*http.Request) (string, error) { return "", nil }}, false,
			func(*obsEnv) *http.Request { return httptest.NewRequest(http.MethodGet, "/", nil) },
			AuthDecision{Outcome: OutcomeRejected, Reason: ReasonTokenMissing, Status: 401, Carrier: CarrierCustom}},
		{"API key on a session route", MiddlewareOptions{}, false,
			func(*obsEnv) *http.Request { return bearerRequest("ak_" + strings.Repeat("0", 32)) },
			AuthDecision{Outcome: OutcomeRejected, Reason: ReasonTokenTypeMismatch, Status: 401, TokenKind: TokenKindAPIKey, Carrier: CarrierHeader}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newObsEnv(t, nil)
			if tt.keysDown {
				e.keysDown()
			}
			h := e.middleware(tt.opts).Handler(whoami)
			rec := serve(h, tt.request(e))
			got := snapshot(e.ev, &e.ev.decisions)
			require.Len(t, got, 1)
			assert.Positive(t, got[0].Duration)
			got[0].Duration = 0
			assert.Equal(t, tt.want, got[0])
			if tt.want.Status != 0 {
				assert.Equal(t, tt.want.Status, rec.Code, "the event's status is the answer's")
			}
			lines := e.logged("clerkauth: auth decision")
			require.Len(t, lines, 1, "one debug record per decision")
			assert.Contains(t, lines[0], `"level":"DEBUG"`)
			assert.Contains(t, lines[0], `"outcome":"`+string(tt.want.Outcome)+`"`)
		})
	}
}

func TestObserverNoEventForSkippedRequests(t *testing.T) {
	e := newObsEnv(t, nil)
	m := e.middleware(MiddlewareOptions{Skip: func(*http.Request) bool { return true }})
	serve(m.Handler(whoami), httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Empty(t, snapshot(e.ev, &e.ev.decisions))
}

func TestObserverTokenCacheAndKeyFetch(t *testing.T) {
	e := newObsEnv(t, nil)
	tok := e.token()
	for range 3 {
		_, err := e.v.Verify(context.Background(), tok)
		require.NoError(t, err)
	}
	assert.Equal(t, []TokenCacheLookup{{false}, {true}, {true}}, snapshot(e.ev, &e.ev.lookups))
	assert.Equal(t, []KeyFetchStart{{URL: e.jwks.URL + "/v1/jwks"}}, snapshot(e.ev, &e.ev.starts))

	fetches := snapshot(e.ev, &e.ev.fetches)
	require.Len(t, fetches, 1)
	f := fetches[0]
	assert.Equal(t, KeyFetchDone{URL: e.jwks.URL + "/v1/jwks", Start: f.Start, Duration: f.Duration,
		Attempts: 1, StatusCode: 200, Keys: 1, Ready: true}, f)

	calls := snapshot(e.ev, &e.ev.calls)
	require.Len(t, calls, 1)
	c := calls[0]
	assert.Equal(t, "jwks", c.Service)
	assert.Equal(t, "jwks", c.Operation)
	assert.Equal(t, http.MethodGet, c.Method)
	assert.Equal(t, strings.TrimPrefix(e.jwks.URL, "http://"), c.Host)
	assert.Equal(t, "/v1/jwks", c.Route)
	assert.Equal(t, 200, c.StatusCode)
	assert.Zero(t, c.Attempt)
	assert.Len(t, e.logged("clerkauth: signing keys loaded"), 1)
}

func TestObserverCacheDisabledReportsNoLookups(t *testing.T) {
	e := newObsEnv(t, func(c *Config) { c.TokenCacheSize = -1 })
	_, err := e.v.Verify(context.Background(), e.token())
	require.NoError(t, err)
	assert.Empty(t, snapshot(e.ev, &e.ev.lookups))
	assert.Zero(t, e.v.CachedTokens())
}

// TestObserverKeyOutage scripts a key server failing after keys were
// loaded (stale keys serve: one Warn), failing on (no new record), keys
// then past the maximum staleness (one Error), and recovering (one Info),
// with retries reported as attempts.
func TestObserverKeyOutage(t *testing.T) {
	e := newObsEnv(t, func(c *Config) { c.MaxRetries = 1; c.JWKSMaxStaleness = time.Hour })
	ctx := context.Background()
	require.NoError(t, e.v.Warm(ctx))
	e.jwks.set(func(s *jwksServer) { s.status = http.StatusInternalServerError })

	e.clock.Advance(DefaultJWKSCacheTTL + time.Second)
	require.ErrorIs(t, e.v.Warm(ctx), ErrKeysUnavailable)
	e.clock.Advance(time.Minute)
	require.ErrorIs(t, e.v.Warm(ctx), ErrKeysUnavailable)
	assert.Len(t, e.logged("clerkauth: JWKS refresh failed; serving last good keys"), 1, "once per transition")

	e.clock.Advance(2 * time.Hour)
	require.ErrorIs(t, e.v.Warm(ctx), ErrKeysUnavailable)
	unavailable := e.logged("clerkauth: signing keys unavailable; requests are answered 503")
	require.Len(t, unavailable, 1)
	assert.Contains(t, unavailable[0], `"level":"ERROR"`)

	e.jwks.set(func(s *jwksServer) { s.status = 200 })
	require.NoError(t, e.v.Warm(ctx))
	assert.Len(t, e.logged("clerkauth: signing keys refreshed after failures"), 1)

	fetches := snapshot(e.ev, &e.ev.fetches)
	require.Len(t, fetches, 5)
	stale := fetches[1]
	assert.Equal(t, 2, stale.Attempts, "the first try and one retry")
	assert.Equal(t, 500, stale.StatusCode)
	assert.True(t, stale.Ready)
	assert.Equal(t, 1, stale.Keys, "the last good keys")
	assert.ErrorIs(t, stale.Err, ErrKeysUnavailable)
	assert.False(t, fetches[3].Ready, "past the maximum staleness")
	assert.True(t, fetches[4].Ready)
	assert.NoError(t, fetches[4].Err)

	calls := snapshot(e.ev, &e.ev.calls)
	require.Len(t, calls, 1+2+2+2+1)
	assert.Equal(t, []int{0, 1}, []int{calls[1].Attempt, calls[2].Attempt})
}

func TestObserverUnknownKID(t *testing.T) {
	e := newObsEnv(t, nil)
	a, _, _ := testKeys(t)
	forged := mint(t, a, stdHeader("not-a-key-"+strings.Repeat("x", 100)), stdClaims(e.clock.Now()))

	_, err := e.v.Verify(context.Background(), forged)
	require.Error(t, err)
	assert.Empty(t, snapshot(e.ev, &e.ev.kids), "not reported before the first key set is loaded")

	_, err = e.v.Verify(context.Background(), e.token())
	require.NoError(t, err)
	e.clock.Advance(time.Hour) // past the cooldown and the negative cache
	forged = mint(t, a, stdHeader("not-a-key-"+strings.Repeat("x", 100)), stdClaims(e.clock.Now()))
	_, err = e.v.Verify(context.Background(), forged)
	require.ErrorIs(t, err, ErrInvalidToken)
	kids := snapshot(e.ev, &e.ev.kids)
	require.Len(t, kids, 1)
	assert.Equal(t, OutcomeRejected, kids[0].Outcome)
	assert.Len(t, kids[0].KID, maxKIDReported, "cut")
}

// switchStore is a RevocationStore whose answers tests switch.
type switchStore struct {
	mu   sync.Mutex
	fail bool
}

func (s *switchStore) set(fail bool) { s.mu.Lock(); s.fail = fail; s.mu.Unlock() }

func (s *switchStore) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("store down")
	}
	return nil
}

func (s *switchStore) Revoke(context.Context, string, time.Time) error { return s.err() }
func (s *switchStore) IsRevoked(context.Context, string) (bool, error) { return false, s.err() }

func TestObserverRevocationStore(t *testing.T) {
	store := &switchStore{fail: true}
	e := newObsEnv(t, func(c *Config) { c.Revocations = store })
	ctx := context.Background()
	for range 3 {
		_, err := e.v.Verify(ctx, e.token())
		require.ErrorIs(t, err, ErrKeysUnavailable)
	}
	require.Error(t, e.v.MarkRevoked(ctx, "sess_1"))
	got := snapshot(e.ev, &e.ev.revErrs)
	require.Len(t, got, 4, "every error is reported")
	assert.Equal(t, "is_revoked", got[0].Op)
	assert.Equal(t, "revoke", got[3].Op)
	failing := e.logged("clerkauth: revocation store failing; tokens are refused (503) until it answers")
	require.Len(t, failing, 1, "logged once per transition")
	assert.Contains(t, failing[0], `"level":"WARN"`)
	assert.Contains(t, failing[0], `"op":"is_revoked"`)
	assert.Len(t, e.logged("clerkauth: revocation store failing; revocations may not be recorded"), 1)

	store.set(false)
	for range 2 {
		_, err := e.v.Verify(ctx, e.token())
		require.NoError(t, err)
	}
	require.NoError(t, e.v.MarkRevoked(ctx, "sess_1"))
	assert.Len(t, e.logged("clerkauth: revocation store recovered"), 2, "once per operation")
	assert.Len(t, snapshot(e.ev, &e.ev.revErrs), 4)
}

func TestObserverBackendAPICalls(t *testing.T) {
	api := newFakeSessions(t)
	api.set(func(f *fakeSessions) { f.getAnswer = http.StatusTooManyRequests; f.retryAfter = "1" })
	ev := &events{}
	var log bytes.Buffer
	c, err := NewSessionsClient(Config{
		SecretKey: testSecret, APIURL: api.URL, MaxRetries: 1, Observer: ev.observer(),
		Logger: slog.New(slog.NewJSONHandler(&lockedWriter{w: &log}, nil)),
	})
	require.NoError(t, err)
	c.sleep = noSleep
	_, err = c.Get(context.Background(), "sess_1")
	require.Error(t, err)
	api.set(func(f *fakeSessions) { f.getAnswer = 0 })
	_, err = c.Get(context.Background(), "sess_1")
	require.NoError(t, err)

	calls := snapshot(ev, &ev.calls)
	require.Len(t, calls, 3)
	for i, want := range []struct{ attempt, status int }{{0, 429}, {1, 429}, {0, 200}} {
		assert.Equal(t, "backend_api", calls[i].Service)
		assert.Equal(t, "get session", calls[i].Operation)
		assert.Equal(t, "/sessions/{id}", calls[i].Route)
		assert.Equal(t, want.attempt, calls[i].Attempt, i)
		assert.Equal(t, want.status, calls[i].StatusCode, i)
	}
	assert.Equal(t, time.Second, calls[0].RetryAfter)
	assert.NoError(t, calls[0].Err, "an error status is no transport error")
	assert.Equal(t, 1, strings.Count(log.String(), "clerkauth: Clerk is rate limiting requests"), "once per transition")
	assert.Equal(t, 1, strings.Count(log.String(), "clerkauth: Clerk no longer rate limiting requests"))
}

func TestRouteOf(t *testing.T) {
	for path, want := range map[string]string{
		"/sessions/sess_1":                  "/sessions/{id}",
		"/sessions/sess_1/revoke":           "/sessions/{id}/revoke",
		"/sessions/sess_1/tokens/my%2Ftmpl": "/sessions/{id}/tokens/{template}",
		"/sessions":                         "/sessions",
		"/m2m_tokens/verify":                "/m2m_tokens/verify",
	} {
		assert.Equal(t, want, routeOf(path), path)
	}
}

func TestObserverFallbackAndBreaker(t *testing.T) {
	e := newObsEnv(t, nil)
	api := newFakeSessions(t)
	api.set(func(f *fakeSessions) { f.verifyAnswer = http.StatusInternalServerError })
	m := e.middleware(MiddlewareOptions{
		OnlineFallback: true, SessionsClient: api.client(t, e.clock, "2025-03-12"),
		FallbackFailureThreshold: 2, FallbackCoolOff: time.Minute,
	})
	h := m.Handler(whoami)
	e.keysDown()
	for range 3 {
		assert.Equal(t, 503, serve(h, bearerRequest(e.token("jti", time.Now().String()))).Code)
	}
	assert.Equal(t, []BreakerChange{{Breaker: "online_fallback", Open: true}}, snapshot(e.ev, &e.ev.breakers))

	api.set(func(f *fakeSessions) { f.verifyAnswer = 0 })
	e.clock.Advance(2 * time.Minute)
	assert.Equal(t, 200, serve(h, bearerRequest(e.token("jti", "after"))).Code)
	assert.Equal(t, []BreakerChange{{"online_fallback", true}, {"online_fallback", false}}, snapshot(e.ev, &e.ev.breakers))

	fallbacks := snapshot(e.ev, &e.ev.fallbacks)
	require.Len(t, fallbacks, 4)
	for _, d := range fallbacks[:3] {
		assert.Equal(t, OutcomeUnavailable, d.Outcome)
		assert.Equal(t, ReasonJWKRemoteFailedToLoad, d.Cause)
	}
	assert.Equal(t, FallbackDecision{Outcome: OutcomeAuthenticated, Cause: ReasonJWKRemoteFailedToLoad}, fallbacks[3])
	assert.Len(t, e.logged("clerkauth: circuit breaker opened"), 1)
	assert.Len(t, e.logged("clerkauth: circuit breaker closed"), 1)
}

func TestObserverActiveSession(t *testing.T) {
	e := newObsEnv(t, nil)
	api := newFakeSessions(t)
	m := e.middleware(MiddlewareOptions{SessionsClient: api.client(t, e.clock, "")})
	h := m.Handler(m.RequireActiveSession(whoami))
	assert.Equal(t, 200, serve(h, bearerRequest(e.token())).Code)
	api.set(func(f *fakeSessions) { f.status["sess_1"] = SessionRevoked })
	e.clock.Advance(time.Minute)
	assert.Equal(t, 401, serve(h, bearerRequest(e.token())).Code)
	assert.Equal(t, []ActiveSessionCheck{
		{Outcome: OutcomeAuthenticated},
		{Outcome: OutcomeRejected, Reason: ReasonSessionRevoked},
	}, snapshot(e.ev, &e.ev.actives))
}

// TestObserverHooksRunOutsideLocks calls back into the Verifier from every
// hook: a hook run under one of its locks would deadlock.
func TestObserverHooksRunOutsideLocks(t *testing.T) {
	var v *Verifier
	reenter := func(context.Context) { _ = v.Status(); _ = v.CachedTokens() }
	e := newObsEnv(t, func(c *Config) {
		c.Observer = Observer{
			KeyFetchStart:    func(ctx context.Context, _ KeyFetchStart) { reenter(ctx) },
			KeyFetchDone:     func(ctx context.Context, _ KeyFetchDone) { reenter(ctx) },
			UpstreamCall:     func(ctx context.Context, _ UpstreamCall) { reenter(ctx) },
			UnknownKID:       func(ctx context.Context, _ UnknownKID) { reenter(ctx) },
			TokenCacheLookup: func(ctx context.Context, _ TokenCacheLookup) { reenter(ctx) },
		}
	})
	v = e.v
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = v.Verify(context.Background(), e.token())
		_, _ = v.Verify(context.Background(), e.token("kid", "x"))
		a, _, _ := testKeys(t)
		_, _ = v.Verify(context.Background(), mint(t, a, stdHeader("other"), stdClaims(e.clock.Now())))
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a hook deadlocked: it runs under a lock")
	}
}

// TestObserverZeroCost shows that an unobserved warm Verify allocates
// nothing, and that the seam adds no allocation when observed.
func TestObserverZeroCost(t *testing.T) {
	for _, tt := range []struct {
		name string
		obs  Observer
	}{
		{"unobserved", Observer{}},
		{"observed", (&events{}).observer()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newObsEnv(t, func(c *Config) { c.Observer = tt.obs; c.Logger = nil })
			tok, ctx := e.token(), context.Background()
			_, err := e.v.Verify(ctx, tok)
			require.NoError(t, err)
			if tt.name == "observed" {
				tt.obs.TokenCacheLookup = func(context.Context, TokenCacheLookup) {}
				e.v.obs.hooks = tt.obs // a hook that keeps nothing
			}
			allocs := testing.AllocsPerRun(100, func() { _, _ = e.v.Verify(ctx, tok) })
			assert.Zero(t, allocs)
		})
	}
	assert.Nil(t, newObserver(Observer{}, nil), "nothing to observe: no observer at all")
}

func TestMiddlewareLoggerDefaultsToVerifiers(t *testing.T) {
	e := newObsEnv(t, nil)
	m := e.middleware(MiddlewareOptions{})
	assert.Same(t, e.v.obs.logger, m.logger)
	assert.Same(t, e.v.obs, m.obs, "same logger: the Verifier's observer")

	own := slog.New(slog.DiscardHandler)
	m = e.middleware(MiddlewareOptions{Logger: own})
	assert.Same(t, own, m.obs.logger)
	assert.NotNil(t, m.obs.hooks.AuthDecision, "the Verifier's hooks are kept")
}

func TestConfigWarningsLogged(t *testing.T) {
	e := newObsEnv(t, func(c *Config) { c.InsecureSkipIssuerCheck = true })
	assert.Len(t, e.logged("clerkauth: InsecureSkipIssuerCheck is set: tokens of any issuer are accepted"), 1)
	assert.Len(t, e.logged("clerkauth: AuthorizedParties is empty: the azp claim is not checked"), 1)

	e = newObsEnv(t, func(c *Config) { c.AuthorizedParties = []string{"https://app.example"} })
	assert.Empty(t, e.logged("clerkauth: AuthorizedParties is empty: the azp claim is not checked"))
	assert.Empty(t, e.logged("clerkauth: InsecureSkipIssuerCheck is set: tokens of any issuer are accepted"))
}

// TestLogsHoldNoSecrets runs a scripted sequence at Debug level through
// every logged event (decisions of each kind, key loads, a key outage,
// unknown key IDs, Clerk rate limiting, the fallback and its breaker, the
// active-session check, a failing revocation store) and scans the log for
// the tokens, any of their segments, the secret key and the key material.
func TestLogsHoldNoSecrets(t *testing.T) {
	store := &switchStore{}
	e := newObsEnv(t, func(c *Config) { c.Revocations = store; c.InsecureSkipIssuerCheck = true })
	api := newFakeSessions(t)
	m := e.middleware(MiddlewareOptions{
		OnlineFallback: true, SessionsClient: api.client(t, e.clock, "2025-03-12"), FallbackFailureThreshold: 1,
	})
	m.sessions.logger, m.sessions.obs = e.v.obs.logger, e.v.obs // log the API calls too
	m.fallback.sessions = verifyClient(m.sessions)
	h := m.Handler(m.RequireActiveSession(whoami))
	a, b, _ := testKeys(t)
	var tokens []string
	send := func(r *http.Request, tok string) {
		tokens = append(tokens, tok)
		serve(h, r)
	}
	good := e.token()
	send(bearerRequest(good), good)
	expired := e.token("exp", e.clock.Now().Add(-time.Hour).Unix())
	send(bearerRequest(expired), expired)
	forged := mint(t, b, stdHeader("k1"), stdClaims(e.clock.Now()))
	send(bearerRequest(forged), forged)
	unknown := mint(t, b, stdHeader("k9"), stdClaims(e.clock.Now()))
	send(bearerRequest(unknown), unknown)
	cookie := httptest.NewRequest(http.MethodGet, "/", nil)
	cookie.AddCookie(&http.Cookie{Name: "__session", Value: good})
	send(cookie, good)
	send(bearerRequest(good+" x"), good)

	store.set(true)
	send(bearerRequest(good), good)
	store.set(false)
	api.set(func(f *fakeSessions) { f.getAnswer, f.retryAfter = http.StatusTooManyRequests, "1" })
	e.clock.Advance(time.Minute)
	fresh := e.token()
	send(bearerRequest(fresh), fresh)

	e.keysDown()
	e.clock.Advance(48 * time.Hour)
	api.set(func(f *fakeSessions) { f.verifyAnswer = http.StatusInternalServerError })
	late := e.token()
	send(bearerRequest(late), late)

	log := e.log.String()
	for _, msg := range []string{"auth decision", "signing keys loaded", "unknown key ID", "upstream call",
		"Clerk is rate limiting requests", "signing keys unavailable; requests are answered 503",
		"circuit breaker opened", "online fallback decision", "active session check",
		"revocation store failing; tokens are refused (503) until it answers"} {
		assert.Contains(t, log, "clerkauth: "+msg, "the sequence reaches every event")
	}
	secrets := []string{testSecret, b64(a.PublicKey.N.Bytes()), b64(b.PublicKey.N.Bytes())}
	for _, line := range strings.Split(strings.TrimSpace(pemOf(t, &a.PublicKey)), "\n")[1:3] {
		secrets = append(secrets, line)
	}
	for _, tok := range tokens {
		secrets = append(secrets, tok)
		secrets = append(secrets, strings.Split(tok, ".")...)
	}
	for _, s := range secrets {
		assert.NotContains(t, log, s)
	}
}

// BenchmarkObserved is BenchmarkWarmPaths with every hook set (to no-op
// functions) and a Logger at Info: what observing costs.
func BenchmarkObserved(b *testing.B) {
	nop := Observer{
		AuthDecision:     func(context.Context, AuthDecision) {},
		TokenCacheLookup: func(context.Context, TokenCacheLookup) {},
	}
	e := &obsEnv{mwEnv: newMWEnv(b)}
	cfg := Config{JWKSURL: e.jwks.URL, PublishableKey: testPK, Now: e.clock.Now, Observer: nop,
		Logger: slog.New(slog.NewJSONHandler(&bytes.Buffer{}, nil))}
	v := newTestVerifier(b, cfg)
	m, err := NewMiddleware(v, MiddlewareOptions{})
	require.NoError(b, err)
	h := m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := bearerRequest(e.token())
	h.ServeHTTP(discardWriter{}, r)
	b.Run("verify", func(b *testing.B) {
		tok, ctx := e.token(), context.Background()
		_, _ = v.Verify(ctx, tok)
		cpuLoop(b, func() { _, _ = v.Verify(ctx, tok) })
	})
	b.Run("middleware", func(b *testing.B) {
		cpuLoop(b, func() { h.ServeHTTP(discardWriter{}, r) })
	})
}
