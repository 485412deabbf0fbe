package clerkauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/clerkauth/clerkauth/internal/budget"
	"github.com/clerkauth/clerkauth/internal/httpx"
)

// This file verifies opaque machine tokens (mt_…, oat_…, ak_…) through
// the Backend API's verify endpoints, and bounds what that costs:
//
//   - a confirmed token is remembered (in process, then in the optional
//     MachineTokenCache) for min(MachineTokenCacheTTL, its expiration),
//     keyed by a keyed hash of the token;
//   - a token Clerk refused is remembered for negativeTTL, which absorbs
//     the repetition of a guessed token;
//   - concurrent requests with the same token make one call (flightGroup);
//   - every call spends a token of a bucket (MachineVerifyRate,
//     MachineVerifyBurst): the calls are bounded whatever callers send;
//   - the last quarter of that bucket is kept for tokens Clerk confirmed
//     before (renewals once the cache entry expired): a flood of unknown
//     tokens spends at most the rest, so callers Clerk already knows keep
//     being verified during it;
//   - at most maxVerifyInFlight calls run at once;
//   - a 429 stops all calls for its Retry-After, and a circuit breaker
//     stops them after consecutive failures.
//
// A call that cannot be made is answered 503 with Retry-After, never 401:
// the token was not judged.

const (
	// negativeTTL is how long a token Clerk refused is refused without
	// asking again.
	negativeTTL = 10 * time.Second
	// machineCacheSize bounds the in-process caches of opaque tokens, the
	// confirmed and the refused: about 1 KiB per entry at most.
	machineCacheSize = 10000
	// maxVerifyInFlight bounds the verify calls running at once.
	maxVerifyInFlight = 16
	// machineVerifyTimeout bounds one verify call, or Config.RequestTimeout
	// when shorter.
	machineVerifyTimeout = 5 * time.Second
	// maxVerifyBody bounds the answer read from a verify endpoint.
	maxVerifyBody = 64 << 10
	// verifyBreakerThreshold and verifyBreakerCoolOff tune the breaker.
	verifyBreakerThreshold = 5
	verifyBreakerCoolOff   = 10 * time.Second
	// maxRateLimitWait caps the pause after a 429.
	maxRateLimitWait = time.Minute
	// knownTokenWindow is how long a token Clerk confirmed keeps its
	// priority on the verify budget without being confirmed again (at most
	// until it expires).
	knownTokenWindow = 24 * time.Hour
)

// reserveOf is the part of a verify budget of burst kept for known tokens:
// a quarter, at least one, but never the whole burst: with a burst of 1 an
// unknown token could otherwise never be confirmed.
func reserveOf(burst int) int { return max(min(max(burst/4, 1), burst-1), 0) }

// opaqueEndpoint is how one kind is verified.
type opaqueEndpoint struct {
	path      string // below the API base URL
	field     string // body member holding the token
	object    string // the object a valid answer describes
	subjects  []string
	unitMilli bool // timestamps in ms (else seconds)
}

func endpointOf(kind TokenKind) opaqueEndpoint {
	switch kind {
	case TokenKindM2M:
		return opaqueEndpoint{"/m2m_tokens/verify", "token", "machine_to_machine_token", []string{prefixMachineID}, true}
	case TokenKindOAuth:
		return opaqueEndpoint{"/oauth_applications/access_tokens/verify", "access_token", "clerk_idp_oauth_access_token", []string{"user_"}, false}
	}
	return opaqueEndpoint{"/api_keys/verify", "secret", "api_key", []string{"user_", "org_", prefixMachineID}, true}
}

// opaqueVerifier verifies opaque machine tokens. It is safe for concurrent
// use.
type opaqueVerifier struct {
	baseURL    string
	secretKey  string
	machineKey string
	apiVersion string
	userAgent  string
	client     *http.Client
	now        func() time.Time
	leeway     time.Duration
	logger     *slog.Logger
	timeout    time.Duration // of one verify call

	ttl     time.Duration // <= 0: no positive cache
	hasher  tokenHasher
	local   *lru.Cache[[sha256.Size]byte, confirmedToken]
	shared  MachineTokenCache // nil for none
	refused *lru.Cache[[sha256.Size]byte, time.Time]
	known   *lru.Cache[[sha256.Size]byte, time.Time] // confirmed before: priority until the time

	scope   *flightScope
	flight  *flightGroup[*MachineToken]
	bucket  *budget.Bucket
	reserve int // tokens of bucket only known tokens may take
	slots   chan struct{}
	breaker *breaker
	obs     *observer // nil when nothing observes
	fleet   *fleet    // machine_fleet.go

	blockedUntil atomic.Int64 // Unix ns: no call before (after a 429)
	keyRefused   atomic.Bool  // the last answer refused our key
	calls        atomic.Int64 // calls made, for tests
}

// confirmedToken is a token Clerk confirmed, trusted until until.
type confirmedToken struct {
	mt    *MachineToken
	until time.Time
}

func newOpaqueVerifier(cfg *Config) *opaqueVerifier {
	local, _ := lru.New[[sha256.Size]byte, confirmedToken](machineCacheSize)
	refused, _ := lru.New[[sha256.Size]byte, time.Time](machineCacheSize)
	known, _ := lru.New[[sha256.Size]byte, time.Time](machineCacheSize)
	scope := newFlightScope()
	o := &opaqueVerifier{
		baseURL: strings.TrimRight(cfg.APIURL, "/"), secretKey: cfg.SecretKey, machineKey: cfg.MachineSecretKey,
		apiVersion: cfg.APIVersion, userAgent: httpx.UserAgent(userAgentProduct, cfg.UserAgent),
		client: cfg.HTTPClient, now: cfg.Now, leeway: cfg.Leeway, logger: cfg.Logger,
		timeout: verifyTimeoutOf(cfg.RequestTimeout),
		ttl:     cfg.MachineTokenCacheTTL, hasher: newTokenHasher(hashSecretOf(cfg)),
		local: local, shared: cfg.MachineTokenCache, refused: refused, known: known,
		scope: scope, flight: newFlightGroup[*MachineToken](scope),
		bucket:  budget.New(cfg.MachineVerifyRate, cfg.MachineVerifyBurst, cfg.Now),
		reserve: reserveOf(cfg.MachineVerifyBurst),
		slots:   make(chan struct{}, maxVerifyInFlight),
		breaker: &breaker{threshold: verifyBreakerThreshold, coolOff: verifyBreakerCoolOff, now: cfg.Now},
		obs:     cfg.obs,
	}
	o.fleet = newFleet(o.shared, o.forgetWatched)
	return o
}

func (o *opaqueVerifier) close() {
	o.fleet.stopWatch()
	o.scope.close()
}

// bearerFor returns the key that verifies tokens of kind: the machine
// secret key for M2M tokens when there is one, else the secret key.
func (o *opaqueVerifier) bearerFor(kind TokenKind) (string, error) {
	if kind == TokenKindM2M && o.machineKey != "" {
		return o.machineKey, nil
	}
	if o.secretKey == "" {
		return "", &VerificationError{Reason: ReasonSecretKeyInvalid,
			Message: "no secret key is configured to verify " + string(kind) + " tokens"}
	}
	return o.secretKey, nil
}

// verify returns the token once Clerk confirmed it, from the caches unless
// strict.
func (o *opaqueVerifier) verify(ctx context.Context, token string, kind TokenKind, strict bool) (*MachineToken, error) {
	if len(token) > MaxTokenSize {
		return nil, verr(ReasonTokenInvalid, "token exceeds 16 KiB")
	}
	bearer, err := o.bearerFor(kind)
	if err != nil {
		return nil, err
	}
	key := o.hasher.sum(token)
	now := o.now()
	// A refusal is remembered in process first: repeating a refused token
	// costs no shared-cache read either.
	if until, ok := o.refused.Get(key); ok && now.Before(until) {
		return nil, verr(ReasonTokenInvalid, "Clerk did not confirm the token (remembered)")
	}
	if !strict {
		if mt, ok := o.cached(ctx, key, kind, now); ok {
			return mt, nil
		}
	}
	mt, err := o.flight.do(ctx, string(kind)+string(key[:]), func(ctx context.Context) (*MachineToken, error) {
		return o.confirmShared(ctx, key, token, kind, bearer, strict)
	})
	if errors.Is(err, ErrSessionsUnavailable) { // the flight gave up or the verifier is closed
		return nil, unexpected("gave up waiting for Clerk's verify endpoint", 0, err)
	}
	return mt, err
}

// cached returns a confirmed token still trusted at now, from the local
// cache, else the shared one.
func (o *opaqueVerifier) cached(ctx context.Context, key [sha256.Size]byte, kind TokenKind, now time.Time) (*MachineToken, bool) {
	if o.ttl <= 0 {
		return nil, false
	}
	if e, ok := o.local.Get(key); ok {
		if e.mt.Kind == kind && now.Before(e.until) && !e.mt.expiredAt(now, o.leeway) {
			return e.mt, true
		}
		o.local.Remove(key)
	}
	if o.shared == nil {
		return nil, false
	}
	asked := time.Now()
	b, err := o.shared.Get(ctx, sharedKey(key))
	if err != nil || b == nil || o.noteSharedRefusal(key, b, kind, now) {
		return nil, false
	}
	mt, until, err := decodeShared(b, kind, now)
	if err != nil || mt.expiredAt(now, o.leeway) || o.distrustsShared(key, mt, asked) {
		return nil, false
	}
	o.local.Add(key, confirmedToken{mt: mt, until: minTime(until, now.Add(o.ttl))})
	o.markKnown(key, mt, now) // confirmed by Clerk through another replica
	return mt, true
}

// verifyTimeoutOf bounds one verify call: machineVerifyTimeout, or the
// configured per-request timeout when shorter.
func verifyTimeoutOf(requestTimeout time.Duration) time.Duration {
	if requestTimeout > 0 && requestTimeout < machineVerifyTimeout {
		return requestTimeout
	}
	return machineVerifyTimeout
}

// forget removes token from the caches.
func (o *opaqueVerifier) forget(ctx context.Context, token string) error {
	return o.forgetToken(ctx, o.hasher.sum(token))
}

// confirm asks Clerk about token and remembers the verdict.
func (o *opaqueVerifier) confirm(ctx context.Context, key [sha256.Size]byte, token string, kind TokenKind, bearer string) (*MachineToken, error) {
	release, err := o.admit(o.isKnown(key))
	if err != nil {
		return nil, err
	}
	defer release()
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	o.calls.Add(1)
	mt, err := o.call(ctx, token, kind, bearer)
	o.obs.recordBreaker(ctx, o.breaker, "machine_verify", machineOutcome(err)) // o.breaker.record, reported
	now := o.now()
	switch {
	case err == nil:
		o.remember(ctx, key, mt, now)
		o.markKnown(key, mt, now)
	case errors.Is(err, ErrInvalidToken):
		o.refused.Add(key, now.Add(negativeTTL))
		o.known.Remove(key)
	}
	return mt, err
}

// isKnown reports whether Clerk confirmed the token hashed to key before,
// recently enough for it to keep its priority on the verify budget.
func (o *opaqueVerifier) isKnown(key [sha256.Size]byte) bool {
	until, ok := o.known.Get(key)
	return ok && o.now().Before(until)
}

// markKnown gives a confirmed token priority on the verify budget for
// knownTokenWindow, at most until it expires. Only Clerk's confirmation
// puts a token there, so callers cannot fill it with guesses.
func (o *opaqueVerifier) markKnown(key [sha256.Size]byte, mt *MachineToken, now time.Time) {
	until := now.Add(knownTokenWindow)
	if !mt.Expiration.IsZero() {
		until = minTime(until, mt.Expiration)
	}
	o.known.Add(key, until)
}

// admit decides whether a call may be made now: not during a 429's
// Retry-After, within the budget (an unknown token leaves the reserve to
// known ones), within the calls in flight, with the breaker closed.
// release must be called after the call.
func (o *opaqueVerifier) admit(known bool) (release func(), err error) {
	now := o.now()
	if until := o.blockedUntil.Load(); now.UnixNano() < until {
		return nil, unexpected("Clerk rate limited the verify endpoint", time.Duration(until-now.UnixNano()), nil)
	}
	if !o.allowCall(known) {
		return nil, unexpected("too many machine token verifications: budget spent", o.bucket.Wait(), nil)
	}
	select {
	case o.slots <- struct{}{}:
	default:
		return nil, unexpected("too many machine token verifications in flight", time.Second, nil)
	}
	if !o.breaker.allow() {
		<-o.slots
		return nil, unexpected("Clerk's verify endpoint keeps failing: calls paused", verifyBreakerCoolOff, nil)
	}
	return func() { <-o.slots }, nil
}

// allowCall spends a token of the verify budget: any for a known token,
// only those above the reserve for an unknown one.
func (o *opaqueVerifier) allowCall(known bool) bool {
	if known {
		return o.bucket.Allow()
	}
	return o.bucket.AllowAbove(o.reserve)
}

// machineOutcome classifies a verify call for the breaker: a verdict on
// the token means the endpoint works.
func machineOutcome(err error) callOutcome {
	switch {
	case err == nil:
		return callWorked
	case errors.Is(err, ErrInvalidToken):
		return callAnswered // Clerk refused the token: the API works
	}
	return callFailed
}

// remember caches a confirmed token for min(ttl, its remaining life).
func (o *opaqueVerifier) remember(ctx context.Context, key [sha256.Size]byte, mt *MachineToken, now time.Time) {
	if o.ttl <= 0 {
		return
	}
	until := now.Add(o.ttl)
	if !mt.Expiration.IsZero() {
		until = minTime(until, mt.Expiration)
	}
	if !now.Before(until) {
		return
	}
	o.local.Add(key, confirmedToken{mt: mt, until: until})
	if o.shared != nil {
		if err := o.shared.Set(ctx, sharedKey(key), encodeShared(mt, until), until.Sub(now)); err != nil {
			o.log(slog.LevelDebug, "clerkauth: machine token cache write failed", slog.String("error", err.Error()))
		}
	}
}

// call makes one verify call and judges the answer.
func (o *opaqueVerifier) call(ctx context.Context, token string, kind TokenKind, bearer string) (*MachineToken, error) {
	ep := endpointOf(kind)
	body, _ := json.Marshal(map[string]string{ep.field: token})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.baseURL+ep.path, bytes.NewReader(body))
	if err != nil {
		return nil, unexpected("cannot build the verify request", 0, err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Clerk-API-Version", o.apiVersion)
	req.Header.Set("User-Agent", o.userAgent)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := o.send(req, kind) // o.client.Do, reported
	if err != nil {
		return nil, unexpected("Clerk's verify endpoint cannot be reached", 0, err)
	}
	defer httpx.DrainAndClose(resp.Body)
	o.noteKey(resp.StatusCode, kind, bearer)
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		b, err := httpx.ReadAtMost(resp.Body, maxVerifyBody)
		if err != nil {
			return nil, unexpected("cannot read Clerk's answer", 0, err)
		}
		return o.judge(b, kind, ep)
	case code == http.StatusNotFound || code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		// Only Clerk's own answer refuses the token: a refusal is
		// remembered (and shared), a proxy's error page must not be.
		if b, _ := httpx.ReadAtMost(resp.Body, maxVerifyBody); !isClerkErrors(b) {
			return nil, unexpected(fmt.Sprintf("Clerk's verify endpoint answered %d without Clerk's error body", code), 0, nil)
		}
		return nil, verr(ReasonTokenInvalid, "Clerk did not find the token")
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return nil, &VerificationError{Reason: ReasonSecretKeyInvalid,
			Message: fmt.Sprintf("Clerk refused the key that verifies machine tokens (%d)", code)}
	case code == http.StatusTooManyRequests:
		wait := o.block(httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), o.now()))
		return nil, unexpected("Clerk rate limited the verify endpoint", wait, nil)
	default:
		return nil, unexpected(fmt.Sprintf("Clerk's verify endpoint answered %d", code), 0, nil)
	}
}

// block stops calls for wait (DefaultRetryAfter when 0, at most
// maxRateLimitWait) and returns it.
func (o *opaqueVerifier) block(wait time.Duration) time.Duration {
	if wait <= 0 {
		wait = DefaultRetryAfter
	}
	wait = min(wait, maxRateLimitWait)
	until := o.now().Add(wait).UnixNano()
	if prev := o.blockedUntil.Swap(until); prev < o.now().UnixNano() {
		o.log(slog.LevelWarn, "clerkauth: Clerk rate limited machine token verification; new opaque tokens are answered 503 until it lifts",
			slog.Duration("retry_after", wait))
	}
	return wait
}

// noteKey logs, once per change, that Clerk refuses or accepts again the
// key verifying machine tokens.
func (o *opaqueVerifier) noteKey(status int, kind TokenKind, bearer string) {
	refused := status == http.StatusUnauthorized || status == http.StatusForbidden
	if o.keyRefused.Swap(refused) == refused {
		return
	}
	which := "instance secret key (SecretKey)"
	if bearer == o.machineKey && bearer != o.secretKey {
		which = "machine secret key (MachineSecretKey)"
	}
	if refused {
		o.log(slog.LevelError, "clerkauth: Clerk refuses the "+which+" used to verify machine tokens; opaque machine tokens are answered 503 until it is fixed",
			slog.Int("status", status), slog.String("kind", string(kind)))
		return
	}
	o.log(slog.LevelInfo, "clerkauth: Clerk accepts the "+which+" again for machine token verification")
}

func (o *opaqueVerifier) log(level slog.Level, msg string, attrs ...slog.Attr) {
	if o.logger != nil {
		o.logger.LogAttrs(context.Background(), level, msg, attrs...)
	}
}

// verifyAnswer is the 200 answer of the three verify endpoints.
type verifyAnswer struct {
	Object     string          `json:"object"`
	ID         string          `json:"id"`
	Subject    string          `json:"subject"`
	Name       string          `json:"name"`
	ClientID   string          `json:"client_id"`
	Claims     json.RawMessage `json:"claims"`
	Scopes     []string        `json:"scopes"`
	Revoked    bool            `json:"revoked"`
	Expired    bool            `json:"expired"`
	Expiration *float64        `json:"expiration"`
	CreatedAt  *float64        `json:"created_at"`
	Active     *bool           `json:"active"`
}

// judge decides whether a 200 answer confirms the token: the object of the
// kind, not revoked, not expired by its flags or its expiration, with an
// ID and a subject of the kind. An answer that is not such an object at
// all says Clerk misbehaves: it is answered 503, never trusted.
func (o *opaqueVerifier) judge(body []byte, kind TokenKind, ep opaqueEndpoint) (*MachineToken, error) {
	var a verifyAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, unexpected("Clerk's answer is not the expected JSON", 0, err)
	}
	if a.Active != nil && !*a.Active {
		return nil, verr(ReasonTokenInvalid, "Clerk reports the token is not active")
	}
	if a.Object != ep.object || a.ID == "" || a.Subject == "" {
		return nil, unexpected("Clerk's answer is not a "+ep.object, 0, nil)
	}
	exp, err := timeOfNumber(a.Expiration, ep.unitMilli)
	if err != nil {
		return nil, unexpected("Clerk's answer has a malformed expiration", 0, err)
	}
	iat, _ := timeOfNumber(a.CreatedAt, ep.unitMilli)
	mt := &MachineToken{
		Kind: kind, ID: a.ID, Subject: a.Subject, Scopes: a.Scopes, Name: a.Name, ClientID: a.ClientID,
		Expiration: exp, IssuedAt: iat,
	}
	if len(a.Claims) > 0 && string(a.Claims) != "null" {
		mt.Claims = a.Claims
	}
	switch {
	case a.Revoked:
		return nil, verr(ReasonTokenRevoked, "Clerk reports the token is revoked")
	case a.Expired || mt.expiredAt(o.now(), o.leeway):
		return nil, errExpired()
	case !hasAnyPrefix(a.Subject, ep.subjects):
		return nil, verr(ReasonTokenInvalid, "the token's subject is not of its kind")
	}
	return mt, nil
}

// timeOfNumber converts a nullable timestamp; zero for null.
func timeOfNumber(n *float64, milli bool) (time.Time, error) {
	if n == nil {
		return time.Time{}, nil
	}
	v := *n
	if milli {
		v /= 1000
	}
	if v <= 0 || v >= 1<<40 || math.IsNaN(v) {
		return time.Time{}, errors.New("timestamp out of range")
	}
	sec, frac := math.Modf(v)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// unexpected is the error of a verification Clerk could not make: in the
// ErrKeysUnavailable class (503), asking clients to retry after
// retryAfter (DefaultRetryAfter when 0).
func unexpected(msg string, retryAfter time.Duration, cause error) *VerificationError {
	if retryAfter > 0 {
		retryAfter = max(retryAfter, time.Second)
	}
	return &VerificationError{Reason: ReasonUnexpectedError, Message: msg, Err: cause, retryAfter: retryAfter}
}
