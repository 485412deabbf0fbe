package clerkauth

import (
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRetryAfterSentIsBounded: the Retry-After of a 503 relays how long
// Clerk (or the key cooldown) asked to wait, but never more than
// maxRetryAfterSent, and never a number that overflowed: an upstream
// answering Retry-After: 99999999999 must not tell every client of the
// application to go away for three thousand years, or to come back at a
// negative time.
func TestRetryAfterSentIsBounded(t *testing.T) {
	limit := strconv.Itoa(int(maxRetryAfterSent / time.Second))
	for _, tc := range []struct {
		name  string
		after time.Duration
		want  string
	}{
		{"one second", time.Second, "1"},
		{"rounded up", 1500 * time.Millisecond, "2"},
		{"at the bound", maxRetryAfterSent, limit},
		{"a day", 24 * time.Hour, limit},
		{"the largest duration", math.MaxInt64, limit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := verr(ReasonUnexpectedError, "undecided")
			e.Err = ErrKeysUnavailable
			e.retryAfter = tc.after
			rep := RenderError("", e)
			require.Equal(t, 503, rep.Status)
			got := map[string]string{}
			rep.EachHeader(func(k, v string) { got[k] = v })
			assert.Equal(t, tc.want, got["Retry-After"])
		})
	}

	t.Run("Sessions API answering 429 with a huge Retry-After", func(t *testing.T) {
		e := newActiveEnv(t, MiddlewareOptions{})
		e.api.set(func(f *fakeSessions) { f.getAnswer, f.retryAfter = 429, "99999999999" })
		rec := serve(e.h, bearerRequest(e.token()))
		require.Equal(t, 503, rec.Code, rec.Body.String())
		assert.Equal(t, limit, rec.Header().Get("Retry-After"))
	})
}
