package clerkauth

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth/clerktest"
)

// verifiesAtClerk reports whether the receiving machine's key verifies
// token at clerktest.
func (e *m2mEnv) verifiesAtClerk(t *testing.T, token string) bool {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"token": token})
	req, err := http.NewRequest(http.MethodPost, e.clerk.URL()+"/m2m_tokens/verify", strings.NewReader(string(body)))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+e.callee.SecretKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.clerk.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func TestM2MConfigErrors(t *testing.T) {
	good := M2MConfig{MachineSecretKey: "ak_0123456789abcdef", APIURL: "http://127.0.0.1:1"}
	tests := []struct {
		name string
		edit func(c *M2MConfig)
		want string
	}{
		{"missing key", func(c *M2MConfig) { c.MachineSecretKey = "" }, "CLERK_MACHINE_SECRET_KEY"},
		{"instance key", func(c *M2MConfig) { c.MachineSecretKey = "sk_test_abc" }, "instance secret key"},
		{"not a machine key", func(c *M2MConfig) { c.MachineSecretKey = "mt_abc" }, "ak_"},
		{"bare prefix", func(c *M2MConfig) { c.MachineSecretKey = "ak_" }, "ak_"},
		{"control characters", func(c *M2MConfig) { c.MachineSecretKey = "ak_a\r\nX-Evil: 1" }, "control characters"},
		{"http API URL", func(c *M2MConfig) { c.APIURL = "http://api.example.com" }, "https"},
		{"margin too long", func(c *M2MConfig) { c.Lifetime, c.RefreshMargin = time.Minute, time.Minute }, "RefreshMargin"},
		{"negative margin", func(c *M2MConfig) { c.RefreshMargin = -time.Second }, "RefreshMargin"},
		{"fractional lifetime", func(c *M2MConfig) { c.Lifetime = 1500 * time.Millisecond }, "whole seconds"},
		{"bad format", func(c *M2MConfig) { c.Format = "paseto" }, "token format"},
		{"min remaining TTL on JWT", func(c *M2MConfig) { c.MinRemainingTTL = 10 * time.Minute }, "opaque tokens only"},
		{"min remaining TTL within margin", func(c *M2MConfig) {
			c.Format, c.MinRemainingTTL = M2MFormatOpaque, 30*time.Second
		}, "longer than the refresh margin"},
		{"min remaining TTL beyond lifetime", func(c *M2MConfig) {
			c.Format, c.Lifetime, c.MinRemainingTTL = M2MFormatOpaque, 10*time.Minute, 10*time.Minute
		}, "shorter than the lifetime"},
		{"claims not JSON", func(c *M2MConfig) { c.Claims = map[string]any{"f": func() {}} }, "Claims"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.edit(&cfg)
			_, err := NewM2MTokenSource(cfg)
			require.ErrorIs(t, err, ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "X-Evil")
		})
	}
	t.Run("from the environment", func(t *testing.T) {
		env := map[string]string{EnvMachineSecretKey: " ak_123 ", "CLERK_API_URL": "http://127.0.0.1:9", "CLERK_SECRET_KEY": "sk_test_x"}
		cfg := m2mConfigFromLookup(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		assert.Equal(t, M2MConfig{MachineSecretKey: "ak_123", APIURL: "http://127.0.0.1:9/v1"}, cfg, "no path: Clerk's /v1")
	})
}

func TestM2MTokensClientAgainstClerktest(t *testing.T) {
	e := newM2MEnv(t)
	c, err := NewM2MTokensClient(e.config())
	require.NoError(t, err)
	ctx := bg()

	jwt, err := c.Create(ctx, CreateM2MTokenParams{Format: M2MFormatJWT, Lifetime: 10 * time.Minute, Claims: json.RawMessage(`{"role":"reader"}`)})
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(jwt.Token, "."), "a JWT")
	assert.Equal(t, e.caller.ID, jwt.Subject)
	assert.Equal(t, []string{e.callee.ID}, jwt.Scopes)
	assert.JSONEq(t, `{"role":"reader"}`, string(jwt.Claims))
	assert.Equal(t, 10*time.Minute, jwt.Expiration.Sub(jwt.CreatedAt), "lifetime sent, timestamps read as ms")
	assert.True(t, e.verifiesAtClerk(t, jwt.Token))

	opaque, err := c.Create(ctx, CreateM2MTokenParams{Format: M2MFormatOpaque})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(opaque.Token, "mt_"))
	assert.Equal(t, clerktest.DefaultMachineTokenTTL, opaque.Expiration.Sub(opaque.CreatedAt), "no lifetime: the machine's default")

	list, err := c.List(ctx, ListM2MTokensParams{Subject: e.caller.ID})
	require.NoError(t, err)
	require.Len(t, list.Tokens, 1, "JWTs are not listed")
	assert.EqualValues(t, 1, list.TotalCount)
	assert.Equal(t, opaque.ID, list.Tokens[0].ID)
	assert.Empty(t, list.Tokens[0].Token, "lists carry no secrets")

	revoked, err := c.Revoke(ctx, opaque.ID, "rotated")
	require.NoError(t, err)
	assert.True(t, revoked.Revoked)
	assert.Equal(t, "rotated", revoked.RevocationReason)
	assert.False(t, e.verifiesAtClerk(t, opaque.Token))
	list, err = c.List(ctx, ListM2MTokensParams{Subject: e.caller.ID, Revoked: true})
	require.NoError(t, err)
	assert.Len(t, list.Tokens, 1)

	_, err = c.Revoke(ctx, jwt.ID, "")
	assert.ErrorIs(t, err, ErrNotFound, "JWTs cannot be revoked")
	_, err = c.List(ctx, ListM2MTokensParams{Subject: e.callee.ID})
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr, "a machine lists only its own tokens")
	assert.Equal(t, http.StatusForbidden, apiErr.StatusCode)

	for name, p := range map[string]ListM2MTokensParams{"no subject": {}, "limit": {Subject: e.caller.ID, Limit: 101}, "offset": {Subject: e.caller.ID, Offset: -1}} {
		_, err := c.List(ctx, p)
		assert.ErrorIs(t, err, ErrInvalidArgument, name)
	}
	_, err = c.Revoke(ctx, "../machines", "")
	assert.ErrorIs(t, err, ErrInvalidArgument)
	_, err = c.Create(ctx, CreateM2MTokenParams{Claims: json.RawMessage(`[1]`)})
	assert.ErrorIs(t, err, ErrInvalidArgument)
	e.requireNoSecrets(t, jwt.Token, opaque.Token)
}

func TestM2MTokenSourceRefusedKey(t *testing.T) {
	e := newM2MEnv(t)
	cfg := e.config()
	cfg.MachineSecretKey = "ak_not_a_machine_of_this_instance"
	cfg.MaxRetries = 3
	s := e.source(t, cfg)
	for range 50 {
		_, err := s.Token(bg())
		require.ErrorIs(t, err, ErrM2MTokenUnavailable)
		require.ErrorIs(t, err, ErrUnauthorized)
		var apiErr *APIError
		require.ErrorAs(t, err, &apiErr)
		assert.True(t, apiErr.HasCode("machine_secret_key_invalid"))
	}
	assert.Equal(t, 1, e.creates(), "a refused key is neither retried nor asked again during the cool-off")
	e.clerk.Clock().Advance(permanentCoolOff)
	_, err := s.Token(bg())
	require.ErrorIs(t, err, ErrUnauthorized)
	assert.Equal(t, 2, e.creates(), "asked again after the cool-off")
	e.requireNoSecrets(t, cfg.MachineSecretKey)
}

func TestM2MTokenSourceLifecycle(t *testing.T) {
	e := newM2MEnv(t)
	cfg := e.config()
	cfg.Lifetime = 2 * time.Minute // margin 30 s
	s := e.source(t, cfg)
	clock := e.clerk.Clock()

	first, err := s.Token(bg())
	require.NoError(t, err)
	again, err := s.Token(bg())
	require.NoError(t, err)
	assert.Same(t, first, again, "reused")
	assert.Equal(t, 1, e.creates())

	clock.Advance(89 * time.Second) // 31 s left: still fresh
	again, _ = s.Token(bg())
	assert.Same(t, first, again)
	assert.Equal(t, 1, startedCreates(s))

	clock.Advance(2 * time.Second) // 29 s left: within the margin
	again, err = s.Token(bg())
	require.NoError(t, err)
	assert.Same(t, first, again, "the current token is handed out while the next is made")
	waitFor(t, "the background refresh", func() bool { return idle(s) })
	second, err := s.Token(bg())
	require.NoError(t, err)
	assert.NotEqual(t, first.Token, second.Token)
	assert.Equal(t, 2, e.creates())
	assert.True(t, e.verifiesAtClerk(t, second.Token))

	clock.Advance(5 * time.Minute) // long past expiry: callers wait for a new one
	third, err := s.Token(bg())
	require.NoError(t, err)
	assert.NotEqual(t, second.Token, third.Token)
	assert.True(t, third.Expiration.After(clock.Now()), "never an expired token")
	assert.True(t, e.verifiesAtClerk(t, third.Token))
	e.requireNoSecrets(t, first.Token, second.Token, third.Token)
}

// TestM2MTokenSourceExpiryGuard shows that a token with less than a second
// left is not handed out, even with no margin left to refresh in.
func TestM2MTokenSourceExpiryGuard(t *testing.T) {
	e := newM2MEnv(t)
	cfg := e.config()
	cfg.Lifetime, cfg.RefreshMargin = 10*time.Second, time.Nanosecond
	s := e.source(t, cfg)
	first, err := s.Token(bg())
	require.NoError(t, err)
	e.clerk.Clock().Advance(9*time.Second + 500*time.Millisecond)
	e.clerk.SetFault(clerktest.EndpointM2MCreate, clerktest.Fault{Status: 503})
	_, err = s.Token(bg())
	require.ErrorIs(t, err, ErrM2MTokenUnavailable, "half a second left is too little")
	e.clerk.ClearFaults()
	e.clerk.Clock().Advance(transientCoolOff)
	next, err := s.Token(bg())
	require.NoError(t, err)
	assert.NotEqual(t, first.Token, next.Token)
}

func TestM2MTokenSourceConcurrentExpiry(t *testing.T) {
	e := newM2MEnv(t)
	s := e.source(t, e.config())
	first, err := s.Token(bg())
	require.NoError(t, err)
	e.clerk.Clock().Advance(2 * DefaultM2MTokenLifetime)
	// A slow answer keeps every caller waiting on the one call.
	e.clerk.SetFault(clerktest.EndpointM2MCreate, clerktest.Fault{Delay: 50 * time.Millisecond, Times: 1})
	e.clerk.ResetRequests()

	const callers = 1000
	var wg sync.WaitGroup
	tokens := make([]*M2MToken, callers)
	errs := make([]error, callers)
	for i := range callers {
		wg.Go(func() { tokens[i], errs[i] = s.Token(bg()) })
	}
	wg.Wait()
	for i := range callers {
		require.NoError(t, errs[i])
		require.Same(t, tokens[0], tokens[i])
	}
	assert.NotEqual(t, first.Token, tokens[0].Token)
	assert.Equal(t, 1, e.creates(), "one create call for 1,000 callers")
}

func TestM2MTokenSourceFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault clerktest.Fault
		is    error
	}{
		{"down", clerktest.Fault{Down: true}, nil},
		{"5xx", clerktest.Fault{Status: 502}, nil},
		{"429", clerktest.Fault{Status: 429}, ErrRateLimited},
		{"malformed", clerktest.Fault{MalformedBody: true}, ErrUnexpectedResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newM2MEnv(t)
			cfg := e.config()
			cfg.MaxRetries = 1 // the shared backoff: one retry after 250-500 ms
			cfg.Lifetime = 4 * time.Minute
			s := e.source(t, cfg)
			clock := e.clerk.Clock()
			first, err := s.Token(bg())
			require.NoError(t, err)
			e.clerk.SetFault(clerktest.EndpointM2MCreate, tt.fault)
			e.clerk.ResetRequests()

			// Within the margin: the current token keeps being handed out.
			clock.Advance(3*time.Minute + 30*time.Second)
			for range 20 {
				got, err := s.Token(bg())
				require.NoError(t, err)
				require.Same(t, first, got)
			}
			waitFor(t, "the failed refresh", func() bool { return idle(s) })
			wantAttempts := 2
			if tt.is == ErrUnexpectedResponse {
				wantAttempts = 1 // a bad 2xx body is not retried
			}
			assert.Equal(t, wantAttempts, e.creates(), "one refresh, retried once")

			// Expired: a typed error after the retry budget, then from
			// memory during the cool-off.
			clock.Advance(time.Minute)
			for range 20 {
				_, err = s.Token(bg())
				require.ErrorIs(t, err, ErrM2MTokenUnavailable)
				if tt.is != nil {
					require.ErrorIs(t, err, tt.is)
				}
			}
			assert.Equal(t, 2*wantAttempts, e.creates(), "one more refresh; the cool-off holds the other callers back")

			// Recovery is automatic once Clerk answers again.
			e.clerk.ClearFaults()
			clock.Advance(permanentCoolOff)
			got, err := s.Token(bg())
			require.NoError(t, err)
			assert.NotEqual(t, first.Token, got.Token)
			assert.True(t, e.verifiesAtClerk(t, got.Token))
		})
	}
}

func TestM2MTokenSourceRetryAfter(t *testing.T) {
	e := newM2MEnv(t)
	s := e.source(t, e.config())
	e.clerk.SetFault(clerktest.EndpointM2MCreate, clerktest.Fault{RetryAfter: 20 * time.Second})
	for range 10 {
		_, err := s.Token(bg())
		require.ErrorIs(t, err, ErrRateLimited)
	}
	assert.Equal(t, 1, e.creates(), "Retry-After is honoured across callers")
	e.clerk.ClearFaults()
	e.clerk.Clock().Advance(10 * time.Second)
	_, err := s.Token(bg())
	require.ErrorIs(t, err, ErrRateLimited, "still within Retry-After")
	e.clerk.Clock().Advance(10 * time.Second)
	_, err = s.Token(bg())
	require.NoError(t, err)
}

func TestM2MTokenSourceSlowCreate(t *testing.T) {
	e := newM2MEnv(t)
	s, err := NewM2MTokenSource(e.config())
	require.NoError(t, err)
	e.clerk.SetFault(clerktest.EndpointM2MCreate, clerktest.Fault{Delay: time.Hour})
	ctx, cancel := context.WithTimeout(bg(), 50*time.Millisecond)
	defer cancel()
	_, err = s.Token(ctx)
	require.ErrorIs(t, err, ErrM2MTokenUnavailable)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the caller's own deadline ends its wait")
	assert.False(t, idle(s), "the shared call goes on for other callers")

	closed := make(chan struct{})
	go func() { _ = s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close did not stop the running refresh")
	}
	assert.True(t, idle(s), "no refresh left running")
	_, err = s.Token(bg())
	require.ErrorIs(t, err, ErrTokenSourceClosed)
	require.NoError(t, s.Close(), "Close twice")
}

func TestM2MTokenSourceRevoke(t *testing.T) {
	e := newM2MEnv(t)
	cfg := e.config()
	cfg.Format = M2MFormatOpaque
	s := e.source(t, cfg)
	require.NoError(t, s.Revoke(bg(), ""), "nothing to revoke yet")
	first, err := s.Token(bg())
	require.NoError(t, err)
	require.True(t, e.verifiesAtClerk(t, first.Token))
	require.NoError(t, s.Revoke(bg(), "shutdown"))
	assert.False(t, e.verifiesAtClerk(t, first.Token), "revoked at Clerk")
	next, err := s.Token(bg())
	require.NoError(t, err)
	assert.NotEqual(t, first.Token, next.Token)

	jwtSource := e.source(t, e.config())
	_, err = jwtSource.Token(bg())
	require.NoError(t, err)
	assert.ErrorIs(t, jwtSource.Revoke(bg(), ""), ErrInvalidArgument)
	require.NoError(t, s.Close())
	assert.True(t, e.verifiesAtClerk(t, next.Token), "Close revokes nothing")
}

func TestM2MTokenSourceMinRemainingTTL(t *testing.T) {
	e := newM2MEnv(t)
	cfg := e.config()
	cfg.Format, cfg.Lifetime, cfg.MinRemainingTTL = M2MFormatOpaque, 10*time.Minute, 5*time.Minute
	a, b := e.source(t, cfg), e.source(t, cfg)
	ta, err := a.Token(bg())
	require.NoError(t, err)
	tb, err := b.Token(bg())
	require.NoError(t, err)
	assert.Equal(t, ta.Token, tb.Token, "two processes share one pooled token")
}

func TestM2MTokenString(t *testing.T) {
	tok := &M2MToken{ID: "mt_1", Subject: "mch_1", Token: "mt_supersecretvalue"}
	for _, s := range []string{tok.String(), tok.GoString(), tok.LogValue().String()} {
		assert.NotContains(t, s, "supersecretvalue")
		assert.Contains(t, s, "mt_1")
	}
	var none *M2MToken
	assert.Equal(t, "<nil>", none.String())
	assert.True(t, errors.Is(noM2MToken(ErrUnauthorized), ErrM2MTokenUnavailable))
}

// TestM2MTokenSourcePooledTokenExpiresOnTime: with MinRemainingTTL, Clerk
// may hand back a token another process created earlier, with less life
// left than its lifetime. The source must not count the whole lifetime
// from its own request: it would hand the token out after Clerk expired it.
func TestM2MTokenSourcePooledTokenExpiresOnTime(t *testing.T) {
	e := newM2MEnv(t)
	cfg := e.config()
	cfg.Format, cfg.Lifetime, cfg.MinRemainingTTL = M2MFormatOpaque, 10*time.Minute, 5*time.Minute
	a := e.source(t, cfg)
	first, err := a.Token(bg())
	require.NoError(t, err)

	e.clerk.Clock().Advance(4 * time.Minute)
	b := e.source(t, cfg)
	pooled, err := b.Token(bg())
	require.NoError(t, err)
	require.Equal(t, first.Token, pooled.Token, "Clerk hands back the pooled token, 6 min left")

	for range 13 { // 6.5 min, in 30 s steps: past the pooled token's expiration
		e.clerk.Clock().Advance(30 * time.Second)
		tok, err := b.Token(bg())
		require.NoError(t, err)
		if !assert.True(t, e.verifiesAtClerk(t, tok.Token), "at %v the source hands out a token Clerk refuses",
			e.clerk.Clock().Now().Sub(time.Unix(1_800_000_000, 0))) {
			return
		}
		require.Eventually(t, func() bool { return idle(b) }, 5*time.Second, time.Millisecond)
	}
}

// TestM2MTokenCreatedWithoutCreatedAt: a created token's life is counted
// as expiration - created_at; an answer without created_at would make
// that decades, and the source would hand the token out long after it
// expired. Such an answer is refused as unexpected.
func TestM2MTokenCreatedWithoutCreatedAt(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"object":"machine_to_machine_token","id":"mt_1","token":"mt_secret0123456789",`+
			`"subject":"mch_1","scopes":[],"claims":null,"revoked":false,"revocation_reason":null,"expired":false,`+
			`"expiration":`+strconv.FormatInt(now.Add(time.Hour).UnixMilli(), 10)+`,"last_used_at":null,"updated_at":0}`)
	}))
	t.Cleanup(srv.Close)
	s, err := NewM2MTokenSource(M2MConfig{
		MachineSecretKey: "ak_0123456789abcdef", APIURL: srv.URL, MaxRetries: -1,
		Now: func() time.Time { return now },
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	_, err = s.Token(bg())
	require.ErrorIs(t, err, ErrM2MTokenUnavailable)
	assert.ErrorIs(t, err, ErrUnexpectedResponse)
}
