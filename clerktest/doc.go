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
//     POST /v1/sessions/{id}/tokens/{template};
//   - machine authentication, each route both under /v1 and without it
//     (Clerk's JS SDK calls the M2M token, API key and OAuth routes without
//     /v1): machines (GET/POST /machines, GET/PATCH/DELETE /machines/{id},
//     GET /machines/{id}/secret_key, POST /machines/{id}/secret_key/rotate,
//     POST /machines/{id}/scopes, DELETE /machines/{id}/scopes/{other});
//     M2M tokens (POST /m2m_tokens with a machine secret key, GET
//     /m2m_tokens, POST /m2m_tokens/verify, POST /m2m_tokens/{id}/revoke);
//     API keys (GET/POST /api_keys, GET /api_keys/{id}, GET
//     /api_keys/{id}/secret, POST /api_keys/{id}/revoke, POST
//     /api_keys/verify); and POST /oauth_applications/access_tokens/verify,
//
// with the request and response shapes of Clerk's OpenAPI description and
// Clerk's error bodies, so that Clerk's official SDKs work against it
// unchanged. A Go API creates users and sessions, mints session tokens in
// Clerk's v2 (or v1) claim format, mints hostile tokens, rotates signing keys,
// injects faults and counts requests; a [Clock] controls time. The opt-in
// [Server.DevHandler] adds development routes that create sessions and mint
// tokens over HTTP without the secret key, for `clerkauth dev`.
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
// # Machine credentials
//
// Machine secret keys and API key secrets both start with ak_ (as in
// Clerk); opaque M2M tokens with mt_, opaque OAuth access tokens with oat_.
// IDs are the prefix and 32 hex digits (jti of the JWTs). The server keeps
// secrets only as SHA-256 hashes for lookup.
//
// A JWT M2M token ([Server.CreateM2MToken] with FormatJWT, or POST
// /m2m_tokens with "token_format":"jwt") has the header
// {"alg":"RS256","cat":"cl_B7d4PD333AAA","kid":<current kid>} (no typ) and
// the payload iss (the instance issuer), sub (the machine ID), iat, nbf
// (= iat), exp, jti (mt_…) and the custom claims, which may not redefine
// those; aud and scopes appear only as custom claims, as in Clerk.
//
// A JWT OAuth access token ([Server.CreateOAuthToken]) has the header
// {"alg":"RS256","kid":<current kid>,"typ":"at+jwt"} and the payload iss,
// sub (user ID), client_id, scope (space-separated, when any), jti (oat_…),
// iat, nbf (= iat), exp and aud (when given).
//
// Decisions where Clerk's documentation is silent or contradicts itself:
//
//   - An M2M token created without an expiration lives for the machine's
//     default_token_ttl (the spec), not forever (the docs).
//   - POST /m2m_tokens with the instance secret key answers 403
//     authorization_invalid; an unknown machine secret key 401
//     machine_secret_key_invalid.
//   - Verify endpoints answer 404 resource_not_found for unknown, revoked,
//     expired and (M2M, machine key) unscoped tokens; with
//     Config.VerifyReportsInvalid, revoked and expired tokens get 200 with
//     "revoked"/"expired" set instead. An expired JWT sent to the OAuth
//     verify endpoint gets 200 {"active":false}, as Clerk's description has
//     it.
//   - POST /m2m_tokens/verify also takes JWT M2M tokens; verified with a
//     machine key, the token's machine must currently be scoped to that
//     machine (a JWT names no target machines).
//   - GET /m2m_tokens returns the tokens whose revoked and expired states
//     equal the revoked and expired parameters (default: live tokens).
//   - Machine timestamps are Unix milliseconds; OAuth access token
//     timestamps are Unix seconds, as in the examples of Clerk's description.
//   - Validation errors of the M2M token, API key and OAuth routes are 400
//     bad_request (as in Clerk's description for them); those of the
//     machine routes 422 form_param_*; claims must be a JSON object or null.
//   - Deleting a machine ends its secret keys, the scopes to it and the
//     validity of its M2M tokens.
//
// Configuration values (Config, SessionParams, Fault, …) are plain values;
// snapshots returned by the Go API (Session, User, Machine, M2MToken,
// APIKey, OAuthToken) are copies owned by the
// caller. Server, Clock and the Signers of this package are safe for
// concurrent use.
package clerktest
