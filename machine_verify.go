package clerkauth

import (
	"context"
	"fmt"
)

// VerifyMachineToken verifies an M2M token, OAuth access token or API key
// and returns what it stands for. A JWT (M2M or OAuth) is verified
// networklessly, on the keys and with the leeway and issuer rules of
// session tokens; an opaque token (mt_…, oat_…, ak_…) is sent to Clerk's
// Backend API verify endpoint, unless a recent answer about it is cached
// (see Config.MachineTokenCacheTTL).
//
// A session token, or any string that is none of these kinds, is refused
// with ReasonTokenTypeMismatch without any network request. Errors match
// ErrNoToken, ErrInvalidToken, or ErrKeysUnavailable when Clerk could not
// be asked (see [VerificationError]).
func (v *Verifier) VerifyMachineToken(ctx context.Context, token string) (*MachineToken, error) {
	if mt, ok := v.cachedMachineJWT(token); ok {
		return v.recheckMachine(mt, kindsMachine)
	}
	return v.verifyMachine(ctx, token, classifyToken(token), kindsMachine, false)
}

// cachedMachineJWT returns the machine JWT token if it was verified
// before: the warm path skips even the classification.
func (v *Verifier) cachedMachineJWT(token string) (*MachineToken, bool) {
	if v.machineCache == nil {
		return nil, false
	}
	e, ok := v.machineCache.get(token)
	if !ok || !v.keyCurrent(e.key, v.now()) {
		return nil, false
	}
	return e.claims, true
}

// recheckMachine re-applies to a cached machine JWT what changes with the
// route and with time.
func (v *Verifier) recheckMachine(mt *MachineToken, accepts kindSet) (*MachineToken, error) {
	switch {
	case !accepts.has(mt.Kind):
		return nil, typeMismatch(mt.Kind)
	case mt.expiredAt(v.now(), v.leeway):
		return nil, errExpired()
	}
	return mt, nil
}

// verifyMachine verifies token, of class, when its kind is in accepts;
// strict skips the caches of opaque tokens.
func (v *Verifier) verifyMachine(ctx context.Context, token string, class tokenClass, accepts kindSet, strict bool) (*MachineToken, error) {
	switch {
	case token == "":
		return nil, verr(ReasonTokenMissing, "no token")
	case class.malformed:
		return nil, verr(ReasonTokenInvalid, "token is not a well-formed JWT")
	case class.kind == TokenKindSession || !accepts.has(class.kind):
		return nil, typeMismatch(class.kind)
	case class.jwt:
		return v.verifyMachineJWT(ctx, token, class.kind)
	}
	return v.opaque.verify(ctx, token, class.kind, strict)
}

// ForgetMachineToken drops an opaque machine token from the Verifier's
// cache and from Config.MachineTokenCache, so that its next use asks
// Clerk: call it after revoking the token. Other replicas' in-process
// caches keep it until their MachineTokenCacheTTL passes. The error is
// the shared cache's.
func (v *Verifier) ForgetMachineToken(ctx context.Context, token string) error {
	if token == "" {
		return fmt.Errorf("%w: empty token", ErrInvalidArgument)
	}
	return v.opaque.forget(ctx, token)
}
