package clerkgin

import (
	"slices"

	"github.com/gin-gonic/gin"

	"github.com/clerkauth/clerkauth"
)

// MachineToken returns the verified machine token (M2M token, OAuth
// access token or API key) of c's request, and whether there is one:
// false for a session token, a signed-out request or without
// [Middleware]. It never panics. The token is shared and MUST NOT be
// modified. clerkauth.MachineTokenFromContext(c) works too.
func MachineToken(c *gin.Context) (*clerkauth.MachineToken, bool) {
	return clerkauth.MachineTokenFromContext(c)
}

// UserID returns the user c's request acts for: the subject of its
// session token or OAuth access token, or the owner of its API key when a
// user owns it; "", false otherwise. See [clerkauth.UserIDFromContext].
func UserID(c *gin.Context) (string, bool) {
	return clerkauth.UserIDFromContext(c)
}

// TokenKind returns the kind of token that authenticated c's request,
// and false for a signed-out request.
func TokenKind(c *gin.Context) (clerkauth.TokenKind, bool) {
	return clerkauth.TokenKindFromContext(c)
}

// RequireScopes returns a gin guard that lets a request through only
// when it is authenticated by a machine token holding every one of
// scopes: clerkauth.RequireScopes for gin. A signed-out request is
// answered 401; a session token, or a machine token lacking a scope, 403
// insufficient_scope; both through the ErrorHandler of the Middleware
// that authenticated the request, and aborted. It panics without scopes.
func RequireScopes(scopes ...string) gin.HandlerFunc {
	if len(scopes) == 0 {
		panic("clerkgin: RequireScopes: no scopes")
	}
	return machineGuard(clerkauth.MachineCheck{Scopes: slices.Clone(scopes)})
}

// RequireMachine returns a gin guard that lets a request through only
// when it is authenticated by an M2M token sent by one of machineIDs
// (mch_…): clerkauth.RequireMachine for gin, which says why JWT M2M
// tokens need it. It panics without machine IDs.
func RequireMachine(machineIDs ...string) gin.HandlerFunc {
	if len(machineIDs) == 0 {
		panic("clerkgin: RequireMachine: no machine IDs")
	}
	return machineGuard(clerkauth.MachineCheck{Machines: slices.Clone(machineIDs)})
}

// RequireAPIKeyOwner returns a gin guard that lets a request through
// only when it is authenticated by an API key owned by one of the given
// kinds of owner: clerkauth.RequireAPIKeyOwner for gin. It panics without
// owner kinds.
func RequireAPIKeyOwner(owners ...clerkauth.OwnerKind) gin.HandlerFunc {
	if len(owners) == 0 {
		panic("clerkgin: RequireAPIKeyOwner: no owner kinds")
	}
	return machineGuard(clerkauth.MachineCheck{APIKeyOwners: slices.Clone(owners)})
}

// machineGuard lets through requests whose machine token satisfies check,
// by the verdict net/http's guards reach.
func machineGuard(check clerkauth.MachineCheck) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := clerkauth.AuthorizeMachine(c, check); err != nil {
			writeError(c, err)
			c.Abort()
			return
		}
		c.Next()
	}
}
