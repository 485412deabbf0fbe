package clerkauth

import (
	"context"
	"fmt"
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

// TestTokenCacheEvictsOldestFirst fills a small cache far past its size:
// it must keep exactly its capacity, the newest entries, and nothing the
// rings have forgotten.
func TestTokenCacheEvictsOldestFirst(t *testing.T) {
	c := newTokenCache[*Claims](2 * tokenCacheShards)
	tokens := make([]string, 1000)
	for i := range tokens {
		tokens[i] = fmt.Sprintf("h.p.sig%04d", i)
		c.add(tokens[i], &Claims{ID: tokens[i]}, nil)
	}
	c.add(tokens[999], &Claims{ID: "again"}, nil) // a second add with the same key keeps the first entry
	assert.Equal(t, 2*tokenCacheShards, c.len())
	stored := 0
	c.m.Range(func(any, any) bool { stored++; return true })
	assert.Equal(t, c.len(), stored, "the map holds exactly the ring's keys")
	got, ok := c.get(tokens[999])
	require.True(t, ok, "the newest token is cached")
	assert.Equal(t, tokens[999], got.claims.ID)
	k := &verifyKey{kid: "rotated"}
	c.add(tokens[999], &Claims{ID: "new key"}, k) // verified again under a new key: replaced
	got, _ = c.get(tokens[999])
	assert.Equal(t, "new key", got.claims.ID)
	assert.Same(t, k, got.key)
	assert.Equal(t, 2*tokenCacheShards, c.len(), "a replacement takes no new slot")
	_, ok = c.get(tokens[0])
	assert.False(t, ok, "the oldest token was evicted")
	_, ok = c.get("h.q.sig0999")
	assert.False(t, ok, "another signing input with the same signature misses")
}
