package otelclerkauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
	"github.com/clerkauth/clerkauth/otelclerkauth"
)

// env is a clerktest instance, a middleware on a Verifier reporting to an
// Instrumentation, a manual metric reader and a span recorder.
type env struct {
	srv    *clerktest.Server
	sid    string
	h      http.Handler
	v      *clerkauth.Verifier
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tokens []string
}

func newEnv(t *testing.T) *env { return newEnvWith(t, nil) }

// newEnvWith builds the env with a middleware accepting kinds (nil: sessions).
func newEnvWith(t *testing.T, kinds []clerkauth.TokenKind) *env {
	t.Helper()
	srv := clerktest.NewServer(clerktest.Config{})
	t.Cleanup(srv.Close)
	srv.Clock().Set(time.Unix(1_800_000_000, 0))
	e := &env{srv: srv, sid: srv.CreateSession(clerktest.SessionParams{}).ID,
		reader: sdkmetric.NewManualReader(), spans: tracetest.NewSpanRecorder()}
	inst, err := otelclerkauth.New(otelclerkauth.Options{
		MeterProvider:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(e.reader)),
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(e.spans)),
		Now:            srv.Clock().Now,
	})
	require.NoError(t, err)
	e.v, err = clerkauth.NewVerifier(clerkauth.Config{
		SecretKey: srv.SecretKey(), PublishableKey: srv.PublishableKey(), APIURL: srv.APIURL(),
		MaxRetries: -1, JWKSMaxStaleness: 10 * time.Minute, Now: srv.Clock().Now,
		Observer: inst.Observer(),
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.v.Close() })
	reg, err := inst.ObserveVerifier(e.v)
	require.NoError(t, err)
	t.Cleanup(func() { _ = reg.Unregister() })
	m, err := clerkauth.NewMiddleware(e.v, clerkauth.MiddlewareOptions{AcceptsToken: kinds})
	require.NoError(t, err)
	t.Cleanup(func() { _ = m.Close() })
	e.h = m.Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	return e
}

// send sends token and returns the status.
func (e *env) send(t *testing.T, token string) int {
	t.Helper()
	e.tokens = append(e.tokens, token)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, r)
	return rec.Code
}

func (e *env) token(t *testing.T, opts ...clerktest.TokenOption) string {
	t.Helper()
	tok, err := e.srv.Token(e.sid, opts...)
	require.NoError(t, err)
	return tok
}

// collect returns the metrics by name.
func (e *env) collect(t *testing.T) map[string]metricdata.Aggregation {
	t.Helper()
	var rm metricdata.ResourceMetrics
	require.NoError(t, e.reader.Collect(context.Background(), &rm))
	out := map[string]metricdata.Aggregation{}
	for _, sm := range rm.ScopeMetrics {
		assert.Equal(t, otelclerkauth.ScopeName, sm.Scope.Name)
		for _, m := range sm.Metrics {
			out[m.Name] = m.Data
		}
	}
	return out
}

// counts sums an Int64 sum by the values of keys, joined with "/".
func counts(t *testing.T, data metricdata.Aggregation, keys ...attribute.Key) map[string]int64 {
	t.Helper()
	sum, ok := data.(metricdata.Sum[int64])
	require.True(t, ok, "%T", data)
	out := map[string]int64{}
	for _, dp := range sum.DataPoints {
		out[label(dp.Attributes, keys)] += dp.Value
	}
	return out
}

func label(set attribute.Set, keys []attribute.Key) string {
	var parts []string
	for _, k := range keys {
		v, _ := set.Value(k)
		parts = append(parts, v.Emit())
	}
	return strings.Join(parts, "/")
}

func gauge[N int64 | float64](t *testing.T, data metricdata.Aggregation) N {
	t.Helper()
	g, ok := data.(metricdata.Gauge[N])
	require.True(t, ok, "%T", data)
	require.Len(t, g.DataPoints, 1)
	return g.DataPoints[0].Value
}

// TestScriptedSequence runs valid (twice), expired, forged-kid, key-outage
// and recovery requests against clerktest and checks every metric and span
// count exactly.
func TestScriptedSequence(t *testing.T) {
	e := newEnv(t)
	clock := e.srv.Clock()

	assert.Equal(t, 200, e.send(t, e.token(t)), "valid: keys fetched")
	valid := e.token(t)
	assert.Equal(t, 200, e.send(t, valid))
	assert.Equal(t, 200, e.send(t, valid), "a cache hit")
	assert.Equal(t, 401, e.send(t, e.token(t, clerktest.WithIssuedAt(clock.Now().Add(-time.Hour)))), "expired")
	assert.Equal(t, 401, e.send(t, e.token(t, clerktest.WithHeader(map[string]any{"kid": "forged"}))), "forged kid: one refresh, no key")

	e.srv.SetFault(clerktest.EndpointJWKS, clerktest.Fault{Status: http.StatusInternalServerError})
	clock.Advance(20 * time.Minute) // past TTL and maximum staleness
	assert.Equal(t, 503, e.send(t, e.token(t)), "key outage")
	assert.Zero(t, gauge[int64](t, e.collect(t)["clerkauth.jwks.ready"]))

	e.srv.ClearFaults()
	clock.Advance(2 * time.Second) // past the failure backoff
	assert.Equal(t, 200, e.send(t, e.token(t)), "recovery")
	require.Equal(t, 4, e.srv.Requests(clerktest.EndpointJWKS))

	m := e.collect(t)
	assert.Equal(t, map[string]int64{
		"authenticated/": 4, "rejected/token-expired": 1, "rejected/jwk-kid-mismatch": 1,
		"unavailable/jwk-remote-failed-to-load": 1,
	}, counts(t, m["clerkauth.auth.decisions"], otelclerkauth.OutcomeKey, otelclerkauth.ReasonKey))
	assert.Equal(t, map[string]int64{"session_token/header": 7},
		counts(t, m["clerkauth.auth.decisions"], otelclerkauth.TokenKindKey, otelclerkauth.CarrierKey))
	assert.Equal(t, map[string]int64{"hit": 1, "miss": 6},
		counts(t, m["clerkauth.token_cache.lookups"], otelclerkauth.CacheKey))
	assert.Equal(t, map[string]int64{"success": 3, "failure": 1},
		counts(t, m["clerkauth.jwks.fetches"], otelclerkauth.ResultKey))
	assert.Equal(t, map[string]int64{"rejected": 1},
		counts(t, m["clerkauth.jwks.unknown_kid"], otelclerkauth.OutcomeKey))

	upstream, ok := m["http.client.request.duration"].(metricdata.Histogram[float64])
	require.True(t, ok)
	byStatus := map[int64]uint64{}
	for _, dp := range upstream.DataPoints {
		code, _ := dp.Attributes.Value("http.response.status_code")
		byStatus[code.AsInt64()] += dp.Count
		tmpl, _ := dp.Attributes.Value("url.template")
		assert.Equal(t, "/v1/jwks", tmpl.AsString())
		addr, _ := dp.Attributes.Value("server.address")
		assert.Equal(t, "127.0.0.1", addr.AsString())
		method, _ := dp.Attributes.Value("http.request.method")
		assert.Equal(t, "GET", method.AsString())
	}
	assert.Equal(t, map[int64]uint64{200: 3, 500: 1}, byStatus)

	decided, ok := m["clerkauth.auth.duration"].(metricdata.Histogram[float64])
	require.True(t, ok)
	var n uint64
	for _, dp := range decided.DataPoints {
		n += dp.Count
	}
	assert.EqualValues(t, 7, n)

	assert.Equal(t, int64(1), gauge[int64](t, m["clerkauth.jwks.ready"]))
	assert.Equal(t, int64(1), gauge[int64](t, m["clerkauth.jwks.keys"]))
	assert.Zero(t, gauge[float64](t, m["clerkauth.jwks.key_age"]), "just refreshed")
	assert.Equal(t, int64(3), gauge[int64](t, m["clerkauth.token_cache.size"]), "the three distinct valid tokens verified after a fetch")

	spans := e.spans.Ended()
	require.Len(t, spans, 4, "one span per JWKS request")
	var failed int
	for _, s := range spans {
		assert.Equal(t, "GET /v1/jwks", s.Name())
		if s.Status().Code == codes.Error {
			failed++
		}
		assert.False(t, s.EndTime().Before(s.StartTime()))
	}
	assert.Equal(t, 1, failed)
	assertNoToken(t, e, spans)
}

// assertNoToken checks that no span attribute or event holds a token or
// any of its segments, nor the secret key.
func assertNoToken(t *testing.T, e *env, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	var text strings.Builder
	for _, s := range spans {
		for _, a := range s.Attributes() {
			text.WriteString(a.Value.Emit() + "\n")
		}
		for _, ev := range s.Events() {
			for _, a := range ev.Attributes {
				text.WriteString(a.Value.Emit() + "\n")
			}
		}
	}
	all := text.String()
	assert.NotContains(t, all, e.srv.SecretKey())
	for _, tok := range e.tokens {
		for _, part := range strings.Split(tok, ".") {
			assert.NotContains(t, all, part)
		}
	}
}

// TestDecisionEventOnRequestSpan checks that a decision is added as an
// event to the request's span.
func TestDecisionEventOnRequestSpan(t *testing.T) {
	e := newEnv(t)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(e.spans))
	ctx, span := tp.Tracer("test").Start(context.Background(), "GET /private")
	r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
	e.h.ServeHTTP(httptest.NewRecorder(), r)
	span.End()
	var server sdktrace.ReadOnlySpan
	for _, s := range e.spans.Ended() {
		if s.Name() == "GET /private" {
			server = s
		}
	}
	require.NotNil(t, server)
	require.Len(t, server.Events(), 1)
	ev := server.Events()[0]
	assert.Equal(t, "clerkauth.auth", ev.Name)
	assert.Contains(t, ev.Attributes, otelclerkauth.OutcomeKey.String("rejected"))
	assert.Contains(t, ev.Attributes, otelclerkauth.ReasonKey.String("session-token-missing"))
}

// TestBackendAPICalls checks the spans and metrics of Sessions API calls,
// retries included.
func TestBackendAPICalls(t *testing.T) {
	srv := clerktest.NewServer(clerktest.Config{})
	t.Cleanup(srv.Close)
	sid := srv.CreateSession(clerktest.SessionParams{}).ID
	reader, spans := sdkmetric.NewManualReader(), tracetest.NewSpanRecorder()
	inst, err := otelclerkauth.New(otelclerkauth.Options{
		MeterProvider:  sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
		TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)),
	})
	require.NoError(t, err)
	c, err := clerkauth.NewSessionsClient(clerkauth.Config{
		SecretKey: srv.SecretKey(), APIURL: srv.APIURL(), MaxRetries: 1, Observer: inst.Observer(),
	})
	require.NoError(t, err)
	srv.SetFault(clerktest.EndpointSessionGet, clerktest.Fault{Status: http.StatusServiceUnavailable, Times: 1})
	_, err = c.Get(context.Background(), sid)
	require.NoError(t, err, "the retry succeeds")

	ended := spans.Ended()
	require.Len(t, ended, 2)
	for i, s := range ended {
		assert.Equal(t, "GET /v1/sessions/{id}", s.Name())
		assert.NotContains(t, attrText(s), sid, "the route hides the session ID")
		resend, _ := attrValue(s, "http.request.resend_count")
		assert.EqualValues(t, i, resend.AsInt64(), "resend count")
	}
	assert.Equal(t, codes.Error, ended[0].Status().Code)
	assert.Equal(t, codes.Unset, ended[1].Status().Code)
}

func attrValue(s sdktrace.ReadOnlySpan, key string) (attribute.Value, bool) {
	for _, a := range s.Attributes() {
		if string(a.Key) == key {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

func attrText(s sdktrace.ReadOnlySpan) string {
	var b strings.Builder
	for _, a := range s.Attributes() {
		b.WriteString(a.Value.Emit() + " ")
	}
	return b.String()
}

// TestMachineVerifyCalls checks that an API key verified through Clerk's
// verify endpoint is one span and one decision of kind api_key.
func TestMachineVerifyCalls(t *testing.T) {
	e := newEnvWith(t, []clerkauth.TokenKind{clerkauth.TokenKindAPIKey})
	key := e.srv.MustAPIKey(clerktest.APIKeyParams{Subject: "user_" + strings.Repeat("0", 27)})
	assert.Equal(t, 200, e.send(t, key.Secret))
	assert.Equal(t, 200, e.send(t, key.Secret), "cached: no second call")

	m := e.collect(t)
	assert.Equal(t, map[string]int64{"authenticated/api_key/header": 2},
		counts(t, m["clerkauth.auth.decisions"], otelclerkauth.OutcomeKey, otelclerkauth.TokenKindKey, otelclerkauth.CarrierKey))
	var verify []sdktrace.ReadOnlySpan
	for _, s := range e.spans.Ended() {
		if s.Name() == "POST /v1/api_keys/verify" {
			verify = append(verify, s)
		}
	}
	require.Len(t, verify, 1)
	op, _ := attrValue(verify[0], "clerkauth.upstream.operation")
	assert.Equal(t, "verify api_key", op.AsString())
	assertNoToken(t, e, e.spans.Ended())
}
