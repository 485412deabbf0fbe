// Package clerktest is an in-process, Clerk-compatible server for tests,
// examples and local development. It is NOT a Clerk implementation and MUST
// NOT be used in production: it trusts every caller that knows its secret
// key, keeps everything in memory and listens on loopback only.
//
// A [Server] plays one Clerk instance. It serves
//
//   - the Backend API JWKS, GET /v1/jwks (secret key required), and the
//     Frontend API JWKS, GET /.well-known/jwks.json (public);
//   - the Backend API Sessions endpoints: GET/POST /v1/sessions,
//     GET /v1/sessions/{id}, POST /v1/sessions/{id}/revoke,
//     POST /v1/sessions/{id}/verify (deprecated),
//     POST /v1/sessions/{id}/tokens and
//     POST /v1/sessions/{id}/tokens/{template},
//
// with the request and response shapes of Clerk's OpenAPI description and
// Clerk's error bodies, so that Clerk's official SDKs work against it
// unchanged. A Go API creates users and sessions, mints session tokens in
// Clerk's v2 (or v1) claim format, mints hostile tokens, rotates signing keys,
// injects faults and counts requests; a [Clock] controls time.
//
//	srv := clerktest.NewServer(clerktest.Config{})
//	defer srv.Close()
//	sess := srv.CreateSession(clerktest.SessionParams{})
//	token := srv.MustToken(sess.ID)
//	// Verify token against srv.APIURL() with srv.SecretKey(), or against
//	// srv.PublicKeyPEM(); its issuer is srv.Issuer().
//
// # Decisions where Clerk's documentation is silent
//
//   - Session timestamps are Unix milliseconds.
//   - A request without any API version is served as version 2021-02-05,
//     the version that predates versioning; POST /v1/sessions/{id}/verify
//     therefore works without a version and with versions before
//     2025-04-10, and answers 410 operation_deprecated from 2025-04-10 on.
//   - GET /v1/sessions?paginated=true answers {"data":[…],"total_count":N},
//     the shape Clerk's SDKs read; without it a bare array.
//   - Listing sessions without client_id and user_id is allowed (the spec
//     only says they "should" be given).
//   - Tokens are minted over HTTP only for active and pending sessions
//     (404 otherwise); the Go API mints for a session in any status.
//   - Error codes Clerk does not document are clerktest's own guesses:
//     api_version_invalid (400, a bad or doubled API version),
//     session_not_active (400, verify of an inactive session) and
//     internal_clerk_error for every injected 5xx.
//   - In v2 tokens, fea lists organization features first, then user-only
//     ones, and fpm has one mask per organization feature; the two readings
//     of fpm (by organization feature, or by position in fea) then agree.
//
// Configuration values (Config, SessionParams, Fault, …) are plain values;
// snapshots returned by the Go API (Session, User) are copies owned by the
// caller. Server, Clock and the Signers of this package are safe for
// concurrent use.
package clerktest
