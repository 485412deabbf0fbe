package clerkauth

import (
	lru "github.com/hashicorp/golang-lru/v2"
)

const tokenCacheShards = 16

// tokenCache remembers verified tokens, keyed by the whole token, across
// shards so concurrent requests rarely meet on one lock. Hits take only a
// read lock (Peek); eviction is therefore by insertion order, which suits
// tokens that live about a minute.
type tokenCache struct {
	shards [tokenCacheShards]*lru.Cache[string, *Claims]
}

func newTokenCache(size int) *tokenCache {
	per := max(size/tokenCacheShards, 1)
	c := &tokenCache{}
	for i := range c.shards {
		c.shards[i], _ = lru.New[string, *Claims](per)
	}
	return c
}

// shard picks a shard from the token's last bytes: signature bytes, evenly
// spread for genuine tokens (only verified tokens are ever stored).
func (c *tokenCache) shard(token string) *lru.Cache[string, *Claims] {
	var h uint32
	for i := max(len(token)-4, 0); i < len(token); i++ {
		h = h*31 + uint32(token[i])
	}
	return c.shards[h%tokenCacheShards]
}

func (c *tokenCache) get(token string) (*Claims, bool) {
	return c.shard(token).Peek(token)
}

func (c *tokenCache) add(token string, claims *Claims) {
	c.shard(token).Add(token, claims)
}

func (c *tokenCache) len() int {
	n := 0
	for _, s := range c.shards {
		n += s.Len()
	}
	return n
}
