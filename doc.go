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
//	if err != nil { ... }
//	claims, err := v.Verify(ctx, token)
//
// Errors match one of [ErrNoToken], [ErrInvalidToken] or [ErrKeysUnavailable]
// with errors.Is, and carry one of Clerk's reason codes in a
// [*VerificationError].
package clerkauth
