package clerkauth

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkauth/clerkauth/clerktest"
)

// TestM2MTokenSourceCapsRetryAfter: a 429 whose Retry-After is absurd (a
// day, or years, from a broken proxy or a bad header) must not freeze the
// source, answering every caller from memory until the process restarts:
// the cool-off is capped at MaxRetryAfter (60 s), the longest wait the
// client itself honours.
func TestM2MTokenSourceCapsRetryAfter(t *testing.T) {
	e := newM2MEnv(t)
	s := e.source(t, e.config())
	e.clerk.SetFault(clerktest.EndpointM2MCreate, clerktest.Fault{RetryAfter: 24 * time.Hour})
	_, err := s.Token(bg())
	require.ErrorIs(t, err, ErrRateLimited)
	e.clerk.ClearFaults()
	e.clerk.Clock().Advance(30 * time.Second)
	_, err = s.Token(bg())
	require.ErrorIs(t, err, ErrRateLimited, "a long Retry-After is still honoured for a while")
	require.Equal(t, 1, e.creates())
	e.clerk.Clock().Advance(31 * time.Second)
	_, err = s.Token(bg())
	require.NoError(t, err, "Clerk is asked again after at most a minute")
}
