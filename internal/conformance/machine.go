package conformance

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// Routes and identities of the machine app a [MachineMount] builds. Its
// middleware accepts M2M tokens and API keys only (AcceptsToken).
const (
	// MachinePath is served for GET behind the middleware; its handler
	// answers [MachineBody], read through the framework's accessors.
	MachinePath = "/machine"
	// ScopedPath adds the guard requiring [Scope] (RequireScopes).
	ScopedPath = "/machine/scoped"
	// CallerPath adds the guard requiring an M2M token of [CallerMachine]
	// (RequireMachine).
	CallerPath = "/machine/caller"
	// OrgKeyPath adds the guard requiring an API key of an organization
	// (RequireAPIKeyOwner(clerkauth.OwnerOrganization)).
	OrgKeyPath = "/machine/org"

	// Scope is what the guard of ScopedPath requires.
	Scope = "invoices:read"
	// CallerMachine is the machine the guard of CallerPath allows.
	CallerMachine = "mch_conformancecaller0000000000"
)

// MachineBody is what the handlers of a machine app answer, with status
// 200: the kind, subject and scopes of the request's token and the user it
// acts for, as the framework's accessors (TokenKind, MachineToken, UserID)
// return them.
func MachineBody(kind clerkauth.TokenKind, mt *clerkauth.MachineToken, userID string) string {
	var subject, scopes string
	if mt != nil {
		subject, scopes = mt.Subject, strings.Join(mt.Scopes, ",")
	}
	return "kind=" + string(kind) + " subject=" + subject + " scopes=" + scopes + " user=" + userID
}

// MachineMount builds the machine app of the adapter under test around m:
// MachinePath, ScopedPath, CallerPath and OrgKeyPath as documented, with
// the adapter's middleware, machine guards and accessors.
type MachineMount func(t *testing.T, m *clerkauth.Middleware) Driver

// NetHTTPMachine is the reference MachineMount: clerkauth's net/http
// middleware and machine guards on an http.ServeMux.
func NetHTTPMachine(_ *testing.T, m *clerkauth.Middleware) Driver {
	mux := http.NewServeMux()
	h := MachineHandler()
	mux.Handle("GET "+MachinePath, m.Handler(h))
	mux.Handle("GET "+ScopedPath, m.Handler(clerkauth.RequireScopes(Scope)(h)))
	mux.Handle("GET "+CallerPath, m.Handler(clerkauth.RequireMachine(CallerMachine)(h)))
	mux.Handle("GET "+OrgKeyPath, m.Handler(clerkauth.RequireAPIKeyOwner(clerkauth.OwnerOrganization)(h)))
	return Serve(mux)
}

// MachineHandler is the net/http handler of the machine app: 200 with
// [MachineBody].
func MachineHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		kind, _ := clerkauth.TokenKindFromContext(ctx)
		mt, _ := clerkauth.MachineTokenFromContext(ctx)
		user, _ := clerkauth.UserIDFromContext(ctx)
		_, _ = io.WriteString(w, MachineBody(kind, mt, user))
	})
}

// Clerk is the state of the Backend API's verify endpoints for a
// MachineCase.
type Clerk uint8

const (
	// ClerkUp answers normally.
	ClerkUp Clerk = iota
	// ClerkDown answers every verification 500.
	ClerkDown
	// ClerkRateLimited answers every verification 429 with Retry-After:
	// [RateLimitRetryAfter].
	ClerkRateLimited
)

// RateLimitRetryAfter is the Retry-After of Clerk's 429 in
// ClerkRateLimited, which the middleware passes on.
const RateLimitRetryAfter = 30 * time.Second

// MachineTokens are the credentials of a machine run, all of one
// instance.
type MachineTokens struct {
	// M2M is a JWT M2M token of CallerMachine, verified networklessly.
	M2M string
	// OtherM2M is a JWT M2M token of another machine.
	OtherM2M string
	// OpaqueM2M is an opaque M2M token (mt_…) of CallerMachine.
	OpaqueM2M string
	// UserKey is an API key of a user, holding Scope.
	UserKey string
	// ScopelessKey is an API key of a user without Scope.
	ScopelessKey string
	// OrgKey is an API key of an organization, holding Scope.
	OrgKey string
	// Session is a valid session token of the instance.
	Session string
}

// MachineCase is one request of the machine table.
type MachineCase struct {
	Name string
	// Clerk is the state of the verify endpoints.
	Clerk Clerk
	// Request builds the request from the credentials of the run.
	Request func(tk MachineTokens) *http.Request
	// Status is the status every transport must answer, Reason the
	// reason of its error body ("" for none) and RetryAfter the
	// Retry-After ("" for none).
	Status     int
	Reason     clerkauth.Reason
	RetryAfter string
}

// MachineCases is the machine table.
var MachineCases = []MachineCase{
	{Name: "M2M JWT", Status: 200, Request: func(tk MachineTokens) *http.Request {
		return get(MachinePath, "Authorization", bearer(tk.M2M))
	}},
	{Name: "opaque M2M token", Status: 200, Request: func(tk MachineTokens) *http.Request {
		return get(MachinePath, "Authorization", bearer(tk.OpaqueM2M))
	}},
	{Name: "API key", Status: 200, Request: func(tk MachineTokens) *http.Request {
		return get(MachinePath, "Authorization", bearer(tk.UserKey))
	}},
	{Name: "no token", Status: 401, Reason: clerkauth.ReasonTokenMissing, Request: func(MachineTokens) *http.Request {
		return get(MachinePath)
	}},
	{Name: "session token on the machine route", Status: 401, Reason: clerkauth.ReasonTokenTypeMismatch, Request: func(tk MachineTokens) *http.Request {
		return get(MachinePath, "Authorization", bearer(tk.Session))
	}},
	{Name: "session token to a machine guard", Status: 401, Reason: clerkauth.ReasonTokenTypeMismatch, Request: func(tk MachineTokens) *http.Request {
		return get(ScopedPath, "Authorization", bearer(tk.Session))
	}},
	{Name: "M2M JWT in the __session cookie", Status: 401, Reason: clerkauth.ReasonTokenMissing, Request: func(tk MachineTokens) *http.Request {
		return get(MachinePath, "Cookie", "__client_uat=1; __session="+tk.M2M)
	}},
	{Name: "API key in the __session cookie", Status: 401, Reason: clerkauth.ReasonTokenMissing, Request: func(tk MachineTokens) *http.Request {
		return get(MachinePath, "Cookie", "__client_uat=1; __session="+tk.UserKey)
	}},
	{Name: "scope held", Status: 200, Request: func(tk MachineTokens) *http.Request {
		return get(ScopedPath, "Authorization", bearer(tk.UserKey))
	}},
	{Name: "API key missing the scope", Status: 403, Reason: clerkauth.ReasonInsufficientScope, Request: func(tk MachineTokens) *http.Request {
		return get(ScopedPath, "Authorization", bearer(tk.ScopelessKey))
	}},
	{Name: "scope guard without token", Status: 401, Reason: clerkauth.ReasonTokenMissing, Request: func(MachineTokens) *http.Request {
		return get(ScopedPath)
	}},
	{Name: "allowed machine", Status: 200, Request: func(tk MachineTokens) *http.Request {
		return get(CallerPath, "Authorization", bearer(tk.M2M))
	}},
	{Name: "other machine", Status: 403, Reason: clerkauth.ReasonInsufficientScope, Request: func(tk MachineTokens) *http.Request {
		return get(CallerPath, "Authorization", bearer(tk.OtherM2M))
	}},
	{Name: "API key to the machine guard", Status: 403, Reason: clerkauth.ReasonInsufficientScope, Request: func(tk MachineTokens) *http.Request {
		return get(CallerPath, "Authorization", bearer(tk.OrgKey))
	}},
	{Name: "organization's key", Status: 200, Request: func(tk MachineTokens) *http.Request {
		return get(OrgKeyPath, "Authorization", bearer(tk.OrgKey))
	}},
	{Name: "user's key to the owner guard", Status: 403, Reason: clerkauth.ReasonInsufficientScope, Request: func(tk MachineTokens) *http.Request {
		return get(OrgKeyPath, "Authorization", bearer(tk.UserKey))
	}},
	{Name: "API key not a b64token", Status: 400, Reason: clerkauth.ReasonInvalidRequest, Request: func(MachineTokens) *http.Request {
		return get(MachinePath, "Authorization", "Bearer ak_a,b")
	}},
	{Name: "verify endpoint down", Clerk: ClerkDown, Status: 503, Reason: clerkauth.ReasonUnexpectedError, RetryAfter: "5",
		Request: func(tk MachineTokens) *http.Request {
			return get(MachinePath, "Authorization", bearer(tk.UserKey))
		}},
	{Name: "verify endpoint rate limited", Clerk: ClerkRateLimited, Status: 503, Reason: clerkauth.ReasonUnexpectedError, RetryAfter: "30",
		Request: func(tk MachineTokens) *http.Request {
			return get(MachinePath, "Authorization", bearer(tk.UserKey))
		}},
}

// machineEnv is one Clerk instance and the machine middlewares of a run.
type machineEnv struct {
	tokens MachineTokens
	mws    map[Clerk]*clerkauth.Middleware
}

func newMachineEnv(t *testing.T) *machineEnv {
	t.Helper()
	srv := newServer(t)
	caller := srv.CreateMachine(clerktest.MachineParams{ID: CallerMachine, Name: "caller"})
	other := srv.CreateMachine(clerktest.MachineParams{Name: "other"})
	user := srv.CreateSession(clerktest.SessionParams{UserID: "user_conformance"})
	const ownerSuffix = "conformance0000000000000000" // 27 word characters
	e := &machineEnv{tokens: MachineTokens{
		M2M:          srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{Format: clerktest.FormatJWT}).Token,
		OtherM2M:     srv.MustM2MToken(other.ID, clerktest.M2MTokenParams{Format: clerktest.FormatJWT}).Token,
		OpaqueM2M:    srv.MustM2MToken(caller.ID, clerktest.M2MTokenParams{}).Token,
		UserKey:      srv.MustAPIKey(clerktest.APIKeyParams{Subject: "user_" + ownerSuffix, Scopes: []string{Scope, "invoices:write"}}).Secret,
		ScopelessKey: srv.MustAPIKey(clerktest.APIKeyParams{Subject: "user_" + ownerSuffix, Scopes: []string{"invoices:write"}}).Secret,
		OrgKey:       srv.MustAPIKey(clerktest.APIKeyParams{Subject: "org_" + ownerSuffix, Scopes: []string{Scope}}).Secret,
		Session:      srv.MustToken(user.ID, clerktest.WithLifetime(time.Hour)),
	}, mws: map[Clerk]*clerkauth.Middleware{}}
	e.mws[ClerkUp] = machineMiddleware(t, srv)
	e.mws[ClerkDown] = machineMiddleware(t, faulty(t, clerktest.Fault{Status: http.StatusInternalServerError}))
	e.mws[ClerkRateLimited] = machineMiddleware(t, faulty(t, clerktest.Fault{Status: http.StatusTooManyRequests, RetryAfter: RateLimitRetryAfter}))
	return e
}

// faulty returns an instance whose verify endpoints answer f.
func faulty(t *testing.T, f clerktest.Fault) *clerktest.Server {
	srv := newServer(t)
	srv.SetFault(clerktest.EndpointMachineVerify, f)
	return srv
}

// machineMiddleware returns a middleware of srv's instance accepting M2M
// tokens and API keys, without retries (each verification is one call),
// with the debug headers on so that they are compared too.
func machineMiddleware(t *testing.T, srv *clerktest.Server) *clerkauth.Middleware {
	t.Helper()
	v := newVerifier(t, clerkauth.Config{
		SecretKey: srv.SecretKey(), PublishableKey: srv.PublishableKey(), APIURL: srv.APIURL(),
		MaxRetries: -1, HTTPClient: srv.Client(), Now: srv.Clock().Now,
	})
	return newMiddleware(t, v, clerkauth.MiddlewareOptions{
		DebugHeaders: true, Realm: "conformance",
		AcceptsToken: []clerkauth.TokenKind{clerkauth.TokenKindM2M, clerkauth.TokenKindAPIKey},
	})
}

// RunMachine sends every MachineCase through the reference
// (NetHTTPMachine) and then through mount's app, and fails t where an
// answer differs from the reference, or the reference's status, reason or
// Retry-After is not the case's. The reference and the app share each
// middleware, as replicas share Clerk: the app's request may be answered
// from what the reference's taught the caches, and must be answered alike.
func RunMachine(t *testing.T, mount MachineMount) {
	e := newMachineEnv(t)
	ref, got := map[Clerk]Driver{}, map[Clerk]Driver{}
	for state, m := range e.mws {
		ref[state], got[state] = NetHTTPMachine(t, m), mount(t, m)
	}
	for _, c := range MachineCases {
		t.Run(c.Name, func(t *testing.T) {
			want := read(t, ref[c.Clerk](c.Request(e.tokens)))
			if want.status != c.Status {
				t.Fatalf("net/http answered %d; the table says %d (body %q)", want.status, c.Status, want.body)
			}
			if r := bodyReason(want.body); r != string(c.Reason) {
				t.Errorf("net/http's reason %q; the table says %q", r, c.Reason)
			}
			if r := want.header.Get("Retry-After"); r != c.RetryAfter {
				t.Errorf("net/http's Retry-After %q; the table says %q", r, c.RetryAfter)
			}
			compare(t, read(t, got[c.Clerk](c.Request(e.tokens))), want)
		})
	}
}
