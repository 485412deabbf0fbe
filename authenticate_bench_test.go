package clerkauth

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// handlerBeforeExport is Middleware.Handler as it was before the decision
// was exported (#14): it calls the unexported core directly. It is kept
// only as the "before" of BenchmarkDecisionExport.
func handlerBeforeExport(m *Middleware, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		in := credentials{authorization: r.Header.Values("Authorization"), source: (*httpRequest)(r), method: r.Method, host: r.Host}
		if m.preflight(in) != preflightDecide {
			next.ServeHTTP(w, r)
			return
		}
		addVary(w.Header())
		st, err := m.decide(r.Context(), in)
		if err != nil && !m.passesSignedOut(err) {
			m.resp.fail(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(withAuthState(r.Context(), st)))
	})
}

// BenchmarkDecisionExport compares, in one run, the warm path of the
// net/http middleware before and after the decision was exported, and
// the exported decision alone (no request context, no response).
func BenchmarkDecisionExport(b *testing.B) {
	e := newMWEnv(b)
	m, err := NewMiddleware(e.v, MiddlewareOptions{})
	require.NoError(b, err)
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	r := bearerRequest(e.token())
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{
		{"before", handlerBeforeExport(m, noop)},
		{"after", m.Handler(noop)},
	} {
		require.Equal(b, 200, serve(bc.h, r).Code)
		b.Run("Handler/"+bc.name, func(b *testing.B) {
			b.ReportAllocs()
			w := headerWriter{h: http.Header{}}
			for b.Loop() {
				clear(w.h)
				bc.h.ServeHTTP(w, r)
			}
		})
	}
	in := Credentials{Method: "GET", Authorization: r.Header.Values("Authorization"), Source: (*httpRequest)(r)}
	b.Run("Authenticate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d := m.Authenticate(r.Context(), in)
			if !d.Allowed() {
				b.Fatal(d.Err())
			}
		}
	})
}

// headerWriter is a ResponseWriter whose header map is reused, so that
// the benchmarks count the middleware's allocations only.
type headerWriter struct{ h http.Header }

func (w headerWriter) Header() http.Header         { return w.h }
func (w headerWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w headerWriter) WriteHeader(int)             {}
