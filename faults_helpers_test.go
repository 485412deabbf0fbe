package clerkauth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// Test fixtures of the fault, header and soak tests, which use only the
// public API. RSA keys are slow to generate (more so under -race), so one
// signing key and one foreign key are made per test binary and shared by
// every clerktest server.
var (
	faultSigningKey = sync.OnceValue(func() *rsa.PrivateKey { return mustRSAKey() })
	faultForeignKey = sync.OnceValue(func() *rsa.PrivateKey { return mustRSAKey() })
)

func mustRSAKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

// faultEpoch is the frozen start time of the injected clocks.
var faultEpoch = time.Unix(1_800_000_000, 0)

// Bounds of the polling helpers: generous, since the machine is shared.
// They bound how long a test waits for an asynchronous effect; nothing is
// asserted about how long the effect took.
const (
	pollFor   = 15 * time.Second
	pollEvery = 5 * time.Millisecond
)

// faultEnv is a clerktest instance with one active session and a Verifier
// for it. Server and Verifier share the server's frozen Clock, so
// advancing it moves token times and the Verifier's cache ages together.
type faultEnv struct {
	srv   *clerktest.Server
	clock *clerktest.Clock
	tr    *http.Transport
	cfg   clerkauth.Config
	v     *clerkauth.Verifier
	sid   string
}

// newFaultEnv starts the server and builds the Verifier: no retries of JWKS
// fetches (so a failed fetch costs one request and no real sleep), a
// 10-minute maximum staleness, and mutate's changes. Everything is closed
// when the test ends.
func newFaultEnv(t *testing.T, mutate func(*clerkauth.Config)) *faultEnv {
	t.Helper()
	srv := clerktest.NewServer(clerktest.Config{SigningKey: faultSigningKey()})
	srv.Clock().Set(faultEpoch)
	e := &faultEnv{srv: srv, clock: srv.Clock(), tr: &http.Transport{}}
	e.sid = srv.CreateSession(clerktest.SessionParams{}).ID
	e.cfg = clerkauth.Config{
		SecretKey:        srv.SecretKey(),
		PublishableKey:   srv.PublishableKey(),
		APIURL:           srv.APIURL(),
		HTTPClient:       &http.Client{Transport: e.tr, Timeout: 30 * time.Second},
		MaxRetries:       -1,
		JWKSMaxStaleness: 10 * time.Minute,
		Now:              e.clock.Now,
	}
	if mutate != nil {
		mutate(&e.cfg)
	}
	v, err := clerkauth.NewVerifier(e.cfg)
	require.NoError(t, err)
	e.v = v
	t.Cleanup(e.close)
	return e
}

// close stops the Verifier, the server and the client's idle connections;
// it may be called more than once.
func (e *faultEnv) close() {
	e.v.Close()
	e.srv.Close()
	e.tr.CloseIdleConnections()
}

// token mints a fresh session token (a new jti, so never a cache hit).
func (e *faultEnv) token(t *testing.T, opts ...clerktest.TokenOption) string {
	t.Helper()
	tok, err := e.srv.Token(e.sid, opts...)
	require.NoError(t, err)
	return tok
}

// newSessionsClient returns a client of srv's Sessions API with its own
// transport, closed when the test ends.
func newSessionsClient(t *testing.T, srv *clerktest.Server, maxRetries int) *clerkauth.SessionsClient {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c, err := clerkauth.NewSessionsClient(clerkauth.Config{
		SecretKey:  srv.SecretKey(),
		APIURL:     srv.APIURL(),
		HTTPClient: &http.Client{Transport: tr, Timeout: 30 * time.Second},
		MaxRetries: maxRetries,
	})
	require.NoError(t, err)
	return c
}

// eventually polls cond until it holds, failing the test with msg if it
// still does not after pollFor.
func eventually(t *testing.T, cond func() bool, msg string, args ...any) {
	t.Helper()
	require.Eventuallyf(t, cond, pollFor, pollEvery, msg, args...)
}

// settledGoroutines returns the goroutine count once it stops falling, so
// that a baseline is not inflated by goroutines of earlier tests that are
// still ending.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for range 20 {
		time.Sleep(10 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n {
			return m
		}
		n = m
	}
	return n
}
