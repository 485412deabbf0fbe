package clerkauth

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// heavyOrgClaims returns claims whose o.per and o.fpm expand into about
// 16,000 permissions within a 16 KiB token: 40 organization features,
// each granting 398 of 1,000 permissions (fpm 10^120 − 1).
func heavyOrgClaims(now time.Time) map[string]any {
	per := make([]string, 1000)
	for i := range per {
		per[i] = fmt.Sprintf("p%d", i)
	}
	fea := strings.TrimSuffix(strings.Repeat("o:a,", 40), ",")
	fpm := strings.TrimSuffix(strings.Repeat(strings.Repeat("9", 120)+",", 40), ",")
	return with(stdClaims(now), "fea", fea,
		"o", map[string]any{"id": "org_1", "rol": "admin", "per": strings.Join(per, ","), "fpm": fpm})
}

// TestPermissionsExpandOnlyAfterTheSignature: an unsigned (forged) token
// cannot make the Verifier expand its permission claims, which costs
// tens of thousands of allocations for a 16 KiB payload; a signed one
// gets them all.
func TestPermissionsExpandOnlyAfterTheSignature(t *testing.T) {
	a, b, _ := testKeys(t)
	clock := newClock()
	v := newTestVerifier(t, Config{JWTKey: pemOf(t, &a.PublicKey), PublishableKey: testPK, Now: clock.Now, TokenCacheSize: -1})
	claims := heavyOrgClaims(clock.Now())
	good := mint(t, a, stdHeader("k"), claims)
	forged := mint(t, b, stdHeader("k"), claims)
	require.LessOrEqual(t, len(good), MaxTokenSize)

	c, err := v.Verify(context.Background(), good)
	require.NoError(t, err)
	require.NotNil(t, c.Org)
	assert.Greater(t, len(c.Org.Permissions), 5000, "a signed token gets its permissions")
	t.Logf("%d permissions", len(c.Org.Permissions))

	allocs := testing.AllocsPerRun(5, func() {
		_, err := v.Verify(context.Background(), forged)
		require.Error(t, err)
	})
	t.Logf("forged: %.0f allocs", allocs)
	assert.Less(t, allocs, 200.0, "a forged token's permissions are never expanded")
}
