package clerkauth_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// The soak test drives the middleware over loopback HTTP with a fixed mix
// of valid, revoked, badly signed, expired, garbage, unknown-key, missing
// and malformed credentials from many workers. Every request's answer is
// known up front, so the test counts wrong answers (there must be none),
// then checks that goroutines and heap come back to where they were.
//
// It runs for 3 s by default; CLERKAUTH_SOAK=30s (any Go duration) sets
// the length of a full run. Run it with -v to see the numbers.

const (
	soakWorkers       = 64
	soakDefaultLength = 3 * time.Second
	soakHeapMargin    = 8 << 20
	soakGoroutineSlop = 5
)

// soakCase is one request and its expected answer.
type soakCase struct {
	kind   string
	auth   string // Authorization value; "" for none
	status int
	reason clerkauth.Reason // X-Clerk-Auth-Reason of a failure
	sid    string           // body of a success
}

func soakLength(t *testing.T) time.Duration {
	v := os.Getenv("CLERKAUTH_SOAK")
	if v == "" {
		return soakDefaultLength
	}
	d, err := time.ParseDuration(v)
	require.NoError(t, err, "CLERKAUTH_SOAK must be a Go duration such as 30s")
	return d
}

// soakEnv is a clerktest instance, a Verifier on the real clock (tokens
// live an hour) and the middleware on a loopback server.
type soakEnv struct {
	srv *clerktest.Server
	v   *clerkauth.Verifier
	ts  *httptest.Server
}

func newSoakEnv(t *testing.T) *soakEnv {
	t.Helper()
	srv := clerktest.NewServer(clerktest.Config{SigningKey: faultSigningKey(), TokenLifetime: time.Hour})
	t.Cleanup(srv.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	v, err := clerkauth.NewVerifier(clerkauth.Config{
		SecretKey: srv.SecretKey(), PublishableKey: srv.PublishableKey(), APIURL: srv.APIURL(),
		HTTPClient: &http.Client{Transport: tr, Timeout: 10 * time.Second},
	})
	require.NoError(t, err)
	t.Cleanup(func() { v.Close() })
	require.NoError(t, v.Warm(context.Background()))
	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{DebugHeaders: true, DisableCookies: true})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	ts := httptest.NewServer(m.Handler(http.HandlerFunc(echoSession)))
	t.Cleanup(ts.Close)
	return &soakEnv{srv: srv, v: v, ts: ts}
}

// cases builds the request mix: 200 valid tokens of 50 sessions, and 20 of
// each failure kind.
func (e *soakEnv) cases(t *testing.T) []soakCase {
	t.Helper()
	var out []soakCase
	add := func(kind, tok string, status int, reason clerkauth.Reason, sid string) {
		auth := ""
		if tok != "" {
			auth = "Bearer " + tok
		}
		out = append(out, soakCase{kind, auth, status, reason, sid})
	}
	unauth := http.StatusUnauthorized
	foreign := clerktest.RSASigner(faultForeignKey(), "RS256")
	for range 50 {
		sid := e.srv.CreateSession(clerktest.SessionParams{}).ID
		for range 4 {
			add("valid", e.srv.MustToken(sid), http.StatusOK, "", sid)
		}
	}
	for i := range 20 {
		sid := e.srv.CreateSession(clerktest.SessionParams{}).ID
		require.NoError(t, e.v.MarkRevoked(context.Background(), sid))
		add("revoked", e.srv.MustToken(sid), unauth, clerkauth.ReasonSessionRevoked, "")
		sid = e.srv.CreateSession(clerktest.SessionParams{}).ID
		header, payload, err := e.srv.SessionClaims(sid)
		require.NoError(t, err)
		add("bad signature", e.srv.Mint(header, payload, foreign), unauth, clerkauth.ReasonTokenInvalidSignature, "")
		header["kid"] = fmt.Sprintf("ins_unknown_%d", i)
		// Issued before the keys were fetched: refused at once, no fetch.
		_, early, err := e.srv.SessionClaims(sid, clerktest.WithIssuedAt(time.Now().Add(-time.Minute)))
		require.NoError(t, err)
		add("unknown kid", e.srv.Mint(header, early, foreign), unauth, clerkauth.ReasonJWKKidMismatch, "")
		add("expired", e.srv.MustToken(sid, clerktest.WithIssuedAt(time.Now().Add(-2*time.Hour))),
			unauth, clerkauth.ReasonTokenExpired, "")
		add("garbage", garbageToken(i), unauth, clerkauth.ReasonTokenInvalid, "")
		add("no token", "", unauth, clerkauth.ReasonTokenMissing, "")
		out = append(out, soakCase{"malformed header", "Bearer", http.StatusBadRequest, clerkauth.ReasonInvalidRequest, ""})
	}
	return out
}

// garbageToken is three base64url segments of random bytes.
func garbageToken(seed int) string {
	r := rand.New(rand.NewPCG(uint64(seed), 1))
	seg := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return seg(30) + "." + seg(120) + "." + seg(256)
}

// soakResult counts the answers of a run.
type soakResult struct {
	requests, wrong atomic.Int64
	mu              sync.Mutex
	samples         []string // the first wrong answers
}

func (r *soakResult) miss(format string, args ...any) {
	r.wrong.Add(1)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.samples) < 10 {
		r.samples = append(r.samples, fmt.Sprintf(format, args...))
	}
}

// check sends c once and records whether the answer was the expected one.
func (r *soakResult) check(client *http.Client, url string, c soakCase) {
	r.requests.Add(1)
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		r.miss("%s: %v", c.kind, err)
		return
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		r.miss("%s: %v", c.kind, err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	reason := clerkauth.Reason(resp.Header.Get("X-Clerk-Auth-Reason"))
	switch {
	case err != nil:
		r.miss("%s: reading body: %v", c.kind, err)
	case resp.StatusCode != c.status || reason != c.reason:
		r.miss("%s: got %d %q, want %d %q", c.kind, resp.StatusCode, reason, c.status, c.reason)
	case c.status == http.StatusOK && string(body) != c.sid:
		r.miss("%s: answered as session %q, want %q", c.kind, body, c.sid)
	}
}

// run sends the cases from soakWorkers workers, each starting at its own
// offset in the mix, until d has passed.
func (r *soakResult) run(client *http.Client, url string, cases []soakCase, d time.Duration) time.Duration {
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range soakWorkers {
		wg.Go(func() {
			for i := w * 7; time.Now().Before(deadline); i++ {
				r.check(client, url, cases[i%len(cases)])
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

type soakUsage struct {
	goroutines int
	heap       uint64
}

func measure() soakUsage {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return soakUsage{goroutines: settledGoroutines(), heap: ms.HeapAlloc}
}

func TestSoakMiddleware(t *testing.T) {
	length := soakLength(t)
	e := newSoakEnv(t)
	cases := e.cases(t)
	tr := &http.Transport{MaxIdleConns: soakWorkers, MaxIdleConnsPerHost: soakWorkers}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}

	// One sequential pass warms caches and checks the mix itself.
	var warm soakResult
	for _, c := range cases {
		warm.check(client, e.ts.URL, c)
	}
	require.Zero(t, warm.wrong.Load(), "warm-up pass: %v", warm.samples)
	tr.CloseIdleConnections()
	before := measure()

	var res soakResult
	elapsed := res.run(client, e.ts.URL, cases, length)

	tr.CloseIdleConnections()
	eventually(t, func() bool { return runtime.NumGoroutine() <= before.goroutines+soakGoroutineSlop },
		"goroutines: %d before the run, %d after", before.goroutines, runtime.NumGoroutine())
	after := measure()
	n := res.requests.Load()
	t.Logf("soak: %s, %d workers, %d requests (%.0f/s), %d wrong answers; goroutines %d → %d; heap %.1f → %.1f MiB; JWKS fetches %d",
		elapsed.Round(time.Millisecond), soakWorkers, n, float64(n)/elapsed.Seconds(), res.wrong.Load(),
		before.goroutines, after.goroutines, mebibytes(before.heap), mebibytes(after.heap),
		e.srv.Requests(clerktest.EndpointJWKS))

	require.Zero(t, res.wrong.Load(), "wrong answers, first ones: %v", res.samples)
	assert.Greater(t, n, int64(len(cases)), "the run sent more than one pass")
	assert.LessOrEqual(t, after.heap, before.heap+soakHeapMargin, "heap growth")
	assert.LessOrEqual(t, after.goroutines, before.goroutines+soakGoroutineSlop, "goroutine growth")
	// Unknown key IDs cause at most one fetch per refresh cooldown.
	maxFetches := 2 + int(elapsed/clerkauth.DefaultJWKSRefreshCooldown) + 1
	assert.LessOrEqual(t, e.srv.Requests(clerktest.EndpointJWKS), maxFetches, "JWKS fetches")
}

func mebibytes(b uint64) float64 { return float64(b) / (1 << 20) }
