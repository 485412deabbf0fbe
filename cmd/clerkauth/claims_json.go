package main

import (
	"encoding/json"
	"time"

	"github.com/clerkauth/clerkauth"
)

// claimsJSON is the stable JSON shape of verified claims printed by
// verify. Times are RFC 3339 in UTC; absent values are omitted; payload is
// the token's whole payload, for custom claims.
type claimsJSON struct {
	SessionID             string           `json:"session_id"`
	UserID                string           `json:"user_id"`
	Issuer                string           `json:"issuer"`
	AuthorizedParty       string           `json:"authorized_party,omitempty"`
	Audience              []string         `json:"audience,omitempty"`
	ID                    string           `json:"jti,omitempty"`
	ExpiresAt             time.Time        `json:"expires_at"`
	IssuedAt              *time.Time       `json:"issued_at,omitempty"`
	NotBefore             *time.Time       `json:"not_before,omitempty"`
	Version               int              `json:"version"`
	SessionStatus         string           `json:"session_status,omitempty"`
	FactorVerificationAge []int            `json:"factor_verification_age,omitempty"`
	Actor                 *clerkauth.Actor `json:"actor,omitempty"`
	Org                   *orgJSON         `json:"org,omitempty"`
	Features              []string         `json:"features,omitempty"`
	Plans                 []string         `json:"plans,omitempty"`
	Payload               json.RawMessage  `json:"payload,omitempty"`
}

type orgJSON struct {
	ID          string   `json:"id"`
	Slug        string   `json:"slug,omitempty"`
	Role        string   `json:"role,omitempty"`
	Permissions []string `json:"permissions"`
}

func newClaimsJSON(c *clerkauth.Claims) claimsJSON {
	out := claimsJSON{
		SessionID: c.SessionID, UserID: c.UserID, Issuer: c.Issuer,
		AuthorizedParty: c.AuthorizedParty, Audience: c.Audience, ID: c.ID,
		ExpiresAt: c.Expiry.UTC(), IssuedAt: timePtr(c.IssuedAt), NotBefore: timePtr(c.NotBefore),
		Version: c.Version, SessionStatus: c.SessionStatus,
		FactorVerificationAge: c.FactorVerificationAge, Actor: c.Actor,
		Features: c.Features, Plans: c.Plans, Payload: c.Raw(),
	}
	if c.Org != nil {
		out.Org = &orgJSON{ID: c.Org.ID, Slug: c.Org.Slug, Role: c.Org.Role, Permissions: c.Org.Permissions}
		if out.Org.Permissions == nil {
			out.Org.Permissions = []string{}
		}
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
