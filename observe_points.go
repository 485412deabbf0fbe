package clerkauth

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/clerkauth/clerkauth/internal/httpx"
)

// This file holds the emission points of the observer seam: each is called
// by one line of the code it observes, and does nothing but a nil check
// when nothing observes.

// --- Verifier

// resolveKey resolves a key ID the held key set lacks (jwks.go) and
// reports it, when a key set is held: with none (not loaded yet, or past
// the maximum staleness) every key ID is missing and the key fetch events
// tell the story.
func (v *Verifier) resolveKey(ctx context.Context, kid string, issued time.Time) (*verifyKey, error) {
	if v.obs == nil || !v.remote.servable() {
		return v.remote.resolve(ctx, kid, issued)
	}
	k, err := v.remote.resolve(ctx, kid, issued)
	v.obs.unknownKID(ctx, kid, err)
	return k, err
}

// CachedTokens returns the number of tokens in the verified-token cache, 0
// when it is disabled. It is safe for concurrent use.
func (v *Verifier) CachedTokens() int {
	if v.cache == nil {
		return 0
	}
	return v.cache.len()
}

// --- JWKS fetches (jwks.go)

// fetchTrace follows one JWKS fetch through its attempts. Only the fetch's
// goroutine touches it.
type fetchTrace struct {
	start    time.Time
	attempts int
	status   int
}

type fetchTraceKey struct{}

// traceFetch reports the start of a fetch and returns the context its
// requests carry.
func (r *remoteKeys) traceFetch(ctx context.Context) (context.Context, *fetchTrace) {
	if r.obs == nil {
		return ctx, nil
	}
	r.obs.keyFetchStart(ctx, KeyFetchStart{URL: r.url})
	t := &fetchTrace{start: time.Now()}
	return context.WithValue(ctx, fetchTraceKey{}, t), t
}

// fetchDone reports the end of the fetch t traced. err is its result.
func (r *remoteKeys) fetchDone(ctx context.Context, t *fetchTrace, err error) {
	if t == nil {
		return
	}
	st := r.status()
	r.obs.keyFetchDone(ctx, KeyFetchDone{
		URL: r.url, Start: t.start, Duration: time.Since(t.start), Attempts: t.attempts,
		StatusCode: t.status, Keys: st.Keys, Ready: st.Ready, Err: err,
	})
}

// send sends one JWKS request and reports it.
func (r *remoteKeys) send(req *http.Request) (*http.Response, error) {
	if r.obs == nil {
		return r.client.Do(req)
	}
	start := time.Now()
	resp, err := r.client.Do(req)
	c := UpstreamCall{Operation: "jwks", Method: req.Method, Host: req.URL.Host, Route: req.URL.Path,
		Start: start, Duration: time.Since(start), Err: httpx.RedactError(err, r.bearer)}
	if resp != nil {
		c.StatusCode = resp.StatusCode
		c.RetryAfter = httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	if t, ok := req.Context().Value(fetchTraceKey{}).(*fetchTrace); ok {
		c.Attempt = t.attempts
		t.attempts++
		t.status = c.StatusCode
	}
	r.obs.upstream(req.Context(), serviceJWKS, c)
	return resp, err
}

// --- Backend API calls (api_request.go)

// observedAttempt makes attempt number n of r and reports it.
func (c *SessionsClient) observedAttempt(ctx context.Context, r apiRequest, n int) outcome {
	if c.obs == nil {
		return c.attempt(ctx, r)
	}
	start := time.Now()
	o := c.attempt(ctx, r)
	call := UpstreamCall{Operation: r.op, Method: r.method, Attempt: n, Start: start,
		Duration: time.Since(start), StatusCode: o.status, Err: httpx.RedactError(o.err, c.secretKey)}
	call.Host, call.Route = c.route(r.path)
	if o.apiErr != nil {
		call.StatusCode, call.RetryAfter, call.Err = o.apiErr.StatusCode, o.apiErr.RetryAfter, nil
	}
	c.obs.upstream(ctx, serviceBackendAPI, call)
	return o
}

// route returns the API's host and the route of path below the base URL.
func (c *SessionsClient) route(path string) (host, route string) {
	u, err := url.Parse(c.baseURL)
	if err != nil {
		return "", ""
	}
	return u.Host, u.Path + routeOf(path)
}

// routeOf replaces the variable segments of an escaped API path (IDs,
// template names) with placeholders, for a route of bounded cardinality.
func routeOf(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		switch {
		case knownRouteWord(s):
		case i > 0 && segs[i-1] == "tokens":
			segs[i] = "{template}"
		default:
			segs[i] = "{id}"
		}
	}
	return strings.Join(segs, "/")
}

func knownRouteWord(s string) bool {
	switch s {
	case "", "sessions", "revoke", "verify", "tokens", "jwks", "users", "clients",
		"m2m_tokens", "api_keys", "oauth_applications", "access_tokens",
		"machines", "secret_key", "secret", "rotate", "scopes":
		return true
	}
	return false
}

// --- Middleware (decide.go, middleware.go, fallback.go, active_session.go)

// decide decides the request in (decideUnobserved in decide.go) and
// reports the decision. Every transport goes through it.
func (m *Middleware) decide(ctx context.Context, in credentials) (authState, error) {
	if !m.obs.wantsDecisions(ctx) {
		return m.decideUnobserved(ctx, in)
	}
	start := time.Now()
	st, err := m.decideUnobserved(ctx, in)
	m.obs.decision(ctx, m.describeDecision(in, st, err, time.Since(start)))
	return st, err
}

func (m *Middleware) describeDecision(in credentials, st authState, err error, took time.Duration) AuthDecision {
	d := AuthDecision{Outcome: OutcomeAuthenticated, Duration: took}
	var tok string
	d.Carrier, tok = carrierOf(in, err)
	switch {
	case st.machine != nil:
		d.TokenKind = st.machine.Kind
	case err == nil:
		d.TokenKind = TokenKindSession
	case d.Carrier == CarrierCookie:
		d.TokenKind = TokenKindSession // cookies carry only session tokens
	case tok != "":
		d.TokenKind = classifyToken(tok).kind // what the refused token looks like
	}
	if err == nil {
		return d
	}
	d.Reason = describe(err).reason
	d.Outcome = decisionOutcome(err)
	if m.passesSignedOut(err) {
		d.Outcome = OutcomeSignedOut
		return d
	}
	d.Status = describe(err).status
	return d
}

// carrierOf says where the token of a request decided with err was, and
// returns it when it came from the Authorization header. It reads the
// header again, never the TokenExtractor; a header is never replaced by a
// cookie (see extract).
func carrierOf(in credentials, err error) (Carrier, string) {
	if in.custom != nil {
		return CarrierCustom, ""
	}
	tok, herr := bearerFromValues(in.authorization, false)
	switch {
	case herr != nil:
		return CarrierHeader, ""
	case tok != "":
		return CarrierHeader, tok
	case ReasonOf(err) == ReasonTokenMissing:
		return CarrierNone, ""
	}
	return CarrierCookie, ""
}

// setObserver picks the middleware's logger (MiddlewareOptions.Logger,
// else the Verifier's Config.Logger, else the SessionsClient's) and its
// observer: the Verifier's hooks with that logger.
func (m *Middleware) setObserver() {
	if m.logger == nil {
		m.logger = m.v.obs.loggerOrNil()
	}
	if m.logger == nil && m.sessions != nil {
		m.logger = m.sessions.logger
	}
	m.obs = m.v.obs.withLogger(m.logger)
}

// verifyOnline asks the online fallback about a token networkless
// verification could not judge, and reports the verdict.
func (f *onlineFallback) verifyOnline(ctx context.Context, token string, cause error) (*Claims, error) {
	if f.obs == nil || f.disabled.Load() || !f.triggers(cause) {
		return f.verify(ctx, token, cause)
	}
	c, err := f.verify(ctx, token, cause)
	d := FallbackDecision{Outcome: decisionOutcome(err), Cause: ReasonOf(cause)}
	if err == cause { //nolint:errorlint // identity: the fallback gave no verdict
		d.Outcome = OutcomeUnavailable
	}
	if d.Outcome == OutcomeRejected {
		d.Reason = ReasonOf(err)
	}
	f.obs.fallback(ctx, d)
	return c, err
}

// recordCall records a fallback call's result in its breaker, reported.
func (f *onlineFallback) recordCall(ctx context.Context, o callOutcome) {
	f.obs.recordBreaker(ctx, f.breaker, "online_fallback", o)
}

// recordBreaker records a call's outcome in b and reports b's transitions.
func (o *observer) recordBreaker(ctx context.Context, b *breaker, name string, out callOutcome) {
	if o == nil {
		b.record(out)
		return
	}
	o.breakerMu.Lock()
	was := b.isOpen()
	b.record(out)
	is := b.isOpen()
	o.breakerMu.Unlock()
	if was != is {
		o.breakerChange(ctx, BreakerChange{Breaker: name, Open: is})
	}
}

// send makes one call to a machine token verify endpoint, reported.
func (o *opaqueVerifier) send(req *http.Request, kind TokenKind) (*http.Response, error) {
	if o.obs == nil {
		return o.client.Do(req)
	}
	start := time.Now()
	resp, err := o.client.Do(req)
	c := UpstreamCall{Operation: "verify " + string(kind), Method: req.Method, Host: req.URL.Host,
		Route: req.URL.Path, Start: start, Duration: time.Since(start), Err: httpx.RedactError(err, o.secretKey, o.machineKey)}
	if resp != nil {
		c.StatusCode = resp.StatusCode
		c.RetryAfter = httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	o.obs.upstream(req.Context(), serviceBackendAPI, c)
	return resp, err
}

// isOpen reports whether the breaker is open (or half-open).
func (b *breaker) isOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return !b.openUntil.IsZero()
}

// checkActive runs the active-session check and reports it.
func (m *Middleware) checkActive(ctx context.Context, c *Claims) error {
	err := m.active.check(ctx, c)
	if m.obs != nil {
		d := ActiveSessionCheck{Outcome: decisionOutcome(err)}
		if err != nil {
			d.Reason = describe(err).reason
		}
		m.obs.activeSession(ctx, d)
	}
	return err
}
