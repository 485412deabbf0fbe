package clerkauth_test

import (
	"fmt"

	"github.com/clerkauth/clerkauth"
)

func ExampleClaims_Has() {
	// In a handler the claims come from Verifier.Verify or the middleware;
	// here they are built by hand.
	claims := &clerkauth.Claims{
		UserID: "user_2abc",
		Org: &clerkauth.Organization{
			ID:          "org_2xyz",
			Role:        "org:admin",
			Permissions: []string{"org:dashboard:manage", "org:dashboard:read"},
		},
		Features:              []string{"o:dashboard", "u:beta"},
		Plans:                 []string{"o:pro"},
		FactorVerificationAge: []int{3, 25}, // minutes since each factor was verified
	}

	fmt.Println(claims.HasRole("admin"))
	fmt.Println(claims.HasPermission("dashboard:manage"))
	fmt.Println(claims.Has(clerkauth.Check{Role: "org:admin", Permission: "org:billing:manage"}))
	fmt.Println(claims.HasFeature("u:beta"), claims.HasPlan("u:pro"))
	fmt.Println(claims.Has(clerkauth.Check{
		Permission:     "dashboard:read",
		Reverification: clerkauth.ReverificationModerate.Reverification(),
	}))
	fmt.Println(claims.Has(clerkauth.Check{
		Reverification: clerkauth.ReverificationStrict.Reverification(),
	}))
	// Output:
	// true
	// true
	// false
	// true false
	// true
	// false
}
