package clerkauth

import (
	"context"
	"hash/maphash"
	"strings"
	"sync"
	"time"
)

const tokenCacheShards = 16

// tokenCache remembers verified tokens. A hit is a lock-free sync.Map load
// (the map is a hash trie since Go 1.24), so concurrent requests with the
// same token share no written memory; inserts and evictions are serialised
// per shard, first in first out, which suits tokens that live about a
// minute.
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
type tokenCache[V any] struct {
	seed   maphash.Seed
	m      sync.Map // signature segment → *cachedToken
	shards [tokenCacheShards]evictionRing
}

// cachedToken is what a signature maps to: the session claims or the
// machine token of a verified token, and the key that verified it.
type cachedToken[V any] struct {
	claims   V
	key      *verifyKey // the key that verified it: a hit needs it still current
	inputSum uint64     // maphash of the signing input
	inputLen int
}

// evictionRing holds a shard's keys in insertion order.
type evictionRing struct {
	mu   sync.Mutex
	keys []string // capacity of the shard
	next int      // slot of the oldest key once full
	n    int
}

func newTokenCache[V any](size int) *tokenCache[V] {
	per := max(size/tokenCacheShards, 1)
	c := &tokenCache[V]{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].keys = make([]string, per)
	}
	return c
}

// shard picks a shard from the signature's last bytes, evenly spread for
// genuine tokens.
func (c *tokenCache[V]) shard(sig string) *evictionRing {
	var h uint32
	for i := max(len(sig)-4, 0); i < len(sig); i++ {
		h = h*31 + uint32(sig[i])
	}
	return &c.shards[h%tokenCacheShards]
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

func (c *tokenCache[V]) get(token string) (*cachedToken[V], bool) {
	input, sig := splitSigned(token)
	if sig == "" {
		return nil, false
	}
	v, ok := c.m.Load(sig)
	if !ok {
		return nil, false
	}
	e := v.(*cachedToken[V])
	if e.inputLen != len(input) || e.inputSum != maphash.String(c.seed, input) {
		return nil, false
	}
	return e, true
}

// add stores a token verified with key, evicting its shard's oldest entry
// when the shard is full. A token added twice keeps its first entry (two
// concurrent first requests), unless that entry holds another key: it was
// verified again because its key changed, and the new entry replaces it.
func (c *tokenCache[V]) add(token string, claims V, key *verifyKey) {
	input, sig := splitSigned(token)
	if sig == "" {
		return
	}
	sig = strings.Clone(sig) // do not pin the whole token
	e := &cachedToken[V]{claims: claims, key: key, inputSum: maphash.String(c.seed, input), inputLen: len(input)}
	r := c.shard(sig)
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, loaded := c.m.LoadOrStore(sig, e); loaded {
		if old.(*cachedToken[V]).key != key {
			c.m.CompareAndSwap(sig, old, e)
		}
		return
	}
	if r.n == len(r.keys) {
		c.m.Delete(r.keys[r.next])
	} else {
		r.n++
	}
	r.keys[r.next] = sig
	r.next = (r.next + 1) % len(r.keys)
}

func (c *tokenCache[V]) len() int {
	n := 0
	for i := range c.shards {
		r := &c.shards[i]
		r.mu.Lock()
		n += r.n
		r.mu.Unlock()
	}
	return n
}

// cached returns the entry of token if the verified-token cache holds it.
func (v *Verifier) cached(token string) (*cachedToken[*Claims], bool) {
	if v.cache == nil {
		return nil, false
	}
	return v.cache.get(token)
}

// keyCurrent reports whether the key that verified a cached token would
// still be used to verify it: the static key always is; a JWKS key while
// the current key set holds that very key and is within JWKSMaxStaleness.
// A token whose key is not current is verified again, in full.
func (v *Verifier) keyCurrent(key *verifyKey, now time.Time) bool {
	if key == v.staticKey {
		return key != nil
	}
	return v.remote != nil && v.remote.current(key, now)
}

// remember adds a token verified with key to the cache, when there is one.
func (v *Verifier) remember(token string, c *Claims, key *verifyKey) {
	if v.cache != nil {
		v.cache.add(token, c, key)
	}
}

// recheck re-applies the checks that change with time to a cached token.
func (v *Verifier) recheck(ctx context.Context, c *Claims, now time.Time) (*Claims, error) {
	if !now.Before(c.Expiry.Add(v.leeway)) {
		return nil, errExpired()
	}
	if err := v.checkRevoked(ctx, c); err != nil {
		return nil, err
	}
	return c, nil
}
