package clerkauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"

	"github.com/clerkauth/clerkauth"
)

// fakeClerk starts a tiny in-process stand-in for the Backend Sessions API
// holding three sessions of user_1, so the examples run offline.
func fakeClerk() *httptest.Server {
	sessions := map[string]string{"sess_1": "active", "sess_2": "active", "sess_3": "ended"}
	session := func(id string) map[string]any {
		return map[string]any{"object": "session", "id": id, "user_id": "user_1", "client_id": "client_1",
			"status": sessions[id], "last_active_at": 1716969000000, "expire_at": 1716969600000,
			"abandon_at": 1719475200000, "updated_at": 1716969000000, "created_at": 1716960000000}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/sessions", func(w http.ResponseWriter, r *http.Request) {
		limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		data := []any{}
		for i := offset; i < 3 && (limit == 0 || i < offset+limit); i++ {
			data = append(data, session(fmt.Sprintf("sess_%d", i+1)))
		}
		writeJSON(w, 200, map[string]any{"data": data, "total_count": 3})
	})
	mux.HandleFunc("GET /v1/sessions/{id}", func(w http.ResponseWriter, r *http.Request) {
		if _, ok := sessions[r.PathValue("id")]; !ok {
			writeJSON(w, 404, map[string]any{"errors": []any{map[string]any{"code": "resource_not_found",
				"message": "not found", "long_message": "No session was found with id " + r.PathValue("id")}},
				"clerk_trace_id": "trace_example"})
			return
		}
		writeJSON(w, 200, session(r.PathValue("id")))
	})
	mux.HandleFunc("POST /v1/sessions/{id}/revoke", func(w http.ResponseWriter, r *http.Request) {
		sessions[r.PathValue("id")] = "revoked"
		writeJSON(w, 200, session(r.PathValue("id")))
	})
	token := func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"object": "token", "jwt": "eyJhbGciOiJSUzI1NiJ9.eyJ0cGwiOiIifQ.c2ln"})
	}
	mux.HandleFunc("POST /v1/sessions/{id}/tokens", token)
	mux.HandleFunc("POST /v1/sessions/{id}/tokens/{template}", token)
	return httptest.NewServer(mux)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// newExampleClient returns a client of srv. In production, use
// clerkauth.ConfigFromEnv() and leave APIURL empty.
func newExampleClient(srv *httptest.Server) *clerkauth.SessionsClient {
	c, err := clerkauth.NewSessionsClient(clerkauth.Config{
		SecretKey: "sk_test_example",
		APIURL:    srv.URL + "/v1",
	})
	if err != nil {
		log.Fatal(err)
	}
	return c
}

func ExampleSessionsClient_Get() {
	srv := fakeClerk()
	defer srv.Close()
	c := newExampleClient(srv)

	s, err := c.Get(context.Background(), "sess_1")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.ID, s.UserID, s.Status, s.ExpireTime().Format("2006-01-02 15:04 MST"))
	fmt.Println("still active:", s.Status == clerkauth.SessionActive)
	// Output:
	// sess_1 user_1 active 2024-05-29 08:00 UTC
	// still active: true
}

func ExampleSessionsClient_Get_notFound() {
	srv := fakeClerk()
	defer srv.Close()
	c := newExampleClient(srv)

	_, err := c.Get(context.Background(), "sess_404")
	fmt.Println(errors.Is(err, clerkauth.ErrNotFound))
	var apiErr *clerkauth.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Errors[0].Code, apiErr.TraceID)
	}
	// Output:
	// true
	// 404 resource_not_found trace_example
}

func ExampleSessionsClient_List() {
	srv := fakeClerk()
	defer srv.Close()
	c := newExampleClient(srv)

	page, err := c.List(context.Background(), clerkauth.ListSessionsParams{UserID: "user_1", Limit: 2})
	if err != nil {
		log.Fatal(err)
	}
	for _, s := range page.Data {
		fmt.Println(s.ID, s.Status)
	}
	fmt.Println("total:", page.TotalCount)
	// Output:
	// sess_1 active
	// sess_2 active
	// total: 3
}

func ExampleSessionsClient_All() {
	srv := fakeClerk()
	defer srv.Close()
	c := newExampleClient(srv)

	// Pages of two sessions are fetched as the loop needs them.
	var ids []string
	for s, err := range c.All(context.Background(), clerkauth.ListSessionsParams{UserID: "user_1", Limit: 2}) {
		if err != nil {
			log.Fatal(err)
		}
		ids = append(ids, s.ID)
	}
	fmt.Println(strings.Join(ids, " "))
	// Output:
	// sess_1 sess_2 sess_3
}

func ExampleSessionsClient_Revoke() {
	srv := fakeClerk()
	defer srv.Close()
	c := newExampleClient(srv)

	s, err := c.Revoke(context.Background(), "sess_2")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.ID, s.Status)
	// Output:
	// sess_2 revoked
}

func ExampleSessionsClient_CreateToken() {
	srv := fakeClerk()
	defer srv.Close()
	c := newExampleClient(srv)

	tok, err := c.CreateToken(context.Background(), "sess_1", clerkauth.CreateTokenParams{ExpiresInSeconds: 120})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok) // printing a SessionToken redacts the JWT
	fmt.Println(strings.Count(tok.JWT, "."))
	// Output:
	// {token eyJhbGc…}
	// 2
}

func ExampleSessionsClient_CreateTokenFromTemplate() {
	srv := fakeClerk()
	defer srv.Close()
	c := newExampleClient(srv)

	tok, err := c.CreateTokenFromTemplate(context.Background(), "sess_1", "hasura", clerkauth.CreateTokenParams{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Object, len(tok.JWT) > 0)
	// Output:
	// token true
}
