package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

const demoUsage = `Usage: clerkauth demo [flags]

Starts a protected sample API on a loopback address, guarded by clerkauth's
middleware, and an embedded Clerk-compatible server (package clerktest) on a
free loopback port. It creates a demo user with a session in an
organization (role org:admin, permission org:invoices:read), prints
ready-to-paste curl commands with a fresh token, and serves until
interrupted (Ctrl-C).

Routes of the sample API:
  GET  /api/public    no token needed                      200
  GET  /api/me        any signed-in session                200, else 401
  GET  /api/invoices  needs org:invoices:read              200 for the demo user
  GET  /api/billing   needs org:billing:manage             403 for the demo user
  POST /api/signout   revokes the session (then 401)

With --check it drives the API itself instead, prints one PASS/FAIL line
per check and a closing "N passed, M failed" line, and exits 0 only if all
passed (the CI smoke test).

With CLERK_SECRET_KEY and CLERK_PUBLISHABLE_KEY set (and no --embedded),
the API is guarded by that real Clerk instance instead: get a session
token from your signed-in frontend. --check refuses that mode.

Exit status: 0 success (all checks passed); 1 a check failed or a server
failed; 2 usage or configuration error.
`

type demoCmd struct {
	addr          string
	check         bool
	embedded      bool
	tokenLifetime time.Duration
}

func runDemo(ctx context.Context, e env, args []string) int {
	var c demoCmd
	fs := newFlagSet(e, "clerkauth demo", demoUsage)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8080", "loopback `address` of the sample API; a busy port falls back to a free one")
	fs.BoolVar(&c.check, "check", false, "run the end-to-end checks against the embedded server and exit")
	fs.BoolVar(&c.embedded, "embedded", false, "use the embedded server even when CLERK_SECRET_KEY and CLERK_PUBLISHABLE_KEY are set")
	fs.DurationVar(&c.tokenLifetime, "token-lifetime", 10*time.Minute, "life of the demo's tokens (`duration`; Clerk's own are 60s)")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return fs.usageError("unexpected argument %q", pos[0])
	}
	if c.tokenLifetime < 30*time.Second {
		return fs.usageError("--token-lifetime must be at least 30s")
	}
	if err := checkLoopback(c.addr); err != nil {
		return e.errorf(exitUsage, "demo", "%v", err)
	}
	cfg, real := realInstanceConfig(c.embedded)
	if real {
		if c.check {
			return e.errorf(exitUsage, "demo", "--check drives the embedded server: add --embedded, or unset CLERK_SECRET_KEY and CLERK_PUBLISHABLE_KEY")
		}
		return c.runReal(ctx, e, cfg)
	}
	return c.runEmbedded(ctx, e)
}

// realInstanceConfig returns the configuration of the environment and
// whether it names a real instance to guard the API with.
func realInstanceConfig(forceEmbedded bool) (clerkauth.Config, bool) {
	cfg := clerkauth.ConfigFromEnv()
	return cfg, !forceEmbedded && cfg.SecretKey != "" && cfg.PublishableKey != ""
}

// demoApp is the sample API and what guards it.
type demoApp struct {
	verifier *clerkauth.Verifier
	sessions *clerkauth.SessionsClient
	mw       *clerkauth.Middleware
	machines *clerkauth.Middleware // M2M tokens and API keys
	handler  http.Handler
}

func newDemoApp(cfg clerkauth.Config) (*demoApp, error) {
	v, err := clerkauth.NewVerifier(cfg)
	if err != nil {
		return nil, err
	}
	sc, err := clerkauth.NewSessionsClient(cfg)
	if err != nil {
		v.Close()
		return nil, err
	}
	m, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{SessionsClient: sc})
	if err != nil {
		v.Close()
		return nil, err
	}
	mm, err := clerkauth.NewMiddleware(v, clerkauth.MiddlewareOptions{
		AcceptsToken: []clerkauth.TokenKind{clerkauth.TokenKindM2M, clerkauth.TokenKindAPIKey},
	})
	if err != nil {
		m.Close()
		v.Close()
		return nil, err
	}
	return &demoApp{verifier: v, sessions: sc, mw: m, machines: mm, handler: demoAPI(m, mm)}, nil
}

func (a *demoApp) close() {
	a.mw.Close()
	a.machines.Close()
	a.verifier.Close()
}

// embedded is the embedded Clerk-compatible server, served on loopback.
type embedded struct {
	clerk         *clerktest.Server
	srv           *server
	url           string
	tokenLifetime time.Duration
}

func startEmbedded(tokenLifetime time.Duration) (*embedded, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	clerk := clerktest.NewUnstartedServer(clerktest.Config{TokenLifetime: tokenLifetime})
	return &embedded{clerk: clerk, srv: startServer(l, clerk.DevHandler()), url: listenerURL(l), tokenLifetime: tokenLifetime}, nil
}

// config returns the configuration that points clerkauth at the embedded
// server. It accepts the tokens the embedded
// server mints, whose life --token-lifetime may set above the default
// MaxTokenLifetime.
func (em *embedded) config() clerkauth.Config {
	return clerkauth.Config{SecretKey: em.clerk.SecretKey(), PublishableKey: em.clerk.PublishableKey(), APIURL: em.url + "/v1",
		MaxTokenLifetime: max(em.tokenLifetime, clerkauth.DefaultMaxTokenLifetime)}
}

func (em *embedded) stop() {
	em.srv.stop()
	em.clerk.Close()
}

// demoOrg is the demo user's organization membership.
func demoOrg() *clerktest.OrgMembership {
	return &clerktest.OrgMembership{ID: "org_demo", Slug: "acme", Role: "admin", Permissions: []string{permInvoicesRead}}
}

func (c *demoCmd) runEmbedded(ctx context.Context, e env) int {
	em, err := startEmbedded(c.tokenLifetime)
	if err != nil {
		return e.errorf(exitFailure, "demo", "starting the embedded Clerk server: %v", err)
	}
	defer em.stop()
	app, err := newDemoApp(em.config())
	if err != nil {
		return e.errorf(exitFailure, "demo", "%v", err)
	}
	defer app.close()
	if err := app.verifier.Warm(ctx); err != nil {
		return e.errorf(exitFailure, "demo", "fetching the embedded server's keys: %v", err)
	}
	l, code, ok := c.listenAPI(e)
	if !ok {
		return code
	}
	api := startServer(l, app.handler)
	defer api.stop()
	if c.check {
		return runChecks(ctx, e, em, app, listenerURL(l))
	}
	sess := em.clerk.CreateSession(clerktest.SessionParams{UserID: "user_demo", Org: demoOrg()})
	token, err := em.clerk.Token(sess.ID)
	if err != nil {
		return e.errorf(exitFailure, "demo", "minting the demo token: %v", err)
	}
	key, err := em.clerk.CreateAPIKey(clerktest.APIKeyParams{Subject: demoKeyOwner, Name: "demo key", Scopes: []string{"usage:read"}})
	if err != nil {
		return e.errorf(exitFailure, "demo", "creating the demo API key: %v", err)
	}
	printEmbeddedIntro(e.stdout, em, listenerURL(l), sess, token, c.tokenLifetime)
	printMachineIntro(e.stdout, listenerURL(l), key.Secret)
	fmt.Fprint(e.stdout, "\nServing until interrupted (Ctrl-C).\n")
	return waitForInterrupt(ctx, e, api)
}

// listenAPI listens on --addr, or a free port when it is busy.
func (c *demoCmd) listenAPI(e env) (net.Listener, int, bool) {
	l, fellBack, err := listenOrFallback(c.addr)
	if err != nil {
		return nil, e.errorf(exitFailure, "demo", "listening on %s: %v", c.addr, err), false
	}
	if fellBack {
		fmt.Fprintf(e.stderr, "clerkauth demo: %s is busy; the sample API listens on %s instead\n", c.addr, l.Addr())
	}
	return l, exitOK, true
}

// waitForInterrupt serves until ctx ends, then shuts the API down.
func waitForInterrupt(ctx context.Context, e env, api *server) int {
	<-ctx.Done()
	fmt.Fprintln(e.stderr, "clerkauth demo: shutting down")
	if err := api.stop(); err != nil {
		return e.errorf(exitFailure, "demo", "%v", err)
	}
	return exitOK
}

func printEmbeddedIntro(w io.Writer, em *embedded, api string, sess *clerktest.Session, token string, life time.Duration) {
	auth := `-H "Authorization: Bearer $TOKEN" `
	fmt.Fprintf(w, `clerkauth demo: a sample API guarded by clerkauth, with an embedded Clerk-compatible server
(development keys only: nothing here talks to Clerk).

  Sample API     %s
  Clerk server   %s  (Backend API %s/v1)
  Demo user      %s, session %s
  Organization   %s (%s), role org:admin, permission %s

Paste these (the token lives %s):

  TOKEN='%s'

  curl -i %s/api/public                # 200: no token needed
  curl -i %s/api/me                    # 401: no token
  curl -i %s%s/api/me                  # 200: who am I
  curl -i %s%s/api/invoices            # 200: needs %s
  curl -i %s%s/api/billing             # 403: needs %s, which the user lacks
  curl -i -H "Authorization: Bearer garbage" %s/api/me   # 401: invalid token

Mint a fresh token for the session:

  TOKEN=$(curl -s -X POST '%s/dev/token?session=%s&format=text')

Sign out (revokes the session at the Clerk server and in the API: the token then gets 401):

  curl -i -X POST %s%s/api/signout

Start a new session for the demo user afterwards:

  curl -s -X POST %s/dev/sessions -d '{"user_id":"%s","org_id":"%s"}'
`, api, em.url, em.url, sess.UserID, sess.ID, sess.Org.ID, sess.Org.Slug, permInvoicesRead,
		life, token,
		api, api, auth, api, auth, api, permInvoicesRead, auth, api, permBillingManage, api,
		em.url, sess.ID,
		auth, api,
		em.url, sess.UserID, sess.Org.ID)
}

// runReal guards the API with the real instance of the environment.
func (c *demoCmd) runReal(ctx context.Context, e env, cfg clerkauth.Config) int {
	app, err := newDemoApp(cfg)
	if err != nil {
		return e.errorf(exitUsage, "demo", "%s", errText(err))
	}
	defer app.close()
	if err := app.verifier.Warm(ctx); err != nil {
		fmt.Fprintf(e.stderr, "clerkauth demo: warning: signing keys not fetched yet: %v\n", err)
	}
	l, code, ok := c.listenAPI(e)
	if !ok {
		return code
	}
	api := startServer(l, app.handler)
	printRealIntro(e.stdout, cfg, listenerURL(l))
	return waitForInterrupt(ctx, e, api)
}

func printRealIntro(w io.Writer, cfg clerkauth.Config, api string) {
	host := "?"
	if info, err := clerkauth.ParsePublishableKey(cfg.PublishableKey); err == nil {
		host = info.FrontendAPI
	}
	auth := `-H "Authorization: Bearer $TOKEN" `
	fmt.Fprintf(w, `clerkauth demo: a sample API guarded by your Clerk instance %s
(secret key %s, from CLERK_SECRET_KEY).

  Sample API     %s

Get a session token from your signed-in frontend, e.g. in the browser console:
  await window.Clerk.session.getToken()
then:

  TOKEN='<paste the token>'
  curl -i %s/api/public
  curl -i %s%s/api/me
  curl -i %s%s/api/invoices     # needs %s in the active organization
  curl -i %s%s/api/billing      # needs %s

Serving until interrupted (Ctrl-C).
`, host, clerkauth.Redact(cfg.SecretKey), api, api, auth, api, auth, api, permInvoicesRead, auth, api, permBillingManage)
}

// demoKeyOwner owns the demo API key: the demo organization.
const demoKeyOwner = "org_demo00000000000000000000000"

// printMachineIntro shows a machine calling the sample API with an API key.
func printMachineIntro(w io.Writer, api, key string) {
	fmt.Fprintf(w, `
A machine calls the API with an API key (M2M tokens work the same way; session tokens get 401):

  KEY='%s'
  curl -i -H "Authorization: Bearer $KEY" %s/api/usage     # 200: api_key of %s
  curl -i -H "Authorization: Bearer $TOKEN" %s/api/usage   # 401: a session token is not a machine's
`, key, api, demoKeyOwner, api)
}
