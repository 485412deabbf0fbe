// Package clerkfiber adapts clerkauth to fiber v3
// (github.com/gofiber/fiber/v3), natively: fiber runs on fasthttp, not
// net/http, and this middleware reads the fasthttp request directly (no
// net/http conversion) and feeds it to [clerkauth.Middleware.Authenticate],
// the decision net/http's middleware makes. Every request gets the same
// status, headers and body as through clerkauth's net/http middleware,
// which a shared conformance table checks.
//
//	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{})
//	...
//	app := fiber.New()
//	api := app.Group("/api", clerkfiber.New(m))
//	api.Get("/me", func(c fiber.Ctx) error {
//		claims, _ := clerkfiber.Session(c) // clerkauth.SessionFromContext(c) works too
//		return c.SendString(claims.UserID)
//	})
//	api.Post("/invoices", clerkfiber.RequirePermission("org:invoices:create"), createInvoice)
//
// On a route whose Middleware accepts machine tokens
// (MiddlewareOptions.AcceptsToken), [MachineToken], [UserID] and
// [TokenKind] read the token (clerkauth.MachineTokenFromContext(c) works
// too), and [RequireScopes], [RequireMachine] and [RequireAPIKeyOwner]
// guard it, with the verdict of clerkauth's net/http guards
// ([clerkauth.AuthorizeMachine]):
//
//	internal := app.Group("/internal", clerkfiber.New(machines))
//	internal.Post("/sync", clerkfiber.RequireMachine("mch_billing…"), sync)
//
// fasthttp reuses a request's memory once it is answered. The middleware
// marks the credentials Volatile, so clerkauth copies the token before
// keeping it (the verified state, its caches); the claims are decoded into
// memory of their own. [Token] therefore returns a string that stays
// valid after the handler returns.
//
// MiddlewareOptions.Skip, TokenExtractor and ErrorHandler take net/http
// types, which fiber has not: use [Config]'s Next, TokenExtractor and
// ErrorHandler. [New] panics when the Middleware has one of them and the
// Config lacks its fiber counterpart, rather than ignore it.
package clerkfiber

import (
	"net/http"
	"net/url"
	"unsafe"

	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"

	"github.com/clerkauth/clerkauth"
)

// Config configures the fiber middleware. The zero value reads the
// Authorization header and the session cookies and answers refusals with
// clerkauth's default answers.
type Config struct {
	// Next, when it returns true, lets the request through untouched and
	// signed out, for public paths such as health checks.
	Next func(c fiber.Ctx) bool

	// TokenExtractor, when set, replaces the Authorization header and the
	// cookies as the token's source. It returns "", nil for a request
	// without a token; an error is answered 400 invalid_request.
	TokenExtractor func(c fiber.Ctx) (string, error)

	// ErrorHandler answers refused requests and failed guards; it receives
	// the error, which matches one of the sentinels listed at
	// [clerkauth.DefaultErrorHandler]. Default: the Middleware's default
	// answer ([clerkauth.Middleware.RenderError]), which is
	// net/http's byte for byte.
	ErrorHandler func(c fiber.Ctx, err error) error
}

// adapter is a middleware's state, shared by its requests.
type adapter struct {
	m   *clerkauth.Middleware
	cfg Config
}

// adapterKey is the c.Locals key of the adapter that authenticated the
// request, through which the guards answer.
type adapterKey struct{}

// New returns a fiber middleware that authenticates requests with m: a
// request with a valid session token goes on with its session (see
// [Session]); any other is answered (by default 400, 401 or 503 with a
// JSON body in Clerk's error shape) and stops there, unless m's options
// let it through signed out. It panics if m is nil. Only the first config
// is used. It also panics when m was built with an option taking net/http
// types (MiddlewareOptions.Skip, TokenExtractor, ErrorHandler) and the
// config lacks its fiber counterpart (Next, TokenExtractor,
// ErrorHandler): fiber cannot run the former, and ignoring it would
// answer differently from what m was set up to do.
//
// The returned handler is safe for concurrent use, as m is.
func New(m *clerkauth.Middleware, config ...Config) fiber.Handler {
	if m == nil {
		panic("clerkfiber: New: nil *clerkauth.Middleware")
	}
	a := &adapter{m: m}
	if len(config) > 0 {
		a.cfg = config[0]
	}
	if name, fiberName := a.cfg.uncovered(m.HTTPOnlyOptions()); name != "" {
		panic("clerkfiber: New: MiddlewareOptions." + name + " takes net/http types, which fiber cannot run: set clerkfiber.Config." + fiberName + " instead")
	}
	return a.handle
}

// uncovered returns the first of names (net/http options of a Middleware)
// whose fiber counterpart cfg leaves unset, with that counterpart's name;
// "", "" when each is covered.
func (cfg *Config) uncovered(names []string) (name, fiberName string) {
	for _, n := range names {
		switch {
		case n == "Skip" && cfg.Next == nil:
			return n, "Next"
		case n == "TokenExtractor" && cfg.TokenExtractor == nil:
			return n, "TokenExtractor"
		case n == "ErrorHandler" && cfg.ErrorHandler == nil:
			return n, "ErrorHandler"
		}
	}
	return "", ""
}

// RequireSession returns a fiber middleware that rejects requests without
// a valid session token, with default options. It panics if v is nil.
// Use [New] with [clerkauth.NewMiddleware] for options.
func RequireSession(v *clerkauth.Verifier) fiber.Handler {
	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{})
	if err != nil {
		panic(err)
	}
	return New(m)
}

func (a *adapter) handle(c fiber.Ctx) error {
	if a.cfg.Next != nil && a.cfg.Next(c) {
		return c.Next()
	}
	req := c.Request()
	var auth [2]string // enough for any valid request
	in := clerkauth.Credentials{
		Method:        c.Method(),
		Host:          host(&req.Header),
		Authorization: authorization(&req.Header, auth[:0]),
		Source:        (*source)(&req.Header),
		Volatile:      true,
	}
	if a.cfg.TokenExtractor != nil {
		in.Token = func() (string, error) { return a.cfg.TokenExtractor(c) }
	}
	parent := c.Context()
	d := a.m.Authenticate(parent, in)
	d.EachHeader(func(k, v string) {
		switch {
		case k == "Vary":
			c.Append(k, v)
		case k == fiber.HeaderCacheControl && len(c.Response().Header.Peek(k)) != 0:
			// a policy set before this middleware stands
		default:
			c.Set(k, v)
		}
	})
	if !d.Allowed() {
		if err := d.Err(); err != nil {
			return a.fail(c, err)
		}
		return send(c, d.Reply()) // a CORS preflight's 204
	}
	// c.Locals, without its variadic argument's allocation.
	if ctx := d.Context(parent); ctx != parent {
		// Decided here (not a passed-on preflight): the guards answer
		// through a.
		rc := c.RequestCtx()
		rc.SetUserValue(adapterKey{}, a)
		c.SetContext(ctx)
		rc.SetUserValue(clerkauth.ContextKey, ctx)
	}
	return c.Next()
}

// fail answers err through the configured ErrorHandler, or with the
// middleware's default answer.
func (a *adapter) fail(c fiber.Ctx, err error) error {
	if a.cfg.ErrorHandler != nil {
		return a.cfg.ErrorHandler(c, err)
	}
	return send(c, a.m.RenderError(err))
}

// send writes rep.
func send(c fiber.Ctx, rep clerkauth.ErrorReply) error {
	rep.EachHeader(c.Set)
	return c.Status(rep.Status).Send(rep.Body)
}

// authorization returns every Authorization value of h, appended to buf.
// The strings alias h's memory: the credentials are Volatile.
func authorization(h *fasthttp.RequestHeader, buf []string) []string {
	for _, v := range h.PeekAll(fasthttp.HeaderAuthorization) {
		buf = append(buf, bytesString(v))
	}
	return buf
}

// host returns the request's host as net/http's server sets
// http.Request.Host, to which the cross-origin check compares the Origin:
// the host of an absolute-form request target ("POST http://host/path",
// RFC 9112 §3.2.2: the Host header is then ignored), else the Host header.
// Only an absolute-form target allocates.
func host(h *fasthttp.RequestHeader) string {
	target := h.RequestURI()
	if len(target) == 0 || target[0] == '/' || target[0] == '*' {
		return bytesString(h.Host())
	}
	u, err := url.ParseRequestURI(string(target))
	if err != nil || u.Host == "" {
		return bytesString(h.Host())
	}
	return u.Host
}

// source is the CredentialSource of a fasthttp request.
type source fasthttp.RequestHeader

// Get returns the first value of header name. The string aliases the
// request's memory.
func (s *source) Get(name string) string {
	return bytesString((*fasthttp.RequestHeader)(s).Peek(name))
}

// Cookie returns the first cookie named name, parsed by net/http's rules
// (fasthttp's differ: quoting, invalid values), so that fiber reads the
// cookies net/http reads. It allocates, as net/http's cookie parsing does;
// only requests without a bearer token get here.
func (s *source) Cookie(name string) (string, bool) {
	lines := (*fasthttp.RequestHeader)(s).PeekAll(fasthttp.HeaderCookie)
	if len(lines) == 0 {
		return "", false
	}
	h := make(http.Header, 1)
	for _, l := range lines {
		h.Add("Cookie", string(l))
	}
	c, err := (&http.Request{Header: h}).Cookie(name)
	if err != nil {
		return "", false
	}
	return c.Value, true
}

// bytesString returns b as a string without copying: it is valid while b
// is, for the Authenticate call (which copies what it keeps).
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// Session returns the verified session claims of c's request, and whether
// there are any: false for a signed-out request or without [New]. It
// never panics. The Claims are shared and MUST NOT be modified.
func Session(c fiber.Ctx) (*clerkauth.Claims, bool) {
	return clerkauth.SessionFromContext(c)
}

// Token returns the raw session token of c's signed-in request (a copy
// that outlives the request), for forwarding to a service that verifies it
// itself. Never log it.
func Token(c fiber.Ctx) (string, bool) {
	return clerkauth.TokenFromContext(c)
}

// RequireCheck returns a fiber guard that lets a request through only
// when its session satisfies check (see [clerkauth.Claims.Has]): without
// a session it answers 401, with a session failing check 403 (see
// [clerkauth.RequireCheck]), through the ErrorHandler of the middleware
// that authenticated the request. Install it after [New].
func RequireCheck(check clerkauth.Check) fiber.Handler {
	return func(c fiber.Ctx) error {
		claims, _ := Session(c)
		if err := clerkauth.Authorize(claims, check); err != nil {
			return failGuard(c, err)
		}
		return c.Next()
	}
}

// failGuard answers a failed guard through the middleware that
// authenticated c, or with the default answer without one.
func failGuard(c fiber.Ctx, err error) error {
	if a, ok := c.Locals(adapterKey{}).(*adapter); ok {
		return a.fail(c, err)
	}
	return send(c, clerkauth.RenderError("", err))
}

// RequirePermission returns a guard requiring the active organization
// permission, such as "org:invoices:create". See [RequireCheck].
func RequirePermission(permission string) fiber.Handler {
	return RequireCheck(clerkauth.Check{Permission: permission})
}

// RequireRole returns a guard requiring the active organization role,
// such as "org:admin". See [RequireCheck].
func RequireRole(role string) fiber.Handler {
	return RequireCheck(clerkauth.Check{Role: role})
}

// RequireFeature returns a guard requiring a feature of the session's
// plans, such as "o:dashboard". See [RequireCheck].
func RequireFeature(feature string) fiber.Handler {
	return RequireCheck(clerkauth.Check{Feature: feature})
}

// RequirePlan returns a guard requiring a plan, such as "o:pro". See
// [RequireCheck].
func RequirePlan(plan string) fiber.Handler {
	return RequireCheck(clerkauth.Check{Plan: plan})
}

// RequireReverification returns a guard requiring recently verified
// factors; a session failing it is answered 403 with Clerk's
// reverification error body. See [RequireCheck].
func RequireReverification(r clerkauth.Reverification) fiber.Handler {
	return RequireCheck(clerkauth.Check{Reverification: r})
}
