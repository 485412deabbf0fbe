package clerkauth

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAcceptsTokenDecisionTable is the decision table of the README's
// "Guarding internal APIs".
func TestAcceptsTokenDecisionTable(t *testing.T) {
	e := newMachineEnv(t)
	a, _, _ := testKeys(t)
	session := mint(t, a, stdHeader("k1"), stdClaims(e.clock.Now()))
	template := mint(t, a, with(stdHeader("k1"), "cat", categoryTemplate), stdClaims(e.clock.Now()))
	machineSubjectSession := mint(t, a, m2mHeader(), with(m2mClaims(e.clock.Now()), "sub", "user_1"))
	m2m, oauth := e.m2m(), e.oauth()
	sessionOnly := []TokenKind(nil)
	machines := []TokenKind{TokenKindM2M, TokenKindAPIKey}
	any := []TokenKind{TokenKindAny}
	cases := []struct {
		name    string
		accepts []TokenKind
		token   string // "" for none
		cookie  string
		code    int
		reason  Reason
		body    string
	}{
		{"session route, session token", sessionOnly, session, "", 200, "", "session user_1"},
		{"session route, M2M JWT", sessionOnly, m2m, "", 401, ReasonTokenTypeMismatch, ""},
		{"session route, OAuth JWT", sessionOnly, oauth, "", 401, ReasonTokenTypeMismatch, ""},
		{"session route, template JWT", sessionOnly, template, "", 401, ReasonTokenTypeMismatch, ""},
		{"session route, M2M category with a user subject", sessionOnly, machineSubjectSession, "", 401, ReasonTokenTypeMismatch, ""},
		{"session route, opaque API key", sessionOnly, goodAPIKey, "", 401, ReasonTokenTypeMismatch, ""},
		{"session route, opaque M2M", sessionOnly, goodM2M, "", 401, ReasonTokenTypeMismatch, ""},
		{"machine route, no token", machines, "", "", 401, ReasonTokenMissing, ""},
		{"machine route, session cookie is not read", machines, "", session, 401, ReasonTokenMissing, ""},
		{"machine route, session token", machines, session, "", 401, ReasonTokenTypeMismatch, ""},
		{"machine route, garbage", machines, "hello", "", 401, ReasonTokenTypeMismatch, ""},
		{"machine route, OAuth token not accepted", machines, goodOAuth, "", 401, ReasonTokenTypeMismatch, ""},
		{"machine route, OAuth JWT not accepted", machines, oauth, "", 401, ReasonTokenTypeMismatch, ""},
		{"machine route, M2M JWT", machines, m2m, "", 200, "", "m2m_token " + testMachine},
		{"machine route, opaque M2M", machines, goodM2M, "", 200, "", "m2m_token " + testMachine},
		{"machine route, API key", machines, goodAPIKey, "", 200, "", "api_key user_1"},
		{"machine route, mt_a.b.c", machines, "mt_a.b.c", "", 401, ReasonTokenInvalid, ""},
		{"machine route, unknown API key", machines, "ak_unknown", "", 401, ReasonTokenInvalid, ""},
		{"machine route, API key not a b64token", machines, "ak_bad\"quote", "", 400, ReasonInvalidRequest, ""},
		{"any, session token", any, session, "", 200, "", "session user_1"},
		{"any, session cookie", any, "", session, 200, "", "session user_1"},
		{"any, API key in a cookie", any, "", goodAPIKey, 401, ReasonTokenTypeMismatch, ""},
		{"any, OAuth opaque", any, goodOAuth, "", 200, "", "oauth_token user_1"},
		{"any, OAuth JWT", any, oauth, "", 200, "", "oauth_token user_1"},
		{"any, template JWT", any, template, "", 401, ReasonTokenTypeMismatch, ""},
		{"any, ignore category session", any, mint(t, a, with(stdHeader("k1"), "cat", categoryIgnore), stdClaims(e.clock.Now())), "", 200, "", "session user_1"},
		{"any, unknown category", any, mint(t, a, with(stdHeader("k1"), "cat", "cl_X"), stdClaims(e.clock.Now())), "", 401, ReasonTokenTypeMismatch, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.api.calls.Load()
			h := e.middleware(MiddlewareOptions{AcceptsToken: tc.accepts}).Handler(whoisMachine)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			if tc.token != "" {
				r.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if tc.cookie != "" {
				r.AddCookie(&http.Cookie{Name: "__session", Value: tc.cookie})
				r.AddCookie(&http.Cookie{Name: "__client_uat", Value: strconv.FormatInt(e.clock.Now().Unix()-60, 10)})
			}
			rec := serve(h, r)
			require.Equal(t, tc.code, rec.Code, rec.Body.String())
			if tc.code == 200 {
				assert.Equal(t, tc.body, rec.Body.String())
				return
			}
			assert.Equal(t, string(tc.reason), reasonOf(t, rec))
			if tc.reason == ReasonTokenTypeMismatch || tc.code == 400 {
				assert.Equal(t, before, e.api.calls.Load(), "refused without a call to Clerk")
			}
		})
	}
}

func TestAcceptsTokenConfig(t *testing.T) {
	e := newMachineEnv(t)
	_, err := NewMiddleware(e.v, MiddlewareOptions{AcceptsToken: []TokenKind{"jwt"}})
	assert.ErrorIs(t, err, ErrInvalidConfig)

	a, _, _ := testKeys(t)
	pemOnly := newTestVerifier(t, Config{JWTKey: pemOf(t, &a.PublicKey), PublishableKey: testPK})
	for _, k := range []TokenKind{TokenKindAPIKey, TokenKindOAuth, TokenKindM2M, TokenKindAny} {
		_, err := NewMiddleware(pemOnly, MiddlewareOptions{AcceptsToken: []TokenKind{k}})
		assert.ErrorIs(t, err, ErrInvalidConfig, "%s needs a key for opaque tokens", k)
	}
	machineOnly := newTestVerifier(t, Config{JWTKey: pemOf(t, &a.PublicKey), PublishableKey: testPK, MachineSecretKey: testMachineSecret})
	_, err = NewMiddleware(machineOnly, MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindM2M}})
	assert.NoError(t, err, "M2M tokens with a machine secret key alone")

	for _, bad := range []Config{
		{SecretKey: testSecret, PublishableKey: testPK, MachineTokenCacheTTL: MaxMachineTokenCacheTTL + 1},
		{SecretKey: testSecret, PublishableKey: testPK, MachineVerifyRate: -1},
		{SecretKey: testSecret, PublishableKey: testPK, MachineSecretKey: "ak_x\n"},
	} {
		_, err := NewVerifier(bad)
		assert.ErrorIs(t, err, ErrInvalidConfig)
	}
	t.Setenv("CLERK_MACHINE_SECRET_KEY", " ak_env ")
	assert.Equal(t, "ak_env", ConfigFromEnv().MachineSecretKey)
}

func TestStrictMachineTokens(t *testing.T) {
	e := newMachineEnv(t)
	cached := e.middleware(MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindAPIKey}}).Handler(whoisMachine)
	strict := e.middleware(MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindAPIKey}, StrictMachineTokens: true}).Handler(whoisMachine)
	for range 3 {
		require.Equal(t, 200, serve(cached, bearerRequest(goodAPIKey)).Code)
	}
	assert.EqualValues(t, 1, e.api.calls.Load())
	for range 3 {
		require.Equal(t, 200, serve(strict, bearerRequest(goodAPIKey)).Code)
	}
	assert.EqualValues(t, 4, e.api.calls.Load(), "a strict route asks Clerk every time")
	e.api.set(func(f *fakeVerify) {
		f.answer = func(string, string) (int, string, http.Header) {
			return 200, apiKeyAnswer(e.clock.Now(), "user_1", map[string]any{"revoked": true}), nil
		}
	})
	assert.Equal(t, 401, serve(strict, bearerRequest(goodAPIKey)).Code, "revocation is seen at once")
}

func TestOptionalMachineRoute(t *testing.T) {
	e := newMachineEnv(t)
	h := e.middleware(MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindAPIKey}, Optional: true}).Handler(whoisMachine)
	rec := serve(h, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, "signed-out", rec.Body.String())
	assert.Equal(t, 401, serve(h, bearerRequest("ak_unknown")).Code)
}

func TestMachineIdentityInContext(t *testing.T) {
	e := newMachineEnv(t)
	var got struct {
		user    string
		hasUser bool
		kind    TokenKind
		session bool
		raw     bool
	}
	h := e.middleware(MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindAny}}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.user, got.hasUser = UserIDFromContext(r.Context())
		got.kind, _ = TokenKindFromContext(r.Context())
		_, got.session = SessionFromContext(r.Context())
		_, got.raw = TokenFromContext(r.Context())
	}))
	a, _, _ := testKeys(t)
	cases := []struct {
		token   string
		kind    TokenKind
		user    string
		session bool
	}{
		{mint(t, a, stdHeader("k1"), stdClaims(e.clock.Now())), TokenKindSession, "user_1", true},
		{e.oauth(), TokenKindOAuth, "user_1", false},
		{goodAPIKey, TokenKindAPIKey, "user_1", false},
		{orgAPIKey, TokenKindAPIKey, "", false},
		{e.m2m(), TokenKindM2M, "", false},
	}
	for _, tc := range cases {
		require.Equal(t, 200, serve(h, bearerRequest(tc.token)).Code)
		assert.Equal(t, tc.kind, got.kind)
		assert.Equal(t, tc.user, got.user)
		assert.Equal(t, tc.user != "", got.hasUser)
		assert.Equal(t, tc.session, got.session)
		assert.Equal(t, tc.session, got.raw, "the raw token is kept for sessions only")
	}
	_, ok := MachineTokenFromContext(context.Background())
	assert.False(t, ok)
	_, ok = UserIDFromContext(context.Background())
	assert.False(t, ok)
}

func TestMachineGuards(t *testing.T) {
	m2m := &MachineToken{Kind: TokenKindM2M, Subject: testMachine, Scopes: []string{testTarget}}
	key := &MachineToken{Kind: TokenKindAPIKey, Subject: "org_1", Scopes: []string{"read:users", "write:users"}}
	userKey := &MachineToken{Kind: TokenKindAPIKey, Subject: "user_1", Scopes: []string{"read:users"}}
	scimKey := &MachineToken{Kind: TokenKindAPIKey, Subject: "scim_1"}
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	cases := []struct {
		name  string
		guard func(http.Handler) http.Handler
		ctx   context.Context
		code  int
	}{
		{"scopes held", RequireScopes("read:users", "write:users"), ContextWithMachineToken(context.Background(), key), 204},
		{"scope missing", RequireScopes("read:users", "write:users"), ContextWithMachineToken(context.Background(), userKey), 403},
		{"scopes and a session", RequireScopes("read:users"), ContextWithSession(context.Background(), &Claims{UserID: "user_1"}), 403},
		{"scopes and no auth", RequireScopes("read:users"), context.Background(), 401},
		{"machine allowed", RequireMachine(testMachine), ContextWithMachineToken(context.Background(), m2m), 204},
		{"machine not allowed", RequireMachine(testTarget), ContextWithMachineToken(context.Background(), m2m), 403},
		{"machine: an API key of a machine", RequireMachine(testMachine), ContextWithMachineToken(context.Background(), &MachineToken{Kind: TokenKindAPIKey, Subject: testMachine}), 403},
		{"machine and signed out", RequireMachine(testMachine), ContextWithSession(context.Background(), nil), 401},
		{"owner org", RequireAPIKeyOwner(OwnerOrganization), ContextWithMachineToken(context.Background(), key), 204},
		{"owner user refused", RequireAPIKeyOwner(OwnerOrganization), ContextWithMachineToken(context.Background(), userKey), 403},
		{"owner unknown refused", RequireAPIKeyOwner(OwnerUser, OwnerOrganization, OwnerMachine), ContextWithMachineToken(context.Background(), scimKey), 403},
		{"owner: an M2M token", RequireAPIKeyOwner(OwnerMachine), ContextWithMachineToken(context.Background(), m2m), 403},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(tc.ctx)
			rec := serve(tc.guard(ok), r)
			require.Equal(t, tc.code, rec.Code)
			if tc.code == 403 {
				assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `error="insufficient_scope"`)
				assert.Equal(t, string(ReasonInsufficientScope), reasonOf(t, rec))
			}
		})
	}
	assert.Panics(t, func() { RequireScopes() })
	assert.Panics(t, func() { RequireMachine() })
	assert.Panics(t, func() { RequireAPIKeyOwner() })
}

// TestMachineHostile sends hostile machine tokens through the middleware:
// each is refused with a clear status, nothing panics, and neither the
// logs nor the answers hold a whole token or a secret.
func TestMachineHostile(t *testing.T) {
	e := newMachineEnv(t, func(c *Config) { c.MachineSecretKey = testMachineSecret })
	logs := new(bytes.Buffer)
	lw := &lockedWriter{w: logs}
	m := e.middleware(MiddlewareOptions{AcceptsToken: []TokenKind{TokenKindAny}, Logger: slog.New(slog.NewTextHandler(lw, nil))})
	h := m.Handler(whoisMachine)
	a, b, _ := testKeys(t)
	now := e.clock.Now().Unix()
	mh, mc, oh, oc := m2mHeader(), m2mClaims(e.clock.Now()), oauthHeader(), oauthClaims(e.clock.Now())
	e.api.set(func(f *fakeVerify) {
		f.answer = func(path, token string) (int, string, http.Header) {
			n := e.clock.Now()
			switch token {
			case "ak_revoked":
				return 200, apiKeyAnswer(n, "user_1", map[string]any{"revoked": true}), nil
			case "ak_expired":
				return 200, apiKeyAnswer(n, "user_1", map[string]any{"expired": true}), nil
			case "ak_wrongobject":
				return 200, m2mAnswer(n, nil), nil
			case "oat_inactive":
				return 200, `{"active":false}`, nil
			case "ak_truncated":
				return 200, apiKeyAnswer(n, "user_1", nil)[:30], nil
			case "ak_huge":
				return 200, `{"x":"` + strings.Repeat("y", 1<<20) + `"}`, nil
			}
			return 404, "", nil
		}
	})
	cases := []struct {
		name  string
		token string
		code  int
	}{
		{"M2M bad signature", mint(t, b, mh, mc), 401},
		{"M2M typ at+jwt", mint(t, a, with(mh, "typ", "at+jwt"), mc), 401},
		{"M2M wrong cat", mint(t, a, with(mh, "cat", categoryTemplate), mc), 401},
		{"M2M session cat", mint(t, a, with(mh, "cat", categorySession), mc), 401},
		{"session token with a machine subject", mint(t, a, stdHeader("k1"), with(stdClaims(e.clock.Now()), "sub", testMachine)), 401},
		{"OAuth JWT with typ JWT", mint(t, a, with(oh, "typ", "JWT"), oc), 401},
		{"OAuth bad signature", mint(t, b, oh, oc), 401},
		{"M2M expired", mint(t, a, mh, with(mc, "exp", now-60)), 401},
		{"M2M nbf ahead", mint(t, a, mh, with(mc, "nbf", now+60)), 401},
		{"M2M iat ahead", mint(t, a, mh, with(mc, "iat", now+60)), 401},
		{"OAuth wrong issuer", mint(t, a, oh, with(oc, "iss", "https://evil.test")), 401},
		{"machine secret key sent as a bearer token", testMachineSecret, 401},
		{"mt_ with garbage", "mt_" + strings.Repeat("~", 40), 401},
		{"oat_ with garbage", "oat_!!!", 400},
		{"ak_ with a control character", "ak_a\x01b", 400},
		{"16 KiB API key", "ak_" + strings.Repeat("a", MaxTokenSize), 401},
		{"16 KiB M2M JWT", mint(t, a, mh, with(mc, "pad", strings.Repeat("p", MaxTokenSize))), 401},
		{"revoked: true", "ak_revoked", 401},
		{"expired: true", "ak_expired", 401},
		{"wrong object", "ak_wrongobject", 503},
		{"active: false", "oat_inactive", 401},
		{"truncated JSON", "ak_truncated", 503},
		{"oversized JSON", "ak_huge", 503},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var rec *httptest.ResponseRecorder
			require.NotPanics(t, func() { rec = serve(h, bearerRequest(tc.token)) })
			assert.Equal(t, tc.code, rec.Code, rec.Body.String())
			if len(tc.token) > 12 {
				assert.NotContains(t, rec.Body.String(), tc.token)
				assert.NotContains(t, rec.Header().Get("WWW-Authenticate"), tc.token)
			}
		})
	}
	all := logs.String() + e.logText()
	for _, secret := range []string{testSecret, testMachineSecret, goodAPIKey} {
		assert.NotContains(t, all, secret)
	}
	for _, tc := range cases {
		if len(tc.token) > 12 {
			assert.NotContains(t, all, tc.token)
		}
	}
	reqs := e.api.recorded()
	for _, r := range reqs {
		if r.body["secret"] == testMachineSecret {
			assert.Equal(t, "/v1/api_keys/verify", r.path, "a machine secret key verifies as an API key")
		}
	}
}
