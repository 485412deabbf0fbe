// Command clerkauth runs a demo of clerkauth against an embedded
// Clerk-compatible server, runs that server standalone for local
// development, verifies session tokens and calls Clerk's Sessions API.
//
// Usage:
//
//	clerkauth demo [--check]           protected sample API + embedded Clerk server
//	clerkauth dev [--addr HOST:PORT]   Clerk-compatible development server
//	clerkauth verify [flags] TOKEN|-   verify a session token, print its claims
//	clerkauth sessions list|get|revoke|token ...
//	clerkauth m2m token|list|revoke ...       M2M tokens of a machine
//	clerkauth version
//
// Every subcommand prints its usage with -h or --help.
//
// Exit status: 0 success; 1 failure (invalid token, failed check, API
// error); 2 usage or configuration error; 3 verify could not decide (the
// signing keys are unavailable).
//
// Configuration is read from the environment variables of Clerk's SDKs
// (CLERK_SECRET_KEY, CLERK_PUBLISHABLE_KEY, CLERK_JWT_KEY, CLERK_API_URL,
// CLERK_API_VERSION, CLERK_JWKS_URL, CLERK_AUTHORIZED_PARTIES), which flags
// override. Secret keys of a real instance are never printed whole.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
