package clerkauth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// ExampleNewVerifier configures a Verifier for a Clerk instance. Here the
// instance is clerktest's; in production the same three values come from
// the dashboard (see ConfigFromEnv).
func ExampleNewVerifier() {
	clerk := clerktest.NewServer(clerktest.Config{})
	defer clerk.Close()

	v, err := clerkauth.NewVerifier(clerkauth.Config{
		SecretKey:         clerk.SecretKey(),      // authenticates the JWKS fetch
		PublishableKey:    clerk.PublishableKey(), // gives the expected issuer
		APIURL:            clerk.APIURL(),         // default https://api.clerk.com/v1
		AuthorizedParties: []string{"https://app.example.com"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()
	if err := v.Warm(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.Status().Ready, v.Status().Keys)

	_, err = clerkauth.NewVerifier(clerkauth.Config{PublishableKey: clerk.PublishableKey()})
	fmt.Println(errors.Is(err, clerkauth.ErrInvalidConfig))
	// Output:
	// true 1
	// true
}

// ExampleVerifier_Verify verifies a session token and reads its claims.
func ExampleVerifier_Verify() {
	clerk := clerktest.NewServer(clerktest.Config{})
	defer clerk.Close()
	sess := clerk.CreateSession(clerktest.SessionParams{
		Org: &clerktest.OrgMembership{Slug: "acme", Role: "admin", Permissions: []string{"org:invoices:read"}},
	})
	v, err := clerkauth.NewVerifier(clerkauth.Config{
		JWTKey:         clerk.PublicKeyPEM(), // networkless: no request at all
		PublishableKey: clerk.PublishableKey(),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	claims, err := v.Verify(context.Background(), clerk.MustToken(sess.ID))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(claims.SessionID == sess.ID, strings.HasPrefix(claims.UserID, "user_"))
	fmt.Println(claims.Org.Slug, claims.Org.Role, claims.Org.Permissions)

	_, err = v.Verify(context.Background(), "not-a-token")
	fmt.Println(errors.Is(err, clerkauth.ErrInvalidToken), clerkauth.ReasonOf(err))
	// Output:
	// true true
	// acme org:admin [org:invoices:read]
	// true token-invalid
}
