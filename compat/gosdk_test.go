// Package compat checks that Clerk's official SDKs work unchanged against
// clerktest, the project's Clerk-compatible test server.
package compat

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/clerk/clerk-sdk-go/v2"
	"github.com/clerk/clerk-sdk-go/v2/jwks"
	"github.com/clerk/clerk-sdk-go/v2/jwt"
	"github.com/clerk/clerk-sdk-go/v2/session"
	"github.com/clerkauth/clerkauth/clerktest"
)

func goSDKConfig(srv *clerktest.Server) *clerk.ClientConfig {
	cfg := &clerk.ClientConfig{}
	cfg.Key = clerk.String(srv.SecretKey())
	cfg.URL = clerk.String(srv.APIURL())
	cfg.HTTPClient = srv.Client()
	return cfg
}

func TestGoSDKSessions(t *testing.T) {
	srv := clerktest.NewServer(clerktest.Config{SigningKey: testKey})
	defer srv.Close()
	ctx := context.Background()
	client := session.NewClient(goSDKConfig(srv))
	s1 := srv.CreateSession(clerktest.SessionParams{UserID: "user_go", Org: &clerktest.OrgMembership{ID: "org_go"}})
	s2 := srv.CreateSession(clerktest.SessionParams{UserID: "user_go"})

	got, err := client.Get(ctx, s1.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.ID != s1.ID || got.UserID != "user_go" || got.Status != "active" || got.Object != "session" ||
		got.LastActiveOrganizationID != "org_go" || got.ExpireAt != s1.ExpireAt.UnixMilli() || got.LatestActivity == nil {
		t.Fatalf("Get: got %+v", got)
	}

	list, err := client.List(ctx, &session.ListParams{UserID: clerk.String("user_go"),
		ListParams: clerk.ListParams{Limit: clerk.Int64(1)}})
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if list.TotalCount != 2 || len(list.Sessions) != 1 || list.Sessions[0].ID != s2.ID {
		t.Fatalf("List: total %d, %d sessions, first %s; want 2, 1, %s", list.TotalCount, len(list.Sessions), firstID(list), s2.ID)
	}

	revoked, err := client.Revoke(ctx, &session.RevokeParams{ID: s1.ID})
	if err != nil || revoked.Status != "revoked" {
		t.Fatalf("Revoke: %+v, %v", revoked, err)
	}

	_, err = client.Get(ctx, "sess_missing")
	var apiErr *clerk.APIErrorResponse
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 404 || apiErr.Errors[0].Code != "resource_not_found" {
		t.Fatalf("Get missing: %v", err)
	}

	tok, err := client.CreateToken(ctx, &session.CreateTokenParams{ID: s2.ID})
	if err != nil || tok.Object != "token" || tok.JWT == "" {
		t.Fatalf("CreateToken: %+v, %v", tok, err)
	}
	if n := srv.Requests(clerktest.EndpointSessions); n != 5 {
		t.Fatalf("sessions requests = %d; want 5", n)
	}

	// The SDK sends Clerk-API-Version 2025-04-10, which removed verify.
	_, err = client.Verify(ctx, &session.VerifyParams{ID: s2.ID}) //nolint:staticcheck // deprecated on purpose
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 410 || apiErr.Errors[0].Code != "operation_deprecated" {
		t.Fatalf("Verify: %v", err)
	}
}

func firstID(l *clerk.SessionList) string {
	if len(l.Sessions) == 0 {
		return ""
	}
	return l.Sessions[0].ID
}

func TestGoSDKVerify(t *testing.T) {
	srv := clerktest.NewServer(clerktest.Config{SigningKey: testKey})
	defer srv.Close()
	ctx := context.Background()
	sess := srv.CreateSession(clerktest.SessionParams{
		Org: &clerktest.OrgMembership{ID: "org_1", Slug: "acme", Role: "admin",
			Permissions: []string{"org:dashboard:manage", "org:dashboard:read", "org:teams:read"}},
		UserFeatures: []string{"beta"},
	})
	jwksClient := jwks.NewClient(goSDKConfig(srv))

	claims, err := jwt.Verify(ctx, &jwt.VerifyParams{Token: srv.MustToken(sess.ID), JWKSClient: jwksClient})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if claims.SessionID != sess.ID || claims.Subject != sess.UserID || claims.Issuer != srv.Issuer() || claims.Version != 2 {
		t.Fatalf("claims: %+v", claims)
	}
	if claims.ActiveOrganizationID != "org_1" || claims.ActiveOrganizationRole != "org:admin" || claims.ActiveOrganizationSlug != "acme" {
		t.Fatalf("org claims: %+v", claims)
	}
	perms := strings.Join(claims.ActiveOrganizationPermissions, " ")
	if perms != "org:dashboard:manage org:dashboard:read org:teams:read" {
		t.Fatalf("permissions = %q", perms)
	}
	if srv.Requests(clerktest.EndpointAPIJWKS) != 1 {
		t.Fatalf("JWKS requests = %d; want 1", srv.Requests(clerktest.EndpointAPIJWKS))
	}

	// v1 tokens, and the PEM public key as a JWK.
	jwk, err := clerk.JSONWebKeyFromPEM(srv.PublicKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	claims, err = jwt.Verify(ctx, &jwt.VerifyParams{Token: srv.MustToken(sess.ID, clerktest.WithVersion(1)), JWK: jwk})
	if err != nil || claims.ActiveOrganizationID != "org_1" || claims.Version != 1 {
		t.Fatalf("Verify v1: %+v, %v", claims, err)
	}

	// Expired and foreign-signed tokens are rejected.
	old := srv.MustToken(sess.ID, clerktest.WithIssuedAt(srv.Clock().Now().Add(-time10Minutes)))
	if _, err := jwt.Verify(ctx, &jwt.VerifyParams{Token: old, JWK: jwk}); err == nil {
		t.Fatal("expired token verified")
	}
	forged := srv.Mint(nil, map[string]any{"sub": "user_x"}, clerktest.RawSignature(make([]byte, 256)))
	if _, err := jwt.Verify(ctx, &jwt.VerifyParams{Token: forged, JWK: jwk}); err == nil {
		t.Fatal("forged token verified")
	}

	// A wrong secret key gives Clerk's clerk_key_invalid error.
	bad := goSDKConfig(srv)
	bad.Key = clerk.String("sk_test_wrong")
	_, err = jwks.NewClient(bad).Get(ctx, &jwks.GetParams{})
	var apiErr *clerk.APIErrorResponse
	if !errors.As(err, &apiErr) || apiErr.HTTPStatusCode != 401 || apiErr.Errors[0].Code != "clerk_key_invalid" {
		t.Fatalf("wrong key: %v", err)
	}
}
