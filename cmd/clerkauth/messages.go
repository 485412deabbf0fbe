package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/clerkauth/clerkauth"
)

// cliNames maps the clerkauth.Config fields that the library's
// configuration errors (*clerkauth.ConfigError) name to what a user of this
// command sets: the flag and, where there is one, the environment variable.
// TestCLINamesAreReal checks that each flag, variable and field exists.
var cliNames = map[string]string{
	"SecretKey":               "--secret-key (CLERK_SECRET_KEY)",
	"PublishableKey":          "--publishable-key (CLERK_PUBLISHABLE_KEY)",
	"JWTKey":                  "--jwt-key (CLERK_JWT_KEY)",
	"JWKSURL":                 "--jwks-url (CLERK_JWKS_URL)",
	"APIURL":                  "--api-url (CLERK_API_URL)",
	"APIVersion":              "--api-version (CLERK_API_VERSION)",
	"AuthorizedParties":       "--authorized-party (CLERK_AUTHORIZED_PARTIES)",
	"Issuers":                 "--issuer",
	"Audience":                "--audience",
	"InsecureSkipIssuerCheck": "--insecure-skip-issuer-check",
	"MaxRetries":              "--max-retries",
	"Leeway":                  "--leeway",
}

// libPrefix starts every message of the library; the command prefixes its
// own ("clerkauth verify: "), so the library's is dropped.
const libPrefix = "clerkauth: "

// errText returns err's message for this command's user: without the
// library's "clerkauth: " prefixes and, for a configuration error, naming
// flags and environment variables rather than Config fields.
func errText(err error) string {
	msg := err.Error()
	var ce *clerkauth.ConfigError
	if errors.As(err, &ce) {
		msg = strings.Replace(msg, ce.Error(), configErrText(ce), 1)
	}
	return strings.ReplaceAll(msg, libPrefix, "")
}

// configErrText is ce's message with the fields named by their flags.
func configErrText(ce *clerkauth.ConfigError) string {
	msg := clerkauth.ErrInvalidConfig.Error() + ": " + ce.Describe(cliName)
	if ce.Err != nil {
		msg += ": " + ce.Err.Error()
	}
	return msg
}

// cliName returns the flag (and variable) of a Config field, or the field
// itself for those the command has no flag for.
func cliName(field string) string {
	if n, ok := cliNames[field]; ok {
		return n
	}
	return field
}

// progressDelay is how long an operation runs before a progress note.
const progressDelay = 500 * time.Millisecond

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress starts an operation that may take a while: if it is still
// running after progressDelay and stderr is a terminal, note is printed
// there, once. The returned function ends the operation; no note is
// printed after it returns.
func (e env) progress(cmd, note string) (done func()) {
	if !e.stderrTTY {
		return func() {}
	}
	var mu sync.Mutex
	finished := false
	t := time.AfterFunc(progressDelay, func() {
		mu.Lock()
		defer mu.Unlock()
		if !finished {
			fmt.Fprintf(e.stderr, "clerkauth %s: %s…\n", cmd, note)
		}
	})
	return func() {
		t.Stop()
		mu.Lock()
		finished = true
		mu.Unlock()
	}
}
