// Package otelclerkauth reports clerkauth's events to OpenTelemetry: metrics
// of authentication decisions, verification and upstream latency, key
// health and cache size, and a client span for every HTTP request to
// Clerk (JWKS fetches and Backend API calls).
//
//	inst, err := otelclerkauth.New(otelclerkauth.Options{}) // global providers
//	cfg := clerkauth.ConfigFromEnv()
//	cfg.Observer = inst.Observer()
//	v, err := clerkauth.NewVerifier(cfg)
//	reg, err := inst.ObserveVerifier(v) // key age, keys, readiness, cache size
//	defer reg.Unregister()
//
// Metric and attribute names follow the OpenTelemetry semantic conventions
// where one exists (http.client.request.duration and the http.*, server.*,
// url.template and error.type attributes of upstream calls); the others
// are clerkauth.* names, listed in this module's README. No metric, span or
// attribute ever holds a token, a secret key or an unverified claim: the
// attributes are reason codes, outcomes, operation names, hosts and route
// templates.
package otelclerkauth

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/clerkauth/clerkauth"
)

// ScopeName is the instrumentation scope of the meter and the tracer.
const ScopeName = "github.com/clerkauth/clerkauth/otelclerkauth"

// Attribute keys of clerkauth's own metrics.
const (
	OutcomeKey   = attribute.Key("clerkauth.outcome")       // authenticated, signed_out, rejected, unavailable
	ReasonKey    = attribute.Key("clerkauth.reason")        // a clerkauth.Reason, such as token-expired
	TokenKindKey = attribute.Key("clerkauth.token.kind")    // session_token, …
	CarrierKey   = attribute.Key("clerkauth.token.carrier") // header, cookie, custom, none
	CacheKey     = attribute.Key("clerkauth.cache.result")  // hit, miss
	ResultKey    = attribute.Key("clerkauth.result")        // success, failure (JWKS fetches)
	ServiceKey   = attribute.Key("clerkauth.upstream.service")
	OperationKey = attribute.Key("clerkauth.upstream.operation")
	BreakerKey   = attribute.Key("clerkauth.breaker")       // online_fallback
	StateKey     = attribute.Key("clerkauth.breaker.state") // open, closed
	CauseKey     = attribute.Key("clerkauth.fallback.cause")
	StoreOpKey   = attribute.Key("clerkauth.revocation_store.operation") // is_revoked, revoke
)

// Options configures [New]. The zero value uses the global providers.
type Options struct {
	// MeterProvider creates the meter. Default otel.GetMeterProvider().
	MeterProvider metric.MeterProvider
	// TracerProvider creates the tracer. Default otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// Now returns the current time, for the key age gauge: set it to the
	// Verifier's Config.Now when that is not time.Now. Default time.Now.
	Now func() time.Time
}

// Instrumentation turns clerkauth's events into metrics and spans. It is
// safe for concurrent use; one Instrumentation may observe several
// Verifiers and SessionsClients.
type Instrumentation struct {
	meter  metric.Meter
	tracer trace.Tracer
	now    func() time.Time

	decisions   metric.Int64Counter
	decisionDur metric.Float64Histogram
	lookups     metric.Int64Counter
	fetches     metric.Int64Counter
	fetchDur    metric.Float64Histogram
	unknownKIDs metric.Int64Counter
	upstreamDur metric.Float64Histogram
	breakers    metric.Int64Counter
	fallbacks   metric.Int64Counter
	actives     metric.Int64Counter
	storeErrs   metric.Int64Counter
}

// durationBuckets are the bucket boundaries the semantic conventions
// advise for http.client.request.duration, used for network durations.
func durationBuckets() []float64 {
	return []float64{0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10}
}

// fastBuckets suit a decision: microseconds when warm, a key fetch when
// cold.
func fastBuckets() []float64 {
	return []float64{0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1, 5, 10}
}

// New creates the instruments. It fails only when the meter refuses one.
func New(opts Options) (*Instrumentation, error) {
	mp, tp := opts.MeterProvider, opts.TracerProvider
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	i := &Instrumentation{meter: mp.Meter(ScopeName), tracer: tp.Tracer(ScopeName), now: opts.Now}
	if i.now == nil {
		i.now = time.Now
	}
	return i, i.createInstruments()
}

func (i *Instrumentation) createInstruments() error {
	m := i.meter
	var errs [11]error
	i.decisions, errs[0] = m.Int64Counter("clerkauth.auth.decisions", metric.WithUnit("{request}"),
		metric.WithDescription("Requests decided by the middleware, by outcome, reason, token kind and carrier."))
	i.decisionDur, errs[1] = m.Float64Histogram("clerkauth.auth.duration", metric.WithUnit("s"),
		metric.WithDescription("Time the middleware took to decide a request, verification included."),
		metric.WithExplicitBucketBoundaries(fastBuckets()...))
	i.lookups, errs[2] = m.Int64Counter("clerkauth.token_cache.lookups", metric.WithUnit("{lookup}"),
		metric.WithDescription("Lookups in the verified-token cache, by result."))
	i.fetches, errs[3] = m.Int64Counter("clerkauth.jwks.fetches", metric.WithUnit("{fetch}"),
		metric.WithDescription("JWKS fetches (retries included in one), by result."))
	i.fetchDur, errs[4] = m.Float64Histogram("clerkauth.jwks.fetch.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of JWKS fetches, retries included."),
		metric.WithExplicitBucketBoundaries(durationBuckets()...))
	i.unknownKIDs, errs[5] = m.Int64Counter("clerkauth.jwks.unknown_kid", metric.WithUnit("{token}"),
		metric.WithDescription("Tokens naming a key ID the held key set lacks, by outcome."))
	i.upstreamDur, errs[6] = m.Float64Histogram("http.client.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP client requests."),
		metric.WithExplicitBucketBoundaries(durationBuckets()...))
	i.breakers, errs[7] = m.Int64Counter("clerkauth.breaker.transitions", metric.WithUnit("{transition}"),
		metric.WithDescription("Circuit breaker transitions, by breaker and new state."))
	i.fallbacks, errs[8] = m.Int64Counter("clerkauth.fallback.decisions", metric.WithUnit("{token}"),
		metric.WithDescription("Online fallback verdicts, by outcome, cause and reason."))
	i.actives, errs[9] = m.Int64Counter("clerkauth.active_session.checks", metric.WithUnit("{request}"),
		metric.WithDescription("RequireActiveSession decisions, by outcome and reason."))
	i.storeErrs, errs[10] = m.Int64Counter("clerkauth.revocation_store.errors", metric.WithUnit("{error}"),
		metric.WithDescription("Errors of the revocation store, by operation."))
	return errors.Join(errs[:]...)
}

// Observer returns the hooks to set in clerkauth.Config.Observer.
func (i *Instrumentation) Observer() clerkauth.Observer {
	return clerkauth.Observer{
		AuthDecision:         i.authDecision,
		TokenCacheLookup:     i.tokenCacheLookup,
		KeyFetchDone:         i.keyFetchDone,
		UnknownKID:           i.unknownKID,
		UpstreamCall:         i.upstreamCall,
		BreakerChange:        i.breakerChange,
		Fallback:             i.fallback,
		ActiveSession:        i.activeSession,
		RevocationStoreError: i.revocationStoreError,
	}
}

func (i *Instrumentation) authDecision(ctx context.Context, d clerkauth.AuthDecision) {
	attrs := attribute.NewSet(OutcomeKey.String(string(d.Outcome)), ReasonKey.String(string(d.Reason)),
		TokenKindKey.String(string(d.TokenKind)), CarrierKey.String(string(d.Carrier)))
	i.decisions.Add(ctx, 1, metric.WithAttributeSet(attrs))
	i.decisionDur.Record(ctx, d.Duration.Seconds(), metric.WithAttributes(
		OutcomeKey.String(string(d.Outcome)), TokenKindKey.String(string(d.TokenKind))))
	if span := trace.SpanFromContext(ctx); span.IsRecording() {
		span.AddEvent("clerkauth.auth", trace.WithAttributes(attrs.ToSlice()...))
	}
}

func (i *Instrumentation) tokenCacheLookup(ctx context.Context, l clerkauth.TokenCacheLookup) {
	result := "miss"
	if l.Hit {
		result = "hit"
	}
	i.lookups.Add(ctx, 1, metric.WithAttributes(CacheKey.String(result)))
}

func (i *Instrumentation) keyFetchDone(ctx context.Context, d clerkauth.KeyFetchDone) {
	result := "success"
	if d.Err != nil {
		result = "failure"
	}
	attrs := metric.WithAttributes(ResultKey.String(result))
	i.fetches.Add(ctx, 1, attrs)
	i.fetchDur.Record(ctx, d.Duration.Seconds(), attrs)
}

func (i *Instrumentation) unknownKID(ctx context.Context, u clerkauth.UnknownKID) {
	i.unknownKIDs.Add(ctx, 1, metric.WithAttributes(OutcomeKey.String(string(u.Outcome))))
}

// upstreamCall records http.client.request.duration and a client span,
// started and ended at the request's own times.
func (i *Instrumentation) upstreamCall(ctx context.Context, c clerkauth.UpstreamCall) {
	attrs := upstreamAttrs(c)
	i.upstreamDur.Record(ctx, c.Duration.Seconds(), metric.WithAttributes(attrs...))
	if c.Attempt > 0 {
		attrs = append(attrs, semconv.HTTPRequestResendCount(c.Attempt))
	}
	_, span := i.tracer.Start(ctx, c.Method+" "+c.Route, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(c.Start), trace.WithAttributes(attrs...))
	if c.Err != nil || c.StatusCode >= 400 {
		span.SetStatus(codes.Error, errorType(c))
	}
	span.End(trace.WithTimestamp(c.Start.Add(c.Duration)))
}

// upstreamAttrs are the semantic-convention attributes of an upstream
// call, plus the service and operation.
func upstreamAttrs(c clerkauth.UpstreamCall) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		semconv.HTTPRequestMethodKey.String(c.Method),
		semconv.URLTemplate(c.Route),
		ServiceKey.String(c.Service),
		OperationKey.String(c.Operation),
	}
	host, port, err := net.SplitHostPort(c.Host)
	if err != nil {
		host = c.Host
	}
	attrs = append(attrs, semconv.ServerAddress(host))
	if p, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, semconv.ServerPort(p))
	}
	if c.StatusCode != 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(c.StatusCode))
	}
	if t := errorType(c); t != "" {
		attrs = append(attrs, semconv.ErrorTypeKey.String(t))
	}
	return attrs
}

// errorType is the error.type of a call: the status code for an error
// answer, "timeout", "canceled" or "_OTHER" for a failure without one, ""
// for success.
func errorType(c clerkauth.UpstreamCall) string {
	switch {
	case c.Err != nil && errors.Is(c.Err, context.DeadlineExceeded):
		return "timeout"
	case c.Err != nil && errors.Is(c.Err, context.Canceled):
		return "canceled"
	case c.Err != nil:
		return semconv.ErrorTypeOther.Value.AsString()
	case c.StatusCode >= 400:
		return strconv.Itoa(c.StatusCode)
	}
	return ""
}

func (i *Instrumentation) breakerChange(ctx context.Context, c clerkauth.BreakerChange) {
	state := "closed"
	if c.Open {
		state = "open"
	}
	i.breakers.Add(ctx, 1, metric.WithAttributes(BreakerKey.String(c.Breaker), StateKey.String(state)))
}

func (i *Instrumentation) fallback(ctx context.Context, d clerkauth.FallbackDecision) {
	i.fallbacks.Add(ctx, 1, metric.WithAttributes(OutcomeKey.String(string(d.Outcome)),
		CauseKey.String(string(d.Cause)), ReasonKey.String(string(d.Reason))))
}

func (i *Instrumentation) activeSession(ctx context.Context, c clerkauth.ActiveSessionCheck) {
	i.actives.Add(ctx, 1, metric.WithAttributes(OutcomeKey.String(string(c.Outcome)), ReasonKey.String(string(c.Reason))))
}

func (i *Instrumentation) revocationStoreError(ctx context.Context, e clerkauth.RevocationStoreError) {
	i.storeErrs.Add(ctx, 1, metric.WithAttributes(StoreOpKey.String(e.Op)))
}

// ObserveVerifier registers gauges read from v at each collection:
// clerkauth.jwks.key_age (seconds since the keys were last fetched or
// revalidated), clerkauth.jwks.keys, clerkauth.jwks.ready (1 when tokens
// can be verified), clerkauth.jwks.staleness (seconds past freshness) and
// clerkauth.token_cache.size. Unregister the result when v is closed.
func (i *Instrumentation) ObserveVerifier(v *clerkauth.Verifier) (metric.Registration, error) {
	m := i.meter
	age, err1 := m.Float64ObservableGauge("clerkauth.jwks.key_age", metric.WithUnit("s"),
		metric.WithDescription("Seconds since the signing keys were last fetched or revalidated."))
	keys, err2 := m.Int64ObservableGauge("clerkauth.jwks.keys", metric.WithUnit("{key}"),
		metric.WithDescription("Signing keys held."))
	ready, err3 := m.Int64ObservableGauge("clerkauth.jwks.ready", metric.WithUnit("1"),
		metric.WithDescription("1 when tokens can be verified (keys loaded, within the maximum staleness), else 0."))
	stale, err4 := m.Float64ObservableGauge("clerkauth.jwks.staleness", metric.WithUnit("s"),
		metric.WithDescription("Seconds the held keys are past their freshness."))
	size, err5 := m.Int64ObservableGauge("clerkauth.token_cache.size", metric.WithUnit("{token}"),
		metric.WithDescription("Tokens in the verified-token cache."))
	if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
		return nil, err
	}
	return m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		st := v.Status()
		if !st.LastSuccess.IsZero() {
			o.ObserveFloat64(age, i.now().Sub(st.LastSuccess).Seconds())
		}
		o.ObserveInt64(keys, int64(st.Keys))
		o.ObserveInt64(ready, boolInt(st.Ready))
		o.ObserveFloat64(stale, st.Staleness.Seconds())
		o.ObserveInt64(size, int64(v.CachedTokens()))
		return nil
	}, age, keys, ready, stale, size)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
