package clerkauth

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/clerkauth/clerkauth/internal/jsonscan"
)

// This file verifies machine JWTs (M2M and OAuth access tokens)
// networklessly, on the keys and with the stages sessions use: size and
// shape, header rules of the kind, signature (the unverified claims are
// consulted only to decide that a key fetch is pointless), then claims.
// It is stricter than Clerk's SDKs in two ways: the issuer is checked
// exactly, as for sessions, and an OAuth token needs client_id and jti.

// verifyMachineJWT verifies a JWT of kind (TokenKindM2M or TokenKindOAuth).
func (v *Verifier) verifyMachineJWT(ctx context.Context, token string, kind TokenKind) (*MachineToken, error) {
	now := v.now()
	if v.machineCache != nil {
		if e, ok := v.machineCache.get(token); ok && e.claims.Kind == kind && v.keyCurrent(e.key, now) {
			if e.claims.expiredAt(now, v.leeway) {
				return nil, errExpired()
			}
			return e.claims, nil
		}
	}
	rules := machineJWTRules{v: v, kind: kind}
	t, err := v.parseWith(token, rules.checkHeader)
	if err != nil {
		return nil, err
	}
	key, err := v.checkSignatureWith(ctx, t, now, rules.checkClaims)
	if err != nil {
		return nil, err
	}
	if err := rules.checkClaims(t.claims, now); err != nil {
		return nil, err
	}
	mt, err := machineTokenOfJWT(t.claims, kind)
	if err != nil {
		return nil, err
	}
	if v.machineCache != nil {
		v.machineCache.add(token, mt, key)
	}
	return mt, nil
}

// machineJWTRules are the header and claim rules of one machine JWT kind.
type machineJWTRules struct {
	v    *Verifier
	kind TokenKind
}

// checkHeader applies the algorithm allow-list and the kind's typ and cat
// rules: an M2M token has no typ or "JWT", and no cat or the M2M category
// (Clerk's rule; the cat of tokens minted before 2026-05-27 is absent); an
// OAuth token has typ at+jwt or application/at+jwt, and no session,
// template or M2M category.
func (r machineJWTRules) checkHeader(h *joseHeader) error {
	switch {
	case !slices.Contains(r.v.algs, h.alg):
		return verr(ReasonTokenInvalidAlgorithm, "algorithm is not allowed")
	case h.hasCrit:
		return verr(ReasonTokenInvalid, "critical header parameters are not supported")
	case r.kind == TokenKindM2M && h.hasTyp && h.typ != "JWT":
		return verr(ReasonTokenVerificationFailed, `an M2M token's typ must be "JWT" or absent`)
	case r.kind == TokenKindM2M && h.hasCat && h.cat != categoryM2M:
		return verr(ReasonTokenInvalid, "invalid M2M JWT category")
	case r.kind == TokenKindOAuth && !(h.hasTyp && isAccessTokenType(h.typ)):
		return verr(ReasonTokenVerificationFailed, "an OAuth access token's typ must be at+jwt or application/at+jwt")
	case r.kind == TokenKindOAuth && h.hasCat && (h.cat == categorySession || h.cat == categoryTemplate || h.cat == categoryM2M):
		return verr(ReasonTokenTypeMismatch, "token category is not an OAuth access token's")
	}
	return nil
}

// checkClaims applies the claim rules of the kind: the subject's shape,
// the exact issuer, exp required with nbf and iat under the session
// leeway, and the audience (see audience).
func (r machineJWTRules) checkClaims(c *Claims, now time.Time) error {
	checks := [...]func(*Claims, time.Time) error{
		r.checkSubject, r.v.checkIssuer, r.checkAudience, r.v.checkTimes,
	}
	for _, check := range checks {
		if err := check(c, now); err != nil {
			return err
		}
	}
	return nil
}

func (r machineJWTRules) checkSubject(c *Claims, _ time.Time) error {
	switch {
	case c.UserID == "":
		return verr(ReasonTokenVerificationFailed, "subject claim (sub) is required")
	case c.ID == "":
		return verr(ReasonTokenVerificationFailed, "token ID claim (jti) is required")
	case r.kind == TokenKindM2M && !strings.HasPrefix(c.UserID, prefixMachineID):
		return verr(ReasonTokenInvalid, "an M2M token's subject must be a machine")
	case r.kind == TokenKindM2M && c.SessionID != "":
		return verr(ReasonTokenTypeMismatch, "a token with a session claim (sid) is not an M2M token")
	case r.kind == TokenKindOAuth && !strings.HasPrefix(c.UserID, "user_"):
		// As for opaque OAuth tokens: Clerk issues them for users only. An
		// OAuth token may carry the consenting session's sid (Clerk's own
		// fixtures do); its typ and category keep session tokens out.
		return verr(ReasonTokenInvalid, "an OAuth access token's subject must be a user")
	}
	return nil
}

// checkAudience applies Config.Audience. For an OAuth token it is Clerk's
// rule: with an audience configured, aud must be present and one of its
// values configured. For an M2M token it is Clerk's lenient rule: aud is
// checked only when the token has one, since Clerk adds none itself.
func (r machineJWTRules) checkAudience(c *Claims, now time.Time) error {
	if r.kind == TokenKindM2M && len(c.Audience) == 0 {
		return nil
	}
	if len(r.v.audience) > 0 && slices.Contains(c.Audience, "") {
		return verr(ReasonTokenInvalidAudience, "audience (aud) holds an empty value")
	}
	return r.v.checkAudience(c, now)
}

// reservedJWTClaims are left out of MachineToken.Claims, as Clerk's SDKs
// leave them out.
var reservedJWTClaims = [...]string{"iss", "sub", "exp", "nbf", "iat", "jti"}

// machineTokenOfJWT builds the MachineToken of verified claims.
func machineTokenOfJWT(c *Claims, kind TokenKind) (*MachineToken, error) {
	mt := &MachineToken{
		Kind: kind, JWT: true, ID: c.ID, Subject: c.UserID, Audience: c.Audience,
		Expiration: c.Expiry, IssuedAt: c.IssuedAt,
	}
	var x jwtExtras
	if err := jsonscan.Object([]byte(c.raw), x.member); err != nil {
		return nil, err
	}
	mt.Claims = x.custom()
	switch kind {
	case TokenKindM2M:
		mt.Scopes = x.m2mScopes(c.Audience)
	case TokenKindOAuth:
		if x.clientID == "" {
			return nil, verr(ReasonTokenVerificationFailed, "an OAuth access token needs a client_id claim")
		}
		mt.ClientID = x.clientID
		mt.Scopes = x.oauthScopes()
	}
	return mt, nil
}

// jwtExtras collects the claims of a machine JWT that Claims does not
// hold.
type jwtExtras struct {
	scopes    *string  // M2M: scopes, space-separated
	scope     *string  // OAuth: scope, space-separated
	scp       []string // OAuth: scp
	hasScp    bool
	clientID  string
	customBuf bytes.Buffer
}

func (x *jwtExtras) member(key []byte, v jsonscan.Value) error {
	name := string(key)
	switch name {
	case "scopes", "scope":
		s, ok := v.Text()
		if !ok {
			return verr(ReasonTokenVerificationFailed, name+" claim must be a string")
		}
		if name == "scopes" {
			x.scopes = &s
		} else {
			x.scope = &s
		}
	case "scp":
		if err := x.readScp(v); err != nil {
			return err
		}
	case "client_id":
		s, ok := v.Text()
		if !ok {
			return verr(ReasonTokenVerificationFailed, "client_id claim must be a string")
		}
		x.clientID = s
	}
	if !slices.Contains(reservedJWTClaims[:], name) {
		x.addCustom(key, v)
	}
	return nil
}

func (x *jwtExtras) readScp(v jsonscan.Value) error {
	const msg = "scp claim must be an array of strings"
	if v.Kind != jsonscan.KindArray {
		return verr(ReasonTokenVerificationFailed, msg)
	}
	x.hasScp = true
	return jsonscan.Array(v.Raw, func(e jsonscan.Value) error {
		s, ok := e.Text()
		if !ok {
			return verr(ReasonTokenVerificationFailed, msg)
		}
		x.scp = append(x.scp, s)
		return nil
	})
}

// addCustom appends a member to the custom claims object.
func (x *jwtExtras) addCustom(key []byte, v jsonscan.Value) {
	if x.customBuf.Len() == 0 {
		x.customBuf.WriteByte('{')
	} else {
		x.customBuf.WriteByte(',')
	}
	name, _ := json.Marshal(string(key))
	x.customBuf.Write(name)
	x.customBuf.WriteByte(':')
	x.customBuf.Write(v.Raw)
}

func (x *jwtExtras) custom() json.RawMessage {
	if x.customBuf.Len() == 0 {
		return nil
	}
	x.customBuf.WriteByte('}')
	return json.RawMessage(x.customBuf.Bytes())
}

// m2mScopes reads an M2M JWT's scopes as Clerk's SDKs do: the scopes claim
// split on spaces, else the aud array, else none.
func (x *jwtExtras) m2mScopes(aud []string) []string {
	if x.scopes != nil {
		return splitScopes(*x.scopes)
	}
	return slices.Clone(aud)
}

// oauthScopes reads an OAuth JWT's scopes: scp, else scope split on
// spaces.
func (x *jwtExtras) oauthScopes() []string {
	if x.hasScp {
		return x.scp
	}
	if x.scope != nil {
		return splitScopes(*x.scope)
	}
	return nil
}

func splitScopes(s string) []string { return strings.Fields(s) }
