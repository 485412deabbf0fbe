package clerkauth

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVerifierCloseRacesWithFetches runs Warm, Verify and Close at once:
// under -race a fetch started after Close began waiting was reported (a
// WaitGroup Add concurrent with Wait). After Close no fetch may start.
func TestVerifierCloseRacesWithFetches(t *testing.T) {
	a, _, _ := testKeys(t)
	for round := range 20 {
		f := newJWKSFixture(t, nil, jwkOf("ins_a", "RS256", &a.PublicKey))
		tok := f.token(t, "ins_a", nil)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 4 {
			wg.Go(func() {
				<-start
				_ = f.v.Warm(context.Background())
			})
			wg.Go(func() {
				<-start
				_, _ = f.v.Verify(context.Background(), tok)
			})
		}
		wg.Go(func() {
			<-start
			_ = f.v.Close()
		})
		close(start)
		wg.Wait()
		before := f.srv.requests.Load()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := f.v.Warm(ctx)
		cancel()
		require.ErrorIs(t, err, ErrKeysUnavailable, "round %d: Warm after Close fails at once", round)
		assert.Equal(t, before, f.srv.requests.Load(), "round %d: no fetch after Close", round)
	}
}
