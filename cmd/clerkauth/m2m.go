package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/clerkauth/clerkauth"
)

const m2mUsage = `Usage: clerkauth m2m <command> [flags] [arguments]

Calls Clerk's M2M token endpoints as a machine. The machine secret key (ak_…)
is read from CLERK_MACHINE_SECRET_KEY, or with --key-stdin from the first
line of stdin; never from the command line, where ps would show it.

Commands:
  token [--format jwt|opaque] [--lifetime DURATION] [--claims JSON] [--text]
  list --subject MACHINE_ID [--revoked] [--expired] [--limit N] [--offset N]
  revoke [--reason TEXT] TOKEN_ID

Run 'clerkauth m2m <command> -h' for its flags.

Exit status:
  0  success
  1  the API answered an error (such as 401 for a refused key) or could not
     be reached
  2  usage or configuration error, or an argument the API would reject
`

func runM2M(ctx context.Context, e env, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, m2mUsage)
		return exitUsage
	}
	if isHelp(args[0]) || args[0] == "help" {
		fmt.Fprint(e.stdout, m2mUsage)
		return exitOK
	}
	subs := map[string]func(context.Context, env, []string) int{
		"token": runM2MToken, "list": runM2MList, "revoke": runM2MRevoke,
	}
	sub, ok := subs[args[0]]
	if !ok {
		fmt.Fprintf(e.stderr, "clerkauth m2m: unknown command %q\nRun 'clerkauth m2m -h' for usage.\n", args[0])
		return exitUsage
	}
	return sub(ctx, e, args[1:])
}

// m2mFlags are the flags every m2m command shares.
type m2mFlags struct {
	apiURL, apiVersion string
	maxRetries         int
	keyStdin           bool
}

func (f *m2mFlags) register(fs *flagSet) {
	fs.StringVar(&f.apiURL, "api-url", "", "Backend API base `URL` (default $CLERK_API_URL, else "+clerkauth.DefaultAPIURL+")")
	fs.StringVar(&f.apiVersion, "api-version", "", "Clerk-API-Version `YYYY-MM-DD` (default $CLERK_API_VERSION, else "+clerkauth.DefaultAPIVersion+")")
	fs.IntVar(&f.maxRetries, "max-retries", 0, "retries of failed requests to Clerk (`n`; 0: default 3, negative: none)")
	fs.BoolVar(&f.keyStdin, "key-stdin", false, "read the machine secret key from the first line of stdin instead of $"+clerkauth.EnvMachineSecretKey)
}

// config returns the configuration of the environment with the flags
// applied, the key read from stdin when asked.
func (f *m2mFlags) config(e env) (clerkauth.M2MConfig, error) {
	cfg := clerkauth.M2MConfigFromEnv()
	setIf(&cfg.APIURL, f.apiURL)
	setIf(&cfg.APIVersion, f.apiVersion)
	cfg.MaxRetries = f.maxRetries
	if f.keyStdin {
		line, err := bufio.NewReader(e.stdin).ReadString('\n')
		if line = strings.TrimSpace(line); line == "" {
			return cfg, fmt.Errorf("--key-stdin: no key on stdin (%v)", err)
		}
		cfg.MachineSecretKey = line
	}
	return cfg, nil
}

// newM2MClient returns a client configured from the environment, stdin
// and the flags.
func newM2MClient(e env, cmd string, f *m2mFlags) (*clerkauth.M2MTokensClient, int, bool) {
	cfg, err := f.config(e)
	if err != nil {
		return nil, e.errorf(exitUsage, cmd, "%v", err), false
	}
	c, err := clerkauth.NewM2MTokensClient(cfg)
	if err != nil {
		return nil, e.errorf(exitUsage, cmd, "%s", errText(err)), false
	}
	return c, exitOK, true
}

const m2mTokenUsage = `Usage: clerkauth m2m token [flags]

Creates an M2M token for the machine whose secret key is given and prints it
as JSON, or with --text the bare token, for
  TOKEN=$(clerkauth m2m token --text)
  curl -H "Authorization: Bearer $TOKEN" https://internal.example.com/
A JWT token (the default) is verified by receivers without calling Clerk and
cannot be revoked; an opaque token can be revoked at once. The token is a
credential: it is printed because you asked for it.
`

func runM2MToken(ctx context.Context, e env, args []string) int {
	const cmd = "m2m token"
	var f m2mFlags
	var format, claims string
	var lifetime secondsFlag
	var text bool
	fs := newFlagSet(e, "clerkauth "+cmd, m2mTokenUsage)
	f.register(fs)
	fs.StringVar(&format, "format", string(clerkauth.M2MFormatJWT), "token `format`: jwt or opaque")
	fs.Var(&lifetime, "lifetime", "token lifetime: a `duration` such as 10m, or whole seconds (default 1h)")
	fs.StringVar(&claims, "claims", "", "custom claims, a JSON `object`")
	fs.BoolVar(&text, "text", false, "print only the token")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return fs.usageError("unexpected argument %q", pos[0])
	}
	if format != string(clerkauth.M2MFormatJWT) && format != string(clerkauth.M2MFormatOpaque) {
		return fs.usageError("--format must be jwt or opaque")
	}
	p := clerkauth.CreateM2MTokenParams{Format: clerkauth.M2MTokenFormat(format),
		Lifetime: time.Duration(lifetime) * time.Second, Claims: json.RawMessage(claims)}
	if p.Lifetime == 0 {
		p.Lifetime = clerkauth.DefaultM2MTokenLifetime
	}
	if claims == "" {
		p.Claims = nil
	}
	client, code, ok := newM2MClient(e, cmd, &f)
	if !ok {
		return code
	}
	tok, err := client.Create(ctx, p)
	if err != nil {
		return apiFailure(e, cmd, err)
	}
	if text {
		fmt.Fprintln(e.stdout, tok.Token)
		return exitOK
	}
	writeJSON(e.stdout, tok)
	return exitOK
}

const m2mListUsage = `Usage: clerkauth m2m list --subject MACHINE_ID [flags]

Lists the machine's opaque M2M tokens, newest first, without their secrets,
as {"m2m_tokens":[...],"total_count":N}. JWT tokens are not stored by Clerk
and never listed.

--subject is required: Clerk's API (GET /m2m_tokens) lists tokens by machine
ID and cannot tell it from the key. Pass the ID (mch_…) of the machine whose
secret key you use; a machine may list only its own tokens. The ID is the
"subject" of every token 'clerkauth m2m token' prints, and GET /machines
(with the instance secret key) lists it.
`

func runM2MList(ctx context.Context, e env, args []string) int {
	const cmd = "m2m list"
	var f m2mFlags
	var p clerkauth.ListM2MTokensParams
	fs := newFlagSet(e, "clerkauth "+cmd, m2mListUsage)
	f.register(fs)
	fs.StringVar(&p.Subject, "subject", "", "the `ID` (mch_…) of the machine whose key is used; required")
	fs.BoolVar(&p.Revoked, "revoked", false, "list revoked tokens")
	fs.BoolVar(&p.Expired, "expired", false, "list expired tokens")
	fs.IntVar(&p.Limit, "limit", 0, "page size, 1 to 100 (`n`; 0: the API's default, 10)")
	fs.IntVar(&p.Offset, "offset", 0, "skip this many tokens (`n`)")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return fs.usageError("unexpected argument %q", pos[0])
	}
	if msg := checkListSubject(p.Subject); msg != "" {
		return fs.usageError("%s", msg)
	}
	client, code, ok := newM2MClient(e, cmd, &f)
	if !ok {
		return code
	}
	list, err := client.List(ctx, p)
	if err != nil {
		return apiFailure(e, cmd, err)
	}
	writeJSON(e.stdout, list)
	return exitOK
}

// checkListSubject explains what --subject must hold, or returns "".
// Clerk requires it (the key alone does not name its machine), so the
// message says exactly what to pass and where to find it.
func checkListSubject(subject string) string {
	const want = "the ID (mch_…) of the machine whose secret key is used, " +
		"the \"subject\" of the tokens 'clerkauth m2m token' prints"
	switch {
	case subject == "":
		return "--subject is required (Clerk lists M2M tokens by machine ID and cannot tell the machine from its key): pass " + want
	case !strings.HasPrefix(subject, "mch_"):
		// Redacted: a secret key passed here by mistake is not echoed.
		return fmt.Sprintf("--subject %q is not a machine ID: pass %s", clerkauth.Redact(subject), want)
	}
	return ""
}

const m2mRevokeUsage = `Usage: clerkauth m2m revoke [flags] TOKEN_ID

Revokes the machine's opaque M2M token TOKEN_ID (mt_…, the "id" printed by
'clerkauth m2m token', not the token itself) and prints it as JSON. Receivers
refuse it at once, or after their verification cache expires. JWT tokens
cannot be revoked (the API answers 404).
`

func runM2MRevoke(ctx context.Context, e env, args []string) int {
	const cmd = "m2m revoke"
	var f m2mFlags
	var reason string
	fs := newFlagSet(e, "clerkauth "+cmd, m2mRevokeUsage)
	f.register(fs)
	fs.StringVar(&reason, "reason", "", "revocation `reason`")
	pos, code, ok := fs.parse(args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		return fs.usageError("want exactly one TOKEN_ID")
	}
	client, code, ok := newM2MClient(e, cmd, &f)
	if !ok {
		return code
	}
	tok, err := client.Revoke(ctx, pos[0], reason)
	if err != nil {
		return apiFailure(e, cmd, err)
	}
	writeJSON(e.stdout, tok)
	return exitOK
}
