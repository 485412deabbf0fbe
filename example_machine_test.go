package clerkauth_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// An internal API accepts API keys besides session tokens, requires a
// scope, and reads who is calling. The first request makes one call to
// Clerk's verify endpoint; the next are answered from the cache.
func ExampleMachineTokenFromContext() {
	clerk := clerktest.NewServer(clerktest.Config{})
	defer clerk.Close()
	key := clerk.MustAPIKey(clerktest.APIKeyParams{Subject: "user_2abcDEF123ghiJKL456mnoPQRst", Name: "reporting", Scopes: []string{"read:invoices"}})

	v, err := clerkauth.NewVerifier(clerkauth.Config{
		SecretKey: clerk.SecretKey(), PublishableKey: clerk.PublishableKey(), APIURL: clerk.APIURL(),
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{
		AcceptsToken: []clerkauth.TokenKind{clerkauth.TokenKindSession, clerkauth.TokenKindAPIKey},
	})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	api := httptest.NewServer(m.Handler(clerkauth.RequireScopes("read:invoices")(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			mt, _ := clerkauth.MachineTokenFromContext(r.Context())
			user, _ := clerkauth.UserIDFromContext(r.Context())
			fmt.Fprintf(w, "%s %q for %s", mt.Kind, mt.Name, user)
		}))))
	defer api.Close()

	for _, bearer := range []string{key.Secret, key.Secret, "ak_guessed"} {
		req, _ := http.NewRequest(http.MethodGet, api.URL+"/invoices", nil)
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			fmt.Println(resp.StatusCode)
			continue
		}
		fmt.Println(resp.StatusCode, string(body))
	}
	fmt.Println("verify calls:", clerk.Requests(clerktest.EndpointAPIKeyVerify))
	// Output:
	// 200 api_key "reporting" for user_2abcDEF123ghiJKL456mnoPQRst
	// 200 api_key "reporting" for user_2abcDEF123ghiJKL456mnoPQRst
	// 401
	// verify calls: 2
}
