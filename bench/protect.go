package bench

import (
	"net/http"
	"strings"

	"github.com/clerkauth/clerkauth"
)

// Protect wraps next in clerkauth's middleware for v. Call the returned
// func when done.
//
// TEMPORARY: until the middleware lands on main this is a minimal bearer
// check around Verify, so the harness can be exercised.
func Protect(v *clerkauth.Verifier, next http.Handler) (http.Handler, func(), error) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if _, err := v.Verify(r.Context(), tok); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
	return h, func() {}, nil
}
