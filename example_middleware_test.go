package clerkauth_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// newExampleVerifier returns a Verifier for a local Clerk-compatible server.
func newExampleVerifier(srv *clerktest.Server) *clerkauth.Verifier {
	v, err := clerkauth.NewVerifier(clerkauth.Config{
		SecretKey:      srv.SecretKey(),
		PublishableKey: srv.PublishableKey(),
		APIURL:         srv.APIURL(),
	})
	if err != nil {
		panic(err)
	}
	return v
}

// get sends a GET to h with the token, if any, and prints the answer.
func get(h http.Handler, token string) {
	r := httptest.NewRequest(http.MethodGet, "/api/me", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	body, _ := io.ReadAll(rec.Body)
	fmt.Printf("%d %s", rec.Code, body)
	if c := rec.Header().Get("WWW-Authenticate"); c != "" {
		fmt.Printf("   WWW-Authenticate: %s\n", c)
	}
}

func ExampleMiddleware_Handler() {
	srv := clerktest.NewServer(clerktest.Config{}) // stands in for Clerk
	defer srv.Close()
	v := newExampleVerifier(srv)
	defer v.Close()

	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{Realm: "example"})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	me := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := clerkauth.SessionFromContext(r.Context())
		fmt.Fprintf(w, "hello %s\n", claims.UserID)
	})
	h := m.Handler(me) // with chi: r.Use(m.Handler)

	sess := srv.CreateSession(clerktest.SessionParams{UserID: "user_123"})
	get(h, srv.MustToken(sess.ID))
	get(h, "")
	// Output:
	// 200 hello user_123
	// 401 {"errors":[{"code":"authentication_invalid","message":"Unauthenticated","long_message":"no session token","meta":{"reason":"session-token-missing"}}]}
	//    WWW-Authenticate: Bearer realm="example"
}

func ExampleSessionFromContext() {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, ok := clerkauth.SessionFromContext(r.Context())
		if !ok {
			fmt.Fprintln(w, "signed out")
			return
		}
		fmt.Fprintln(w, "signed in as", claims.UserID)
	})

	// In a handler test, put the session in the context as the middleware
	// would.
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r = r.WithContext(clerkauth.ContextWithSession(r.Context(), &clerkauth.Claims{UserID: "user_123", SessionID: "sess_1"}))
	get(handler, "")
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, r)
	fmt.Print(rec.Body.String())
	// Output:
	// 200 signed out
	// signed in as user_123
}

func ExampleRequirePermission() {
	srv := clerktest.NewServer(clerktest.Config{})
	defer srv.Close()
	v := newExampleVerifier(srv)
	defer v.Close()

	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "invoice created") })
	h := clerkauth.RequireSession(v)(clerkauth.RequirePermission("org:invoices:create")(ok))

	admin := srv.CreateSession(clerktest.SessionParams{Org: &clerktest.OrgMembership{
		Role: "admin", Permissions: []string{"org:invoices:create"},
	}})
	viewer := srv.CreateSession(clerktest.SessionParams{Org: &clerktest.OrgMembership{
		Role: "viewer", Permissions: []string{"org:invoices:read"},
	}})
	get(h, srv.MustToken(admin.ID))
	get(h, srv.MustToken(viewer.ID))
	// Output:
	// 200 invoice created
	// 403 {"errors":[{"code":"authorization_invalid","message":"Forbidden","long_message":"the session does not meet the route's requirements","meta":{"reason":"insufficient-scope"}}]}
	//    WWW-Authenticate: Bearer realm="api", error="insufficient_scope", error_description="the session does not meet the route's requirements"
}

// ExampleMiddleware_cors shows where CORS goes: in front of the middleware,
// so that it answers browsers' preflights with its headers. A preflight that
// reaches the middleware is answered 204 without running the handler.
func ExampleMiddleware_cors() {
	srv := clerktest.NewServer(clerktest.Config{})
	defer srv.Close()
	v := newExampleVerifier(srv)
	defer v.Close()
	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{DisableCookies: true})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	deleteAccount := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("account deleted") // never printed below
	})

	// allowApp stands in for a CORS middleware such as
	// cors.New(cors.Options{AllowedOrigins: …}).Handler from
	// github.com/rs/cors.
	allowApp := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Origin") == "https://app.example.com" {
				w.Header().Set("Access-Control-Allow-Origin", "https://app.example.com")
				w.Header().Set("Access-Control-Allow-Headers", "Authorization")
			}
			if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	preflight := func(h http.Handler) {
		r := httptest.NewRequest(http.MethodOptions, "/api/account", nil)
		r.Header.Set("Origin", "https://app.example.com")
		r.Header.Set("Access-Control-Request-Method", "DELETE")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		fmt.Printf("%d Access-Control-Allow-Origin: %q\n", rec.Code, rec.Header().Get("Access-Control-Allow-Origin"))
	}
	preflight(allowApp(m.Handler(deleteAccount))) // right order
	preflight(m.Handler(deleteAccount))           // no CORS in front: refused by the browser
	// Output:
	// 204 Access-Control-Allow-Origin: "https://app.example.com"
	// 204 Access-Control-Allow-Origin: ""
}
