// Package conformance is a test table shared by clerkauth's transports:
// the same requests go through net/http's middleware and through each
// framework adapter (chi, gin, echo, fiber), and each answer must be the
// net/http one, byte for byte where it matters (status, WWW-Authenticate,
// Vary, Retry-After, debug headers, body).
//
// An adapter's test calls [Run] with a [Mount] that builds the
// framework's app from a Middleware, and drives it through a [Driver]
// (httptest for routers on net/http, app.Test for fiber). [RunMachine]
// does the same for machine tokens (M2M tokens and API keys, with the
// adapter's machine guards and accessors) with a [MachineMount], against
// clerktest's Backend API, up, down and rate limited.
//
// It is a test helper: only tests import it.
package conformance

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// Routes the app of a Mount serves.
const (
	// PrivatePath is served for GET, HEAD, POST and OPTIONS behind the
	// middleware; its handler answers [Body].
	PrivatePath = "/private"
	// AdminPath is served for GET behind the middleware and the guard
	// requiring [Permission]; its handler answers [Body].
	AdminPath = "/admin"
	// Permission is what the guard of AdminPath requires.
	Permission = "org:invoices:manage"
)

// Body is what the handlers of a Mount's app answer, with status 200 and
// nothing else: "user:<sub>" for a signed-in request, as read through the
// framework's accessor, "signed-out" otherwise.
func Body(claims *clerkauth.Claims, ok bool) string {
	if !ok || claims == nil {
		return "signed-out"
	}
	return "user:" + claims.UserID
}

// Driver sends one request through an app and returns its answer.
type Driver func(*http.Request) *http.Response

// Mount builds the app of the adapter under test around m: PrivatePath and
// AdminPath as documented, with the adapter's middleware, guard and
// accessor. It fails t when it cannot.
type Mount func(t *testing.T, m *clerkauth.Middleware) Driver

// NetHTTP is the reference Mount: clerkauth's net/http middleware and
// guards on an http.ServeMux.
func NetHTTP(_ *testing.T, m *clerkauth.Middleware) Driver {
	mux := http.NewServeMux()
	mux.Handle(PrivatePath, m.Handler(Handler()))
	mux.Handle("GET "+AdminPath, m.Handler(clerkauth.RequirePermission(Permission)(Handler())))
	return Serve(mux)
}

// Handler is the net/http handler of the app: 200 with [Body].
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := clerkauth.SessionFromContext(r.Context())
		_, _ = io.WriteString(w, Body(c, ok))
	})
}

// Serve returns the Driver of a net/http handler. As net/http's server
// does, it sends no body in answer to HEAD (a ResponseRecorder keeps what
// the handler wrote).
func Serve(h http.Handler) Driver {
	return func(r *http.Request) *http.Response {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		resp := rec.Result()
		if r.Method == http.MethodHead {
			resp.Body = http.NoBody
		}
		return resp
	}
}

// Case is one request of the table.
type Case struct {
	Name string
	// Mode is the middleware that serves the request: keys served (the
	// zero value), keys unavailable, or optional mode.
	Mode Mode
	// Request builds the request from the tokens of the run.
	Request func(tk Tokens) *http.Request
	// Status is the status every transport must answer.
	Status int
	// Reason, when set, is the reason of the error body every transport
	// must send.
	Reason clerkauth.Reason
}

// Tokens are the session tokens of a run.
type Tokens struct {
	// Member has a session in an organization without Permission.
	Member string
	// Admin has Permission.
	Admin string
	// Expired expired a minute ago.
	Expired string
	// Forged is Member with its payload altered: the signature no longer
	// matches (the same key ID, so the answer does not depend on the key
	// cache's refresh cooldown).
	Forged string
	// M2M is a JWT M2M token of the instance, APIKey an API key (ak_…):
	// machine credentials, which a session-only route refuses.
	M2M    string
	APIKey string
}

func get(path string, header ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	return r
}

func bearer(tok string) string { return "Bearer " + tok }

// Cases is the table.
var Cases = []Case{
	{Name: "no token", Status: 401, Request: func(Tokens) *http.Request { return get(PrivatePath) }},
	{Name: "bad token", Status: 401, Request: func(tk Tokens) *http.Request {
		return get(PrivatePath, "Authorization", bearer(tk.Forged))
	}},
	{Name: "garbage token", Status: 401, Request: func(Tokens) *http.Request {
		return get(PrivatePath, "Authorization", "Bearer a.b.c")
	}},
	{Name: "not a b64token", Status: 400, Request: func(Tokens) *http.Request {
		return get(PrivatePath, "Authorization", "Bearer a,b")
	}},
	{Name: "expired", Status: 401, Request: func(tk Tokens) *http.Request {
		return get(PrivatePath, "Authorization", bearer(tk.Expired))
	}},
	{Name: "good token", Status: 200, Request: func(tk Tokens) *http.Request {
		return get(PrivatePath, "Authorization", bearer(tk.Member))
	}},
	{Name: "good token, POST", Status: 200, Request: func(tk Tokens) *http.Request {
		r := httptest.NewRequest(http.MethodPost, PrivatePath, strings.NewReader("{}"))
		r.Header.Set("Authorization", bearer(tk.Member))
		return r
	}},
	{Name: "missing permission", Status: 403, Request: func(tk Tokens) *http.Request {
		return get(AdminPath, "Authorization", bearer(tk.Member))
	}},
	{Name: "permission", Status: 200, Request: func(tk Tokens) *http.Request {
		return get(AdminPath, "Authorization", bearer(tk.Admin))
	}},
	{Name: "guard without token", Status: 401, Request: func(Tokens) *http.Request { return get(AdminPath) }},
	{Name: "cookie token", Status: 200, Request: func(tk Tokens) *http.Request {
		return get(PrivatePath, "Cookie", "theme=dark; __client_uat=1; __session="+tk.Member)
	}},
	{Name: "cookie token without __client_uat", Status: 401, Request: func(tk Tokens) *http.Request {
		return get(PrivatePath, "Cookie", "__session="+tk.Member)
	}},
	{Name: "cookie token, cross-site POST", Status: 403, Request: func(tk Tokens) *http.Request {
		r := httptest.NewRequest(http.MethodPost, PrivatePath, strings.NewReader("{}"))
		r.Header.Set("Cookie", "__client_uat=1; __session="+tk.Member)
		r.Header.Set("Origin", "https://evil.example")
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		return r
	}},
	{Name: "cookie token, same-origin POST", Status: 200, Request: func(tk Tokens) *http.Request {
		r := httptest.NewRequest(http.MethodPost, PrivatePath, strings.NewReader("{}"))
		r.Header.Set("Cookie", "__client_uat=1; __session="+tk.Member)
		r.Header.Set("Origin", "http://example.com")
		return r
	}},
	{Name: "header wins over cookie", Status: 401, Request: func(tk Tokens) *http.Request {
		return get(PrivatePath, "Authorization", bearer(tk.Forged), "Cookie", "__client_uat=1; __session="+tk.Member)
	}},
	{Name: "HEAD without token", Status: 401, Request: func(Tokens) *http.Request {
		return httptest.NewRequest(http.MethodHead, PrivatePath, nil)
	}},
	{Name: "HEAD with a bad token", Status: 401, Request: func(tk Tokens) *http.Request {
		r := httptest.NewRequest(http.MethodHead, PrivatePath, nil)
		r.Header.Set("Authorization", bearer(tk.Forged))
		return r
	}},
	{Name: "HEAD with a good token", Status: 200, Request: func(tk Tokens) *http.Request {
		r := httptest.NewRequest(http.MethodHead, PrivatePath, nil)
		r.Header.Set("Authorization", bearer(tk.Member))
		return r
	}},
	{Name: "HEAD, cookie token from another site", Status: 200, Request: func(tk Tokens) *http.Request {
		r := httptest.NewRequest(http.MethodHead, PrivatePath, nil)
		r.Header.Set("Cookie", "__client_uat=1; __session="+tk.Member)
		r.Header.Set("Origin", "https://evil.example")
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		return r
	}},
	{Name: "preflight", Status: 204, Request: func(Tokens) *http.Request {
		r := httptest.NewRequest(http.MethodOptions, PrivatePath, nil)
		r.Header.Set("Origin", "https://app.example.test")
		r.Header.Set("Access-Control-Request-Method", "POST")
		return r
	}},
	{Name: "OPTIONS without preflight header", Status: 401, Request: func(Tokens) *http.Request {
		return httptest.NewRequest(http.MethodOptions, PrivatePath, nil)
	}},
	{Name: "duplicate Authorization", Status: 400, Request: func(tk Tokens) *http.Request {
		return get(PrivatePath, "Authorization", bearer(tk.Member), "Authorization", bearer(tk.Member))
	}},
	{Name: "M2M token on the session route", Status: 401, Reason: clerkauth.ReasonTokenTypeMismatch, Request: func(tk Tokens) *http.Request {
		return get(PrivatePath, "Authorization", bearer(tk.M2M))
	}},
	{Name: "API key on the session route", Status: 401, Reason: clerkauth.ReasonTokenTypeMismatch, Request: func(tk Tokens) *http.Request {
		return get(PrivatePath, "Authorization", bearer(tk.APIKey))
	}},
	{Name: "M2M token in the __session cookie", Status: 401, Reason: clerkauth.ReasonTokenTypeMismatch, Request: func(tk Tokens) *http.Request {
		return get(PrivatePath, "Cookie", "__client_uat=1; __session="+tk.M2M)
	}},
	{Name: "M2M token to a session guard", Status: 401, Reason: clerkauth.ReasonTokenTypeMismatch, Request: func(tk Tokens) *http.Request {
		return get(AdminPath, "Authorization", bearer(tk.M2M))
	}},
	{Name: "optional, no token", Mode: Optional, Status: 200, Request: func(Tokens) *http.Request { return get(PrivatePath) }},
	{Name: "optional, good token", Mode: Optional, Status: 200, Request: func(tk Tokens) *http.Request {
		return get(PrivatePath, "Authorization", bearer(tk.Member))
	}},
	{Name: "optional, bad token", Mode: Optional, Status: 401, Request: func(tk Tokens) *http.Request {
		return get(PrivatePath, "Authorization", bearer(tk.Forged))
	}},
	{Name: "optional, guard without token", Mode: Optional, Status: 401, Reason: clerkauth.ReasonTokenMissing, Request: func(Tokens) *http.Request {
		return get(AdminPath)
	}},
	{Name: "optional, guard with a token lacking the permission", Mode: Optional, Status: 403, Request: func(tk Tokens) *http.Request {
		return get(AdminPath, "Authorization", bearer(tk.Member))
	}},
	{Name: "optional, preflight passed on", Mode: Optional, Status: 200, Request: func(Tokens) *http.Request {
		r := httptest.NewRequest(http.MethodOptions, PrivatePath, nil)
		r.Header.Set("Origin", "https://app.example.test")
		r.Header.Set("Access-Control-Request-Method", "POST")
		return r
	}},
	{Name: "key outage", Mode: Outage, Status: 503, Request: func(tk Tokens) *http.Request {
		return get(PrivatePath, "Authorization", bearer(tk.Member))
	}},
}

// ComparedHeaders are the response headers that must be identical. The
// Content-Type of a 200 is the framework's own and is not compared.
var ComparedHeaders = []string{
	"WWW-Authenticate", "Vary", "Retry-After", "Cache-Control", "X-Content-Type-Options",
	"X-Clerk-Auth-Status", "X-Clerk-Auth-Reason",
}

// answer is what is compared of a response.
type answer struct {
	status int
	header http.Header
	body   string
}

func read(t *testing.T, resp *http.Response) answer {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	a := answer{status: resp.StatusCode, header: http.Header{}, body: string(b)}
	names := ComparedHeaders
	if resp.StatusCode >= 400 {
		names = append(names[:len(names):len(names)], "Content-Type")
	}
	for _, k := range names {
		if v := resp.Header.Values(k); len(v) > 0 {
			a.header[k] = v
		}
	}
	return a
}

// env is one Clerk instance and the middlewares of a run.
type env struct {
	srv      *clerktest.Server
	tokens   Tokens
	ok       *clerkauth.Middleware // keys served
	outage   *clerkauth.Middleware // keys never obtainable
	optional *clerkauth.Middleware // keys served, optional mode
}

// Mode is the middleware a Case runs on.
type Mode int

const (
	// KeysServed is a middleware whose signing keys are served.
	KeysServed Mode = iota
	// Outage is a middleware whose signing keys are never obtainable.
	Outage
	// Optional is a middleware in optional mode
	// (MiddlewareOptions.Optional), its keys served.
	Optional
)

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := newServer(t)
	member := srv.CreateSession(clerktest.SessionParams{
		UserID: "user_member", Org: &clerktest.OrgMembership{Slug: "acme", Role: "member", Permissions: []string{"org:invoices:read"}},
	})
	admin := srv.CreateSession(clerktest.SessionParams{
		UserID: "user_admin", Org: &clerktest.OrgMembership{Slug: "acme", Role: "admin", Permissions: []string{Permission}},
	})
	memberToken := srv.MustToken(member.ID, clerktest.WithLifetime(time.Hour))
	e := &env{srv: srv, tokens: Tokens{
		Member:  memberToken,
		Admin:   srv.MustToken(admin.ID, clerktest.WithLifetime(time.Hour)),
		Expired: srv.MustToken(member.ID, clerktest.WithIssuedAt(srv.Clock().Now().Add(-2*time.Minute))),
		Forged:  tamper(memberToken),
		M2M:     srv.MustM2MToken(srv.CreateMachine(clerktest.MachineParams{}).ID, clerktest.M2MTokenParams{Format: clerktest.FormatJWT}).Token,
		APIKey:  srv.MustAPIKey(clerktest.APIKeyParams{Subject: "user_member000000000000000000000"}).Secret,
	}}
	e.ok = e.middleware(t, srv.JWKSURL(), false)
	e.optional = e.middleware(t, srv.JWKSURL(), true)
	down := newServer(t)
	down.SetFault(clerktest.EndpointJWKS, clerktest.Fault{Status: http.StatusInternalServerError})
	e.outage = e.middleware(t, down.JWKSURL(), false)
	return e
}

// middleware returns a middleware of srv's instance whose keys come from
// jwksURL, with the debug headers on so that they are compared too.
func (e *env) middleware(t *testing.T, jwksURL string, optional bool) *clerkauth.Middleware {
	t.Helper()
	v := newVerifier(t, clerkauth.Config{
		PublishableKey: e.srv.PublishableKey(), JWKSURL: jwksURL, MaxRetries: -1,
		HTTPClient: e.srv.Client(), Now: e.srv.Clock().Now,
	})
	return newMiddleware(t, v, clerkauth.MiddlewareOptions{DebugHeaders: true, Realm: "conformance", Optional: optional})
}

// bodyReason returns the reason of an error body in Clerk's shape
// (errors[0].meta.reason), "" for any other body.
func bodyReason(body string) string {
	var b struct {
		Errors []struct {
			Meta struct {
				Reason string `json:"reason"`
			} `json:"meta"`
		} `json:"errors"`
	}
	if json.Unmarshal([]byte(body), &b) != nil || len(b.Errors) == 0 {
		return ""
	}
	return b.Errors[0].Meta.Reason
}

// tamper changes one character in the middle of tok's payload.
func tamper(tok string) string {
	b := []byte(tok)
	i := strings.IndexByte(tok, '.') + 10
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// Run sends every Case through the reference (NetHTTP) and through
// mount's app, and fails t where an answer differs from the reference or
// the reference's status is not the Case's.
func Run(t *testing.T, mount Mount) {
	e := newEnv(t)
	ref := map[Mode]Driver{KeysServed: NetHTTP(t, e.ok), Outage: NetHTTP(t, e.outage), Optional: NetHTTP(t, e.optional)}
	got := map[Mode]Driver{KeysServed: mount(t, e.ok), Outage: mount(t, e.outage), Optional: mount(t, e.optional)}
	for _, c := range Cases {
		t.Run(c.Name, func(t *testing.T) {
			want := read(t, ref[c.Mode](c.Request(e.tokens)))
			if want.status != c.Status {
				t.Fatalf("net/http answered %d; the table says %d (body %q)", want.status, c.Status, want.body)
			}
			if r := bodyReason(want.body); c.Reason != "" && r != string(c.Reason) {
				t.Errorf("net/http's reason %q; the table says %q", r, c.Reason)
			}
			compare(t, read(t, got[c.Mode](c.Request(e.tokens))), want)
		})
	}
}

// compare fails t where have differs from the reference's answer want.
func compare(t *testing.T, have, want answer) {
	t.Helper()
	if have.status != want.status {
		t.Errorf("status %d; net/http %d (body %q)", have.status, want.status, have.body)
	}
	if have.body != want.body {
		t.Errorf("body\n%s\nnet/http\n%s", have.body, want.body)
	}
	for _, k := range ComparedHeaders {
		if h, w := strings.Join(have.header[k], "|"), strings.Join(want.header[k], "|"); h != w {
			t.Errorf("%s: %q; net/http %q", k, h, w)
		}
	}
	if want.status >= 400 {
		if h, w := have.header.Get("Content-Type"), want.header.Get("Content-Type"); h != w {
			t.Errorf("Content-Type: %q; net/http %q", h, w)
		}
	}
}
