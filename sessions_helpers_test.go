package clerkauth

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

const testSecretKey = "sk_test_c2VjcmV0IGtleSBmb3IgdGVzdHM"

// recorded is one request as the fake Backend API received it.
type recorded struct {
	Method      string
	EscapedPath string
	Query       url.Values
	Header      http.Header
	Body        []byte
}

// fakeAPI is an httptest Backend API that records every request and
// answers with respond(n, r), n counting requests from 0.
type fakeAPI struct {
	mu      sync.Mutex
	reqs    []recorded
	respond func(n int, w http.ResponseWriter, r *http.Request)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	n := len(f.reqs)
	f.reqs = append(f.reqs, recorded{
		Method: r.Method, EscapedPath: r.URL.EscapedPath(), Query: r.URL.Query(),
		Header: r.Header.Clone(), Body: body,
	})
	f.mu.Unlock()
	f.respond(n, w, r)
}

func (f *fakeAPI) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// sleeper records the waits of a client instead of sleeping.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// answer writes status and a JSON body.
func answer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// newFakeClient starts a fake API answering with respond and returns a
// client of it whose waits are recorded, with no jitter.
func newFakeClient(t *testing.T, cfg Config, respond func(n int, w http.ResponseWriter, r *http.Request)) (*SessionsClient, *fakeAPI, *sleeper) {
	t.Helper()
	api := &fakeAPI{respond: respond}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	if cfg.SecretKey == "" {
		cfg.SecretKey = testSecretKey
	}
	cfg.APIURL = srv.URL + "/v1"
	c, err := NewSessionsClient(cfg)
	if err != nil {
		t.Fatalf("NewSessionsClient: %v", err)
	}
	sl := &sleeper{}
	c.sleep = sl.sleep
	c.jitter = func(time.Duration) time.Duration { return 0 }
	return c, api, sl
}

// sessionJSON is a full Session of the 2026-05-12 schema, with a field the
// schema does not know.
const sessionJSON = `{
	"object": "session",
	"id": "sess_2abc",
	"user_id": "user_2xyz",
	"client_id": "client_2def",
	"actor": {"sub": "user_2admin", "iss": "https://dashboard.clerk.com"},
	"status": "active",
	"last_active_organization_id": "org_2ghi",
	"last_active_at": 1716969000000,
	"latest_activity": {
		"object": "session_activity", "id": "sess_activity_1", "device_type": "Macintosh",
		"is_mobile": false, "browser_name": "Chrome", "browser_version": "125.0.0.0",
		"ip_address": "203.0.113.7", "city": "Lisbon", "country": "PT"
	},
	"expire_at": 1716969600000,
	"abandon_at": 1719475200000,
	"updated_at": 1716969000123,
	"created_at": 1716960000000,
	"tasks": [{"key": "choose-organization"}],
	"field_from_the_future": {"nested": [1, 2, 3]}
}`

// minimalSession returns the JSON of a session with the given ID.
func minimalSession(id string) string {
	return `{"object":"session","id":"` + id + `","user_id":"user_1","client_id":"client_1","status":"active",` +
		`"actor":null,"last_active_organization_id":null,"latest_activity":null,"tasks":null,` +
		`"last_active_at":1,"expire_at":2,"abandon_at":3,"updated_at":4,"created_at":5}`
}
