package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/clerkauth/clerkauth/clerktest"
)

const devUsage = `Usage: clerkauth dev [flags]

Runs a Clerk-compatible development server (package clerktest) on a loopback
address until interrupted: the Backend API JWKS and Sessions API under /v1,
the public JWKS at /.well-known/jwks.json, machine authentication (machines,
M2M tokens, API keys, OAuth access token verification; with and without
/v1), and two development routes that need no secret key:

  POST /dev/sessions   body (all optional) {"user_id":"…","org_id":"…",
                       "org":{"id":"…","slug":"…","role":"admin",
                       "permissions":["org:invoices:read"]},"expires_in_seconds":N}
                       creates a session; answers {"session_id","user_id",
                       "org_id","token","expires_at"}
  POST /dev/token?session=SESSION_ID[&expires_in_seconds=N][&format=text]
                       mints a fresh token for the session

It prints its keys (a fresh throwaway instance: the secret key is printed
whole, as it guards nothing real), its URLs and the variables to point an
application at it. It is NOT Clerk and MUST NOT be used in production.
`

type devCmd struct {
	addr, frontendAPI string
	json              bool
	tokenLifetime     time.Duration
}

func runDev(ctx context.Context, e env, args []string) int {
	var c devCmd
	fs := newFlagSet(e, "clerkauth dev", devUsage)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:3100", "loopback `address` to listen on")
	fs.StringVar(&c.frontendAPI, "frontend-api", clerktest.DefaultFrontendAPI, "Frontend API `host` of the instance (sets the issuer and the publishable key)")
	fs.DurationVar(&c.tokenLifetime, "token-lifetime", clerktest.DefaultTokenLifetime, "default life of minted tokens (`duration`)")
	fs.BoolVar(&c.json, "json", false, "print the keys and URLs as one JSON object (one line) instead of text")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return fs.usageError("unexpected argument %q", pos[0])
	}
	if c.tokenLifetime < time.Second {
		return fs.usageError("--token-lifetime must be at least 1s")
	}
	l, err := listenLoopback(c.addr)
	if err != nil {
		return e.errorf(exitUsage, "dev", "%v", err)
	}
	return c.serve(ctx, e, l)
}

func (c *devCmd) serve(ctx context.Context, e env, l net.Listener) int {
	srv := clerktest.NewUnstartedServer(clerktest.Config{FrontendAPI: c.frontendAPI, TokenLifetime: c.tokenLifetime})
	defer srv.Close()
	info := newDevInfo(srv, listenerURL(l))
	if c.json {
		enc := jsonLine(e.stdout)
		enc.Encode(info)
	} else {
		info.printText(e.stdout)
	}
	s := startServer(l, srv.DevHandler())
	<-ctx.Done()
	fmt.Fprintln(e.stderr, "clerkauth dev: shutting down")
	if err := s.stop(); err != nil {
		return e.errorf(exitFailure, "dev", "%v", err)
	}
	return exitOK
}

// devInfo is what dev prints about its instance.
type devInfo struct {
	URL            string `json:"url"`
	APIURL         string `json:"api_url"`
	JWKSURL        string `json:"jwks_url"`
	Issuer         string `json:"issuer"`
	FrontendAPI    string `json:"frontend_api"`
	PublishableKey string `json:"publishable_key"`
	SecretKey      string `json:"secret_key"`
	JWTKey         string `json:"jwt_key"`
	DevSessionsURL string `json:"dev_sessions_url"`
	DevTokenURL    string `json:"dev_token_url"`
}

func newDevInfo(srv *clerktest.Server, base string) devInfo {
	return devInfo{
		URL: base, APIURL: base + "/v1", JWKSURL: base + "/.well-known/jwks.json",
		Issuer: srv.Issuer(), FrontendAPI: srv.FrontendAPI(),
		PublishableKey: srv.PublishableKey(), SecretKey: srv.SecretKey(), JWTKey: srv.PublicKeyPEM(),
		DevSessionsURL: base + "/dev/sessions", DevTokenURL: base + "/dev/token",
	}
}

func (d devInfo) printText(w io.Writer) {
	fmt.Fprintf(w, `clerkauth dev: Clerk-compatible development server (not Clerk; development only)

  URL              %s
  API URL          %s
  JWKS URL         %s
  Issuer           %s
  Publishable key  %s
  Secret key       %s

Point an application at it:

  export CLERK_API_URL=%s
  export CLERK_SECRET_KEY=%s
  export CLERK_PUBLISHABLE_KEY=%s

Create a session with an organization (answers its session_id and a token):

  curl -s -X POST %s -d '{"org":{"role":"admin","permissions":["org:invoices:read"]}}'

Mint a fresh token for a session:

  TOKEN=$(curl -s -X POST '%s?session=SESSION_ID&format=text')

JWT public key (CLERK_JWT_KEY):

%s
Serving until interrupted (Ctrl-C).
`, d.URL, d.APIURL, d.JWKSURL, d.Issuer, d.PublishableKey, d.SecretKey,
		d.APIURL, d.SecretKey, d.PublishableKey, d.DevSessionsURL, d.DevTokenURL, d.JWTKey)
}
