package clerkauth

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOpaqueSmallBurstStillVerifiesNewTokens: whatever MachineVerifyBurst,
// a fresh budget lets an unknown token be confirmed; the reserve kept for
// known tokens never takes the whole burst (with a burst of 1, a reserve
// of one call would refuse every new token forever).
func TestOpaqueSmallBurstStillVerifiesNewTokens(t *testing.T) {
	for _, burst := range []int{1, 2, 3, 4, 8} {
		t.Run(fmt.Sprint(burst), func(t *testing.T) {
			e := newMachineEnv(t, func(c *Config) { c.MachineVerifyRate, c.MachineVerifyBurst = 0.001, burst })
			_, err := e.v.VerifyMachineToken(t.Context(), goodAPIKey)
			require.NoError(t, err, "an unknown token on a full budget")
			assert.EqualValues(t, 1, e.api.calls.Load())
			assert.Less(t, e.v.opaque.reserve, burst, "the reserve leaves unknown tokens at least one call")
		})
	}
}
