package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clerkauth/clerkauth"
)

// StormOptions shapes an unknown-kid storm. Every count and the duration
// bound the run: it stops by itself.
type StormOptions struct {
	// Valid are genuine tokens, cycled by the valid traffic.
	Valid []string
	// ValidRequests is the number of valid requests in each phase (quiet,
	// then storm); ValidWorkers send them concurrently.
	ValidRequests int
	ValidWorkers  int
	// Forged is the number of forged requests, each with a random kid,
	// sent by StormWorkers during the storm phase.
	Forged       int
	StormWorkers int
	// ValidRate and ForgedRate pace the traffic, in requests per second
	// over all workers (0: as fast as possible). Pacing below what the
	// cores can do keeps the figure about blocking (locks, fetches) rather
	// than about two loops competing for two cores.
	ValidRate, ForgedRate float64
	// MaxDuration bounds each phase.
	MaxDuration time.Duration
	// CacheSize is the verifier's token cache size (-1: none, so every
	// valid request checks a signature).
	CacheSize int
	// Cooldown is the verifier's JWKSRefreshCooldown (0: the default).
	Cooldown time.Duration
	// Now is the verifier's clock (nil: time.Now). A fixed clock makes the
	// fetch count exact: the whole storm then falls in one cooldown window.
	Now func() time.Time
}

// Latency summarises request latencies.
type Latency struct {
	N             int
	P50, P99, Max time.Duration
}

// StormResult is what a storm did to the verifier and its key server.
type StormResult struct {
	Quiet, Storm   Latency
	ValidErrors    int           // valid requests rejected (should be 0)
	ForgedSent     int           // forged requests sent
	ForgedAccepted int           // forged requests accepted (must be 0)
	StormFetches   int64         // JWKS fetches during the storm phase
	StormElapsed   time.Duration // wall time of the storm phase
	Cooldown       time.Duration
	// AllowedFetches is one per cooldown window the storm spanned.
	AllowedFetches int64
}

// RunStorm measures valid traffic alone, then the same valid traffic while
// forged tokens with random kids flood the verifier, counting the fetches
// they cause on a loopback key server of its own.
func RunStorm(ctx context.Context, f *Fixture, opt StormOptions) (StormResult, error) {
	srv := NewJWKSServer(f.JWKS)
	defer srv.Close()
	cfg := ClerkauthConfig(srv, opt.CacheSize, opt.Now)
	cfg.JWKSRefreshCooldown = opt.Cooldown
	v, err := NewClerkauth(ctx, cfg)
	if err != nil {
		return StormResult{}, err
	}
	defer v.Close()
	forged, err := forgeTokens(f, opt.Forged)
	if err != nil {
		return StormResult{}, err
	}
	res := StormResult{Cooldown: clerkauth.DefaultJWKSRefreshCooldown}
	if opt.Cooldown > 0 {
		res.Cooldown = opt.Cooldown
	}
	quiet, errs := validTraffic(ctx, v, opt)
	res.Quiet, res.ValidErrors = quiet, errs
	before := srv.Fetches()
	start := time.Now()
	deadline := start.Add(opt.MaxDuration)
	var sent, accepted atomic.Int64
	var wg sync.WaitGroup
	for w := range opt.StormWorkers {
		p := newPacer(start, opt.ForgedRate, opt.StormWorkers, w)
		wg.Go(func() { flood(ctx, v, forged, w, opt.StormWorkers, deadline, p, &sent, &accepted) })
	}
	stormed, errs := validTraffic(ctx, v, opt)
	wg.Wait()
	res.StormElapsed = time.Since(start)
	res.Storm, res.ValidErrors = stormed, res.ValidErrors+errs
	res.StormFetches = srv.Fetches() - before
	res.ForgedSent, res.ForgedAccepted = int(sent.Load()), int(accepted.Load())
	res.AllowedFetches = int64(res.StormElapsed/res.Cooldown) + 1
	if opt.Now != nil {
		res.AllowedFetches = 1 // the clock stands still: one window
	}
	return res, nil
}

func forgeTokens(f *Fixture, n int) ([]string, error) {
	out := make([]string, n)
	var kid [12]byte
	for i := range out {
		_, _ = rand.Read(kid[:])
		tok, err := f.Forge("ins_" + hex.EncodeToString(kid[:]))
		if err != nil {
			return nil, err
		}
		out[i] = tok
	}
	return out, nil
}

// flood sends this worker's share of the forged tokens until they run out
// or the deadline passes.
func flood(ctx context.Context, v *clerkauth.Verifier, forged []string, w, workers int,
	deadline time.Time, p pacer, sent, accepted *atomic.Int64) {
	for i := w; i < len(forged) && time.Now().Before(deadline); i += workers {
		p.wait(i / workers)
		// Refused (401) or undecided (503 while the unknown-kid refresh cools
		// down) are both not accepted; only a verified token is.
		if _, err := v.Verify(ctx, forged[i]); err == nil {
			accepted.Add(1)
		}
		sent.Add(1)
	}
}

// validTraffic sends opt.ValidRequests valid requests on opt.ValidWorkers
// workers, bounded by opt.MaxDuration.
func validTraffic(ctx context.Context, v *clerkauth.Verifier, opt StormOptions) (Latency, int) {
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
				tok := opt.Valid[(w*per+i)%len(opt.Valid)]
				t0 := time.Now()
				_, err := v.Verify(ctx, tok)
				lat[w] = append(lat[w], time.Since(t0))
				if err != nil {
					errs.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return summarize(slices.Concat(lat...)), int(errs.Load())
}

func summarize(d []time.Duration) Latency {
	if len(d) == 0 {
		return Latency{}
	}
	slices.Sort(d)
	at := func(p float64) time.Duration { return d[min(int(p*float64(len(d))), len(d)-1)] }
	return Latency{N: len(d), P50: at(0.50), P99: at(0.99), Max: d[len(d)-1]}
}

// String formats the latency summary.
func (l Latency) String() string {
	return fmt.Sprintf("n=%d p50=%v p99=%v max=%v", l.N, l.P50, l.P99, l.Max)
}

// pacer spaces one worker's requests so that all workers together send
// rate requests per second, worker w offset by its share of a period.
type pacer struct {
	start  time.Time
	period time.Duration // between two requests of one worker; 0: no pacing
}

func newPacer(start time.Time, rate float64, workers, w int) pacer {
	if rate <= 0 {
		return pacer{}
	}
	period := time.Duration(float64(workers) / rate * float64(time.Second))
	return pacer{start: start.Add(period * time.Duration(w) / time.Duration(workers)), period: period}
}

// wait sleeps until the worker's i-th request is due.
func (p pacer) wait(i int) {
	if p.period == 0 {
		return
	}
	if d := time.Until(p.start.Add(time.Duration(i) * p.period)); d > 0 {
		time.Sleep(d)
	}
}
