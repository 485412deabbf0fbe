package clerkauth

import (
	"hash/maphash"
	"strings"

	lru "github.com/hashicorp/golang-lru/v2"
)

const tokenCacheShards = 16

// tokenCache remembers verified tokens across shards, so concurrent
// requests rarely meet on one lock. Hits take only a read lock (Peek);
// eviction is therefore by insertion order, which suits tokens that live
// about a minute.
//
// An entry is keyed by the token's signature segment (a copy: a third of
// the token) instead of the whole token, which keeps an entry well under
// 2 KiB. The signature alone already pins the signing input: it was
// verified over exactly one input, and another input with the same
// signature under the same key would need a SHA-256 collision. So that a
// token whose header or payload was altered is still rejected rather than
// answered with the original's claims, the entry also holds the length and
// a hash of the signing input under a per-cache random seed, and a hit
// needs all three to match. Only verified tokens are ever stored.
type tokenCache struct {
	seed   maphash.Seed
	shards [tokenCacheShards]*lru.Cache[string, cachedToken]
}

// cachedToken is what a signature maps to.
type cachedToken struct {
	claims   *Claims
	inputSum uint64 // maphash of the signing input
	inputLen int
}

func newTokenCache(size int) *tokenCache {
	per := max(size/tokenCacheShards, 1)
	c := &tokenCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i], _ = lru.New[string, cachedToken](per)
	}
	return c
}

// shard picks a shard from the signature's last bytes, evenly spread for
// genuine tokens.
func (c *tokenCache) shard(sig string) *lru.Cache[string, cachedToken] {
	var h uint32
	for i := max(len(sig)-4, 0); i < len(sig); i++ {
		h = h*31 + uint32(sig[i])
	}
	return c.shards[h%tokenCacheShards]
}

// splitSigned splits a token into its signing input (up to the second dot)
// and signature segment. A token with more dots gets a signature holding a
// dot, which no cached token has. strings.IndexByte is vectorised, while
// LastIndexByte walks the 342-byte signature one byte at a time.
func splitSigned(token string) (input, sig string) {
	i := strings.IndexByte(token, '.')
	if i < 0 {
		return token, ""
	}
	j := strings.IndexByte(token[i+1:], '.')
	if j < 0 {
		return token, ""
	}
	return token[:i+1+j], token[i+2+j:]
}

func (c *tokenCache) get(token string) (*Claims, bool) {
	input, sig := splitSigned(token)
	if sig == "" {
		return nil, false
	}
	e, ok := c.shard(sig).Peek(sig)
	if !ok || e.inputLen != len(input) || e.inputSum != maphash.String(c.seed, input) {
		return nil, false
	}
	return e.claims, true
}

func (c *tokenCache) add(token string, claims *Claims) {
	input, sig := splitSigned(token)
	if sig == "" {
		return
	}
	sig = strings.Clone(sig) // do not pin the whole token
	c.shard(sig).Add(sig, cachedToken{claims: claims, inputSum: maphash.String(c.seed, input), inputLen: len(input)})
}

func (c *tokenCache) len() int {
	n := 0
	for _, s := range c.shards {
		n += s.Len()
	}
	return n
}
