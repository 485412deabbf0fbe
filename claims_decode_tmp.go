package clerkauth

// TEMPORARY: replaced by the strict lean decoder on the claims branch.

import (
	"encoding/json"
	"math"
	"strings"
	"time"
)

type tmpRaw struct {
	Sub, Sid, Iss, Azp, Jti, Sts *json.RawMessage
	Aud                          json.RawMessage
	Exp, Nbf, Iat                json.RawMessage
	V                            json.RawMessage
	Fea, Pla                     string
	O                            *struct{ ID, Slg, Rol, Per, Fpm string } `json:"o"`
	OrgID                        string                                   `json:"org_id"`
	OrgSlug                      string                                   `json:"org_slug"`
	OrgRole                      string                                   `json:"org_role"`
	OrgPermissions               []string                                 `json:"org_permissions"`
	Act                          *Actor
	Fva                          []int
}

func parseClaims(payload []byte) (*Claims, error) {
	var r struct {
		Sub, Sid, Iss, Azp, Jti, Sts any
		Aud                          any
		Exp, Nbf, Iat                any
		V                            any
	}
	if err := json.Unmarshal(payload, &r); err != nil {
		return nil, verr(ReasonTokenInvalid, "payload is not a JSON object")
	}
	c := &Claims{raw: append([]byte(nil), payload...), Version: 1}
	strs := []struct {
		v   any
		dst *string
		n   string
	}{{r.Sub, &c.UserID, "sub"}, {r.Sid, &c.SessionID, "sid"}, {r.Iss, &c.Issuer, "iss"}, {r.Azp, &c.AuthorizedParty, "azp"}, {r.Jti, &c.ID, "jti"}, {r.Sts, &c.SessionStatus, "sts"}}
	for _, s := range strs {
		if s.v == nil {
			continue
		}
		str, ok := s.v.(string)
		if !ok {
			return nil, verr(ReasonTokenVerificationFailed, s.n+" claim must be a string")
		}
		*s.dst = str
	}
	times := []struct {
		v   any
		dst *time.Time
		n   string
	}{{r.Exp, &c.Expiry, "exp"}, {r.Nbf, &c.NotBefore, "nbf"}, {r.Iat, &c.IssuedAt, "iat"}}
	for _, t := range times {
		if t.v == nil {
			continue
		}
		f, ok := t.v.(float64)
		if !ok || math.IsNaN(f) || f < 0 || f >= 1<<53 {
			return nil, verr(ReasonTokenVerificationFailed, t.n+" claim must be a number")
		}
		sec, frac := math.Modf(f)
		*t.dst = time.Unix(int64(sec), int64(frac*1e9))
	}
	switch a := r.Aud.(type) {
	case nil:
	case string:
		c.Audience = []string{a}
	case []any:
		for _, e := range a {
			s, ok := e.(string)
			if !ok {
				return nil, verr(ReasonTokenVerificationFailed, "aud claim must be a string or an array of strings")
			}
			c.Audience = append(c.Audience, s)
		}
	default:
		return nil, verr(ReasonTokenVerificationFailed, "aud claim must be a string or an array of strings")
	}
	if f, ok := r.V.(float64); ok && f == 2 {
		c.Version = 2
	}
	var x tmpRaw
	_ = json.Unmarshal(payload, &x)
	if x.O != nil {
		c.Org = &Organization{ID: x.O.ID, Slug: x.O.Slg, Role: "org:" + strings.TrimPrefix(x.O.Rol, "org:")}
	} else if x.OrgID != "" {
		c.Org = &Organization{ID: x.OrgID, Slug: x.OrgSlug, Role: x.OrgRole, Permissions: x.OrgPermissions}
	}
	c.Actor = x.Act
	c.FactorVerificationAge = x.Fva
	return c, nil
}
