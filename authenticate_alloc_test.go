//go:build !race

package clerkauth

import (
	"testing"
)

// TestAuthenticateWarmDoesNotAllocate checks the promise of
// Middleware.Authenticate: a token already in the verified-token cache is
// decided without allocating. (The race detector allocates on its own, so
// this file is left out of -race builds.)
func TestAuthenticateWarmDoesNotAllocate(t *testing.T) {
	e := newMWEnv(t)
	m := e.middleware(MiddlewareOptions{})
	r := bearerRequest(e.token())
	in := Credentials{Method: "GET", Authorization: r.Header.Values("Authorization"), Source: (*httpRequest)(r)}
	if d := m.Authenticate(t.Context(), in); !d.Allowed() {
		t.Fatal(d.Err())
	}
	allocs := testing.AllocsPerRun(100, func() {
		d := m.Authenticate(t.Context(), in)
		if !d.Allowed() {
			t.Fatal(d.Err())
		}
	})
	if allocs != 0 {
		t.Errorf("warm Authenticate allocates %v times; want 0", allocs)
	}
}
