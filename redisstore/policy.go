package redisstore

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"

	"github.com/redis/go-redis/v9"
)

// checkEvictionPolicy reads maxmemory-policy from every master once and
// warns through the logger if one evicts keys. A server that refuses CONFIG
// (managed Redis, renamed command, ACL) is noted once at Info level and not
// asked again; a network failure leaves the check for the next connection.
func (s *Store) checkEvictionPolicy(ctx context.Context) {
	if s.policyChecked.Load() {
		return
	}
	var mu sync.Mutex
	var policies []string
	err := s.forEachShard(ctx, func(ctx context.Context, c redis.Cmdable) error {
		m, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
		if err != nil {
			return err
		}
		mu.Lock()
		policies = append(policies, m["maxmemory-policy"])
		mu.Unlock()
		return nil
	})
	var refused redis.Error
	switch {
	case err != nil && !errors.As(err, &refused):
		return
	case !s.policyChecked.CompareAndSwap(false, true):
		return
	case err != nil:
		s.opts.Logger.LogAttrs(ctx, slog.LevelInfo,
			"redisstore: cannot read Redis maxmemory-policy; make sure it is noeviction, or revocations may be evicted",
			slog.String("error", err.Error()))
		return
	}
	policy := pickPolicy(policies)
	s.mu.Lock()
	s.policy = policy
	s.mu.Unlock()
	if evicts(policy) {
		s.opts.Logger.LogAttrs(ctx, slog.LevelWarn,
			"redisstore: Redis maxmemory-policy evicts keys: under memory pressure revocations are dropped silently; set it to noeviction",
			slog.String("maxmemory_policy", policy))
	}
}

// evicts reports whether policy lets Redis delete revocation keys, which
// all carry a TTL.
func evicts(policy string) bool {
	return strings.HasPrefix(policy, "allkeys-") || strings.HasPrefix(policy, "volatile-")
}

// pickPolicy returns the first evicting policy, else the first one.
func pickPolicy(policies []string) string {
	for _, p := range policies {
		if evicts(p) {
			return p
		}
	}
	if len(policies) == 0 {
		return ""
	}
	return policies[0]
}
