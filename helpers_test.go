package clerkauth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	testPK     = "pk_test_Y2xlcmsuZXhhbXBsZS50ZXN0JA" // clerk.example.test$
	testIssuer = "https://clerk.example.test"
	testSecret = "sk_test_0123456789abcdef"
)

// Test fixtures: RSA keys are slow to generate, so each size is made once
// per test binary.
var (
	keyOnce sync.Once
	keyA    *rsa.PrivateKey
	keyB    *rsa.PrivateKey
	key1024 *rsa.PrivateKey
)

func testKeys(t testing.TB) (a, b, small *rsa.PrivateKey) {
	t.Helper()
	keyOnce.Do(func() {
		keyA = mustKey(2048)
		keyB = mustKey(2048)
		key1024 = mustKey(1024)
	})
	return keyA, keyB, key1024
}

func mustKey(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

// testClock is an injectable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock { return &testClock{t: time.Unix(1_800_000_000, 0)} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func b64json(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b64(b)
}

// signRS signs header.payload with key using alg's hash.
func signRS(t testing.TB, key *rsa.PrivateKey, h crypto.Hash, input string) string {
	t.Helper()
	hh := h.New()
	hh.Write([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, hh.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	return b64(sig)
}

func mint(t testing.TB, key *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	input := b64json(t, header) + "." + b64json(t, claims)
	h := crypto.SHA256
	switch header["alg"] {
	case "RS384":
		h = crypto.SHA384
	case "RS512":
		h = crypto.SHA512
	}
	return input + "." + signRS(t, key, h, input)
}

func stdHeader(kid string) map[string]any {
	return map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid, "cat": "cl_B7d4PD111AAA"}
}

func stdClaims(now time.Time) map[string]any {
	return map[string]any{
		"sub": "user_1", "sid": "sess_1", "iss": testIssuer, "azp": "https://app.example.test",
		"iat": now.Unix(), "nbf": now.Unix() - 10, "exp": now.Unix() + 60, "v": 2, "jti": "j1",
	}
}

func with(m map[string]any, kv ...any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
			continue
		}
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}

func jwkOf(kid, alg string, pub *rsa.PublicKey) map[string]any {
	k := map[string]any{
		"kty": "RSA", "kid": kid, "use": "sig",
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}
	if alg != "" {
		k["alg"] = alg
	}
	return k
}

func pemOf(t testing.TB, pub *rsa.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// jwksServer serves a JWK set that tests can change, and counts requests.
type jwksServer struct {
	*httptest.Server
	mu       sync.Mutex
	keys     []map[string]any
	status   int
	body     []byte // raw body override
	delay    time.Duration
	header   http.Header
	requests atomic.Int64
	auth     atomic.Value // last Authorization header
}

func newJWKSServer(t testing.TB, keys ...map[string]any) *jwksServer {
	s := &jwksServer{keys: keys, status: 200}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.auth.Store(r.Header.Get("Authorization"))
	s.mu.Lock()
	keys, status, body, delay, hdr := s.keys, s.status, s.body, s.delay, s.header
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range hdr {
		w.Header()[k] = v
	}
	if status != 200 {
		w.WriteHeader(status)
		return
	}
	if body == nil {
		body, _ = json.Marshal(map[string]any{"keys": keys})
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (s *jwksServer) set(f func(s *jwksServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

func newTestVerifier(t testing.TB, cfg Config) *Verifier {
	t.Helper()
	v, err := NewVerifier(cfg)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	t.Cleanup(func() { _ = v.Close() })
	return v
}

func noSleep(context.Context, time.Duration) error { return nil }

var _ = sha256.New
