package clerkauth

import "net/http"

// RequireCheck returns a middleware that lets a request through only when
// its session satisfies c (see [Claims.Has]). A request without a session
// is answered 401; one whose session fails c, 403 with
// WWW-Authenticate: Bearer error="insufficient_scope" and a
// [*ForbiddenError] (for a reverification requirement, Clerk's
// reverification error body, which Clerk's frontend SDKs act on).
//
// Install guards after [Middleware.Handler]; they answer through its
// ErrorHandler. They also work after [ContextWithSession] in tests.
func RequireCheck(c Check) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st := authStateFrom(r.Context())
			var resp *responder
			if st != nil {
				resp = st.resp
			}
			var claims *Claims
			if st != nil {
				claims = st.claims
			}
			if err := Authorize(claims, c); err != nil {
				resp.fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// RequirePermission returns a guard requiring the active organization
// permission, such as "org:invoices:create" (the "org:" prefix is
// optional). See [RequireCheck].
func RequirePermission(permission string) func(http.Handler) http.Handler {
	return RequireCheck(Check{Permission: permission})
}

// RequireRole returns a guard requiring the active organization role, such
// as "org:admin" (the "org:" prefix is optional). See [RequireCheck].
func RequireRole(role string) func(http.Handler) http.Handler {
	return RequireCheck(Check{Role: role})
}

// RequireFeature returns a guard requiring a feature of the session's
// plans, such as "o:dashboard" or "u:beta". See [RequireCheck].
func RequireFeature(feature string) func(http.Handler) http.Handler {
	return RequireCheck(Check{Feature: feature})
}

// RequirePlan returns a guard requiring a plan, such as "o:pro" or
// "u:free". See [RequireCheck].
func RequirePlan(plan string) func(http.Handler) http.Handler {
	return RequireCheck(Check{Plan: plan})
}

// RequireReverification returns a guard requiring that the session's
// factors were verified recently enough, such as
// RequireReverification(ReverificationStrict.Reverification()). A session
// that fails it is answered 403 with Clerk's reverification error body,
//
//	{"clerk_error":{"type":"forbidden","reason":"reverification-error",
//	 "metadata":{"reverification":{"level":"second_factor","afterMinutes":10}}}}
//
// on which Clerk's frontend SDKs prompt the user and retry. See
// [RequireCheck].
func RequireReverification(r Reverification) func(http.Handler) http.Handler {
	return RequireCheck(Check{Reverification: r})
}
