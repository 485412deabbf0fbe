package clerkgin_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/gin-gonic/gin"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerkgin"
	"github.com/clerkauth/clerkauth/clerktest"
)

// An internal API on gin lets in M2M tokens of the billing machine, and
// API keys holding a scope, as the README shows.
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

	r := gin.New()
	internal := r.Group("/internal", clerkgin.Middleware(machines))
	internal.POST("/sync", clerkgin.RequireMachine(billing.ID), func(c *gin.Context) {
		mt, _ := clerkgin.MachineToken(c)
		c.String(http.StatusOK, "called by billing: %v", mt.MachineID() == billing.ID)
	})
	internal.GET("/reports", clerkgin.RequireScopes("reports:read"), func(c *gin.Context) {
		user, _ := clerkgin.UserID(c)
		c.String(http.StatusOK, "reports for %s", user)
	})

	send := func(method, path, token string) {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		r.ServeHTTP(rec, req)
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
		return clerk.MustAPIKey(clerktest.APIKeyParams{Subject: "user_" + "2abcdefghijklmnopqrstuvwxyz", Scopes: scopes}).Secret
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
