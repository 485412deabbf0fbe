package clerkauth_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth"
	"github.com/clerkauth/clerkauth/clerktest"
)

// TestSessionsClientAgainstClerktest runs every operation of the client
// against the Clerk-compatible server, end to end over loopback HTTP.
func TestSessionsClientAgainstClerktest(t *testing.T) {
	clerk := clerktest.NewServer(clerktest.Config{})
	defer clerk.Close()
	user := clerk.CreateUser(clerktest.UserParams{})
	var ids []string
	for range 5 {
		ids = append(ids, clerk.CreateSession(clerktest.SessionParams{UserID: user.ID}).ID)
	}
	other := clerk.CreateSession(clerktest.SessionParams{})
	cfg := clerkauth.Config{SecretKey: clerk.SecretKey(), APIURL: clerk.APIURL(), MaxRetries: -1}
	c, err := clerkauth.NewSessionsClient(cfg)
	require.NoError(t, err)
	ctx := context.Background()

	t.Run("get", func(t *testing.T) {
		s, err := c.Get(ctx, ids[0])
		require.NoError(t, err)
		assert.Equal(t, ids[0], s.ID)
		assert.Equal(t, user.ID, s.UserID)
		assert.Equal(t, clerkauth.SessionActive, s.Status)
		assert.False(t, s.ExpireTime().IsZero())
		_, err = c.Get(ctx, "sess_missing")
		assert.ErrorIs(t, err, clerkauth.ErrNotFound)
	})
	t.Run("list and all pages", func(t *testing.T) {
		page, err := c.List(ctx, clerkauth.ListSessionsParams{UserID: user.ID, Limit: 2})
		require.NoError(t, err)
		assert.Len(t, page.Data, 2)
		assert.EqualValues(t, 5, page.TotalCount)
		var seen []string
		for s, err := range c.All(ctx, clerkauth.ListSessionsParams{UserID: user.ID, Limit: 2}) {
			require.NoError(t, err)
			seen = append(seen, s.ID)
		}
		assert.ElementsMatch(t, ids, seen)
		assert.NotContains(t, seen, other.ID)
	})
	t.Run("revoke", func(t *testing.T) {
		s, err := c.Revoke(ctx, ids[1])
		require.NoError(t, err)
		assert.Equal(t, clerkauth.SessionRevoked, s.Status)
		page, err := c.List(ctx, clerkauth.ListSessionsParams{UserID: user.ID, Status: clerkauth.SessionRevoked})
		require.NoError(t, err)
		require.Len(t, page.Data, 1)
		assert.Equal(t, ids[1], page.Data[0].ID)
	})
	t.Run("tokens verify with the Verifier", func(t *testing.T) {
		clerk.AddJWTTemplate("backend", map[string]any{"role": "reader"}, 0)
		v, err := clerkauth.NewVerifier(clerkauth.Config{SecretKey: clerk.SecretKey(), APIURL: clerk.APIURL(), PublishableKey: clerk.PublishableKey()})
		require.NoError(t, err)
		defer v.Close()
		tok, err := c.CreateToken(ctx, ids[2], clerkauth.CreateTokenParams{ExpiresInSeconds: 120})
		require.NoError(t, err)
		claims, err := v.Verify(ctx, tok.JWT)
		require.NoError(t, err)
		assert.Equal(t, ids[2], claims.SessionID)
		assert.Equal(t, 120*1e9, float64(claims.Expiry.Sub(claims.IssuedAt)))

		tmpl, err := c.CreateTokenFromTemplate(ctx, ids[2], "backend", clerkauth.CreateTokenParams{})
		require.NoError(t, err)
		_, err = v.Verify(ctx, tmpl.JWT)
		assert.ErrorIs(t, err, clerkauth.ErrInvalidToken, "a template token is not a session token")
		_, err = c.CreateTokenFromTemplate(ctx, ids[2], "missing", clerkauth.CreateTokenParams{})
		assert.ErrorIs(t, err, clerkauth.ErrNotFound)
	})
	t.Run("verify is deprecated", func(t *testing.T) {
		tok := clerk.MustToken(ids[3])
		_, err := c.Verify(ctx, ids[3], tok) //nolint:staticcheck // testing the deprecated endpoint
		var apiErr *clerkauth.APIError
		require.True(t, errors.As(err, &apiErr), "%v", err)
		assert.ErrorIs(t, err, clerkauth.ErrEndpointDeprecated)

		old := cfg
		old.APIVersion = "2024-10-01"
		oc, err := clerkauth.NewSessionsClient(old)
		require.NoError(t, err)
		s, err := oc.Verify(ctx, ids[3], tok) //nolint:staticcheck // testing the deprecated endpoint
		require.NoError(t, err)
		assert.Equal(t, ids[3], s.ID)
	})
	t.Run("bad secret key", func(t *testing.T) {
		bad := cfg
		bad.SecretKey = "sk_test_wrong"
		bc, err := clerkauth.NewSessionsClient(bad)
		require.NoError(t, err)
		_, err = bc.Get(ctx, ids[0])
		assert.ErrorIs(t, err, clerkauth.ErrUnauthorized)
	})
	t.Run("rate limited then recovers", func(t *testing.T) {
		clerk.SetFault(clerktest.EndpointSessionGet, clerktest.Fault{Status: 429, RetryAfter: 7 * time.Second, Times: 1})
		_, err := c.Get(ctx, ids[0])
		assert.ErrorIs(t, err, clerkauth.ErrRateLimited)
		var apiErr *clerkauth.APIError
		require.True(t, errors.As(err, &apiErr))
		assert.Equal(t, 7*time.Second, apiErr.RetryAfter)
		_, err = c.Get(ctx, ids[0])
		assert.NoError(t, err)
	})
}
