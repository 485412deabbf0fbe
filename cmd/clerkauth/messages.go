package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/clerkauth/clerkauth"
)

// cliNames maps the clerkauth.Config fields that the library's
// configuration errors name to what a user of this command sets: the flag
// and, where there is one, the environment variable.
//
// It is a string mapping until the library's configuration errors carry
// the field as a typed value; TestCLINamesCoverConfigErrors keeps it in step
// with the messages the library produces.
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
}

// configField matches the Config field names of cliNames as whole words.
var configField = regexp.MustCompile(`\b(SecretKey|PublishableKey|JWTKey|JWKSURL|APIURL|APIVersion|AuthorizedParties|Issuers|Audience|InsecureSkipIssuerCheck|MaxRetries)\b`)

// libPrefix starts every message of the library; the command prefixes its
// own ("clerkauth verify: "), so the library's is dropped.
const libPrefix = "clerkauth: "

// errText returns err's message for this command's user: without the
// library's "clerkauth: " prefixes and, for a configuration error, naming
// flags and environment variables rather than Config fields.
func errText(err error) string {
	msg := strings.ReplaceAll(err.Error(), libPrefix, "")
	if errors.Is(err, clerkauth.ErrInvalidConfig) {
		msg = configField.ReplaceAllStringFunc(msg, func(f string) string { return cliNames[f] })
	}
	return msg
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
