package clerkecho5

import (
	"slices"

	"github.com/labstack/echo/v5"

	"github.com/clerkauth/clerkauth"
)

// MachineToken returns the verified machine token (M2M token, OAuth
// access token or API key) of c's request, and whether there is one:
// false for a session token, a signed-out request or without
// [Middleware]. It never panics. The token is shared and MUST NOT be
// modified.
func MachineToken(c *echo.Context) (*clerkauth.MachineToken, bool) {
	return clerkauth.MachineTokenFromContext(c.Request().Context())
}

// UserID returns the user c's request acts for: the subject of its
// session token or OAuth access token, or the owner of its API key when a
// user owns it; "", false otherwise. See [clerkauth.UserIDFromContext].
func UserID(c *echo.Context) (string, bool) {
	return clerkauth.UserIDFromContext(c.Request().Context())
}

// TokenKind returns the kind of token that authenticated c's request,
// and false for a signed-out request.
func TokenKind(c *echo.Context) (clerkauth.TokenKind, bool) {
	return clerkauth.TokenKindFromContext(c.Request().Context())
}

// RequireScopes returns an echo guard that lets a request through only
// when it is authenticated by a machine token holding every one of
// scopes: clerkauth.RequireScopes for echo. A signed-out request is
// answered 401; a session token, or a machine token lacking a scope, 403
// insufficient_scope; both through the ErrorHandler of the Middleware
// that authenticated the request. It panics without scopes. The returned
// guard is safe for concurrent use.
func RequireScopes(scopes ...string) echo.MiddlewareFunc {
	if len(scopes) == 0 {
		panic("clerkecho5: RequireScopes: no scopes")
	}
	return machineGuard(clerkauth.MachineCheck{Scopes: slices.Clone(scopes)})
}

// RequireMachine returns an echo guard that lets a request through only
// when it is authenticated by an M2M token sent by one of machineIDs
// (mch_…): clerkauth.RequireMachine for echo, which says why JWT M2M
// tokens need it. It panics without machine IDs.
func RequireMachine(machineIDs ...string) echo.MiddlewareFunc {
	if len(machineIDs) == 0 {
		panic("clerkecho5: RequireMachine: no machine IDs")
	}
	return machineGuard(clerkauth.MachineCheck{Machines: slices.Clone(machineIDs)})
}

// RequireAPIKeyOwner returns an echo guard that lets a request through
// only when it is authenticated by an API key owned by one of the given
// kinds of owner: clerkauth.RequireAPIKeyOwner for echo. It panics
// without owner kinds.
func RequireAPIKeyOwner(owners ...clerkauth.OwnerKind) echo.MiddlewareFunc {
	if len(owners) == 0 {
		panic("clerkecho5: RequireAPIKeyOwner: no owner kinds")
	}
	return machineGuard(clerkauth.MachineCheck{APIKeyOwners: slices.Clone(owners)})
}

// machineGuard lets through requests whose machine token satisfies check,
// by the verdict net/http's guards reach.
func machineGuard(check clerkauth.MachineCheck) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if err := clerkauth.AuthorizeMachine(c.Request().Context(), check); err != nil {
				writeError(c, err)
				return nil
			}
			return next(c)
		}
	}
}
