package clerkauth_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// A calling service reaches an internal API with M2M tokens from its
// machine secret key; the API (here a stand-in) sees the Bearer token.
func ExampleNewM2MHTTPClient() {
	clerk := clerktest.NewServer(clerktest.Config{})
	defer clerk.Close()
	machine := clerk.CreateMachine(clerktest.MachineParams{Name: "gateway"})

	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		fmt.Fprintf(w, "JWT: %v", strings.Count(token, ".") == 2)
	}))
	defer api.Close()

	src, err := clerkauth.NewM2MTokenSource(clerkauth.M2MConfig{
		MachineSecretKey: machine.SecretKey, // from CLERK_MACHINE_SECRET_KEY: M2MConfigFromEnv
		APIURL:           clerk.APIURL(),
	})
	if err != nil {
		panic(err)
	}
	defer src.Close()
	client, err := clerkauth.NewM2MHTTPClient(src, clerkauth.M2MTransportOptions{Origins: []string{api.URL}})
	if err != nil {
		panic(err)
	}
	for range 3 {
		resp, err := client.Get(api.URL + "/invoices")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	tok, _ := src.Token(context.Background())
	fmt.Println("tokens created:", clerk.Requests(clerktest.EndpointM2MCreate), tok.Subject == machine.ID)
	// Output:
	// 200 JWT: true
	// 200 JWT: true
	// 200 JWT: true
	// tokens created: 1 true
}
