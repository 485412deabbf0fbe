// Package clerkauth guards Go web servers with Clerk sessions.
//
// It verifies Clerk session tokens networklessly against a cached JWKS (or
// the instance's PEM public key), puts the verified session into the request
// context through a net/http middleware, and embeds a client for Clerk's
// Backend Sessions API for revocation and online checks.
//
// # Verifying tokens
//
//	v, err := clerkauth.NewVerifier(clerkauth.ConfigFromEnv())
//	if err != nil { ... } // fails closed on missing or malformed configuration
//	defer v.Close()
//	claims, err := v.Verify(ctx, token)
//
// Errors match one of [ErrNoToken], [ErrInvalidToken] or [ErrKeysUnavailable]
// with errors.Is, and carry one of Clerk's reason codes in a
// [*VerificationError]. A Verifier holds its own key cache and
// verified-token cache: nothing is shared through package state.
//
// # Middleware
//
//	mux.Handle("/api/", clerkauth.RequireSession(v)(api))
//	claims, ok := clerkauth.SessionFromContext(r.Context())
//
// [NewMiddleware] takes [MiddlewareOptions] (optional mode, token sources,
// error handling, Sessions API checks). Guards such as [RequirePermission]
// and [RequireRole] answer 403 for a signed-in session that lacks what the
// route needs. A key outage is answered 503 with Retry-After, never 401.
//
// # Sessions API
//
// [SessionsClient] offers Get, List, All, Revoke, CreateToken,
// CreateTokenFromTemplate and the deprecated Verify, with retries that honour
// Retry-After and typed [*APIError] errors.
//
// # Testing
//
// Package clerkauth/clerktest is a Clerk-compatible local server (JWKS,
// Sessions API, token minting, faults) for tests and local development;
// [ContextWithSession] puts claims into a context for handler unit tests.
package clerkauth
