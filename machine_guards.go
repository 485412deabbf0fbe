package clerkauth

import (
	"context"
	"net/http"
	"slices"
)

// MachineCheck is a requirement on the machine token that authenticated a
// request, as the guards [RequireScopes], [RequireMachine] and
// [RequireAPIKeyOwner] state it; [AuthorizeMachine] judges it. Every
// field that is not nil must hold, so the zero MachineCheck requires only
// a machine token (M2M token, OAuth access token or API key).
//
// A non-nil empty Machines or APIKeyOwners allows no token at all: a list
// read from configuration that turns out empty fails closed. Setting both
// Machines and APIKeyOwners allows nothing either, since a token is an M2M
// token or an API key, not both.
//
// A MachineCheck is a plain value; AuthorizeMachine only reads it.
type MachineCheck struct {
	// Scopes the token must hold, every one (see [MachineToken.Scopes]).
	// The scopes of a JWT M2M token are a claim its sender chose; for M2M
	// tokens prefer Machines.
	Scopes []string
	// Machines, when not nil, requires an M2M token sent by one of these
	// machines (mch_…, its subject).
	Machines []string
	// APIKeyOwners, when not nil, requires an API key owned by one of
	// these kinds of owner (OwnerUser, OwnerOrganization, OwnerMachine).
	// OwnerUnknown never matches.
	APIKeyOwners []OwnerKind
}

// The refusals of a MachineCheck, in the order the fields are judged.
const (
	refusalMachine = "the calling machine is not allowed here"
	refusalOwner   = "the API key's owner is not allowed here"
	refusalScope   = "the token lacks a required scope"
	refusalKind    = "a machine token is required here"
)

// refusal returns why mt fails c, "" when it satisfies c. A nil mt (a
// session) fails every requirement, and c's first refusal says why.
func (c *MachineCheck) refusal(mt *MachineToken) string {
	switch {
	case c.Machines != nil && (mt == nil || mt.Kind != TokenKindM2M || !slices.Contains(c.Machines, mt.Subject)):
		return refusalMachine
	case c.APIKeyOwners != nil && (mt == nil || !c.ownerAllowed(mt)):
		return refusalOwner
	case mt == nil && len(c.Scopes) > 0:
		return refusalScope
	case mt == nil:
		return refusalKind
	}
	for _, s := range c.Scopes {
		if !mt.HasScope(s) {
			return refusalScope
		}
	}
	return ""
}

// ownerAllowed reports whether mt is an API key of an owner kind c allows.
func (c *MachineCheck) ownerAllowed(mt *MachineToken) bool {
	return mt.Kind == TokenKindAPIKey && mt.Owner() != OwnerUnknown && slices.Contains(c.APIKeyOwners, mt.Owner())
}

// AuthorizeMachine returns nil when the request of ctx is authenticated
// by a machine token satisfying c; otherwise the error the machine guards
// answer with: one matching ErrNoToken (401) for a signed-out request or
// without the middleware, one matching ErrForbidden (403
// insufficient_scope) for a session token or a machine token failing c.
//
// ctx is what [MachineTokenFromContext] reads: the request's context,
// or a *gin.Context or fiber.Ctx the clerkgin or clerkfiber middleware
// authenticated (see [ContextKey]). The guards of net/http and of every
// adapter decide through it, so all transports answer alike.
func AuthorizeMachine(ctx context.Context, c MachineCheck) error {
	return authorizeMachine(authStateFrom(ctx), &c)
}

func authorizeMachine(st *authState, c *MachineCheck) error {
	if st == nil || st.claims == nil && st.machine == nil {
		return verr(ReasonTokenMissing, "no token")
	}
	if msg := c.refusal(st.machine); msg != "" {
		return &middlewareError{class: ErrForbidden, msg: msg}
	}
	return nil
}

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
	return machineGuard(MachineCheck{Scopes: slices.Clone(scopes)})
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
	return machineGuard(MachineCheck{Machines: slices.Clone(machineIDs)})
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
	return machineGuard(MachineCheck{APIKeyOwners: slices.Clone(owners)})
}

// machineGuard lets through requests whose machine token satisfies c, and
// answers the others through the middleware's ErrorHandler.
func machineGuard(c MachineCheck) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st := authStateFrom(r.Context())
			if err := authorizeMachine(st, &c); err != nil {
				var resp *responder
				if st != nil {
					resp = st.resp
				}
				resp.fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
