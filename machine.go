package clerkauth

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/clerkauth/clerkauth/internal/httpx"
	"github.com/clerkauth/clerkauth/internal/jsonscan"
)

// TokenKind is a kind of token a request may authenticate with, named as
// Clerk's SDKs name it (their tokenType).
type TokenKind string

// The token kinds, for MiddlewareOptions.AcceptsToken and
// [MachineToken.Kind].
const (
	// TokenKindSession is a session token of a signed-in user: a JWT from
	// the Authorization header or the __session cookie.
	TokenKindSession TokenKind = "session_token"
	// TokenKindM2M is a machine-to-machine token: opaque (mt_…) or a JWT
	// whose subject is a machine (mch_…).
	TokenKindM2M TokenKind = "m2m_token"
	// TokenKindOAuth is an OAuth access token Clerk issued to a third-party
	// application acting for a user: opaque (oat_…) or a JWT with typ
	// at+jwt.
	TokenKindOAuth TokenKind = "oauth_token"
	// TokenKindAPIKey is an API key (ak_…), always opaque.
	TokenKindAPIKey TokenKind = "api_key"
	// TokenKindAny, in MiddlewareOptions.AcceptsToken, accepts all four
	// kinds. It is never the kind of a token.
	TokenKindAny TokenKind = "any"
)

// Prefixes and markers of machine tokens (clerk-machine-auth.md §2).
const (
	prefixM2M          = "mt_"
	prefixOAuth        = "oat_"
	prefixAPIKey       = "ak_"
	prefixMachineID    = "mch_"
	categoryM2M        = "cl_B7d4PD333AAA"
	categoryTemplate   = "cl_B7d4PD222AAA"
	typAccessToken     = "at+jwt"
	typAccessTokenMIME = "application/at+jwt"
)

// kindSet is a set of TokenKinds.
type kindSet uint8

const (
	kindSession kindSet = 1 << iota
	kindM2M
	kindOAuth
	kindAPIKey
	kindsMachine = kindM2M | kindOAuth | kindAPIKey
	kindsAll     = kindSession | kindsMachine
)

// bit returns the set holding only k, 0 for an unknown kind.
func (k TokenKind) bit() kindSet {
	switch k {
	case TokenKindSession:
		return kindSession
	case TokenKindM2M:
		return kindM2M
	case TokenKindOAuth:
		return kindOAuth
	case TokenKindAPIKey:
		return kindAPIKey
	case TokenKindAny:
		return kindsAll
	}
	return 0
}

// kindSetOf returns the set of kinds, the session kind alone for none.
func kindSetOf(kinds []TokenKind) (kindSet, error) {
	if len(kinds) == 0 {
		return kindSession, nil
	}
	var s kindSet
	for _, k := range kinds {
		b := k.bit()
		if b == 0 {
			return 0, configError("%s: unknown token kind "+quoted(httpx.Excerpt([]byte(k), 32)), "AcceptsToken")
		}
		s |= b
	}
	return s, nil
}

func (s kindSet) has(k TokenKind) bool { return s&k.bit() != 0 && k != TokenKindAny }

// tokenClass is what a raw token looks like, before any verification: the
// kind it claims to be and whether it is a JWT. The classification
// follows Clerk's (clerk-machine-auth.md §2): the JWT shape first, then
// the opaque prefixes; a JWT whose subject is a machine is an M2M token
// (even with typ at+jwt), one with typ at+jwt or application/at+jwt an
// OAuth token, any other a session token. A string of no known shape is a
// session token too, so that the session verifier reports what is wrong
// with it.
type tokenClass struct {
	kind TokenKind
	jwt  bool
	// malformed marks a JWT-shaped token whose header or payload cannot
	// be decoded: no kind could be read from it.
	malformed bool
}

// classifyToken classifies token without verifying anything. It decodes
// the header and, unless the header already says, the payload's sub.
func classifyToken(token string) tokenClass {
	if len(token) > MaxTokenSize {
		return tokenClass{kind: TokenKindSession, malformed: true}
	}
	if h, p, s, ok := splitToken(token); ok && s != "" && isJWTSegment(h) && isJWTSegment(p) && isJWTSegment(s) {
		return classifyJWT(h, p)
	}
	switch {
	case strings.HasPrefix(token, prefixM2M):
		return tokenClass{kind: TokenKindM2M}
	case strings.HasPrefix(token, prefixOAuth):
		return tokenClass{kind: TokenKindOAuth}
	case strings.HasPrefix(token, prefixAPIKey):
		return tokenClass{kind: TokenKindAPIKey}
	}
	return tokenClass{kind: TokenKindSession}
}

func classifyJWT(header, payload string) tokenClass {
	c := tokenClass{kind: TokenKindSession, jwt: true}
	raw, err := b64url.DecodeString(header)
	if err != nil {
		c.malformed = true
		return c
	}
	h, err := decodeHeader(raw)
	if err != nil {
		c.malformed = true
		return c
	}
	switch {
	case h.hasCat && h.cat == categorySession:
		return c // a session token: sessions refuse a machine subject themselves
	case h.hasCat && h.cat == categoryM2M:
		c.kind = TokenKindM2M // whatever its subject: M2M rules refuse any but a machine
		return c
	}
	sub, ok := unverifiedSubject(payload)
	if !ok {
		c.malformed = true
		return c
	}
	switch {
	case strings.HasPrefix(sub, prefixMachineID):
		c.kind = TokenKindM2M
	case h.hasTyp && isAccessTokenType(h.typ):
		c.kind = TokenKindOAuth
	}
	return c
}

// unverifiedSubject returns the sub claim of an undecoded payload, "" when
// it has none; false when the payload is not a JSON object.
func unverifiedSubject(seg string) (string, bool) {
	raw, err := b64url.DecodeString(seg)
	if err != nil {
		return "", false
	}
	var sub string
	err = jsonscan.Object(raw, func(key []byte, v jsonscan.Value) error {
		if string(key) == "sub" {
			sub, _ = v.Text()
		}
		return nil
	})
	return sub, err == nil
}

func isAccessTokenType(typ string) bool {
	return typ == typAccessToken || typ == typAccessTokenMIME
}

// isJWTSegment reports whether s is a non-empty run of base64url
// characters, as Clerk's isJwtFormat requires of each segment.
// It is branch-free over a bit table, as allB64TokenChars is.
func isJWTSegment(s string) bool {
	const (
		low  = 1<<'-' | (1<<10-1)<<'0'
		high = (1<<26-1)<<('A'-64) | 1<<('_'-64) | (1<<26-1)<<('a'-64)
	)
	table := [4]uint64{low, high, 0, 0}
	var miss uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		miss |= ^table[c>>6] >> (c & 63)
	}
	return s != "" && miss&1 == 0
}

// OwnerKind is the kind of a machine token's subject: who owns an API key,
// which machine sent an M2M token, which user an OAuth token acts for.
type OwnerKind string

// Owner kinds, from the subject's prefix.
const (
	// OwnerUser is a user (user_…).
	OwnerUser OwnerKind = "user"
	// OwnerOrganization is an organization (org_…).
	OwnerOrganization OwnerKind = "org"
	// OwnerMachine is a machine (mch_…).
	OwnerMachine OwnerKind = "machine"
	// OwnerUnknown is any other subject.
	OwnerUnknown OwnerKind = ""
)

// MachineToken is a verified M2M token, OAuth access token or API key.
// The middleware stores it in the request context (see
// [MachineTokenFromContext]); [Verifier.VerifyMachineToken] returns it.
//
// A *MachineToken may be shared by requests presenting the same token (it
// is cached): it is safe for concurrent reads and MUST NOT be modified.
type MachineToken struct {
	// Kind is TokenKindM2M, TokenKindOAuth or TokenKindAPIKey.
	Kind TokenKind
	// JWT reports a JWT verified networklessly; false for an opaque token
	// verified by Clerk's Backend API.
	JWT bool
	// ID is the token's ID: mt_…, oat_… or ak_… (a JWT's jti).
	ID string
	// Subject is who the token stands for: the calling machine (mch_…) of
	// an M2M token, the user (user_…) of an OAuth token, the owner
	// (user_…, org_… or mch_…) of an API key.
	Subject string
	// Scopes are the token's scopes. For an opaque M2M token, the machines
	// it may call (Clerk checks them when verifying with a machine secret
	// key); for a JWT M2M token, its scopes claim split on spaces, else its
	// aud array, as Clerk's SDKs read them (a custom claim the sender
	// chose, which no one checks); for an OAuth token, the granted scopes
	// (scp, else scope split on spaces); for an API key, the scopes set at
	// its creation.
	Scopes []string
	// Claims are the token's custom claims as a JSON object: an opaque
	// token's claims, or a JWT's payload without iss, sub, exp, nbf, iat
	// and jti. Nil when there are none.
	Claims json.RawMessage
	// Name is an API key's name.
	Name string
	// ClientID is the OAuth application of an OAuth token.
	ClientID string
	// Audience is a JWT's aud claim, if any.
	Audience []string
	// Expiration is when the token expires; zero when it never does.
	Expiration time.Time
	// IssuedAt is when the token was created (a JWT's iat); zero when
	// unknown.
	IssuedAt time.Time
}

// Owner returns the kind of the token's subject.
func (t *MachineToken) Owner() OwnerKind {
	switch {
	case strings.HasPrefix(t.Subject, "user_"):
		return OwnerUser
	case strings.HasPrefix(t.Subject, "org_"):
		return OwnerOrganization
	case strings.HasPrefix(t.Subject, prefixMachineID):
		return OwnerMachine
	}
	return OwnerUnknown
}

// MachineID returns the calling machine of an M2M token, "" for other
// kinds.
func (t *MachineToken) MachineID() string {
	if t.Kind != TokenKindM2M {
		return ""
	}
	return t.Subject
}

// UserID returns the user the token acts for: the subject of an OAuth
// token, the owner of an API key that a user owns; "" otherwise.
func (t *MachineToken) UserID() string {
	if t.Kind == TokenKindOAuth || t.Kind == TokenKindAPIKey && t.Owner() == OwnerUser {
		return t.Subject
	}
	return ""
}

// OrgID returns the owner of an API key that an organization owns, ""
// otherwise.
func (t *MachineToken) OrgID() string {
	if t.Kind == TokenKindAPIKey && t.Owner() == OwnerOrganization {
		return t.Subject
	}
	return ""
}

// HasScope reports whether scope is one of the token's scopes (exact,
// case-sensitive).
func (t *MachineToken) HasScope(scope string) bool { return slices.Contains(t.Scopes, scope) }

// DecodeClaims unmarshals the token's custom claims into v. With no
// claims it leaves v unchanged.
func (t *MachineToken) DecodeClaims(v any) error {
	if len(t.Claims) == 0 {
		return nil
	}
	return json.Unmarshal(t.Claims, v)
}

// expiredAt reports whether the token has expired at now, leeway given.
func (t *MachineToken) expiredAt(now time.Time, leeway time.Duration) bool {
	return !t.Expiration.IsZero() && !now.Before(t.Expiration.Add(leeway))
}

// typeMismatch is the error of a token of a kind the route does not
// accept.
func typeMismatch(got TokenKind) error {
	return verr(ReasonTokenTypeMismatch, "token kind "+string(got)+" is not accepted here")
}
