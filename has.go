package clerkauth

import "github.com/clerkauth/clerkauth/internal/scoped"

// Check is an authorization question for [Claims.Has]. Each non-zero field
// asks about one thing; a Check passes only when at least one thing is asked
// and every asked thing holds. The zero Check asks nothing and fails. A
// Check is a plain value, safe to share between goroutines.
type Check struct {
	// Role asks for the active organization role, with or without the
	// "org:" prefix ("admin" and "org:admin" are the same).
	Role string
	// Permission asks for an active organization permission, with or
	// without the "org:" prefix ("dashboard:read" is "org:dashboard:read").
	Permission string
	// Feature asks for a feature of the fea claim: "o:id", "org:id" or
	// "organization:id" for an organization feature, "u:id" or "user:id"
	// for a user feature, or a bare "id" for either. Any other scope fails.
	Feature string
	// Plan asks for a plan of the pla claim, scoped like Feature.
	Plan string
	// Reverification asks that the session's factors were verified recently
	// enough. The zero value asks nothing.
	Reverification Reverification
}

// ReverificationLevel says which factors a [Reverification] requires. It is
// a plain value, safe for concurrent use.
type ReverificationLevel string

// Reverification levels.
const (
	// ReverificationFirstFactor requires a fresh first factor.
	ReverificationFirstFactor ReverificationLevel = "first_factor"
	// ReverificationSecondFactor requires a fresh second factor; for a
	// user who has enrolled only one factor, that factor fresh.
	ReverificationSecondFactor ReverificationLevel = "second_factor"
	// ReverificationMultiFactor requires both factors fresh; for a user
	// without a second factor, the first factor fresh (Clerk's downgrade).
	// A user with a second factor but no first factor never satisfies it.
	ReverificationMultiFactor ReverificationLevel = "multi_factor"
)

// Reverification is a requirement that the session's factors were verified
// less than AfterMinutes minutes ago (the fva claim). Its zero value asks
// nothing; any other value with an unknown Level or AfterMinutes <= 0 fails
// every check. It is a plain value, safe for concurrent use.
type Reverification struct {
	// Level is which factors must be fresh.
	Level ReverificationLevel
	// AfterMinutes is how old, in minutes, a factor may be at most
	// (exclusive): a factor verified AfterMinutes ago is stale.
	AfterMinutes int
}

// ReverificationPreset names one of Clerk's reverification presets. It is a
// plain value, safe for concurrent use.
type ReverificationPreset string

// Clerk's reverification presets.
const (
	// ReverificationStrictMFA is both factors within 10 minutes (the first
	// alone for a user without a second factor).
	ReverificationStrictMFA ReverificationPreset = "strict_mfa"
	// ReverificationStrict is the second factor within 10 minutes.
	ReverificationStrict ReverificationPreset = "strict"
	// ReverificationModerate is the second factor within an hour.
	ReverificationModerate ReverificationPreset = "moderate"
	// ReverificationLax is the second factor within a day.
	ReverificationLax ReverificationPreset = "lax"
)

// Reverification returns the requirement the preset stands for. An unknown
// preset returns a requirement that every check fails.
func (p ReverificationPreset) Reverification() Reverification {
	switch p {
	case ReverificationStrictMFA:
		return Reverification{Level: ReverificationMultiFactor, AfterMinutes: 10}
	case ReverificationStrict:
		return Reverification{Level: ReverificationSecondFactor, AfterMinutes: 10}
	case ReverificationModerate:
		return Reverification{Level: ReverificationSecondFactor, AfterMinutes: 60}
	case ReverificationLax:
		return Reverification{Level: ReverificationSecondFactor, AfterMinutes: 1440}
	}
	return Reverification{Level: "invalid preset"}
}

// checkResult is one dimension's verdict.
type checkResult uint8

const (
	checkSkip checkResult = iota // not asked
	checkPass
	checkFail
)

func passIf(ok bool) checkResult {
	if ok {
		return checkPass
	}
	return checkFail
}

// Has reports whether the session satisfies ch, with the semantics of
// Clerk's has(): false for nil Claims, a session without a user, or a Check
// that asks nothing; otherwise every asked dimension (organization role and
// permission, billing feature and plan, reverification) must pass. Missing
// or malformed claims fail the dimensions that need them.
//
// It departs from Clerk's JS in two strict details: a scoped feature or plan
// compares everything after the first colon ("o:a:b" asks for "a:b", where
// JS asks for "a"), and an empty id ("o:") fails.
func (c *Claims) Has(ch Check) bool {
	if c == nil || c.UserID == "" {
		return false
	}
	asked := false
	for _, r := range [...]checkResult{c.checkOrg(ch), c.checkBilling(ch), c.checkReverification(ch.Reverification)} {
		switch r {
		case checkFail:
			return false
		case checkPass:
			asked = true
		}
	}
	return asked
}

// HasRole reports whether the active organization role is role, with or
// without the "org:" prefix.
func (c *Claims) HasRole(role string) bool { return c.Has(Check{Role: role}) }

// HasPermission reports whether the active organization grants permission,
// with or without the "org:" prefix.
func (c *Claims) HasPermission(permission string) bool {
	return c.Has(Check{Permission: permission})
}

// HasFeature reports whether the session has feature; see [Check.Feature].
func (c *Claims) HasFeature(feature string) bool { return c.Has(Check{Feature: feature}) }

// HasPlan reports whether the session has plan; see [Check.Plan].
func (c *Claims) HasPlan(plan string) bool { return c.Has(Check{Plan: plan}) }

// checkOrg checks the role and permission asked; both must hold.
func (c *Claims) checkOrg(ch Check) checkResult {
	if ch.Role == "" && ch.Permission == "" {
		return checkSkip
	}
	org := c.Org
	if org == nil || org.ID == "" {
		return checkFail
	}
	if ch.Role != "" && (org.Role == "" || scoped.TrimOrgPrefixes(org.Role) != scoped.TrimOrgPrefixes(ch.Role)) {
		return checkFail
	}
	return passIf(ch.Permission == "" || scoped.HasOrgPermission(org.Permissions, ch.Permission))
}

// checkBilling checks the feature and plan asked; both must hold.
func (c *Claims) checkBilling(ch Check) checkResult {
	if ch.Feature == "" && ch.Plan == "" {
		return checkSkip
	}
	if ch.Feature != "" && !scoped.Has(c.Features, ch.Feature) {
		return checkFail
	}
	return passIf(ch.Plan == "" || scoped.Has(c.Plans, ch.Plan))
}

// checkReverification checks the fva claim against r, as Clerk's
// checkReverificationAuthorization does. An age of -1 means the user has
// not enrolled that factor, and the level downgrades to the factor there
// is: second_factor and multi_factor without a second factor ask for the
// first; second_factor without a first factor asks for the second, which
// multi_factor cannot do without. A user with neither factor fails.
func (c *Claims) checkReverification(r Reverification) checkResult {
	if r == (Reverification{}) {
		return checkSkip
	}
	fva := c.FactorVerificationAge
	if len(fva) != 2 || !validFactorAge(fva[0]) || !validFactorAge(fva[1]) || r.AfterMinutes <= 0 {
		return checkFail
	}
	first, second := fva[0], fva[1]
	if first == -1 && second == -1 {
		return checkFail
	}
	firstFresh := first != -1 && r.AfterMinutes > first
	secondFresh := second != -1 && r.AfterMinutes > second
	switch r.Level {
	case ReverificationFirstFactor:
		return passIf(firstFresh)
	case ReverificationSecondFactor:
		if second == -1 {
			return passIf(firstFresh)
		}
		return passIf(secondFresh)
	case ReverificationMultiFactor:
		if second == -1 {
			return passIf(firstFresh)
		}
		return passIf(firstFresh && secondFresh)
	}
	return checkFail
}

func validFactorAge(age int) bool { return age >= -1 }
