package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/clerkauth/clerkauth"
)

// Exit statuses.
const (
	exitOK        = 0 // success
	exitFailure   = 1 // invalid token, failed check, API error
	exitUsage     = 2 // usage or configuration error
	exitUndecided = 3 // verify could not decide: signing keys unavailable
)

const mainUsage = `clerkauth guards Go web servers with Clerk sessions. This command runs a demo,
a local Clerk-compatible development server, and token and session tools.

Usage:
  clerkauth <command> [flags] [arguments]

Commands:
  demo       run a protected sample API with an embedded Clerk-compatible server
             and print ready-to-paste curl commands (--check: test it and exit)
  dev        run the Clerk-compatible development server standalone
  verify     verify a session token and print its claims as JSON
  sessions   call Clerk's Sessions API: list, get, revoke, token
  m2m        create, list and revoke a machine's M2M tokens
  version    print the version

Run 'clerkauth <command> -h' for a command's flags.

Configuration comes from the environment variables of Clerk's SDKs
(CLERK_SECRET_KEY, CLERK_PUBLISHABLE_KEY, CLERK_JWT_KEY, CLERK_API_URL,
CLERK_API_VERSION, CLERK_JWKS_URL, CLERK_AUTHORIZED_PARTIES); flags override it.

Exit status:
  0  success
  1  failure: invalid token, failed check, error answered by the API
  2  usage or configuration error
  3  verify could not decide: the signing keys are unavailable
`

// env is what a command runs with: its streams, and whether stderr is a
// terminal (progress notes are printed only there).
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	stderrTTY      bool
}

type command struct {
	name string
	run  func(ctx context.Context, e env, args []string) int
}

func commands() []command {
	return []command{
		{"demo", runDemo},
		{"dev", runDev},
		{"verify", runVerify},
		{"sessions", runSessions},
		{"m2m", runM2M},
		{"version", runVersion},
	}
}

// run runs the command line args (without the program name) and returns
// the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := env{stdin: stdin, stdout: stdout, stderr: stderr, stderrTTY: isTerminal(stderr)}
	if len(args) == 0 {
		fmt.Fprint(stderr, mainUsage)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && args[0] == "help" {
			return run(ctx, []string{args[1], "--help"}, stdin, stdout, stderr)
		}
		fmt.Fprint(stdout, mainUsage)
		return exitOK
	case "-version", "--version":
		return runVersion(ctx, e, nil)
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	what := "command"
	if strings.HasPrefix(args[0], "-") {
		what = "flag"
	}
	fmt.Fprintf(stderr, "clerkauth: unknown %s %q\nRun 'clerkauth --help' for the list of commands.\n", what, args[0])
	return exitUsage
}

func runVersion(_ context.Context, e env, args []string) int {
	if len(args) > 0 {
		if isHelp(args[0]) {
			fmt.Fprint(e.stdout, "Usage: clerkauth version\n\nPrints the version of clerkauth.\n")
			return exitOK
		}
		fmt.Fprintln(e.stderr, "clerkauth version: takes no arguments")
		return exitUsage
	}
	fmt.Fprintf(e.stdout, "clerkauth %s\n", clerkauth.Version)
	return exitOK
}

func isHelp(arg string) bool {
	switch arg {
	case "-h", "-help", "--help":
		return true
	}
	return false
}

// flagSet is a flag.FlagSet with its usage text, parsed with flags and
// arguments interspersed.
type flagSet struct {
	*flag.FlagSet
	usage string // synopsis and description, before the flag list
	e     env
}

func newFlagSet(e env, name, usage string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {}
	return &flagSet{FlagSet: fs, usage: usage, e: e}
}

// printUsage writes the usage text and the flag defaults to w.
func (fs *flagSet) printUsage(w io.Writer) {
	fmt.Fprint(w, fs.usage)
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprint(w, "\nFlags:\n")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(fs.e.stderr)
	}
}

// parse parses args and returns the positional arguments. When it returns
// ok false, the command must exit with code: 0 after --help (usage printed
// to stdout), 2 after a usage error (message printed to stderr).
func (fs *flagSet) parse(args []string) (pos []string, code int, ok bool) {
	pos, err := parseInterspersed(fs.FlagSet, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fs.printUsage(fs.e.stdout)
		return nil, exitOK, false
	case err != nil:
		return nil, fs.usageError(""), false
	}
	return pos, exitOK, true
}

// usageError prints msg (if any) and a hint to stderr and returns
// exitUsage.
func (fs *flagSet) usageError(format string, a ...any) int {
	if format != "" {
		fmt.Fprintf(fs.e.stderr, "%s: %s\n", fs.Name(), fmt.Sprintf(format, a...))
	}
	fmt.Fprintf(fs.e.stderr, "Run '%s -h' for usage.\n", fs.Name())
	return exitUsage
}

// parseInterspersed parses flags anywhere among args, as most CLIs do;
// everything after "--" is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// listFlag is a repeatable flag whose values may also be comma-separated.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// writeJSON writes v to w as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// jsonLine returns an encoder writing compact JSON lines to w.
func jsonLine(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}

// errorf prints "clerkauth <cmd>: <message>" to stderr and returns code.
// The library's own "clerkauth: " prefixes are dropped from the message;
// format errors with errText to name flags rather than Config fields.
func (e env) errorf(code int, cmd, format string, a ...any) int {
	msg := strings.ReplaceAll(fmt.Sprintf(format, a...), libPrefix, "")
	fmt.Fprintf(e.stderr, "clerkauth %s: %s\n", cmd, msg)
	return code
}
