package clerkauth

import (
	"net/http"
	"slices"
)

// RequireScopes returns a guard that lets a request through only when it
// is authenticated by a machine token holding every one of scopes (see
// [MachineToken.Scopes]). A signed-out request is answered 401; a session
// token, or a machine token lacking a scope, 403 insufficient_scope. It
// panics without scopes.
//
// The scopes of a JWT M2M token are a claim its sender chose; for M2M
// tokens prefer [RequireMachine].
func RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	if len(scopes) == 0 {
		panic("clerkauth: RequireScopes: no scopes")
	}
	scopes = slices.Clone(scopes)
	return machineGuard("the token lacks a required scope", func(mt *MachineToken) bool {
		for _, s := range scopes {
			if !mt.HasScope(s) {
				return false
			}
		}
		return true
	})
}

// RequireMachine returns a guard that lets a request through only when it
// is authenticated by an M2M token sent by one of machineIDs (mch_…, its
// subject). A signed-out request is answered 401; any other, 403
// insufficient_scope. It panics without machine IDs.
//
// This is how a service says who may call it: a JWT M2M token names no
// receiving machine, so any machine of the instance can mint one that
// verifies everywhere; opaque M2M tokens are scoped by Clerk only when
// verified with the receiving machine's Config.MachineSecretKey.
func RequireMachine(machineIDs ...string) func(http.Handler) http.Handler {
	if len(machineIDs) == 0 {
		panic("clerkauth: RequireMachine: no machine IDs")
	}
	ids := slices.Clone(machineIDs)
	return machineGuard("the calling machine is not allowed here", func(mt *MachineToken) bool {
		return mt.Kind == TokenKindM2M && slices.Contains(ids, mt.Subject)
	})
}

// RequireAPIKeyOwner returns a guard that lets a request through only
// when it is authenticated by an API key owned by one of the given kinds
// of owner (OwnerUser, OwnerOrganization, OwnerMachine). A signed-out
// request is answered 401; any other, 403 insufficient_scope. It panics
// without owner kinds.
func RequireAPIKeyOwner(owners ...OwnerKind) func(http.Handler) http.Handler {
	if len(owners) == 0 {
		panic("clerkauth: RequireAPIKeyOwner: no owner kinds")
	}
	owners = slices.Clone(owners)
	return machineGuard("the API key's owner is not allowed here", func(mt *MachineToken) bool {
		return mt.Kind == TokenKindAPIKey && mt.Owner() != OwnerUnknown && slices.Contains(owners, mt.Owner())
	})
}

// machineGuard lets through requests whose machine token satisfies ok.
func machineGuard(refusal string, ok func(*MachineToken) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st := authStateFrom(r.Context())
			var resp *responder
			if st != nil {
				resp = st.resp
			}
			switch {
			case st == nil || st.claims == nil && st.machine == nil:
				resp.fail(w, r, verr(ReasonTokenMissing, "no token"))
			case st.machine == nil || !ok(st.machine):
				resp.fail(w, r, &middlewareError{class: ErrForbidden, msg: refusal})
			default:
				next.ServeHTTP(w, r)
			}
		})
	}
}
