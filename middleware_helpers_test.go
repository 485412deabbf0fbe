package clerkauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// mwEnv is a Verifier backed by a JWKS server holding keyA as "k1", with an
// injected clock.
type mwEnv struct {
	t     testing.TB
	clock *testClock
	jwks  *jwksServer
	v     *Verifier
}

func newMWEnv(t testing.TB) *mwEnv {
	t.Helper()
	a, _, _ := testKeys(t)
	e := &mwEnv{t: t, clock: newClock()}
	e.jwks = newJWKSServer(t, jwkOf("k1", "RS256", &a.PublicKey))
	e.v = newTestVerifier(t, Config{
		JWKSURL: e.jwks.URL, PublishableKey: testPK, Now: e.clock.Now, MaxRetries: -1,
	})
	return e
}

// keysDown makes the key server fail before any key was fetched.
func (e *mwEnv) keysDown() {
	e.jwks.set(func(s *jwksServer) { s.status = http.StatusInternalServerError })
}

// token mints a token signed with keyA under kid k1; kv overrides claims.
func (e *mwEnv) token(kv ...any) string {
	a, _, _ := testKeys(e.t)
	return mint(e.t, a, stdHeader("k1"), with(stdClaims(e.clock.Now()), kv...))
}

func (e *mwEnv) middleware(opts MiddlewareOptions) *Middleware {
	e.t.Helper()
	m, err := NewMiddleware(e.v, opts)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { _ = m.Close() })
	return m
}

// whoami answers 200 with the session's user, or "signed-out".
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	if c, ok := SessionFromContext(r.Context()); ok {
		_, _ = w.Write([]byte(c.UserID))
		return
	}
	_, _ = w.Write([]byte("signed-out"))
})

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func bearerRequest(token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

// reasonOf returns meta.reason of a Clerk-shaped error body.
func reasonOf(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var b errorBody
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &b), rec.Body.String())
	require.Len(t, b.Errors, 1)
	return b.Errors[0].Meta["reason"]
}

// fakeSessions is a Sessions API serving one session per ID with a status
// tests change, counting calls per operation. Handlers wait on gate when it
// is set.
type fakeSessions struct {
	*httptest.Server
	mu           sync.Mutex
	status       map[string]SessionStatus
	verifyAnswer int // 0: 200 with the session
	getAnswer    int // 0: 200 with the session
	retryAfter   string
	bareErrors   bool // answers errors as a proxy would: no Clerk error body
	gate         chan struct{}
	verifies     atomic.Int64
	gets         atomic.Int64
	revokes      atomic.Int64
}

func newFakeSessions(t *testing.T) *fakeSessions {
	f := &fakeSessions{status: map[string]SessionStatus{"sess_1": SessionActive}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeSessions) set(fn func(f *fakeSessions)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeSessions) serve(w http.ResponseWriter, r *http.Request) {
	rest, _ := strings.CutPrefix(r.URL.Path, "/sessions/")
	id, op, _ := strings.Cut(rest, "/")
	answer := f.count(op)
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		<-gate
	}
	f.mu.Lock()
	status, known := f.status[id]
	if op == "revoke" && known {
		f.status[id], status = SessionRevoked, SessionRevoked
	}
	retryAfter, bare := f.retryAfter, f.bareErrors
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case answer != 0 && bare:
		http.Error(w, "<html>not here</html>", answer)
	case answer != 0:
		writeAPIError(w, answer, retryAfter)
	case !known:
		writeAPIError(w, http.StatusNotFound, "")
	default:
		_ = json.NewEncoder(w).Encode(map[string]any{
			"object": "session", "id": id, "user_id": "user_1", "client_id": "client_1", "status": status,
			"last_active_at": 1, "expire_at": 2, "abandon_at": 3, "updated_at": 4, "created_at": 5,
		})
	}
}

// count records a call and returns the status to answer it with.
func (f *fakeSessions) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch op {
	case "verify":
		f.verifies.Add(1)
		return f.verifyAnswer
	case "revoke":
		f.revokes.Add(1)
	default:
		f.gets.Add(1)
		return f.getAnswer
	}
	return 0
}

func writeAPIError(w http.ResponseWriter, status int, retryAfter string) {
	code := map[int]string{
		http.StatusBadRequest: "invalid_session_token", http.StatusNotFound: "resource_not_found",
		http.StatusGone: "operation_deprecated", http.StatusTooManyRequests: "too_many_requests",
	}[status]
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{
		{"code": code, "message": "m", "long_message": "lm"},
	}})
}

// client returns a SessionsClient for f, without retries.
func (f *fakeSessions) client(t *testing.T, clock *testClock, apiVersion string) *SessionsClient {
	t.Helper()
	c, err := NewSessionsClient(Config{
		SecretKey: testSecret, APIURL: f.URL, APIVersion: apiVersion, MaxRetries: -1, Now: clock.Now,
	})
	require.NoError(t, err)
	return c
}

// waitFor waits until cond holds: it polls a state, it asserts no timing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
