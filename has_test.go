package clerkauth

import "testing"

// hasFixture returns signed-in claims with an organization, features,
// plans and factor ages; edit modifies a fresh copy.
func hasFixture(edit func(c *Claims)) *Claims {
	c := &Claims{
		UserID: "user_1",
		Org: &Organization{ID: "org_1", Role: "org:admin",
			Permissions: []string{"org:dashboard:read", "org:teams:manage"}},
		Features:              []string{"o:dashboard", "u:beta", "ou:both", "uo:both2", "x:other"},
		Plans:                 []string{"u:free", "o:pro"},
		FactorVerificationAge: []int{5, 20},
	}
	if edit != nil {
		edit(c)
	}
	return c
}

func TestHasOrganization(t *testing.T) {
	noOrg := hasFixture(func(c *Claims) { c.Org = nil })
	noOrgID := hasFixture(func(c *Claims) { c.Org.ID = "" })
	noRole := hasFixture(func(c *Claims) { c.Org.Role = "" })
	bareRole := hasFixture(func(c *Claims) { c.Org.Role = "admin" })
	barePerm := hasFixture(func(c *Claims) { c.Org.Permissions = []string{"dashboard:read"} })
	tests := []struct {
		name   string
		claims *Claims
		check  Check
		want   bool
	}{
		{"role", hasFixture(nil), Check{Role: "admin"}, true},
		{"role with prefix", hasFixture(nil), Check{Role: "org:admin"}, true},
		{"role with repeated prefix", hasFixture(nil), Check{Role: "org:org:admin"}, true},
		{"other role", hasFixture(nil), Check{Role: "member"}, false},
		{"role is case-sensitive", hasFixture(nil), Check{Role: "ADMIN"}, false},
		{"role of an unprefixed claim", bareRole, Check{Role: "org:admin"}, true},
		{"role without org", noOrg, Check{Role: "admin"}, false},
		{"role without org id", noOrgID, Check{Role: "admin"}, false},
		{"role when the org has none", noRole, Check{Role: "admin"}, false},
		{"permission", hasFixture(nil), Check{Permission: "org:dashboard:read"}, true},
		{"permission without prefix", hasFixture(nil), Check{Permission: "dashboard:read"}, true},
		{"permission with repeated prefix", hasFixture(nil), Check{Permission: "org:org:dashboard:read"}, true},
		{"missing permission", hasFixture(nil), Check{Permission: "dashboard:manage"}, false},
		{"permission prefix only", hasFixture(nil), Check{Permission: "org:"}, false},
		{"permission without org", noOrg, Check{Permission: "dashboard:read"}, false},
		{"permission without org id", noOrgID, Check{Permission: "dashboard:read"}, false},
		{"unprefixed claim permission never matches", barePerm, Check{Permission: "dashboard:read"}, false},
		{"role and permission", hasFixture(nil), Check{Role: "admin", Permission: "teams:manage"}, true},
		{"role and missing permission", hasFixture(nil), Check{Role: "admin", Permission: "teams:read"}, false},
		{"other role and permission", hasFixture(nil), Check{Role: "member", Permission: "teams:manage"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.claims.Has(tt.check); got != tt.want {
				t.Fatalf("Has(%+v) = %v; want %v", tt.check, got, tt.want)
			}
		})
	}
}

func TestHasBilling(t *testing.T) {
	noFeatures := hasFixture(func(c *Claims) { c.Features, c.Plans = nil, nil })
	malformed := hasFixture(func(c *Claims) { c.Features = []string{"o:dashboard", "beta"} })
	tests := []struct {
		name   string
		claims *Claims
		check  Check
		want   bool
	}{
		{"unscoped org feature", hasFixture(nil), Check{Feature: "dashboard"}, true},
		{"unscoped user feature", hasFixture(nil), Check{Feature: "beta"}, true},
		{"o scope", hasFixture(nil), Check{Feature: "o:dashboard"}, true},
		{"org scope", hasFixture(nil), Check{Feature: "org:dashboard"}, true},
		{"organization scope", hasFixture(nil), Check{Feature: "organization:dashboard"}, true},
		{"u scope on org feature", hasFixture(nil), Check{Feature: "u:dashboard"}, false},
		{"user scope on org feature", hasFixture(nil), Check{Feature: "user:dashboard"}, false},
		{"u scope", hasFixture(nil), Check{Feature: "u:beta"}, true},
		{"user scope", hasFixture(nil), Check{Feature: "user:beta"}, true},
		{"o scope on user feature", hasFixture(nil), Check{Feature: "o:beta"}, false},
		{"ou feature as org", hasFixture(nil), Check{Feature: "o:both"}, true},
		{"ou feature as user", hasFixture(nil), Check{Feature: "u:both"}, true},
		{"uo feature as org", hasFixture(nil), Check{Feature: "org:both2"}, true},
		{"uo feature as user", hasFixture(nil), Check{Feature: "user:both2"}, true},
		{"unknown scope asked", hasFixture(nil), Check{Feature: "x:dashboard"}, false},
		{"scope name is case-sensitive", hasFixture(nil), Check{Feature: "O:dashboard"}, false},
		{"feature of an unknown claim scope", hasFixture(nil), Check{Feature: "other"}, false},
		{"empty id", hasFixture(nil), Check{Feature: "o:"}, false},
		{"id with a colon", hasFixture(nil), Check{Feature: "o:dashboard:x"}, false},
		{"missing feature", hasFixture(nil), Check{Feature: "nope"}, false},
		{"no fea claim", noFeatures, Check{Feature: "dashboard"}, false},
		{"malformed fea claim", malformed, Check{Feature: "o:dashboard"}, false},
		{"plan", hasFixture(nil), Check{Plan: "free"}, true},
		{"scoped plan", hasFixture(nil), Check{Plan: "u:free"}, true},
		{"plan in the other scope", hasFixture(nil), Check{Plan: "o:free"}, false},
		{"org plan", hasFixture(nil), Check{Plan: "org:pro"}, true},
		{"org plan as user", hasFixture(nil), Check{Plan: "user:pro"}, false},
		{"no pla claim", noFeatures, Check{Plan: "free"}, false},
		{"feature and plan", hasFixture(nil), Check{Feature: "beta", Plan: "pro"}, true},
		{"feature and missing plan", hasFixture(nil), Check{Feature: "beta", Plan: "gold"}, false},
		{"missing feature and plan", hasFixture(nil), Check{Feature: "gold", Plan: "pro"}, false},
		{"features are not plans", hasFixture(nil), Check{Plan: "dashboard"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.claims.Has(tt.check); got != tt.want {
				t.Fatalf("Has(%+v) = %v; want %v", tt.check, got, tt.want)
			}
		})
	}
}

func TestHasReverification(t *testing.T) {
	custom := func(level ReverificationLevel, minutes int) Reverification {
		return Reverification{Level: level, AfterMinutes: minutes}
	}
	strictMFA, strict := ReverificationStrictMFA.Reverification(), ReverificationStrict.Reverification()
	moderate, lax := ReverificationModerate.Reverification(), ReverificationLax.Reverification()
	tests := []struct {
		name string
		fva  []int
		r    Reverification
		want bool
	}{
		{"strict, stale second factor", []int{5, 20}, strict, false},
		{"moderate", []int{5, 20}, moderate, true},
		{"lax", []int{5, 1439}, lax, true},
		{"lax at the limit", []int{5, 1440}, lax, false},
		{"strict_mfa, stale second factor", []int{5, 20}, strictMFA, false},
		{"strict_mfa", []int{5, 9}, strictMFA, true},
		{"strict_mfa, stale first factor", []int{30, 5}, strictMFA, false},
		{"strict only looks at the second factor", []int{30, 5}, strict, true},
		{"strict without second factor falls back", []int{5, -1}, strict, true},
		{"strict without second factor, stale first", []int{15, -1}, strict, false},
		// A level downgrades when the user has not enrolled a factor (-1), as
		// in Clerk's checkReverificationAuthorization (@clerk/shared).
		{"strict_mfa without second factor falls back", []int{5, -1}, strictMFA, true},
		{"strict_mfa without second factor, stale first", []int{10, -1}, strictMFA, false},
		{"strict_mfa without first factor", []int{-1, 3}, strictMFA, false},
		{"strict without first factor uses the second", []int{-1, 3}, strict, true},
		{"strict without first factor, stale second", []int{-1, 10}, strict, false},
		{"first_factor without first factor", []int{-1, 3}, custom(ReverificationFirstFactor, 10), false},
		{"first_factor without second factor", []int{3, -1}, custom(ReverificationFirstFactor, 10), true},
		{"no factor", []int{-1, -1}, lax, false},
		{"no factor, first_factor", []int{-1, -1}, custom(ReverificationFirstFactor, 10), false},
		{"no factor, multi_factor", []int{-1, -1}, custom(ReverificationMultiFactor, 10), false},
		{"fresh", []int{0, 0}, strict, true},
		{"first_factor", []int{5, 500}, custom(ReverificationFirstFactor, 10), true},
		{"first_factor at the limit", []int{5, 0}, custom(ReverificationFirstFactor, 5), false},
		{"second_factor custom", []int{100, 3}, custom(ReverificationSecondFactor, 4), true},
		{"multi_factor custom", []int{3, 3}, custom(ReverificationMultiFactor, 4), true},
		{"zero minutes", []int{0, 0}, custom(ReverificationSecondFactor, 0), false},
		{"negative minutes", []int{0, 0}, custom(ReverificationSecondFactor, -5), false},
		{"unknown level", []int{0, 0}, custom("third_factor", 10), false},
		{"minutes without level", []int{0, 0}, custom("", 10), false},
		{"unknown preset", []int{0, 0}, ReverificationPreset("strictest").Reverification(), false},
		{"empty preset", []int{0, 0}, ReverificationPreset("").Reverification(), false},
		{"no fva", nil, lax, false},
		{"short fva", []int{0}, lax, false},
		{"long fva", []int{0, 0, 0}, lax, false},
		{"invalid age", []int{-2, 0}, lax, false},
		{"invalid second age", []int{0, -7}, lax, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := hasFixture(func(c *Claims) { c.FactorVerificationAge = tt.fva })
			if got := c.Has(Check{Reverification: tt.r}); got != tt.want {
				t.Fatalf("fva %v, %+v: Has = %v; want %v", tt.fva, tt.r, got, tt.want)
			}
		})
	}
}

func TestHasCombines(t *testing.T) {
	moderate := ReverificationModerate.Reverification()
	strict := ReverificationStrict.Reverification()
	tests := []struct {
		name   string
		claims *Claims
		check  Check
		want   bool
	}{
		{"nothing asked", hasFixture(nil), Check{}, false},
		{"nil claims", nil, Check{Role: "admin"}, false},
		{"no user", hasFixture(func(c *Claims) { c.UserID = "" }), Check{Role: "admin"}, false},
		{"role and fresh session", hasFixture(nil), Check{Role: "admin", Reverification: moderate}, true},
		{"role and stale session", hasFixture(nil), Check{Role: "admin", Reverification: strict}, false},
		{"bad role and fresh session", hasFixture(nil), Check{Role: "x", Reverification: moderate}, false},
		{"reverification alone", hasFixture(nil), Check{Reverification: moderate}, true},
		{"all dimensions", hasFixture(nil),
			Check{Role: "admin", Permission: "dashboard:read", Feature: "beta", Plan: "pro", Reverification: moderate}, true},
		{"all but one", hasFixture(nil),
			Check{Role: "admin", Permission: "dashboard:read", Feature: "beta", Plan: "gold", Reverification: moderate}, false},
		{"feature without org", hasFixture(func(c *Claims) { c.Org = nil }), Check{Feature: "beta"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.claims.Has(tt.check); got != tt.want {
				t.Fatalf("Has(%+v) = %v; want %v", tt.check, got, tt.want)
			}
		})
	}
}

func TestHasShortcuts(t *testing.T) {
	c := hasFixture(nil)
	checks := []struct {
		name      string
		got, want bool
	}{
		{"HasRole", c.HasRole("admin"), true},
		{"HasRole other", c.HasRole("member"), false},
		{"HasRole empty", c.HasRole(""), false},
		{"HasPermission", c.HasPermission("teams:manage"), true},
		{"HasPermission other", c.HasPermission("teams:read"), false},
		{"HasFeature", c.HasFeature("u:beta"), true},
		{"HasFeature other", c.HasFeature("o:beta"), false},
		{"HasPlan", c.HasPlan("o:pro"), true},
		{"HasPlan other", c.HasPlan("u:pro"), false},
		{"nil HasRole", (*Claims)(nil).HasRole("admin"), false},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v; want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestHasOnParsedTokens(t *testing.T) {
	v2 := mustParseClaims(t, typicalV2Payload)
	v1 := mustParseClaims(t, `{"sub":"user_1","org_id":"org_1","org_role":"org:admin",
		"org_permissions":["org:dashboard:read"],"fva":[2,-1]}`)
	checks := []struct {
		name   string
		claims *Claims
		check  Check
		want   bool
	}{
		{"v2 role", v2, Check{Role: "admin"}, true},
		{"v2 decoded permission", v2, Check{Permission: "dashboard:manage"}, true},
		{"v2 permission not granted", v2, Check{Permission: "teams:manage"}, false},
		{"v2 feature", v2, Check{Feature: "u:beta"}, true},
		{"v2 plan", v2, Check{Plan: "free"}, true},
		{"v2 strict without second factor", v2, Check{Reverification: ReverificationStrict.Reverification()}, true},
		{"v1 role", v1, Check{Role: "org:admin"}, true},
		{"v1 permission", v1, Check{Permission: "dashboard:read"}, true},
		{"v1 has no features", v1, Check{Feature: "dashboard"}, false},
		{"v1 strict_mfa without second factor", v1, Check{Reverification: ReverificationStrictMFA.Reverification()}, true},
	}
	for _, ch := range checks {
		if got := ch.claims.Has(ch.check); got != ch.want {
			t.Errorf("%s: Has(%+v) = %v; want %v", ch.name, ch.check, got, ch.want)
		}
	}
}

func TestHasDoesNotAllocate(t *testing.T) {
	c := hasFixture(nil)
	check := Check{Role: "admin", Permission: "dashboard:read", Feature: "beta", Plan: "pro",
		Reverification: ReverificationModerate.Reverification()}
	if allocs := testing.AllocsPerRun(100, func() { c.Has(check) }); allocs != 0 {
		t.Errorf("Has makes %v allocations; want 0", allocs)
	}
}

// FuzzHas checks that Has never panics on any question and that it agrees
// with its shortcuts.
func FuzzHas(f *testing.F) {
	f.Add("admin", "dashboard:read", "o:dashboard", "u:free", "strict", 10)
	f.Add("org:", "org:", "o:", ":", "", 0)
	f.Add("", "", "x:y:z", "user:", "third_factor", -1)
	f.Fuzz(func(t *testing.T, role, perm, feature, plan, level string, minutes int) {
		c := hasFixture(nil)
		_ = c.Has(Check{Role: role, Permission: perm, Feature: feature, Plan: plan,
			Reverification: Reverification{Level: ReverificationLevel(level), AfterMinutes: minutes}})
		_ = c.Has(Check{Reverification: ReverificationPreset(level).Reverification()})
		if c.HasRole(role) != c.Has(Check{Role: role}) || c.HasFeature(feature) != c.Has(Check{Feature: feature}) {
			t.Fatal("a shortcut disagrees with Has")
		}
		if (Check{Role: role, Permission: perm}) != (Check{}) && (*Claims)(nil).Has(Check{Role: role, Permission: perm}) {
			t.Fatal("nil claims passed a check")
		}
	})
}
