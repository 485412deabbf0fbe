package bench

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v3"
	"github.com/labstack/echo/v4"
	echo5 "github.com/labstack/echo/v5"
	"github.com/valyala/fasthttp"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerkecho"
	"github.com/clerkauth/clerkauth/clerkecho5"
	"github.com/clerkauth/clerkauth/clerkfiber"
	"github.com/clerkauth/clerkauth/clerkgin"
)

// The adapter benchmarks measure the warm path (token in the verified-token
// cache) of each framework with clerkauth's adapter against the same
// framework serving the same request with no authentication: the ratio
// auth/bare of one run is the adapter's overhead. Each request carries the
// token either way; responses go to a writer whose header map is reused,
// so only the framework's and the adapter's allocations are counted.

// adapterMiddleware returns a warm clerkauth Middleware.
func adapterMiddleware(b *testing.B) *clerkauth.Middleware {
	m, err := clerkauth.NewMiddleware(newVerifier(b, 0), clerkauth.MiddlewareOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	return m
}

// reusedWriter is a ResponseWriter that keeps the status and reuses its
// header map.
type reusedWriter struct {
	h    http.Header
	code int
}

func (w *reusedWriter) Header() http.Header         { return w.h }
func (w *reusedWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *reusedWriter) WriteHeader(code int)        { w.code = code }

// serveHTTPLoop serves the token's request through h b.N times.
func serveHTTPLoop(b *testing.B, h http.Handler) {
	req := httptest.NewRequest(http.MethodGet, "/private", nil)
	req.Header.Set("Authorization", "Bearer "+fx.Token)
	w := &reusedWriter{h: http.Header{}}
	h.ServeHTTP(w, req)
	if w.code != 0 && w.code != http.StatusOK {
		b.Fatalf("status %d", w.code)
	}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		w.code = 0
		h.ServeHTTP(w, req)
	}
	if w.code != 0 && w.code != http.StatusOK {
		b.Fatalf("status %d", w.code)
	}
}

func BenchmarkAdapterNetHTTP(b *testing.B) {
	b.Run("bare", func(b *testing.B) { serveHTTPLoop(b, okHandler) })
	b.Run("auth", func(b *testing.B) { serveHTTPLoop(b, adapterMiddleware(b).Handler(okHandler)) })
}

func ginEngine(mw ...gin.HandlerFunc) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/private", append(mw, func(c *gin.Context) { c.Status(http.StatusOK) })...)
	return r
}

func BenchmarkAdapterGin(b *testing.B) {
	b.Run("bare", func(b *testing.B) { serveHTTPLoop(b, ginEngine()) })
	b.Run("auth", func(b *testing.B) { serveHTTPLoop(b, ginEngine(clerkgin.Middleware(adapterMiddleware(b)))) })
}

func echoServer(mw ...echo.MiddlewareFunc) *echo.Echo {
	e := echo.New()
	e.GET("/private", func(c echo.Context) error { return c.NoContent(http.StatusOK) }, mw...)
	return e
}

func BenchmarkAdapterEcho(b *testing.B) {
	b.Run("bare", func(b *testing.B) { serveHTTPLoop(b, echoServer()) })
	b.Run("auth", func(b *testing.B) { serveHTTPLoop(b, echoServer(clerkecho.Middleware(adapterMiddleware(b)))) })
}

func echo5Server(mw ...echo5.MiddlewareFunc) *echo5.Echo {
	e := echo5.New()
	e.GET("/private", func(c *echo5.Context) error { return c.NoContent(http.StatusOK) }, mw...)
	return e
}

func BenchmarkAdapterEcho5(b *testing.B) {
	b.Run("bare", func(b *testing.B) { serveHTTPLoop(b, echo5Server()) })
	b.Run("auth", func(b *testing.B) { serveHTTPLoop(b, echo5Server(clerkecho5.Middleware(adapterMiddleware(b)))) })
}

// serveFiberLoop serves the token's request through app's fasthttp
// handler b.N times, reusing one RequestCtx as fasthttp's server does.
func serveFiberLoop(b *testing.B, app *fiber.App) {
	h := app.Handler()
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(fasthttp.MethodGet)
	ctx.Request.SetRequestURI("/private")
	ctx.Request.Header.Set("Authorization", "Bearer "+fx.Token)
	h(&ctx)
	if code := ctx.Response.StatusCode(); code != http.StatusOK {
		b.Fatalf("status %d", code)
	}
	b.ReportAllocs()
	for b.Loop() {
		ctx.Response.Reset()
		h(&ctx)
	}
	if code := ctx.Response.StatusCode(); code != http.StatusOK {
		b.Fatalf("status %d", code)
	}
}

func BenchmarkAdapterFiber(b *testing.B) {
	b.Run("bare", func(b *testing.B) { serveFiberLoop(b, bareFiber()) })
	b.Run("auth", func(b *testing.B) {
		app := fiber.New()
		app.Get("/private", clerkfiber.New(adapterMiddleware(b)), func(c fiber.Ctx) error { return c.SendStatus(http.StatusOK) })
		serveFiberLoop(b, app)
	})
}

// bareFiber serves GET /private with a 200 and no authentication.
func bareFiber() *fiber.App {
	app := fiber.New()
	app.Get("/private", func(c fiber.Ctx) error { return c.SendStatus(http.StatusOK) })
	return app
}
