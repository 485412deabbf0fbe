// Package clerkgin adapts clerkauth to gin (github.com/gin-gonic/gin v1):
// a gin.HandlerFunc that authenticates requests with Clerk session tokens
// (and machine tokens, with MiddlewareOptions.AcceptsToken), guards as
// gin.HandlerFuncs, and accessors taking a *gin.Context.
//
// It is a thin layer over [clerkauth.Middleware.AuthenticateRequest], the
// decision net/http's middleware makes: every request gets the same
// status, headers and body as through clerkauth's net/http middleware,
// which a shared conformance table checks.
//
//	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{})
//	...
//	r := gin.New()
//	api := r.Group("/api", clerkgin.Middleware(m))
//	api.GET("/me", func(c *gin.Context) {
//		claims, ok := clerkgin.Session(c) // clerkauth.SessionFromContext(c) works too
//		...
//	})
//	api.POST("/invoices", clerkgin.RequirePermission("org:invoices:create"), createInvoice)
//
// On a route whose Middleware accepts machine tokens, [MachineToken],
// [UserID] and [TokenKind] read the token, and [RequireScopes],
// [RequireMachine] and [RequireAPIKeyOwner] guard it, with the verdict of
// clerkauth's net/http guards ([clerkauth.AuthorizeMachine]):
//
//	internal := r.Group("/internal", clerkgin.Middleware(machines)) // AcceptsToken: M2M, API keys
//	internal.POST("/sync", clerkgin.RequireMachine("mch_billing…"), sync)
//
// *gin.Context is itself a context.Context, so clerkauth.SessionFromContext(c)
// compiles; the middleware stores the session (or the machine token, for
// clerkauth.MachineTokenFromContext(c)) where it then finds it (see
// [clerkauth.ContextKey]), whether or not the engine sets
// ContextWithFallback. c.Request.Context() carries it too, for code that
// takes the request.
package clerkgin

import (
	"github.com/gin-gonic/gin"

	"github.com/clerkauth/clerkauth"
)

// middlewareKey is the c.Keys entry holding the *clerkauth.Middleware that
// authenticated the request, through which the guards answer.
const middlewareKey = "github.com/clerkauth/clerkauth/clerkgin.Middleware"

// Middleware returns a gin middleware that authenticates requests with m:
// a request with a valid session token goes on with its session (see
// [Session]); any other is answered by m's ErrorHandler (by default 400,
// 401 or 503 with a JSON body in Clerk's error shape) and aborted, unless
// m's options let it through signed out. It panics if m is nil.
//
// The returned handler is safe for concurrent use, as m is.
func Middleware(m *clerkauth.Middleware) gin.HandlerFunc {
	if m == nil {
		panic("clerkgin: Middleware: nil *clerkauth.Middleware")
	}
	return func(c *gin.Context) {
		d := m.AuthenticateRequest(c.Request)
		d.SetHeaders(c.Writer.Header())
		if !d.Allowed() {
			d.ServeHTTP(c.Writer, c.Request)
			c.Abort()
			return
		}
		parent := c.Request.Context()
		if ctx := d.Context(parent); ctx != parent {
			// Decided here (not skipped): the guards answer through m.
			c.Set(middlewareKey, m)
			c.Request = c.Request.WithContext(ctx)
			c.Set(clerkauth.ContextKey, ctx)
		}
		c.Next()
	}
}

// RequireSession returns a gin middleware that rejects requests without a
// valid session token, with default options: clerkauth.RequireSession for
// gin. It panics if v is nil. Use [Middleware] with
// [clerkauth.NewMiddleware] for options.
func RequireSession(v *clerkauth.Verifier) gin.HandlerFunc {
	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{})
	if err != nil {
		panic(err)
	}
	return Middleware(m)
}

// Session returns the verified session claims of c's request, and whether
// there are any: false for a signed-out request or without [Middleware].
// It never panics. The Claims are shared and MUST NOT be modified.
func Session(c *gin.Context) (*clerkauth.Claims, bool) {
	return clerkauth.SessionFromContext(c)
}

// Token returns the raw session token of c's signed-in request, for
// forwarding to a service that verifies it itself. Never log it.
func Token(c *gin.Context) (string, bool) {
	return clerkauth.TokenFromContext(c)
}

// RequireCheck returns a gin guard that lets a request through only when
// its session satisfies check (see [clerkauth.Claims.Has]): without a
// session it answers 401, with a session failing check 403 (see
// [clerkauth.RequireCheck]), through the ErrorHandler of the Middleware
// that authenticated the request, and aborts. Install it after
// [Middleware].
func RequireCheck(check clerkauth.Check) gin.HandlerFunc {
	return func(c *gin.Context) {
		claims, _ := Session(c)
		if err := clerkauth.Authorize(claims, check); err != nil {
			writeError(c, err)
			c.Abort()
			return
		}
		c.Next()
	}
}

// writeError answers err through the Middleware that authenticated c, or
// the default error handler without one.
func writeError(c *gin.Context, err error) {
	if v, ok := c.Get(middlewareKey); ok {
		if m, ok := v.(*clerkauth.Middleware); ok {
			m.WriteError(c.Writer, c.Request, err)
			return
		}
	}
	clerkauth.DefaultErrorHandler("")(c.Writer, c.Request, err)
}

// RequirePermission returns a guard requiring the active organization
// permission, such as "org:invoices:create". See [RequireCheck].
func RequirePermission(permission string) gin.HandlerFunc {
	return RequireCheck(clerkauth.Check{Permission: permission})
}

// RequireRole returns a guard requiring the active organization role,
// such as "org:admin". See [RequireCheck].
func RequireRole(role string) gin.HandlerFunc {
	return RequireCheck(clerkauth.Check{Role: role})
}

// RequireFeature returns a guard requiring a feature of the session's
// plans, such as "o:dashboard". See [RequireCheck].
func RequireFeature(feature string) gin.HandlerFunc {
	return RequireCheck(clerkauth.Check{Feature: feature})
}

// RequirePlan returns a guard requiring a plan, such as "o:pro". See
// [RequireCheck].
func RequirePlan(plan string) gin.HandlerFunc {
	return RequireCheck(clerkauth.Check{Plan: plan})
}

// RequireReverification returns a guard requiring recently verified
// factors; a session failing it is answered 403 with Clerk's
// reverification error body. See [RequireCheck].
func RequireReverification(r clerkauth.Reverification) gin.HandlerFunc {
	return RequireCheck(clerkauth.Check{Reverification: r})
}
