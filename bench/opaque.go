package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// okHandler answers 200: the protected handler of the scenarios.
var okHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusOK)
})

// serve sends one GET with token as a bearer through h and returns the
// status.
func serve(h http.Handler, token string) int {
	req := httptest.NewRequest(http.MethodGet, "/private", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code
}

// ShareResult is what n concurrent requests with one new opaque token cost
// in Backend API verify calls, counted by the instance.
type ShareResult struct {
	Kind     clerkauth.TokenKind
	Requests int // concurrent requests in each burst
	OK       int // requests answered 200, over both bursts
	// First is the calls of the first burst; AfterTTL the calls of a second
	// burst once MachineTokenCacheTTL has passed.
	First, AfterTTL int
	// SDK is the calls clerk-sdk-go's m2m_token Verify makes for the same
	// burst (M2M tokens only; -1 otherwise).
	SDK int
}

// shareDelay holds every verify answer back, so that the requests of a
// burst arrive while the first one's call is in flight.
const shareDelay = 100 * time.Millisecond

// RunShare sends n concurrent requests with one new opaque token of kind
// (API key or M2M) through clerkauth's middleware, then n more once the
// cache TTL has passed on the instance's clock (which the Verifier reads),
// and counts the verify calls the instance receives; for M2M tokens it then
// sends the same burst through clerk-sdk-go. Every request either joins the
// call in flight or finds its answer cached, so the count does not depend
// on scheduling.
func RunShare(ctx context.Context, e *MachineEnv, kind clerkauth.TokenKind, n int) (ShareResult, error) {
	res := ShareResult{Kind: kind, Requests: n, SDK: -1}
	token, err := e.newToken(kind)
	if err != nil {
		return res, err
	}
	cfg := e.Config(0)
	cfg.Now = e.Clerk.Clock().Now
	v, err := NewClerkauth(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer v.Close()
	h, done, err := Guard(v, okHandler, kind)
	if err != nil {
		return res, err
	}
	defer done()
	e.Clerk.SetFault(clerktest.EndpointMachineVerify, clerktest.Fault{Delay: shareDelay})
	defer e.Clerk.ClearFaults()
	burst := func(f func() bool) int {
		before := e.Clerk.Requests(clerktest.EndpointMachineVerify)
		var wg sync.WaitGroup
		var ok atomic.Int64
		for range n {
			wg.Go(func() {
				if f() {
					ok.Add(1)
				}
			})
		}
		wg.Wait()
		res.OK += int(ok.Load())
		return e.Clerk.Requests(clerktest.EndpointMachineVerify) - before
	}
	viaMiddleware := func() bool { return serve(h, token) == http.StatusOK }
	res.First = burst(viaMiddleware)
	e.Clerk.Clock().Advance(clerkauth.DefaultMachineTokenCacheTTL)
	res.AfterTTL = burst(viaMiddleware)
	if kind == clerkauth.TokenKindM2M {
		sdk := e.ClerkSDKM2M()
		res.SDK = burst(func() bool { return VerifySDKM2M(ctx, sdk, token) == nil })
		res.OK -= n // the SDK's successes are not the middleware's
	}
	return res, nil
}

// newToken creates a new opaque token of kind.
func (e *MachineEnv) newToken(kind clerkauth.TokenKind) (string, error) {
	switch kind {
	case clerkauth.TokenKindAPIKey:
		return e.NewAPIKey()
	case clerkauth.TokenKindM2M:
		t, err := e.Clerk.CreateM2MToken(e.Caller.ID, clerktest.M2MTokenParams{Lifetime: TokenLifetime})
		if err != nil {
			return "", fmt.Errorf("bench: opaque M2M token: %w", err)
		}
		return t.Token, nil
	}
	return "", fmt.Errorf("bench: no opaque token of kind %q", kind)
}

// The budget of verify calls the README documents for a development
// secret key (sk_test_) when MachineVerifyRate and MachineVerifyBurst are
// left zero, as the flood leaves them: the flood checks the promise, not
// the code's constants.
const (
	DocumentedTestRate  = 5.0
	DocumentedTestBurst = 20
)

// FloodOptions shapes a flood of random opaque tokens. Every count and the
// duration bound the run.
type FloodOptions struct {
	// ValidKeys is the number of genuine API keys the valid traffic cycles
	// through, each confirmed (cached) before the run.
	ValidKeys int
	// ValidRequests is the number of valid requests in each phase (quiet,
	// then flood), sent by ValidWorkers at ValidRate per second in all.
	ValidRequests int
	ValidWorkers  int
	ValidRate     float64
	// Random is the number of distinct random ak_… strings sent by
	// FloodWorkers at FloodRate per second in all during the flood phase.
	Random       int
	FloodWorkers int
	// Control, when set, floods with the valid keys themselves instead of
	// random ones: the same request rate, every request answered from the
	// cache. It tells the cost of the load itself from that of random keys.
	Control   bool
	FloodRate float64
	// MaxDuration bounds each phase.
	MaxDuration time.Duration
	// CacheTTL is the Verifier's MachineTokenCacheTTL (0: the default).
	CacheTTL time.Duration
}

// FloodResult is what a flood of random API keys did.
type FloodResult struct {
	Quiet, Flood Latency // valid requests' latency, alone and during the flood
	ValidErrors  int     // valid requests not answered 200 (should be 0)
	Sent         int     // random keys sent
	Accepted     int     // answered 200 (must be 0)
	Refused      int     // answered 401: the instance was asked and said no
	Unavailable  int     // answered 503: no call made, budget spent
	// Calls is the verify calls the instance received from the Verifier's
	// creation to the end of the flood, Elapsed that time, and Allowed the
	// documented bound MachineVerifyBurst + MachineVerifyRate × Elapsed.
	Calls, FloodCalls int
	Elapsed           time.Duration
	Allowed           int
	Rate              float64
	Burst             int
}

// RunOpaqueFlood measures valid API-key traffic (cached keys) through the
// middleware alone, then while distinct random ak_… strings flood the same
// middleware, and counts the verify calls the instance receives against
// the Verifier's budget (default for an sk_test_ key: 5/s, burst 20).
func RunOpaqueFlood(ctx context.Context, e *MachineEnv, opt FloodOptions) (FloodResult, error) {
	var res FloodResult
	valid := make([]string, opt.ValidKeys)
	for i := range valid {
		k, err := e.NewAPIKey()
		if err != nil {
			return res, err
		}
		valid[i] = k
	}
	random := randomAPIKeys(opt.Random)
	if opt.Control {
		for i := range random {
			random[i] = valid[i%len(valid)]
		}
	}
	cfg := e.Config(0)
	cfg.MachineTokenCacheTTL = opt.CacheTTL
	res.Rate, res.Burst = DocumentedTestRate, DocumentedTestBurst // cfg leaves them to the defaults
	start := time.Now()
	before := e.Clerk.Requests(clerktest.EndpointAPIKeyVerify)
	v, err := NewClerkauth(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer v.Close()
	h, done, err := Guard(v, okHandler, clerkauth.TokenKindAPIKey)
	if err != nil {
		return res, err
	}
	defer done()
	for _, k := range valid { // confirmed once: the valid traffic is cached
		if code := confirmWithinBudget(h, k); code != http.StatusOK {
			return res, fmt.Errorf("bench: a valid API key got %d before the flood", code)
		}
	}
	res.Quiet, res.ValidErrors = apiKeyTraffic(h, valid, opt)
	floodStart := e.Clerk.Requests(clerktest.EndpointAPIKeyVerify)
	var codes [600]atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	deadline := t0.Add(opt.MaxDuration)
	for w := range opt.FloodWorkers {
		p := newPacer(t0, opt.FloodRate, opt.FloodWorkers, w)
		wg.Go(func() {
			for i := w; i < len(random) && time.Now().Before(deadline); i += opt.FloodWorkers {
				p.wait(i / opt.FloodWorkers)
				codes[min(serve(h, random[i]), len(codes)-1)].Add(1)
			}
		})
	}
	flooded, errs := apiKeyTraffic(h, valid, opt)
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Flood, res.ValidErrors = flooded, res.ValidErrors+errs
	after := e.Clerk.Requests(clerktest.EndpointAPIKeyVerify)
	res.Calls, res.FloodCalls = after-before, after-floodStart
	res.Allowed = res.Burst + int(res.Rate*res.Elapsed.Seconds())
	for code := range codes {
		n := int(codes[code].Load())
		res.Sent += n
		switch code {
		case http.StatusOK:
			res.Accepted += n
		case http.StatusUnauthorized:
			res.Refused += n
		case http.StatusServiceUnavailable:
			res.Unavailable += n
		}
	}
	return res, nil
}

// randomAPIKeys returns n distinct random strings of an API key's shape.
func randomAPIKeys(n int) []string {
	out := make([]string, n)
	b := make([]byte, 24)
	for i := range out {
		_, _ = rand.Read(b)
		out[i] = "ak_" + hex.EncodeToString(b)
	}
	return out
}

// apiKeyTraffic sends opt.ValidRequests requests with the valid keys on
// opt.ValidWorkers workers, bounded by opt.MaxDuration, and returns their
// latency and the number not answered 200.
func apiKeyTraffic(h http.Handler, keys []string, opt FloodOptions) (Latency, int) {
	start := time.Now()
	deadline := start.Add(opt.MaxDuration)
	per := opt.ValidRequests / opt.ValidWorkers
	lat := make([][]time.Duration, opt.ValidWorkers)
	var errs atomic.Int64
	var wg sync.WaitGroup
	for w := range opt.ValidWorkers {
		p := newPacer(start, opt.ValidRate, opt.ValidWorkers, w)
		wg.Go(func() {
			lat[w] = make([]time.Duration, 0, per)
			for i := 0; i < per && time.Now().Before(deadline); i++ {
				p.wait(i)
				t0 := time.Now()
				code := serve(h, keys[(w*per+i)%len(keys)])
				lat[w] = append(lat[w], time.Since(t0))
				if code != http.StatusOK {
					errs.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return summarize(slices.Concat(lat...)), int(errs.Load())
}

// confirmWithinBudget serves one request with a new valid key, waiting
// for the verify budget when it is spent: new tokens may only take the
// part of the budget above the reserve kept for confirmed ones (a quarter
// of the burst), so more than burst − burst/4 new keys at once wait for
// the refill (5/s by default), as a real service's new callers would.
func confirmWithinBudget(h http.Handler, key string) int {
	code := serve(h, key)
	for try := 0; code == http.StatusServiceUnavailable && try < 40; try++ {
		time.Sleep(250 * time.Millisecond)
		code = serve(h, key)
	}
	return code
}
