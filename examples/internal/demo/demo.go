// Package demo is the examples' demo mode: with no Clerk keys in the
// environment, an embedded Clerk-compatible test server (clerktest) plays
// the Clerk instance, and ready-to-paste curl commands with tokens of demo
// sessions are printed. It is scaffolding for trying the examples, not part
// of what they show: the wiring of clerkauth is in each example's main.go.
package demo

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// TokenLifetime is the life of the tokens printed in demo mode. Clerk's
// own session tokens live 60 s and are refreshed by its frontend SDKs; the
// demo's are longer so that they can be pasted by hand.
const TokenLifetime = time.Hour

// demoOrg is the organization of the demo sessions.
const demoOrg = "org_demo_acme"

// Wanted reports whether cfg names no Clerk instance (no secret key,
// publishable key or PEM key), so that an example runs in demo mode.
func Wanted(cfg clerkauth.Config) bool {
	return cfg.SecretKey == "" && cfg.PublishableKey == "" && cfg.JWTKey == ""
}

// Instance is an embedded Clerk instance on loopback. It is safe for
// concurrent use; Close it when the example stops.
type Instance struct {
	srv *clerktest.Server
}

// Start starts an embedded Clerk instance.
func Start() *Instance {
	return &Instance{srv: clerktest.NewServer(clerktest.Config{})}
}

// Config is the clerkauth configuration of the instance, as
// clerkauth.ConfigFromEnv would return it for a real one.
func (in *Instance) Config() clerkauth.Config {
	return clerkauth.Config{
		SecretKey:      in.srv.SecretKey(),
		PublishableKey: in.srv.PublishableKey(),
		APIURL:         in.srv.APIURL(),
	}
}

// Close stops the instance.
func (in *Instance) Close() { in.srv.Close() }

// demoUser is a demo session: a shell variable holding its token, and who
// it is.
type demoUser struct {
	variable string
	about    string
	org      clerktest.OrgMembership
}

// demoUsers returns the demo sessions: one per outcome of the guarded
// routes.
func demoUsers() []demoUser {
	return []demoUser{
		{"ADMIN_TOKEN", "org:admin of acme, may read invoices",
			clerktest.OrgMembership{Role: "org:admin", Permissions: []string{"org:invoices:read"}}},
		{"ACCOUNTANT_TOKEN", "org:member of acme, may read invoices",
			clerktest.OrgMembership{Role: "org:member", Permissions: []string{"org:invoices:read"}}},
		{"MEMBER_TOKEN", "org:member of acme, no permissions",
			clerktest.OrgMembership{Role: "org:member"}},
	}
}

// PrintInstructions creates the demo sessions and prints, to w, curl
// commands for the app at baseURL with their tokens; logout says the app
// serves POST /api/logout. Printing whole tokens is deliberate here, and
// only here: they are signed by a throw-away key of a local test server and
// are accepted by this process alone.
func (in *Instance) PrintInstructions(w io.Writer, baseURL string, logout bool) {
	srv := in.srv
	var b strings.Builder
	fmt.Fprintf(&b, "\nDemo mode: CLERK_SECRET_KEY and CLERK_PUBLISHABLE_KEY are not set, so a local\n")
	fmt.Fprintf(&b, "Clerk-compatible test server (clerktest) at %s plays the Clerk instance.\n", srv.URL())
	fmt.Fprintf(&b, "Its tokens work against this process only and expire in %d minutes.\n\n", int(TokenLifetime.Minutes()))
	for _, u := range demoUsers() {
		org := u.org
		org.ID, org.Slug = demoOrg, "acme"
		sess := srv.CreateSession(clerktest.SessionParams{Org: &org})
		token := srv.MustToken(sess.ID, clerktest.WithLifetime(TokenLifetime))
		fmt.Fprintf(&b, "  # %s, %s\n  %s='%s'\n", sess.UserID, u.about, u.variable, token)
	}
	writeCurls(&b, baseURL, logout)
	_, _ = io.WriteString(w, b.String())
}

func writeCurls(b *strings.Builder, baseURL string, logout bool) {
	base := strings.TrimRight(baseURL, "/")
	curl := func(method, token, path, want string) {
		cmd := "curl -i"
		if method != "GET" {
			cmd += " -X " + method
		}
		if token != "" {
			cmd += ` -H "Authorization: Bearer $` + token + `"`
		}
		fmt.Fprintf(b, "  %-90s # %s\n", cmd+" "+base+path, want)
	}
	b.WriteString("\n")
	curl("GET", "", "/public", "200")
	curl("GET", "", "/api/me", "401")
	curl("GET", "MEMBER_TOKEN", "/api/me", "200, the session as JSON")
	curl("GET", "MEMBER_TOKEN", "/api/invoices", "403")
	curl("GET", "ACCOUNTANT_TOKEN", "/api/invoices", "200")
	curl("GET", "ACCOUNTANT_TOKEN", "/api/admin", "403")
	curl("GET", "ADMIN_TOKEN", "/api/admin", "200")
	if logout {
		curl("POST", "ADMIN_TOKEN", "/api/logout", "204, then ADMIN_TOKEN is refused")
	}
	b.WriteString("\n")
}
