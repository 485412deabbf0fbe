package clerkauth

import "context"

// MachineTokenFromContext returns the verified machine token (M2M token,
// OAuth access token or API key) the middleware stored in ctx, and
// whether there was one. It returns nil, false for a request signed in
// with a session token, a signed-out request, and when the middleware was
// not installed; it never panics. The returned token is shared and MUST
// NOT be modified. See [SessionFromContext] for sessions.
func MachineTokenFromContext(ctx context.Context) (*MachineToken, bool) {
	st := authStateFrom(ctx)
	if st == nil || st.machine == nil {
		return nil, false
	}
	return st.machine, true
}

// ContextWithMachineToken returns a copy of ctx carrying mt as the
// verified machine token, as the middleware does. It is meant for tests
// of handlers and guards that read [MachineTokenFromContext].
func ContextWithMachineToken(ctx context.Context, mt *MachineToken) context.Context {
	return withAuthState(ctx, authState{machine: mt})
}

// UserIDFromContext returns the user a request acts for, and whether
// there is one: the subject of its session token, of its OAuth access
// token, or the owner of its API key when a user owns it. It returns
// "", false for M2M tokens, API keys of organizations or machines, and
// signed-out requests.
func UserIDFromContext(ctx context.Context) (string, bool) {
	st := authStateFrom(ctx)
	switch {
	case st == nil:
		return "", false
	case st.claims != nil:
		return st.claims.UserID, st.claims.UserID != ""
	case st.machine != nil:
		id := st.machine.UserID()
		return id, id != ""
	}
	return "", false
}

// TokenKindFromContext returns the kind of token that authenticated the
// request, and false for a signed-out request.
func TokenKindFromContext(ctx context.Context) (TokenKind, bool) {
	st := authStateFrom(ctx)
	switch {
	case st == nil:
		return "", false
	case st.claims != nil:
		return TokenKindSession, true
	case st.machine != nil:
		return st.machine.Kind, true
	}
	return "", false
}
