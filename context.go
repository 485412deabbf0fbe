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

// ContextKey is the key under which a framework whose context type is
// itself a context.Context, but does not reach the request's context,
// stores the context returned by [Decision.Context] in its own store:
// gin's *gin.Context answers string keys from c.Keys (c.Set), fiber.Ctx
// answers any key from c.Locals. [SessionFromContext] and the other
// accessors look there when the state is not in ctx itself, so that
// SessionFromContext(c) works with such a c. The clerkgin and clerkfiber
// adapters do this; only a custom adapter needs ContextKey.
const ContextKey = "github.com/clerkauth/clerkauth.Context"

func authStateFrom(ctx context.Context) *authState {
	if st, ok := ctx.Value(authStateKey{}).(*authState); ok {
		return st
	}
	if inner, ok := ctx.Value(ContextKey).(context.Context); ok && inner != ctx {
		st, _ := inner.Value(authStateKey{}).(*authState)
		return st
	}
	return nil
}

// SessionFromContext returns the verified session claims the middleware
// stored in ctx, and whether there were any. It returns nil, false for a
// signed-out request (optional mode) and when the middleware was not
// installed; it never panics.
//
// It works with any router that passes the request's context along: chi
// and plain net/http directly; with the clerkgin and clerkfiber adapters,
// SessionFromContext(c) itself works (*gin.Context and fiber.Ctx are
// context.Contexts; see [ContextKey]), as does c.Request.Context() with
// gin; echo through c.Request().Context() or clerkecho.Session(c)
// (clerkecho5.Session(c) on echo v5).
// The returned Claims are shared and MUST NOT be modified.
//
// Despite its name it returns the session token's *Claims (who is signed
// in, the session ID, organization, permissions), not a [*Session]: that
// is the Sessions API object, which [SessionsClient.Get] fetches from
// Clerk.
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
