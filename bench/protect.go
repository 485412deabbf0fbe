package bench

import (
	"net/http"

	"github.com/clerkauth/clerkauth"
)

// Protect wraps next in clerkauth's middleware (default options: a
// request without a valid session gets 401) for v. Call the returned func
// when done.
func Protect(v *clerkauth.Verifier, next http.Handler) (http.Handler, func(), error) {
	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{})
	if err != nil {
		return nil, nil, err
	}
	return m.Handler(next), func() { _ = m.Close() }, nil
}
