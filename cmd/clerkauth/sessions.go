package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/clerkauth/clerkauth"
)

const sessionsUsage = `Usage: clerkauth sessions <command> [flags] [arguments]

Calls Clerk's Backend Sessions API with the instance's secret key
(CLERK_SECRET_KEY, or --secret-key) and prints the answer as JSON.

Commands:
  list [--user-id ID] [--client-id ID] [--status S] [--limit N] [--offset N] [--all]
  get SESSION_ID
  revoke SESSION_ID
  token [--template NAME] [--expires-in DURATION] [--text] SESSION_ID

Run 'clerkauth sessions <command> -h' for its flags.

Exit status:
  0  success
  1  the API answered an error (such as 404 for an unknown session) or
     could not be reached
  2  usage or configuration error, or an argument the API would reject
`

func runSessions(ctx context.Context, e env, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, sessionsUsage)
		return exitUsage
	}
	if isHelp(args[0]) || args[0] == "help" {
		fmt.Fprint(e.stdout, sessionsUsage)
		return exitOK
	}
	subs := map[string]func(context.Context, env, []string) int{
		"list": runSessionsList, "get": runSessionsGet,
		"revoke": runSessionsRevoke, "token": runSessionsToken,
	}
	sub, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "clerkauth sessions: unknown command %q\nRun 'clerkauth sessions -h' for usage.\n", args[0])
		return exitUsage
	}
	return sub(ctx, e, args[1:])
}

// newSessionsClient returns a client configured from the environment and
// the flags.
func newSessionsClient(e env, cmd string, f *apiFlags) (*clerkauth.SessionsClient, int, bool) {
	cfg := clerkauth.ConfigFromEnv()
	f.apply(&cfg)
	c, err := clerkauth.NewSessionsClient(cfg)
	if err != nil {
		return nil, e.errorf(exitUsage, cmd, "%s", errText(err)), false
	}
	return c, exitOK, true
}

// apiFailure reports an error of the Sessions API and returns its exit
// status: 2 for an argument rejected before sending, 1 otherwise.
func apiFailure(e env, cmd string, err error) int {
	if errors.Is(err, clerkauth.ErrInvalidArgument) {
		return e.errorf(exitUsage, cmd, "%s", errText(err))
	}
	return e.errorf(exitFailure, cmd, "%s", errText(err))
}

const sessionsListUsage = `Usage: clerkauth sessions list [flags]

Lists sessions, newest first, as {"data":[...],"total_count":N}. Clerk asks
for --user-id or --client-id. With --all every page is fetched (--limit is
then the page size) and total_count is the number of sessions printed.
`

func runSessionsList(ctx context.Context, e env, args []string) int {
	const cmd = "sessions list"
	var api apiFlags
	var p clerkauth.ListSessionsParams
	var status string
	var all bool
	fs := newFlagSet(e, "clerkauth "+cmd, sessionsListUsage)
	api.register(fs)
	fs.StringVar(&p.UserID, "user-id", "", "list the sessions of this user (`user_…`)")
	fs.StringVar(&p.ClientID, "client-id", "", "list the sessions of this client (`client_…`)")
	fs.StringVar(&status, "status", "", "keep only sessions with this `status` (active, revoked, ended, expired, removed, abandoned, replaced)")
	fs.IntVar(&p.Limit, "limit", 0, "page size, 1 to 500 (`n`; 0: the API's default, 10; with --all 100)")
	fs.IntVar(&p.Offset, "offset", 0, "skip this many sessions (`n`)")
	fs.BoolVar(&all, "all", false, "fetch every page")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return fs.usageError("unexpected argument %q", pos[0])
	}
	p.Status = clerkauth.SessionStatus(status)
	client, code, ok := newSessionsClient(e, cmd, &api)
	if !ok {
		return code
	}
	done := e.progress(cmd, "calling Clerk's Sessions API")
	list, err := listSessions(ctx, client, p, all)
	done()
	if err != nil {
		return apiFailure(e, cmd, err)
	}
	writeJSON(e.stdout, list)
	return exitOK
}

func listSessions(ctx context.Context, c *clerkauth.SessionsClient, p clerkauth.ListSessionsParams, all bool) (*clerkauth.SessionList, error) {
	if !all {
		return c.List(ctx, p)
	}
	list := &clerkauth.SessionList{Data: []*clerkauth.Session{}}
	for s, err := range c.All(ctx, p) {
		if err != nil {
			return nil, err
		}
		list.Data = append(list.Data, s)
	}
	list.TotalCount = int64(len(list.Data))
	return list, nil
}

const sessionsGetUsage = `Usage: clerkauth sessions get [flags] SESSION_ID

Prints the session as JSON (the Backend API's Session object).
`

const sessionsRevokeUsage = `Usage: clerkauth sessions revoke [flags] SESSION_ID

Revokes the session and prints it as JSON. Tokens already issued stay valid
for networkless verification until they expire (about a minute) unless the
verifiers are told through a revocation store.
`

func runSessionsGet(ctx context.Context, e env, args []string) int {
	return runSessionOp(ctx, e, args, "sessions get", sessionsGetUsage, (*clerkauth.SessionsClient).Get)
}

func runSessionsRevoke(ctx context.Context, e env, args []string) int {
	return runSessionOp(ctx, e, args, "sessions revoke", sessionsRevokeUsage, (*clerkauth.SessionsClient).Revoke)
}

// runSessionOp runs an operation taking one session ID and answering a
// session.
func runSessionOp(ctx context.Context, e env, args []string, cmd, usage string,
	op func(*clerkauth.SessionsClient, context.Context, string) (*clerkauth.Session, error)) int {
	var api apiFlags
	fs := newFlagSet(e, "clerkauth "+cmd, usage)
	api.register(fs)
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return fs.usageError("want exactly one SESSION_ID")
	}
	client, code, ok := newSessionsClient(e, cmd, &api)
	if !ok {
		return code
	}
	done := e.progress(cmd, "calling Clerk's Sessions API")
	s, err := op(client, ctx, pos[0])
	done()
	if err != nil {
		return apiFailure(e, cmd, err)
	}
	writeJSON(e.stdout, s)
	return exitOK
}

const sessionsTokenUsage = `Usage: clerkauth sessions token [flags] SESSION_ID

Creates a session token (or, with --template, a JWT from the instance's
JWT template) for an active session and prints {"object":"token","jwt":...},
or with --text the bare JWT, for TOKEN=$(clerkauth sessions token --text ID).
The token is a credential: it is printed because you asked for it.
`

func runSessionsToken(ctx context.Context, e env, args []string) int {
	const cmd = "sessions token"
	var api apiFlags
	var template string
	var expiresIn secondsFlag
	var text bool
	fs := newFlagSet(e, "clerkauth "+cmd, sessionsTokenUsage)
	api.register(fs)
	fs.StringVar(&template, "template", "", "JWT template `name`")
	fs.Var(&expiresIn, "expires-in", "token lifetime: a `duration` such as 90s or 1h, or whole seconds; 30s to 10 years (default the instance's)")
	fs.BoolVar(&text, "text", false, "print only the JWT")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return fs.usageError("want exactly one SESSION_ID")
	}
	client, code, ok := newSessionsClient(e, cmd, &api)
	if !ok {
		return code
	}
	p := clerkauth.CreateTokenParams{ExpiresInSeconds: int(expiresIn)}
	var tok *clerkauth.SessionToken
	var err error
	done := e.progress(cmd, "calling Clerk's Sessions API")
	if template != "" {
		tok, err = client.CreateTokenFromTemplate(ctx, pos[0], template, p)
	} else {
		tok, err = client.CreateToken(ctx, pos[0], p)
	}
	done()
	if err != nil {
		return apiFailure(e, cmd, err)
	}
	if text {
		fmt.Fprintln(e.stdout, tok.JWT)
		return exitOK
	}
	writeJSON(e.stdout, tok)
	return exitOK
}

// secondsFlag is a whole number of seconds given as a Go duration ("90s",
// "1h") or a plain integer.
type secondsFlag int

func (s *secondsFlag) String() string { return strconv.Itoa(int(*s)) }

func (s *secondsFlag) Set(v string) error {
	if n, err := strconv.Atoi(v); err == nil {
		*s = secondsFlag(n)
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return errors.New("want a duration such as 90s or a number of seconds")
	}
	if d%time.Second != 0 {
		return errors.New("want whole seconds")
	}
	*s = secondsFlag(d / time.Second)
	return nil
}
