package exampleauth

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/clerkauth/clerkauth/clerktest"
)

// DemoTokenLifetime is the life of the tokens printed in demo mode. Clerk's
// own session tokens live 60 s and are refreshed by its frontend SDKs; the
// demo's are longer so that they can be pasted by hand.
const DemoTokenLifetime = time.Hour

// demoOrg is the organization of the demo sessions.
const demoOrg = "org_demo_acme"

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

// printDemo creates the demo sessions on srv and prints curl commands with
// their tokens. Printing whole tokens is deliberate here, and only here:
// they are signed by a throw-away key of a local test server and are
// accepted by this process alone.
func printDemo(opts Options, srv *clerktest.Server) {
	var b strings.Builder
	fmt.Fprintf(&b, "\nDemo mode: CLERK_SECRET_KEY and CLERK_PUBLISHABLE_KEY are not set, so a local\n")
	fmt.Fprintf(&b, "Clerk-compatible test server (clerktest) at %s plays the Clerk instance.\n", srv.URL())
	fmt.Fprintf(&b, "Its tokens work against this process only and expire in %d minutes.\n\n", int(DemoTokenLifetime.Minutes()))
	for _, u := range demoUsers() {
		org := u.org
		org.ID, org.Slug = demoOrg, "acme"
		sess := srv.CreateSession(clerktest.SessionParams{Org: &org})
		token := srv.MustToken(sess.ID, clerktest.WithLifetime(DemoTokenLifetime))
		fmt.Fprintf(&b, "  # %s, %s\n  %s='%s'\n", sess.UserID, u.about, u.variable, token)
	}
	writeCurls(&b, opts)
	_, _ = io.WriteString(opts.Out, b.String())
}

func writeCurls(b *strings.Builder, opts Options) {
	base := strings.TrimRight(opts.BaseURL, "/")
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
	if opts.Logout {
		curl("POST", "ADMIN_TOKEN", "/api/logout", "204, then ADMIN_TOKEN is refused")
	}
	b.WriteString("\n")
}
