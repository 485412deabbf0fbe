package clerkauth

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clerkauth/clerkauth/internal/httpx"
	"github.com/clerkauth/clerkauth/internal/jose"
)

const (
	maxJWKSBody      = 1 << 20
	jwksFetchTimeout = 10 * time.Second
	minMaxAge        = time.Minute
	maxMaxAge        = time.Hour
	firstFailBackoff = time.Second
)

// verifyKey is a public key ready for signature checks.
type verifyKey struct {
	kid string
	alg string // "" when the key does not name one
	pub *rsa.PublicKey
}

// keySnapshot is an immutable generation of fetched keys.
type keySnapshot struct {
	keys       map[string]*verifyKey
	fetchedAt  time.Time
	freshUntil time.Time
	etag       string
}

// fetchCall is one JWKS fetch shared by every caller waiting for it.
type fetchCall struct {
	done chan struct{}
	err  error
}

// remoteKeys is a JWKS key cache for one key source. The hot path (lookup)
// takes no lock: it loads an atomic snapshot. Fetches are shared by all
// concurrent callers, rate-limited, and run on a context of their own so one
// caller's cancellation never cancels the others' fetch.
type remoteKeys struct {
	url        string
	bearer     string
	client     *http.Client
	userAgent  string
	apiVersion string
	ttl        time.Duration
	cooldown   time.Duration
	maxStale   time.Duration
	leeway     time.Duration // clock skew tolerated on the tokens' iat
	timeout    time.Duration // per attempt
	maxRetries int
	now        func() time.Time
	sleep      func(context.Context, time.Duration) error
	logger     *slog.Logger
	obs        *observer // nil when nothing observes

	baseCtx context.Context // cancelled by close; never a caller's context
	cancel  context.CancelFunc
	wg      sync.WaitGroup

	snap atomic.Pointer[keySnapshot]
	// quietUntil (Unix ns) lets the hot path skip the lock while a refresh
	// runs or after one failed: no request contends for mu during an outage.
	quietUntil atomic.Int64

	mu          sync.Mutex
	closed      bool // set by close: no fetch starts after it
	call        *fetchCall
	lastUnknown time.Time // start of the last fetch caused by an unknown kid (JWKSRefreshCooldown)
	nextAttempt time.Time // earliest fetch after failures
	failures    int
	lastFetch   time.Time
	lastSuccess time.Time
	lastErr     error
	fetches     int64
}

func newRemoteKeys(cfg *Config, url, bearer string) *remoteKeys {
	ctx, cancel := context.WithCancel(context.Background())
	return &remoteKeys{
		url:        url,
		bearer:     bearer,
		client:     cfg.HTTPClient,
		userAgent:  httpx.UserAgent(userAgentProduct, cfg.UserAgent),
		apiVersion: cfg.APIVersion,
		ttl:        cfg.JWKSCacheTTL,
		cooldown:   cfg.JWKSRefreshCooldown,
		maxStale:   cfg.JWKSMaxStaleness,
		leeway:     cfg.Leeway,
		timeout:    cfg.RequestTimeout,
		maxRetries: httpx.Retries(cfg.MaxRetries, DefaultMaxRetries),
		now:        cfg.Now,
		sleep:      httpx.Sleep,
		logger:     cfg.Logger,
		obs:        cfg.obs,
		baseCtx:    ctx,
		cancel:     cancel,
	}
}

// lookup returns the key for kid from the current snapshot, or nil. It
// never blocks; when the snapshot is past its TTL it starts a background
// refresh. A snapshot past the maximum staleness serves nothing.
func (r *remoteKeys) lookup(kid string) *verifyKey {
	s := r.usable(r.now())
	if s == nil {
		return nil
	}
	return s.keys[kid]
}

// current reports whether k is in the current snapshot and that snapshot
// may still serve: a token verified with k may be answered from the cache.
// Like lookup, it starts a background refresh past the TTL.
func (r *remoteKeys) current(k *verifyKey, now time.Time) bool {
	s := r.usable(now)
	return s != nil && k != nil && s.keys[k.kid] == k
}

// usable returns the snapshot if it may serve at now, starting a
// background refresh when it is past its TTL; nil past the maximum
// staleness or before the first fetch.
func (r *remoteKeys) usable(now time.Time) *keySnapshot {
	s := r.snap.Load()
	if s == nil {
		return nil
	}
	if now.After(s.freshUntil) {
		if now.Sub(s.freshUntil) > r.maxStale {
			return nil
		}
		r.refreshInBackground()
	}
	return s
}

// servable reports whether the current snapshot may still verify tokens.
func (r *remoteKeys) servable() bool {
	s := r.snap.Load()
	return s != nil && r.now().Sub(s.freshUntil) <= r.maxStale
}

func (r *remoteKeys) refreshInBackground() {
	if r.now().UnixNano() < r.quietUntil.Load() {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.call == nil && !r.now().Before(r.nextAttempt) {
		r.startFetchLocked()
	}
}

// resolve finds the key for a kid that lookup did not have, for a token
// whose (unverified, but otherwise valid) claims say it was issued at
// issued. The rule, documented at Config.JWKSRefreshCooldown:
//
//   - a key set fetched at least one leeway after the token was issued is
//     authoritative: a kid absent from it was not the instance's, and the
//     answer is jwk-kid-mismatch, with no fetch;
//   - otherwise the kid may be a rotation newer than the set: one shared
//     fetch decides, at most one per cooldown; during the cooldown the
//     answer is undecided (jwk-refresh-cooling-down, 503 with Retry-After).
//
// So a forged kid, whatever its iat, can cost at most one fetch per
// cooldown and never makes a genuine new kid answer 401.
func (r *remoteKeys) resolve(ctx context.Context, kid string, issued time.Time) (*verifyKey, error) {
	k, call, err := r.fetchFor(kid, issued)
	if k != nil || err != nil {
		return k, err
	}
	if err := r.wait(ctx, call); err != nil {
		return nil, err
	}
	if k := r.lookup(kid); k != nil {
		return k, nil
	}
	return nil, errKidMismatch()
}

// fetchFor decides whether a token issued at issued, whose kid the held
// keys lacked when the caller looked, may cause a fetch, and returns the
// fetch to wait for, or the key when a fetch that ended since the caller
// looked brought it (checked under the lock, so a caller that lost the
// race with the fetch it would have shared starts no second one).
func (r *remoteKeys) fetchFor(kid string, issued time.Time) (*verifyKey, *fetchCall, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	s := r.snap.Load()
	servable := s != nil && now.Sub(s.freshUntil) <= r.maxStale
	if servable {
		if k := s.keys[kid]; k != nil {
			return k, nil, nil
		}
	}
	if servable && r.fetchedAfter(s, issued) {
		return nil, nil, errKidMismatch()
	}
	if r.call != nil {
		return nil, r.call, nil
	}
	if now.Before(r.nextAttempt) {
		return nil, nil, r.unavailableLocked()
	}
	if servable {
		if wait := r.lastUnknown.Add(r.cooldown).Sub(now); wait > 0 {
			return nil, nil, errCoolingDown(wait)
		}
		r.lastUnknown = now
	}
	return nil, r.startFetchLocked(), nil
}

// fetchedAfter reports whether s was fetched after a token issued at
// issued (by the issuer's clock, which may run one leeway ahead or
// behind): a kid s lacks cannot be a key the instance signed it with.
func (r *remoteKeys) fetchedAfter(s *keySnapshot, issued time.Time) bool {
	return !issued.IsZero() && !s.fetchedAt.Before(issued.Add(r.leeway))
}

func (r *remoteKeys) unavailableLocked() error {
	if r.lastErr != nil && errors.Is(r.lastErr, ErrKeysUnavailable) {
		return r.lastErr
	}
	return verrWrap(ReasonJWKRemoteFailedToLoad, "signing keys could not be loaded", r.lastErr)
}

func (r *remoteKeys) wait(ctx context.Context, c *fetchCall) error {
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		return verrWrap(ReasonJWKRemoteFailedToLoad, "gave up waiting for signing keys", ctx.Err())
	}
}

// refresh fetches now, bypassing the rate limits, and waits (Warm).
func (r *remoteKeys) refresh(ctx context.Context) error {
	r.mu.Lock()
	c := r.call
	if c == nil {
		c = r.startFetchLocked()
	}
	r.mu.Unlock()
	return r.wait(ctx, c)
}

// startFetchLocked starts a shared fetch, or returns one already failed
// when the cache is closed: wg.Add must never race with close's Wait.
func (r *remoteKeys) startFetchLocked() *fetchCall {
	c := &fetchCall{done: make(chan struct{})}
	if r.closed {
		c.err = verr(ReasonJWKRemoteFailedToLoad, "verifier closed")
		close(c.done)
		return c
	}
	r.call = c
	r.quietUntil.Store(r.now().Add(jwksFetchTimeout).UnixNano())
	r.wg.Add(1)
	go r.runFetch(c)
	return c
}

func (r *remoteKeys) runFetch(c *fetchCall) {
	defer r.wg.Done()
	ctx, cancel := context.WithTimeout(r.baseCtx, jwksFetchTimeout)
	ctx, trace := r.traceFetch(ctx) // observe_points.go
	snap, err := r.fetchWithRetry(ctx)
	cancel()
	r.mu.Lock()
	c.err = r.applyLocked(snap, err)
	r.call = nil
	r.mu.Unlock()
	r.fetchDone(ctx, trace, c.err)
	close(c.done)
}

// applyLocked installs a fetched snapshot, or records a failure while the
// last good keys keep serving.
func (r *remoteKeys) applyLocked(s *keySnapshot, err error) error {
	now := r.now()
	r.lastFetch = now
	r.fetches++
	if err != nil {
		r.lastErr = err
		r.failures++
		r.nextAttempt = now.Add(failBackoff(r.failures, r.cooldown))
		r.quietUntil.Store(r.nextAttempt.UnixNano())
		return err
	}
	r.lastErr, r.failures, r.nextAttempt = nil, 0, time.Time{}
	r.quietUntil.Store(0)
	r.lastSuccess = now
	r.snap.Store(s)
	return nil
}

// failBackoff is the pause after n consecutive failed fetches: 1 s
// doubling up to limit.
func failBackoff(n int, limit time.Duration) time.Duration {
	d := firstFailBackoff << min(n-1, 16)
	return min(d, max(limit, firstFailBackoff))
}

func (r *remoteKeys) fetchWithRetry(ctx context.Context) (*keySnapshot, error) {
	var err error
	for attempt := 0; ; attempt++ {
		var s *keySnapshot
		var retry bool
		s, retry, err = r.fetchOnce(ctx)
		if err == nil || !retry || attempt >= r.maxRetries {
			return s, err
		}
		if r.sleep(ctx, httpx.Backoff(attempt, httpx.RandomJitter)) != nil {
			return nil, err
		}
	}
}

// fetchOnce makes one request. It reports whether a failure may be retried.
func (r *remoteKeys) fetchOnce(ctx context.Context) (*keySnapshot, bool, error) {
	actx, cancel := httpx.WithDeadline(ctx, r.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, false, verrWrap(ReasonJWKRemoteFailedToLoad, "bad JWKS URL", err)
	}
	r.setHeaders(req)
	resp, err := r.send(req) // r.client.Do, reported
	if err != nil {
		return nil, ctx.Err() == nil, verrWrap(ReasonJWKRemoteFailedToLoad, "JWKS request failed", httpx.RedactError(err, r.bearer))
	}
	defer httpx.DrainAndClose(resp.Body)
	return r.handleResponse(resp)
}

func (r *remoteKeys) setHeaders(req *http.Request) {
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", r.userAgent)
	if r.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+r.bearer)
		req.Header.Set("Clerk-API-Version", r.apiVersion)
	}
	if s := r.snap.Load(); s != nil && s.etag != "" {
		req.Header.Set("If-None-Match", s.etag)
	}
}

func (r *remoteKeys) handleResponse(resp *http.Response) (*keySnapshot, bool, error) {
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return r.revalidated(resp)
	case resp.StatusCode == http.StatusUnauthorized, resp.StatusCode == http.StatusForbidden:
		return nil, false, verr(ReasonSecretKeyInvalid,
			fmt.Sprintf("JWKS endpoint answered %d: check the secret key", resp.StatusCode))
	case resp.StatusCode != http.StatusOK:
		retry := resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
		return nil, retry, verr(ReasonJWKRemoteFailedToLoad,
			fmt.Sprintf("JWKS endpoint answered %d", resp.StatusCode))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBody+1))
	if err != nil {
		return nil, true, verrWrap(ReasonJWKRemoteFailedToLoad, "reading JWKS body", err)
	}
	if len(body) > maxJWKSBody {
		return nil, false, verr(ReasonJWKRemoteFailedToLoad, "JWKS body exceeds 1 MiB")
	}
	s, err := r.snapshotOf(body)
	if err != nil {
		return nil, false, err
	}
	s.etag = resp.Header.Get("ETag")
	s.freshUntil = s.fetchedAt.Add(r.freshness(resp.Header))
	return s, false, nil
}

func (r *remoteKeys) revalidated(resp *http.Response) (*keySnapshot, bool, error) {
	old := r.snap.Load()
	if old == nil {
		return nil, true, verr(ReasonJWKRemoteFailedToLoad, "JWKS endpoint answered 304 with no cached keys")
	}
	now := r.now()
	s := &keySnapshot{keys: old.keys, etag: old.etag, fetchedAt: now}
	s.freshUntil = now.Add(r.freshness(resp.Header))
	return s, false, nil
}

func (r *remoteKeys) snapshotOf(body []byte) (*keySnapshot, error) {
	keys, skipped, err := jose.ParseJWKS(body)
	if err != nil {
		return nil, verrWrap(ReasonJWKRemoteFailedToLoad, "malformed JWKS", err)
	}
	if len(keys) == 0 {
		return nil, verr(ReasonJWKRemoteFailedToLoad,
			fmt.Sprintf("JWKS holds no usable signing key (%d skipped)", len(skipped)))
	}
	if len(skipped) > 0 && r.logger != nil {
		r.logger.Info("clerkauth: skipped unusable JWKS keys", "url", r.url, "skipped", len(skipped))
	}
	s := &keySnapshot{keys: make(map[string]*verifyKey, len(keys)), fetchedAt: r.now()}
	old := r.snap.Load()
	for _, k := range keys {
		s.keys[k.KID] = sameKeyOr(old, &verifyKey{kid: k.KID, alg: k.Alg, pub: k.Key})
	}
	return s, nil
}

// sameKeyOr returns old's key for k's kid when it is the same key (same
// alg and public key), else k. Keeping a key's identity across fetches
// keeps the tokens it verified answered from the token cache.
func sameKeyOr(old *keySnapshot, k *verifyKey) *verifyKey {
	if old == nil {
		return k
	}
	if prev, ok := old.keys[k.kid]; ok && prev.alg == k.alg && prev.pub.Equal(k.pub) {
		return prev
	}
	return k
}

// freshness is the TTL for a response: its Cache-Control max-age clamped to
// [1 min, 1 h] when present, else the configured TTL.
func (r *remoteKeys) freshness(h http.Header) time.Duration {
	for _, directive := range strings.Split(h.Get("Cache-Control"), ",") {
		v, ok := strings.CutPrefix(strings.TrimSpace(strings.ToLower(directive)), "max-age=")
		if !ok {
			continue
		}
		if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
			return min(max(time.Duration(secs)*time.Second, minMaxAge), maxMaxAge)
		}
	}
	return r.ttl
}

// status reports the cache's health.
func (r *remoteKeys) status() KeyStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := KeyStatus{
		Source:      r.url,
		LastFetch:   r.lastFetch,
		LastSuccess: r.lastSuccess,
		Fetches:     r.fetches,
	}
	if r.lastErr != nil {
		st.LastError = r.lastErr.Error()
	}
	if s := r.snap.Load(); s != nil {
		st.Keys = len(s.keys)
		st.FreshUntil = s.freshUntil
		if over := r.now().Sub(s.freshUntil); over > 0 {
			st.Staleness = over
		}
	}
	st.Ready = r.servable()
	return st
}

// close stops the fetch in flight and waits for it. No fetch starts after
// it: the flag is set under mu, where every fetch starts.
func (r *remoteKeys) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
}

// KeyStatus describes a Verifier's signing keys, for readiness probes and
// dashboards.
type KeyStatus struct {
	// Source is the JWKS URL, or "pem" for a static key only.
	Source string `json:"source"`
	// Ready reports that tokens can be verified now.
	Ready bool `json:"ready"`
	// Keys is the number of usable keys held.
	Keys int `json:"keys"`
	// Fetches counts JWKS requests made (retries within one fetch count once).
	Fetches int64 `json:"fetches"`
	// LastFetch and LastSuccess are the times of the last fetch attempt and
	// of the last successful one.
	LastFetch   time.Time `json:"last_fetch,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastError is the error of the last fetch, "" when it succeeded.
	LastError string `json:"last_error,omitempty"`
	// FreshUntil is when the held keys are due for a refresh.
	FreshUntil time.Time `json:"fresh_until,omitzero"`
	// Staleness is how long the held keys have been past FreshUntil.
	Staleness time.Duration `json:"staleness"`
}

func errKidMismatch() error {
	return verr(ReasonJWKKidMismatch, "no signing key matches the token's kid")
}

// errCoolingDown says a kid unknown to a key set older than the token
// cannot be looked up before wait: undecided, not the token's fault.
func errCoolingDown(wait time.Duration) error {
	e := verr(ReasonJWKRefreshCoolingDown, "the token's kid may be newer than the signing keys held; they are refreshed at most once per cooldown")
	e.retryAfter = wait
	return e
}
