package clerktest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/clerkauth/clerkauth/clerktest"
)

// A calling service mints an M2M token for its machine; the receiving
// service verifies it with its own machine secret key, so the Backend API
// checks that the token is scoped to it.
func ExampleServer_CreateM2MToken() {
	srv := clerktest.NewServer(clerktest.Config{})
	defer srv.Close()

	billing := srv.CreateMachine(clerktest.MachineParams{Name: "billing"})
	gateway := srv.CreateMachine(clerktest.MachineParams{Name: "gateway", ScopedMachines: []string{billing.ID}})

	tok := srv.MustM2MToken(gateway.ID, clerktest.M2MTokenParams{}) // opaque mt_… by default
	jwt := srv.MustM2MToken(gateway.ID, clerktest.M2MTokenParams{Format: clerktest.FormatJWT})
	fmt.Println(strings.HasPrefix(tok.Token, "mt_"), strings.Count(jwt.Token, "."))

	req, _ := http.NewRequest("POST", srv.URL()+"/m2m_tokens/verify", strings.NewReader(`{"token":"`+tok.Token+`"}`))
	req.Header.Set("Authorization", "Bearer "+billing.SecretKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var verified struct {
		Object  string   `json:"object"`
		Subject string   `json:"subject"`
		Scopes  []string `json:"scopes"`
	}
	json.NewDecoder(resp.Body).Decode(&verified)
	fmt.Println(resp.StatusCode, verified.Object, verified.Subject == gateway.ID, verified.Scopes[0] == billing.ID)
	fmt.Println(srv.Requests(clerktest.EndpointM2MVerify))
	// Output:
	// true 2
	// 200 machine_to_machine_token true true
	// 1
}
