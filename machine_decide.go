package clerkauth

import (
	"context"
	"strings"
)

// This file is the middleware's decision for routes that accept machine
// tokens (MiddlewareOptions.AcceptsToken). Its table, stricter than
// Clerk's (clerk-machine-auth.md §4.2) where noted:
//
//   - no token: ErrNoToken (401), or signed out when Optional;
//   - a token of a kind not accepted, machine or session: 401
//     token-type-mismatch, before any verification or network call
//     (Clerk: the same, except that an opaque machine token on a
//     session-only route is token-invalid; clerkauth says
//     token-type-mismatch there too, see sessionOnlyError);
//   - a machine token from a cookie: 401 token-type-mismatch, by the
//     session path (decideCookie), which is the only reader of cookies
//     (Clerk never reads machine tokens from cookies either);
//   - an opaque token that is not a b64token: 400, before any call;
//   - a JWT-shaped token that cannot be decoded, on a route accepting no
//     session tokens: 401 token-invalid;
//   - otherwise the kind's verification: session rules for session
//     tokens, machine_jwt.go for machine JWTs, machine_opaque.go for
//     opaque tokens.

// decideKind verifies token when the route accepts machine tokens.
func (m *Middleware) decideKind(ctx context.Context, st authState, token string, from tokenCarrier) (authState, error) {
	fromHeader := from == fromHeader
	if _, ok := m.v.cached(token); ok && m.accepts&kindSession != 0 {
		return m.decideSession(ctx, st, token, fromHeader) // warm path: no classification
	}
	if mt, ok := m.v.cachedMachineJWT(token); ok {
		mt, err := m.v.recheckMachine(mt, m.accepts)
		st.machine = mt
		return st, err
	}
	class := classifyToken(token)
	if class.kind == TokenKindSession && m.accepts&kindSession != 0 {
		return m.decideSession(ctx, st, token, fromHeader)
	}
	if fromHeader && !class.jwt && m.accepts.has(class.kind) && !isB64Token(token) {
		return st, errNotB64Token() // never spend a verify call on it
	}
	mt, err := m.v.verifyMachine(ctx, token, class, m.accepts, m.strict)
	if err != nil {
		return st, m.malformedOr(token, fromHeader, err)
	}
	st.machine = mt
	return st, nil
}

// decideSession verifies a session token.
func (m *Middleware) decideSession(ctx context.Context, st authState, token string, fromHeader bool) (authState, error) {
	c, err := m.verify(ctx, token)
	if err != nil {
		return st, m.malformedOr(token, fromHeader, err)
	}
	st.claims, st.token = c, token
	return st, nil
}

// malformedOr returns the 400 of a header token that is not a b64token,
// else err.
func (m *Middleware) malformedOr(token string, fromHeader bool, err error) error {
	if fromHeader && !isB64Token(token) {
		return errNotB64Token() // malformed credentials: 400, not 401
	}
	return err
}

// sessionOnlyError is the error of a token refused by a session-only
// route: token-type-mismatch for an opaque machine token (Clerk's SDKs
// say token-invalid, as the JWT decoding fails), err otherwise. Machine
// JWTs are refused as such by the session rules (typ, cat, sub).
func sessionOnlyError(token string, err error) error {
	if strings.Count(token, ".") == 2 {
		return err
	}
	switch c := classifyToken(token); c.kind {
	case TokenKindM2M, TokenKindOAuth, TokenKindAPIKey:
		return typeMismatch(c.kind)
	}
	return err
}

// checkAccepts fails when accepted machine kinds lack the key that
// verifies their opaque tokens: the secret key for API keys and OAuth
// tokens, it or the machine secret key for M2M tokens.
func (v *Verifier) checkAccepts(accepts kindSet) error {
	switch {
	case accepts&(kindAPIKey|kindOAuth) != 0 && v.opaque.secretKey == "":
		return configError("%s: accepting API keys or OAuth tokens needs %s", "AcceptsToken", "SecretKey")
	case accepts&kindM2M != 0 && v.opaque.secretKey == "" && v.opaque.machineKey == "":
		return configError("%s: accepting M2M tokens needs %s or %s", "AcceptsToken", "SecretKey", "MachineSecretKey")
	}
	return nil
}
