package clerkauth_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// A calling service reaches an internal API with M2M tokens of its
// machine; the API lets in the machines it names. The three lines of the
// caller's setup are those of the README; examples/m2m is the full pair.
func ExampleNewM2MHTTPClient() {
	clerk := clerktest.NewServer(clerktest.Config{})
	defer clerk.Close()
	gateway := clerk.CreateMachine(clerktest.MachineParams{Name: "gateway"})

	// The receiving service: M2M tokens of the gateway machine only.
	v, err := clerkauth.NewVerifier(clerkauth.Config{
		SecretKey: clerk.SecretKey(), PublishableKey: clerk.PublishableKey(), APIURL: clerk.APIURL(),
	})
	if err != nil {
		panic(err)
	}
	defer v.Close()
	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{
		AcceptsToken: []clerkauth.TokenKind{clerkauth.TokenKindM2M},
	})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	billing := httptest.NewServer(m.Handler(clerkauth.RequireMachine(gateway.ID)(http.HandlerFunc(
		func(w http.ResponseWriter, r *http.Request) {
			mt, _ := clerkauth.MachineTokenFromContext(r.Context())
			fmt.Fprintf(w, "called by the gateway: %v", mt.MachineID() == gateway.ID)
		}))))
	defer billing.Close()

	// The calling service (M2MConfigFromEnv reads CLERK_MACHINE_SECRET_KEY).
	src, err := clerkauth.NewM2MTokenSource(clerkauth.M2MConfig{MachineSecretKey: gateway.SecretKey, APIURL: clerk.APIURL()})
	if err != nil {
		panic(err)
	}
	defer src.Close()
	client, err := clerkauth.NewM2MHTTPClient(src, clerkauth.M2MTransportOptions{Origins: []string{billing.URL}})
	if err != nil {
		panic(err)
	}
	for range 3 {
		resp, err := client.Get(billing.URL + "/invoices")
		if err != nil {
			panic(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, string(body))
	}
	fmt.Println("tokens created:", clerk.Requests(clerktest.EndpointM2MCreate))

	// Without the client, the API answers 401.
	resp, err := http.Get(billing.URL + "/invoices")
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)
	// Output:
	// 200 called by the gateway: true
	// 200 called by the gateway: true
	// 200 called by the gateway: true
	// tokens created: 1
	// 401
}
