package otelclerkauth_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
	"github.com/clerkauth/clerkauth/otelclerkauth"
)

// Example wires the instrumentation into a Verifier and reads the decision
// counter after two requests.
func Example() {
	srv := clerktest.NewServer(clerktest.Config{})
	defer srv.Close()
	sess := srv.CreateSession(clerktest.SessionParams{})

	reader := sdkmetric.NewManualReader()
	inst, err := otelclerkauth.New(otelclerkauth.Options{
		MeterProvider: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
	})
	if err != nil {
		panic(err)
	}
	v, err := clerkauth.NewVerifier(clerkauth.Config{
		SecretKey: srv.SecretKey(), PublishableKey: srv.PublishableKey(), APIURL: srv.APIURL(),
		Observer: inst.Observer(),
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	h := clerkauth.RequireSession(v)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	for _, auth := range []string{"Bearer " + srv.MustToken(sess.ID), ""} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name != "clerkauth.auth.decisions" {
			continue
		}
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			outcome, _ := dp.Attributes.Value(otelclerkauth.OutcomeKey)
			reason, _ := dp.Attributes.Value(otelclerkauth.ReasonKey)
			fmt.Printf("%s %q: %d\n", outcome.AsString(), reason.AsString(), dp.Value)
		}
	}
	// Unordered output:
	// authenticated "": 1
	// rejected "session-token-missing": 1
}
