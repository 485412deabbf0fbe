package clerkauth

import "context"

// authStateKey is the context key of the request's authentication state.
// Its unexported type means no other package can read or forge the value.
type authStateKey struct{}

// authState is what the middleware learnt about a request: the verified
// session (nil when signed out), the raw token and how to answer failures.
type authState struct {
	claims  *Claims
	machine *MachineToken // the verified machine token; nil for none
	token   string
	resp    *responder // nil: the default responses
}

// authContext carries an authState in the context itself: one allocation
// per request instead of one for the state and one for a value context.
type authContext struct {
	context.Context
	st authState
}

// Value returns the request's authState for authStateKey and defers every
// other key to the parent.
func (c *authContext) Value(key any) any {
	if key == (authStateKey{}) {
		return &c.st
	}
	return c.Context.Value(key)
}

func withAuthState(ctx context.Context, st authState) context.Context {
	return &authContext{Context: ctx, st: st}
}

func authStateFrom(ctx context.Context) *authState {
	st, _ := ctx.Value(authStateKey{}).(*authState)
	return st
}

// SessionFromContext returns the verified session claims the middleware
// stored in ctx, and whether there were any. It returns nil, false for a
// signed-out request (optional mode) and when the middleware was not
// installed; it never panics.
//
// It works with any router that passes the request's context along: chi
// and plain net/http directly, gin through c.Request.Context() and echo
// through c.Request().Context(). Beware with gin: *gin.Context is itself a
// context.Context, so SessionFromContext(c) compiles but finds nothing
// unless the engine sets ContextWithFallback; pass c.Request.Context().
// The returned Claims are shared and MUST NOT be modified.
func SessionFromContext(ctx context.Context) (*Claims, bool) {
	st := authStateFrom(ctx)
	if st == nil || st.claims == nil {
		return nil, false
	}
	return st.claims, true
}

// ContextWithSession returns a copy of ctx carrying claims as the verified
// session, as the middleware does. It is meant for tests of handlers and
// guards that read [SessionFromContext]; a nil claims stands for a
// signed-out request.
func ContextWithSession(ctx context.Context, claims *Claims) context.Context {
	return withAuthState(ctx, authState{claims: claims})
}

// TokenFromContext returns the raw session token of a request the
// middleware authenticated, for forwarding to another service that verifies
// it itself. It returns "", false when there is none. Never log the token:
// see [Redact].
func TokenFromContext(ctx context.Context) (string, bool) {
	st := authStateFrom(ctx)
	if st == nil || st.claims == nil || st.token == "" {
		return "", false
	}
	return st.token, true
}
