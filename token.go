package clerkauth

import (
	"encoding/base64"
	"slices"
	"strings"
	"time"
)

// parsedToken is a structurally valid token whose signature is not yet
// checked: nothing in it may be trusted or reported.
type parsedToken struct {
	alg          string
	kid          string
	signingInput string
	sig          []byte
	claims       *Claims
}

// parse splits and decodes token and applies every check that needs no key:
// size, shape, header and claim syntax.
func (v *Verifier) parse(token string) (*parsedToken, error) {
	if len(token) > MaxTokenSize {
		return nil, verr(ReasonTokenInvalid, "token exceeds 16 KiB")
	}
	h, p, s, ok := splitToken(token)
	if !ok {
		return nil, verr(ReasonTokenInvalid, "a JWT consists of three parts separated by dots")
	}
	t := &parsedToken{signingInput: token[:len(h)+1+len(p)]}
	if err := v.parseHeader(h, t); err != nil {
		return nil, err
	}
	if s == "" {
		return nil, verr(ReasonTokenInvalid, "token has no signature")
	}
	sig, err := b64url.DecodeString(s)
	if err != nil || len(sig) == 0 {
		return nil, verr(ReasonTokenInvalid, "signature is not base64url")
	}
	t.sig = sig
	payload, err := b64url.DecodeString(p)
	if err != nil {
		return nil, verr(ReasonTokenInvalid, "payload is not base64url")
	}
	if t.claims, err = parseClaims(payload); err != nil {
		return nil, err
	}
	return t, nil
}

func splitToken(token string) (header, payload, sig string, ok bool) {
	header, rest, ok1 := strings.Cut(token, ".")
	payload, sig, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(sig, '.') >= 0 {
		return "", "", "", false
	}
	return header, payload, sig, header != "" && payload != ""
}

func (v *Verifier) parseHeader(seg string, t *parsedToken) error {
	raw, err := b64url.DecodeString(seg)
	if err != nil {
		return verr(ReasonTokenInvalid, "header is not base64url")
	}
	h, err := decodeHeader(raw)
	if err != nil {
		return verrWrap(ReasonTokenInvalid, "header is not a valid JSON object", err)
	}
	if err := v.checkHeader(&h); err != nil {
		return err
	}
	t.alg, t.kid = h.alg, h.kid
	return nil
}

func (v *Verifier) checkHeader(h *joseHeader) error {
	switch {
	case !slices.Contains(v.algs, h.alg):
		return verr(ReasonTokenInvalidAlgorithm, "algorithm is not allowed")
	case h.hasTyp && h.typ != "JWT":
		return verr(ReasonTokenInvalid, `typ must be "JWT" or absent`)
	case h.hasCat && h.cat != categorySession && h.cat != categoryIgnore:
		return verr(ReasonTokenTypeMismatch, "token category is not a session token")
	case h.hasCrit:
		return verr(ReasonTokenInvalid, "critical header parameters are not supported")
	}
	return nil
}

// checkClaims applies the claim rules. It runs after the signature check,
// or on unverified claims only to decide that a key fetch is pointless.
func (v *Verifier) checkClaims(c *Claims, now time.Time) error {
	checks := [...]func(*Claims, time.Time) error{
		v.checkSubject, v.checkIssuer, v.checkAudience, v.checkAuthorizedParty,
		v.checkTimes, v.checkStatus,
	}
	for _, check := range checks {
		if err := check(c, now); err != nil {
			return err
		}
	}
	return nil
}

func (v *Verifier) checkSubject(c *Claims, _ time.Time) error {
	switch {
	case c.UserID == "":
		return verr(ReasonTokenVerificationFailed, "subject claim (sub) is required")
	case strings.HasPrefix(c.UserID, "mch_"):
		return verr(ReasonTokenTypeMismatch, "machine tokens are not session tokens")
	case c.SessionID == "":
		return verr(ReasonTokenMissingSID, "session claim (sid) is required: not a session token")
	}
	return nil
}

func (v *Verifier) checkIssuer(c *Claims, _ time.Time) error {
	if v.skipIssuer || slices.Contains(v.issuers, c.Issuer) {
		return nil
	}
	return verr(ReasonTokenInvalidIssuer, "issuer (iss) is not the instance's")
}

func (v *Verifier) checkAudience(c *Claims, _ time.Time) error {
	if len(v.audience) == 0 {
		return nil
	}
	for _, a := range c.Audience {
		if slices.Contains(v.audience, a) {
			return nil
		}
	}
	return verr(ReasonTokenInvalidAudience, "audience (aud) does not match")
}

func (v *Verifier) checkAuthorizedParty(c *Claims, _ time.Time) error {
	if len(v.parties) == 0 || (c.AuthorizedParty != "" && slices.Contains(v.parties, c.AuthorizedParty)) {
		return nil
	}
	return verr(ReasonTokenInvalidAuthorizedParties, "authorized party (azp) is missing or not allowed")
}

func (v *Verifier) checkTimes(c *Claims, now time.Time) error {
	switch {
	case c.Expiry.IsZero():
		return verr(ReasonTokenVerificationFailed, "expiration claim (exp) is required")
	case !now.Before(c.Expiry.Add(v.leeway)):
		return errExpired()
	case !c.NotBefore.IsZero() && c.NotBefore.After(now.Add(v.leeway)):
		return verr(ReasonTokenNotActiveYet, "token is not valid yet (nbf)")
	case !c.IssuedAt.IsZero() && c.IssuedAt.After(now.Add(v.leeway)):
		return verr(ReasonTokenIatInTheFuture, "token was issued in the future (iat)")
	}
	return nil
}

func (v *Verifier) checkStatus(c *Claims, _ time.Time) error {
	if c.SessionStatus == SessionStatusPending && !v.allowPend {
		return verr(ReasonSessionPending, "session is pending")
	}
	return nil
}

// b64url decodes JWT segments strictly: no padding, no non-zero trailing
// bits, so one signature has one encoding.
var b64url = base64.RawURLEncoding.Strict()
