package clerktest_test

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/clerkauth/clerkauth/clerktest"
)

func ExampleNewServer() {
	srv := clerktest.NewServer(clerktest.Config{})
	defer srv.Close()

	sess := srv.CreateSession(clerktest.SessionParams{
		Org: &clerktest.OrgMembership{Slug: "acme", Role: "admin", Permissions: []string{"org:dashboard:read"}},
	})
	token := srv.MustToken(sess.ID) // a v2 session token, valid for 60 s
	fmt.Println(len(token) > 0, srv.Issuer())

	// The Backend API answers like Clerk's.
	req, _ := http.NewRequest("GET", srv.APIURL()+"/sessions/"+sess.ID, nil)
	req.Header.Set("Authorization", "Bearer "+srv.SecretKey())
	resp, err := srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var session struct {
		Object, Status string
	}
	json.NewDecoder(resp.Body).Decode(&session)
	fmt.Println(resp.StatusCode, session.Object, session.Status)
	fmt.Println(srv.Requests(clerktest.EndpointSessionGet))
	// Output:
	// true https://clerk.clerktest.localhost
	// 200 session active
	// 1
}
