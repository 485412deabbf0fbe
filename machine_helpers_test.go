package clerkauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	testMachine       = "mch_0000000000000000000000000a"
	testTarget        = "mch_0000000000000000000000000b"
	testMachineSecret = "ak_machinesecret0123456789"
	goodM2M           = "mt_goodtoken0123456789abcdef"
	goodOAuth         = "oat_goodtoken0123456789abcdef"
	goodAPIKey        = "ak_goodkey0123456789abcdef"
	orgAPIKey         = "ak_orgkey0123456789abcdef"
)

// fakeVerify is a Backend API serving the three machine verify endpoints
// under prefix ("/v1" or ""), recording every request. Tokens it knows
// get a valid answer; answer, when set, overrides everything.
type fakeVerify struct {
	*httptest.Server
	clock  *testClock
	prefix string

	mu       sync.Mutex
	answer   func(path, token string) (status int, body string, header http.Header)
	gate     chan struct{}
	requests []verifyRequest
	calls    atomic.Int64
}

type verifyRequest struct {
	path, auth, version, contentType string
	body                             map[string]string
}

func newFakeVerify(t testing.TB, clock *testClock, prefix string) *fakeVerify {
	f := &fakeVerify{clock: clock, prefix: prefix}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeVerify) set(fn func(f *fakeVerify)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeVerify) serve(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	raw, _ := io.ReadAll(r.Body)
	var body map[string]string
	_ = json.Unmarshal(raw, &body)
	f.mu.Lock()
	f.requests = append(f.requests, verifyRequest{
		path: r.URL.Path, auth: r.Header.Get("Authorization"), version: r.Header.Get("Clerk-API-Version"),
		contentType: r.Header.Get("Content-Type"), body: body,
	})
	answer, gate := f.answer, f.gate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	path, ok := strings.CutPrefix(r.URL.Path, f.prefix)
	if !ok || r.Method != http.MethodPost {
		writeAPIError(w, http.StatusNotFound, "")
		return
	}
	token := body["token"] + body["access_token"] + body["secret"]
	status, out, hdr := http.StatusOK, "", http.Header(nil)
	if answer != nil {
		status, out, hdr = answer(path, token)
	} else {
		out = f.known(path, token)
		if out == "" {
			status = http.StatusNotFound
		}
	}
	for k, v := range hdr {
		w.Header()[k] = v
	}
	if status != http.StatusOK && out == "" {
		writeAPIError(w, status, hdr.Get("Retry-After"))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, out)
}

// known returns the answer for a token the fake knows, "" for none.
func (f *fakeVerify) known(path, token string) string {
	now := f.clock.Now()
	switch {
	case path == "/m2m_tokens/verify" && token == goodM2M:
		return m2mAnswer(now, nil)
	case path == "/oauth_applications/access_tokens/verify" && token == goodOAuth:
		return oauthAnswer(now, nil)
	case path == "/api_keys/verify" && token == goodAPIKey:
		return apiKeyAnswer(now, "user_1", nil)
	case path == "/api_keys/verify" && token == orgAPIKey:
		return apiKeyAnswer(now, "org_1", nil)
	}
	return ""
}

func (f *fakeVerify) recorded() []verifyRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]verifyRequest(nil), f.requests...)
}

func answerJSON(base map[string]any, override map[string]any) string {
	for k, v := range override {
		if v == nil {
			base[k] = nil
			continue
		}
		if v == "<delete>" {
			delete(base, k)
			continue
		}
		base[k] = v
	}
	b, _ := json.Marshal(base)
	return string(b)
}

func m2mAnswer(now time.Time, override map[string]any) string {
	return answerJSON(map[string]any{
		"object": "machine_to_machine_token", "id": "mt_" + strings.Repeat("a", 32), "subject": testMachine,
		"claims": map[string]any{"role": "worker"}, "scopes": []string{testTarget},
		"revoked": false, "revocation_reason": nil, "expired": false,
		"expiration": now.Add(time.Hour).UnixMilli(), "last_used_at": nil,
		"created_at": now.Add(-time.Minute).UnixMilli(), "updated_at": now.UnixMilli(),
	}, override)
}

func oauthAnswer(now time.Time, override map[string]any) string {
	return answerJSON(map[string]any{
		"object": "clerk_idp_oauth_access_token", "id": "oat_" + strings.Repeat("b", 32), "client_id": "client_1",
		"subject": "user_1", "scopes": []string{"read", "write"}, "revoked": false, "revocation_reason": nil,
		"expired": false, "expiration": now.Add(time.Hour).Unix(), "created_at": now.Unix(), "updated_at": now.Unix(),
	}, override)
}

func apiKeyAnswer(now time.Time, subject string, override map[string]any) string {
	return answerJSON(map[string]any{
		"object": "api_key", "id": "ak_" + strings.Repeat("c", 32), "type": "api_key", "subject": subject,
		"name": "ci key", "description": nil, "claims": nil, "scopes": []string{"read:users"},
		"revoked": false, "revocation_reason": nil, "expired": false, "expiration": nil, "created_by": nil,
		"last_used_at": nil, "created_at": now.UnixMilli(), "updated_at": now.UnixMilli(),
	}, override)
}

// machineEnv is a Verifier whose keys are keyA as k1 (and as k2, bound to
// no algorithm) and whose Backend API is a fakeVerify.
type machineEnv struct {
	t     testing.TB
	clock *testClock
	jwks  *jwksServer
	api   *fakeVerify
	v     *Verifier
	logs  *bytes.Buffer
	logw  *lockedWriter
}

func newMachineEnv(t testing.TB, mutate ...func(*Config)) *machineEnv {
	t.Helper()
	a, _, _ := testKeys(t)
	e := &machineEnv{t: t, clock: newClock(), logs: new(bytes.Buffer)}
	e.logw = &lockedWriter{w: e.logs}
	e.jwks = newJWKSServer(t, jwkOf("k1", "RS256", &a.PublicKey), jwkOf("k2", "", &a.PublicKey))
	e.api = newFakeVerify(t, e.clock, "/v1")
	cfg := Config{
		SecretKey: testSecret, JWKSURL: e.jwks.URL, APIURL: e.api.URL + "/v1", PublishableKey: testPK,
		Now: e.clock.Now, MaxRetries: -1, Logger: slog.New(slog.NewTextHandler(e.logw, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	e.v = newTestVerifier(t, cfg)
	return e
}

// logText returns what was logged so far.
func (e *machineEnv) logText() string {
	e.logw.mu.Lock()
	defer e.logw.mu.Unlock()
	return e.logs.String()
}

func m2mHeader() map[string]any {
	return map[string]any{"alg": "RS256", "cat": categoryM2M, "kid": "k1"}
}

func m2mClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": testIssuer, "sub": testMachine, "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Unix() + 600,
		"jti": "mt_" + strings.Repeat("d", 32), "team": "payments",
	}
}

func oauthHeader() map[string]any {
	return map[string]any{"alg": "RS256", "kid": "k1", "typ": "at+jwt"}
}

func oauthClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": testIssuer, "sub": "user_1", "client_id": "client_1", "scope": "read write",
		"jti": "oat_" + strings.Repeat("e", 32), "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Unix() + 600,
	}
}

func (e *machineEnv) m2m(kv ...any) string {
	a, _, _ := testKeys(e.t)
	return mint(e.t, a, m2mHeader(), with(m2mClaims(e.clock.Now()), kv...))
}

func (e *machineEnv) oauth(kv ...any) string {
	a, _, _ := testKeys(e.t)
	return mint(e.t, a, oauthHeader(), with(oauthClaims(e.clock.Now()), kv...))
}

func (e *machineEnv) middleware(opts MiddlewareOptions) *Middleware {
	e.t.Helper()
	m, err := NewMiddleware(e.v, opts)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { _ = m.Close() })
	return m
}

// whoisMachine answers 200 with "<kind> <subject>" of the request's
// token, "<session> <user>" for a session, or "signed-out".
var whoisMachine = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if mt, ok := MachineTokenFromContext(r.Context()); ok {
		_, _ = fmt.Fprintf(w, "%s %s", mt.Kind, mt.Subject)
		return
	}
	if c, ok := SessionFromContext(r.Context()); ok {
		_, _ = fmt.Fprintf(w, "session %s", c.UserID)
		return
	}
	_, _ = w.Write([]byte("signed-out"))
})
