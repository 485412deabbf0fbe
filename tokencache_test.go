package clerkauth

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTokenCacheHitNeedsTheWholeToken checks that the cache, keyed by the
// signature, never answers for a token that differs from the cached one
// anywhere: a reused signature on another header or payload is verified
// (and rejected) like any new token.
func TestTokenCacheHitNeedsTheWholeToken(t *testing.T) {
	a, _, _ := testKeys(t)
	clock := newClock()
	v := newTestVerifier(t, Config{JWTKey: pemOf(t, &a.PublicKey), PublishableKey: testPK, Now: clock.Now})
	ctx := context.Background()
	tok := mint(t, a, stdHeader("k"), stdClaims(clock.Now()))
	_, err := v.Verify(ctx, tok)
	require.NoError(t, err)
	sig := tok[strings.LastIndexByte(tok, '.')+1:]
	other := mint(t, a, stdHeader("k"), with(stdClaims(clock.Now()), "sub", "user_2"))
	otherInput := other[:strings.LastIndexByte(other, '.')]
	noTyp := mint(t, a, with(stdHeader("k"), "typ", "JWS"), stdClaims(clock.Now()))
	forgeries := map[string]string{
		"other payload, same signature": otherInput + "." + sig,
		"other header, same signature":  noTyp[:strings.LastIndexByte(noTyp, '.')] + "." + sig,
		"same length, one byte changed": flipLastInputByte(tok),
		"input cut short":               tok[:10] + tok[strings.IndexByte(tok, '.'):],
	}
	for name, forged := range forgeries {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(ctx, forged)
			assert.ErrorIs(t, err, ErrInvalidToken)
		})
	}
	assert.Equal(t, 1, v.cache.len(), "rejected tokens are never cached")
}

func flipLastInputByte(tok string) string {
	b := []byte(tok)
	i := strings.LastIndexByte(tok, '.') - 1
	if b[i] == 'A' {
		b[i] = 'Q'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
