package clerkauth

import (
	"errors"
	"strings"

	"github.com/clerkauth/clerkauth/internal/httpx"
)

// The sentinel errors below are the distinctions a caller acts on. Every
// error returned by [Verifier.Verify] matches exactly one of ErrNoToken,
// ErrInvalidToken or ErrKeysUnavailable with [errors.Is]; the finer sentinels
// (ErrTokenExpired, ErrSessionRevoked, ErrSessionPending) also match
// ErrInvalidToken.
var (
	// ErrNoToken is returned when a request carries no session token. The
	// middleware answers it with a bare 401 challenge.
	ErrNoToken = errors.New("clerkauth: no session token")

	// ErrInvalidToken is returned for every token that is rejected on its
	// own merits: malformed, badly signed, expired, for another instance or
	// party. The middleware answers it with 401 invalid_token.
	ErrInvalidToken = errors.New("clerkauth: invalid session token")

	// ErrTokenExpired is returned when the token's exp has passed (leeway
	// included). It also matches ErrInvalidToken. Clients should fetch a
	// fresh token and retry.
	ErrTokenExpired = errors.New("clerkauth: session token expired")

	// ErrSessionRevoked is returned when the token is valid but its session
	// has been revoked. It also matches ErrInvalidToken.
	ErrSessionRevoked = errors.New("clerkauth: session revoked")

	// ErrSessionPending is returned for a session whose status is pending
	// (sign-in tasks incomplete) unless Config.AllowPendingSessions is set.
	// It also matches ErrInvalidToken.
	ErrSessionPending = errors.New("clerkauth: session pending")

	// ErrKeysUnavailable is returned when the token could not be judged
	// because the signing keys could not be obtained (key server down,
	// invalid secret key, empty key set). It never means the token is bad:
	// the middleware answers it with 503 and Retry-After, never 401.
	ErrKeysUnavailable = errors.New("clerkauth: signing keys unavailable")

	// ErrInvalidConfig is returned by constructors for a configuration that
	// cannot be used safely.
	ErrInvalidConfig = httpx.ErrInvalidConfig
)

// Reason is a machine-readable verification failure code. The values reuse
// the reason strings of Clerk's reference SDK where one exists, so logs and
// alerts line up with Clerk's; the rest are clerkauth's own.
type Reason string

// Reasons shared with Clerk's reference implementation.
const (
	ReasonTokenExpired                  Reason = "token-expired"
	ReasonTokenInvalid                  Reason = "token-invalid"
	ReasonTokenInvalidAlgorithm         Reason = "token-invalid-algorithm"
	ReasonTokenInvalidAuthorizedParties Reason = "token-invalid-authorized-parties"
	ReasonTokenInvalidSignature         Reason = "token-invalid-signature"
	ReasonTokenNotActiveYet             Reason = "token-not-active-yet"
	ReasonTokenIatInTheFuture           Reason = "token-iat-in-the-future"
	ReasonTokenVerificationFailed       Reason = "token-verification-failed"
	ReasonJWKKidMismatch                Reason = "jwk-kid-mismatch"
	ReasonJWKRemoteFailedToLoad         Reason = "jwk-remote-failed-to-load"
	ReasonJWKFailedToResolve            Reason = "jwk-failed-to-resolve"
	ReasonSecretKeyInvalid              Reason = "secret-key-invalid"
)

// Reasons clerkauth adds where Clerk has none.
const (
	ReasonTokenInvalidIssuer   Reason = "token-invalid-issuer"
	ReasonTokenInvalidAudience Reason = "token-invalid-audience"
	ReasonTokenMissingSID      Reason = "token-missing-sid"
	ReasonTokenTypeMismatch    Reason = "token-type-mismatch"
	ReasonSessionPending       Reason = "session-pending"
	ReasonSessionRevoked       Reason = "session-revoked"
	ReasonTokenMissing         Reason = "session-token-missing"
	// ReasonRevocationUnavailable means the RevocationStore could not say
	// whether the session is revoked; the token is refused (fail closed)
	// in the keys-unavailable class, answered 503.
	ReasonRevocationUnavailable Reason = "revocation-unavailable"
)

// keysUnavailable reports whether r says the key source failed rather than
// the token.
func (r Reason) keysUnavailable() bool {
	switch r {
	case ReasonJWKRemoteFailedToLoad, ReasonJWKFailedToResolve, ReasonSecretKeyInvalid,
		ReasonRevocationUnavailable:
		return true
	}
	return false
}

// VerificationError describes why a token was rejected. Its message never
// holds the token, nor any claim read before the signature was checked.
//
// errors.Is matches the sentinel of its class: ErrKeysUnavailable for key
// source failures, ErrNoToken for a missing token, ErrInvalidToken for all
// others, and additionally ErrTokenExpired, ErrSessionRevoked or
// ErrSessionPending for those reasons.
type VerificationError struct {
	// Reason is the machine-readable code.
	Reason Reason
	// Message is a short human-readable explanation, safe to log.
	Message string
	// Err is the underlying cause, if any.
	Err error
}

// Error returns "clerkauth: <reason>: <message>[: <cause>]".
func (e *VerificationError) Error() string {
	var b strings.Builder
	b.WriteString("clerkauth: ")
	b.WriteString(string(e.Reason))
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *VerificationError) Unwrap() error { return e.Err }

// Is reports whether target is the sentinel of e's class.
func (e *VerificationError) Is(target error) bool {
	switch target {
	case ErrKeysUnavailable:
		return e.Reason.keysUnavailable()
	case ErrNoToken:
		return e.Reason == ReasonTokenMissing
	case ErrInvalidToken:
		return !e.Reason.keysUnavailable() && e.Reason != ReasonTokenMissing
	case ErrTokenExpired:
		return e.Reason == ReasonTokenExpired
	case ErrSessionRevoked:
		return e.Reason == ReasonSessionRevoked
	case ErrSessionPending:
		return e.Reason == ReasonSessionPending
	}
	return false
}

// ReasonOf returns the Reason carried by err, or "" when err holds no
// *VerificationError.
func ReasonOf(err error) Reason {
	var ve *VerificationError
	if errors.As(err, &ve) {
		return ve.Reason
	}
	return ""
}

func verr(reason Reason, msg string) *VerificationError {
	return &VerificationError{Reason: reason, Message: msg}
}

func verrWrap(reason Reason, msg string, err error) *VerificationError {
	return &VerificationError{Reason: reason, Message: msg, Err: err}
}
