package clerkauth_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// ExampleVerifier_ReadinessHandler serves a readiness probe: 503 until the
// keys are loaded, 200 afterwards.
func ExampleVerifier_ReadinessHandler() {
	clerk := clerktest.NewServer(clerktest.Config{})
	defer clerk.Close()
	v, err := clerkauth.NewVerifier(clerkauth.Config{
		SecretKey: clerk.SecretKey(), PublishableKey: clerk.PublishableKey(), APIURL: clerk.APIURL(),
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	mux := http.NewServeMux()
	mux.Handle("GET /readyz", v.ReadinessHandler())

	probe := func() int {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code
	}
	fmt.Println("before Warm:", probe())
	if err := v.Warm(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println("after Warm:", probe())
	// Output:
	// before Warm: 503
	// after Warm: 200
}

// ExampleObserver counts decisions with a hook and logs operational events.
func ExampleObserver() {
	clerk := clerktest.NewServer(clerktest.Config{})
	defer clerk.Close()
	sess := clerk.CreateSession(clerktest.SessionParams{})

	outcomes := map[clerkauth.Outcome]int{} // a real hook must be safe for concurrent use
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "url" {
				return slog.Attr{} // stable output
			}
			return a
		},
	}))
	v, err := clerkauth.NewVerifier(clerkauth.Config{
		SecretKey: clerk.SecretKey(), PublishableKey: clerk.PublishableKey(), APIURL: clerk.APIURL(),
		AuthorizedParties: []string{"https://app.example.com"},
		Logger:            logger,
		Observer: clerkauth.Observer{
			AuthDecision: func(_ context.Context, d clerkauth.AuthDecision) { outcomes[d.Outcome]++ },
		},
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	h := clerkauth.RequireSession(v)(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	for _, auth := range []string{"Bearer " + clerk.MustToken(sess.ID, clerktest.WithAuthorizedParty("https://app.example.com")), "Bearer x.y.z"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", auth)
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	fmt.Println(outcomes)
	// Output:
	// level=INFO msg="clerkauth: signing keys loaded" keys=1
	// map[authenticated:1 rejected:1]
}
