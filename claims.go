package clerkauth

import (
	"encoding/json"
	"time"

	"github.com/clerkauth/clerkauth/internal/scoped"
)

// Session statuses that can appear in a token's sts claim.
const (
	// SessionStatusActive is an active, fully signed-in session.
	SessionStatusActive = "active"
	// SessionStatusPending is a session whose sign-in tasks are incomplete.
	SessionStatusPending = "pending"
)

// Claims is a verified Clerk session token, with v1 and v2 claims
// normalised into one shape.
//
// Use [Claims.Has] (or HasRole, HasPermission, HasFeature, HasPlan) for
// authorization checks with the semantics of Clerk's has().
//
// A *Claims returned by [Verifier.Verify] may be shared with other requests
// presenting the same token (it is cached): it is safe for concurrent reads
// and MUST NOT be modified.
type Claims struct {
	// SessionID is the sid claim (sess_…).
	SessionID string
	// UserID is the sub claim (user_…).
	UserID string
	// Issuer is the iss claim (the Frontend API URL).
	Issuer string
	// AuthorizedParty is the azp claim, the origin that requested the token.
	AuthorizedParty string
	// Audience is the aud claim, if any.
	Audience []string
	// ID is the jti claim, if any.
	ID string

	// Expiry is the exp claim.
	Expiry time.Time
	// IssuedAt is the iat claim; zero when absent.
	IssuedAt time.Time
	// NotBefore is the nbf claim; zero when absent.
	NotBefore time.Time

	// Version is the claim format version: 2 for v2 tokens, 1 otherwise.
	Version int
	// SessionStatus is the sts claim ("active", "pending"), or "" when
	// absent.
	SessionStatus string
	// FactorVerificationAge is the fva claim: minutes since the first and
	// second factor were last verified, -1 for never. Nil when absent or
	// not two integers, which fails every reverification check.
	FactorVerificationAge []int
	// Actor is set when the session is an impersonation (act claim).
	Actor *Actor
	// Org is the active organization, nil when there is none.
	Org *Organization
	// Features are the scoped features of the fea claim, such as
	// "o:dashboard" or "u:beta", trimmed of white space.
	Features []string
	// Plans are the scoped plans of the pla claim, such as "u:free" or
	// "o:pro".
	Plans []string

	// raw is the whole payload. A string, so that the decoded claims can
	// share its memory and no caller can change it.
	raw string

	// orgPerms holds the v2 o.per and o.fpm claims until the signature is
	// checked: they expand into Org.Permissions (up to tens of thousands
	// of strings for a 16 KiB payload), work no unsigned token may cause.
	orgPerms *pendingPermissions
}

// pendingPermissions are the undecoded permission claims of a v2 token.
type pendingPermissions struct{ per, fpm string }

// expandPermissions decodes the organization permissions of a token whose
// signature has been checked. It is not safe to call concurrently; it runs
// before the claims are shared.
func (c *Claims) expandPermissions() {
	if p := c.orgPerms; p != nil {
		c.orgPerms = nil
		if c.Org != nil {
			c.Org.Permissions = scoped.Permissions(c.Features, p.per, p.fpm)
		}
	}
}

// Actor identifies who is acting on behalf of the user (impersonation or an
// agent), from the act claim.
type Actor struct {
	// Subject is the impersonator's user ID.
	Subject string `json:"sub,omitempty"`
	// Issuer is the act.iss claim.
	Issuer string `json:"iss,omitempty"`
	// SessionID is the impersonator's session ID.
	SessionID string `json:"sid,omitempty"`
	// Type is "agent" for an agent actor, or "".
	Type string `json:"type,omitempty"`
}

// Organization is the session's active organization.
type Organization struct {
	// ID is the organization ID (org_…).
	ID string
	// Slug is the organization slug.
	Slug string
	// Role is the member's role, always with exactly one "org:" prefix,
	// such as "org:admin"; "" when the token names no role.
	Role string
	// Permissions are the member's permissions, such as
	// "org:dashboard:manage". For v2 tokens they are decoded from the fea,
	// o.per and o.fpm claims (a malformed claim grants none); v1 tokens
	// list them in org_permissions, kept verbatim.
	Permissions []string
}

// Raw returns a copy of the token's whole payload as JSON.
func (c *Claims) Raw() json.RawMessage { return json.RawMessage(c.raw) }

// Decode unmarshals the token's payload into v, for custom claims added by
// session token customisation.
func (c *Claims) Decode(v any) error { return json.Unmarshal([]byte(c.raw), v) }
