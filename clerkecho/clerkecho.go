// Package clerkecho adapts clerkauth to echo v4
// (github.com/labstack/echo/v4): an echo.MiddlewareFunc that authenticates
// requests with Clerk session tokens (and machine tokens, with
// MiddlewareOptions.AcceptsToken), guards as echo.MiddlewareFuncs, and
// accessors taking an echo.Context. For echo v5, whose Context is a
// struct used as *echo.Context, use package clerkecho5
// (github.com/clerkauth/clerkauth/clerkecho5), which has the same API.
//
// It is a thin layer over [clerkauth.Middleware.AuthenticateRequest], the
// decision net/http's middleware makes: every request gets the same
// status, headers and body as through clerkauth's net/http middleware
// (refusals are written directly, not returned to echo's HTTPErrorHandler,
// which would render its own body), which a shared conformance table
// checks.
//
//	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{})
//	...
//	e := echo.New()
//	api := e.Group("/api", clerkecho.Middleware(m))
//	api.GET("/me", func(c echo.Context) error {
//		claims, _ := clerkecho.Session(c)
//		return c.String(http.StatusOK, claims.UserID)
//	})
//	api.POST("/invoices", createInvoice, clerkecho.RequirePermission("org:invoices:create"))
//
// On a route whose Middleware accepts machine tokens, [MachineToken],
// [UserID] and [TokenKind] read the token, and [RequireScopes],
// [RequireMachine] and [RequireAPIKeyOwner] guard it, with the verdict of
// clerkauth's net/http guards ([clerkauth.AuthorizeMachine]):
//
//	internal := e.Group("/internal", clerkecho.Middleware(machines)) // AcceptsToken: M2M, API keys
//	internal.POST("/sync", sync, clerkecho.RequireMachine("mch_billing…"))
//
// The request's context carries the session or machine token too:
// clerkauth.SessionFromContext(c.Request().Context()).
package clerkecho

import (
	"github.com/labstack/echo/v4"

	"github.com/clerkauth/clerkauth"
)

// middlewareKey is the echo.Context entry holding the
// *clerkauth.Middleware that authenticated the request, through which the
// guards answer.
const middlewareKey = "github.com/clerkauth/clerkauth/clerkecho.Middleware"

// Middleware returns an echo middleware that authenticates requests with
// m: a request with a valid session token goes on with its session (see
// [Session]); any other is answered by m's ErrorHandler (by default 400,
// 401 or 503 with a JSON body in Clerk's error shape) and stops there,
// unless m's options let it through signed out. It panics if m is nil.
//
// The returned middleware is safe for concurrent use, as m is.
func Middleware(m *clerkauth.Middleware) echo.MiddlewareFunc {
	if m == nil {
		panic("clerkecho: Middleware: nil *clerkauth.Middleware")
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			d := m.AuthenticateRequest(r)
			w := c.Response()
			d.SetHeaders(w.Header())
			if !d.Allowed() {
				d.ServeHTTP(w, r)
				return nil
			}
			if ctx := d.Context(r.Context()); ctx != r.Context() {
				// Decided here (not skipped): the guards answer through m.
				c.Set(middlewareKey, m)
				c.SetRequest(r.WithContext(ctx))
			}
			return next(c)
		}
	}
}

// RequireSession returns an echo middleware that rejects requests without
// a valid session token, with default options: clerkauth.RequireSession
// for echo. It panics if v is nil. Use [Middleware] with
// [clerkauth.NewMiddleware] for options.
func RequireSession(v *clerkauth.Verifier) echo.MiddlewareFunc {
	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{})
	if err != nil {
		panic(err)
	}
	return Middleware(m)
}

// Session returns the verified session claims of c's request, and whether
// there are any: false for a signed-out request or without [Middleware].
// It never panics. The Claims are shared and MUST NOT be modified.
func Session(c echo.Context) (*clerkauth.Claims, bool) {
	return clerkauth.SessionFromContext(c.Request().Context())
}

// Token returns the raw session token of c's signed-in request, for
// forwarding to a service that verifies it itself. Never log it.
func Token(c echo.Context) (string, bool) {
	return clerkauth.TokenFromContext(c.Request().Context())
}

// RequireCheck returns an echo guard that lets a request through only
// when its session satisfies check (see [clerkauth.Claims.Has]): without a
// session it answers 401, with a session failing check 403 (see
// [clerkauth.RequireCheck]), through the ErrorHandler of the Middleware
// that authenticated the request. Install it after [Middleware].
func RequireCheck(check clerkauth.Check) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			claims, _ := Session(c)
			if err := clerkauth.Authorize(claims, check); err != nil {
				writeError(c, err)
				return nil
			}
			return next(c)
		}
	}
}

// writeError answers err through the Middleware that authenticated c, or
// the default error handler without one.
func writeError(c echo.Context, err error) {
	if m, ok := c.Get(middlewareKey).(*clerkauth.Middleware); ok {
		m.WriteError(c.Response(), c.Request(), err)
		return
	}
	clerkauth.DefaultErrorHandler("")(c.Response(), c.Request(), err)
}

// RequirePermission returns a guard requiring the active organization
// permission, such as "org:invoices:create". See [RequireCheck].
func RequirePermission(permission string) echo.MiddlewareFunc {
	return RequireCheck(clerkauth.Check{Permission: permission})
}

// RequireRole returns a guard requiring the active organization role,
// such as "org:admin". See [RequireCheck].
func RequireRole(role string) echo.MiddlewareFunc {
	return RequireCheck(clerkauth.Check{Role: role})
}

// RequireFeature returns a guard requiring a feature of the session's
// plans, such as "o:dashboard". See [RequireCheck].
func RequireFeature(feature string) echo.MiddlewareFunc {
	return RequireCheck(clerkauth.Check{Feature: feature})
}

// RequirePlan returns a guard requiring a plan, such as "o:pro". See
// [RequireCheck].
func RequirePlan(plan string) echo.MiddlewareFunc {
	return RequireCheck(clerkauth.Check{Plan: plan})
}

// RequireReverification returns a guard requiring recently verified
// factors; a session failing it is answered 403 with Clerk's
// reverification error body. See [RequireCheck].
func RequireReverification(r clerkauth.Reverification) echo.MiddlewareFunc {
	return RequireCheck(clerkauth.Check{Reverification: r})
}
