package clerkecho5_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v5"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerkecho5"
	"github.com/clerkauth/clerkauth/clerktest"
)

// An API on echo v5 reads the session of signed-in users and lets only
// members holding a permission create invoices, as the package doc shows.
func ExampleMiddleware() {
	clerk := clerktest.NewServer(clerktest.Config{}) // stands in for Clerk
	defer clerk.Close()
	v, err := clerkauth.NewVerifier(clerkauth.Config{
		SecretKey: clerk.SecretKey(), PublishableKey: clerk.PublishableKey(), APIURL: clerk.APIURL(),
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{Realm: "example"})
	if err != nil {
		panic(err)
	}
	defer m.Close()

	e := echo.New()
	api := e.Group("/api", clerkecho5.Middleware(m))
	api.GET("/me", func(c *echo.Context) error {
		claims, _ := clerkecho5.Session(c)
		return c.String(http.StatusOK, "hello "+claims.UserID)
	})
	api.POST("/invoices", func(c *echo.Context) error {
		return c.String(http.StatusCreated, "invoice created")
	}, clerkecho5.RequirePermission("org:invoices:create"))

	send := func(method, path, token string) {
		req := httptest.NewRequest(method, path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code >= 400 {
			fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
			return
		}
		fmt.Println(rec.Code, rec.Body.String())
	}
	session := func(userID string, permissions ...string) string {
		s := clerk.CreateSession(clerktest.SessionParams{
			UserID: userID, Org: &clerktest.OrgMembership{Slug: "acme", Permissions: permissions},
		})
		return clerk.MustToken(s.ID)
	}
	accountant := session("user_accountant", "org:invoices:create")
	viewer := session("user_viewer", "org:invoices:read")
	send(http.MethodGet, "/api/me", viewer)
	send(http.MethodGet, "/api/me", "")
	send(http.MethodPost, "/api/invoices", accountant)
	send(http.MethodPost, "/api/invoices", viewer)
	// Output:
	// 200 hello user_viewer
	// 401 Bearer realm="example"
	// 201 invoice created
	// 403 Bearer realm="example", error="insufficient_scope", error_description="the session does not meet the route's requirements"
}

// An internal API on echo v5 lets in M2M tokens of the billing machine,
// and API keys holding a scope.
func ExampleRequireMachine() {
	clerk := clerktest.NewServer(clerktest.Config{})
	defer clerk.Close()
	billing := clerk.CreateMachine(clerktest.MachineParams{Name: "billing"})
	other := clerk.CreateMachine(clerktest.MachineParams{Name: "other"})

	v, err := clerkauth.NewVerifier(clerkauth.Config{
		SecretKey: clerk.SecretKey(), PublishableKey: clerk.PublishableKey(), APIURL: clerk.APIURL(),
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	machines, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{
		AcceptsToken: []clerkauth.TokenKind{clerkauth.TokenKindM2M, clerkauth.TokenKindAPIKey},
	})
	if err != nil {
		panic(err)
	}
	defer machines.Close()

	e := echo.New()
	internal := e.Group("/internal", clerkecho5.Middleware(machines))
	internal.POST("/sync", func(c *echo.Context) error {
		mt, _ := clerkecho5.MachineToken(c)
		return c.String(http.StatusOK, fmt.Sprintf("called by billing: %v", mt.MachineID() == billing.ID))
	}, clerkecho5.RequireMachine(billing.ID))
	internal.GET("/reports", func(c *echo.Context) error {
		user, _ := clerkecho5.UserID(c)
		return c.String(http.StatusOK, "reports for "+user)
	}, clerkecho5.RequireScopes("reports:read"))

	send := func(method, path, token string) {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			fmt.Println(rec.Code, rec.Header().Get("WWW-Authenticate"))
			return
		}
		fmt.Println(rec.Code, rec.Body.String())
	}
	m2m := func(id string) string {
		return clerk.MustM2MToken(id, clerktest.M2MTokenParams{Format: clerktest.FormatJWT}).Token
	}
	key := func(scopes ...string) string {
		return clerk.MustAPIKey(clerktest.APIKeyParams{Subject: "user_2abcdefghijklmnopqrstuvwxyz", Scopes: scopes}).Secret
	}
	send(http.MethodPost, "/internal/sync", m2m(billing.ID))
	send(http.MethodPost, "/internal/sync", m2m(other.ID))
	send(http.MethodGet, "/internal/reports", key("reports:read"))
	send(http.MethodGet, "/internal/reports", key("invoices:read"))
	// Output:
	// 200 called by billing: true
	// 403 Bearer realm="api", error="insufficient_scope", error_description="the calling machine is not allowed here"
	// 200 reports for user_2abcdefghijklmnopqrstuvwxyz
	// 403 Bearer realm="api", error="insufficient_scope", error_description="the token lacks a required scope"
}
