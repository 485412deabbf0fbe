package clerkauth

import (
	"slices"
	"strings"
	"time"
)

// checkClaims applies the claim rules. It runs after the signature check,
// or on unverified claims only to decide that a key fetch is pointless.
func (v *Verifier) checkClaims(c *Claims, now time.Time) error {
	checks := [...]func(*Claims, time.Time) error{
		v.checkSubject, v.checkIssuer, v.checkAudience, v.checkAuthorizedParty,
		v.checkTimes, v.checkLifetime, v.checkStatus,
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

// checkLifetime bounds a token's life by MaxTokenLifetime, which is how
// long a revocation is remembered (see [Verifier.MarkRevoked]): a longer-lived
// token would verify again once its session's revocation was forgotten. A
// token without iat has no knowable lifetime (exp - now says nothing about
// when it was issued) and is refused; every token Clerk issues has one.
func (v *Verifier) checkLifetime(c *Claims, _ time.Time) error {
	switch {
	case c.IssuedAt.IsZero():
		return verr(ReasonTokenVerificationFailed, "issued-at claim (iat) is required: without it the token's lifetime cannot be bounded")
	case c.Expiry.Sub(c.IssuedAt) > v.maxLifetime:
		return verr(ReasonTokenLifetimeExceeded, "token lifetime (exp - iat) exceeds the configured maximum")
	}
	return nil
}

func (v *Verifier) checkStatus(c *Claims, _ time.Time) error {
	if c.SessionStatus == SessionStatusPending && !v.allowPend {
		return verr(ReasonSessionPending, "session is pending")
	}
	return nil
}

func errExpired() error {
	return verr(ReasonTokenExpired, "token has expired")
}
