package compat

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/clerkauth/clerkauth/clerktest"
)

// TestNodeSDK runs node/backend.test.mjs, which drives Clerk's official
// Node SDK (@clerk/backend, pinned in node/package-lock.json) against a
// clerktest server on loopback.
func TestNodeSDK(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		missingPrerequisite(t, "node is not installed, so @clerk/backend cannot be exercised (Debian: apt-get install nodejs npm)")
	}
	dir, err := filepath.Abs("node")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	installNodeModules(ctx, t, dir)

	srv := clerktest.NewServer(clerktest.Config{SigningKey: testKey})
	defer srv.Close()
	cmd := exec.CommandContext(ctx, node, "--test", "backend.test.mjs", "machines.test.mjs")
	cmd.Dir = dir
	// Telemetry of a development instance would leave loopback.
	cmd.Env = append(os.Environ(), "CLERK_TELEMETRY_DISABLED=1")
	cmd.Env = append(cmd.Env, nodeFixtures(srv)...)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test output:\n%s", out)
	if err != nil {
		t.Fatalf("node --test failed: %v", err)
	}
	if srv.Requests(clerktest.EndpointAPIJWKS) == 0 {
		t.Fatal("the Node SDK never fetched the JWKS")
	}
	checkMachineRequests(t, srv)
}

// checkMachineRequests checks how often machines.test.mjs reached the
// machine token routes: in particular, the SDK verifies JWT M2M and OAuth
// tokens locally, so only opaque tokens reach the verify routes.
func checkMachineRequests(t *testing.T, srv *clerktest.Server) {
	t.Helper()
	for _, c := range []struct {
		ep   clerktest.Endpoint
		want int
	}{
		// 4 in the opaque test, 1 after a revocation, 3 through
		// authenticateRequest; none for JWTs.
		{clerktest.EndpointM2MVerify, 8},
		// 1 opaque, 1 default TTL, 2 refused, 1 JWT, 2 in the revoke test,
		// 2 for authenticateRequest.
		{clerktest.EndpointM2MCreate, 9},
		// 2 in the API key test, 2 through authenticateRequest.
		{clerktest.EndpointAPIKeyVerify, 4},
		// Opaque, unknown, and opaque through authenticateRequest.
		{clerktest.EndpointOAuthTokenVerify, 3},
		{clerktest.EndpointMachineCreate, 3},
		{clerktest.EndpointMachineSecretKey, 1},
	} {
		if got := srv.Requests(c.ep); got != c.want {
			t.Errorf("%s: %d requests; want %d", c.ep, got, c.want)
		}
	}
}

// missingPrerequisite skips the test, saying what is missing, or fails it
// under CI (CI set, as CI services do, and not "false" or "0"), where a
// missing tool must not pass unnoticed.
func missingPrerequisite(t *testing.T, what string) {
	t.Helper()
	if ci := os.Getenv("CI"); ci != "" && ci != "false" && ci != "0" {
		t.Fatalf("%s; CI=%s, so this fails rather than skips", what, ci)
	}
	t.Skipf("skipping: %s", what)
}

// installNodeModules runs npm ci when node_modules is missing.
func installNodeModules(ctx context.Context, t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@clerk", "backend")); err == nil {
		return
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		missingPrerequisite(t, "node is installed but npm is not, so @clerk/backend cannot be installed (Debian: apt-get install npm)")
	}
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci failed: %v\n%s", err, out)
	}
}

// nodeFixtures creates the sessions and tokens the Node test expects and
// returns them as environment variables.
func nodeFixtures(srv *clerktest.Server) []string {
	srv.AddJWTTemplate("compat", map[string]any{"aud": "compat-audience"}, time.Minute)
	sess := srv.CreateSession(clerktest.SessionParams{
		UserID:          "user_node",
		AuthorizedParty: "http://localhost:3000",
		Org:             &clerktest.OrgMembership{ID: "org_node", Slug: "node", Role: "admin", Permissions: []string{"org:app:read"}},
	})
	srv.Clock().Advance(time.Millisecond) // a strictly newer second session
	other := srv.CreateSession(clerktest.SessionParams{UserID: "user_node"})
	return append([]string{
		"CLERKTEST_URL=" + srv.URL(),
		"CLERKTEST_SECRET_KEY=" + srv.SecretKey(),
		"CLERKTEST_PUBLISHABLE_KEY=" + srv.PublishableKey(),
		"CLERKTEST_ISSUER=" + srv.Issuer(),
		"CLERKTEST_PUBLIC_KEY=" + srv.PublicKeyPEM(),
		"CLERKTEST_SESSION_ID=" + sess.ID,
		"CLERKTEST_OTHER_SESSION_ID=" + other.ID,
		"CLERKTEST_USER_ID=" + sess.UserID,
		"CLERKTEST_ORG_ID=" + sess.Org.ID,
		"CLERKTEST_TOKEN=" + srv.MustToken(sess.ID, clerktest.WithLifetime(10*time.Minute)),
		"CLERKTEST_EXPIRED_TOKEN=" + srv.MustToken(sess.ID, clerktest.WithIssuedAt(srv.Clock().Now().Add(-time.Hour))),
	}, oauthFixtures(srv)...)
}

// oauthFixtures mints an opaque and a JWT OAuth access token for one user
// and client: Clerk's Backend API has no route to create them.
func oauthFixtures(srv *clerktest.Server) []string {
	p := clerktest.OAuthTokenParams{Scopes: []string{"profile", "email"}}
	jwt := srv.MustOAuthToken(p)
	p.UserID, p.ClientID, p.Format = jwt.Subject, jwt.ClientID, clerktest.FormatOpaque
	opaque := srv.MustOAuthToken(p)
	return []string{
		"CLERKTEST_OAUTH_JWT=" + jwt.Token,
		"CLERKTEST_OAUTH_TOKEN=" + opaque.Token,
		"CLERKTEST_OAUTH_USER_ID=" + jwt.Subject,
		"CLERKTEST_OAUTH_CLIENT_ID=" + jwt.ClientID,
	}
}
