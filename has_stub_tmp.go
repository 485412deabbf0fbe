package clerkauth

// TEMPORARY: stand-in for Claims.Has from the claims branch (agreed
// signature), so the guards build before it lands on main. Deleted at merge.

import "strings"

type Check struct {
	Role, Permission, Feature, Plan string
	Reverification                  Reverification
}

type ReverificationLevel string

const (
	ReverificationFirstFactor  ReverificationLevel = "first_factor"
	ReverificationSecondFactor ReverificationLevel = "second_factor"
	ReverificationMultiFactor  ReverificationLevel = "multi_factor"
)

type Reverification struct {
	Level        ReverificationLevel
	AfterMinutes int
}

func (c *Claims) Has(ch Check) bool {
	if c == nil || c.UserID == "" || ch == (Check{}) {
		return false
	}
	if ch.Permission != "" && (c.Org == nil || !contains(c.Org.Permissions, "org:"+strings.TrimPrefix(ch.Permission, "org:"))) {
		return false
	}
	if ch.Role != "" && (c.Org == nil || c.Org.Role != "org:"+strings.TrimPrefix(ch.Role, "org:")) {
		return false
	}
	if ch.Feature != "" && !contains(c.Features, ch.Feature) {
		return false
	}
	if ch.Plan != "" && !contains(c.Plans, ch.Plan) {
		return false
	}
	if ch.Reverification != (Reverification{}) {
		f := c.FactorVerificationAge
		return len(f) == 2 && f[0] >= 0 && f[0] < ch.Reverification.AfterMinutes
	}
	return true
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
