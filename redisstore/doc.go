// Package redisstore is a [clerkauth.RevocationStore] shared by every replica
// of a service through Redis, so that revoking a session on one replica
// rejects its tokens on all of them at once; and a
// [clerkauth.MachineTokenCache], [MachineCache], through which the replicas
// share the verification of opaque machine tokens, so that the fleet asks
// Clerk about a token about once per Config.MachineTokenCacheTTL rather than
// once per replica (see [MachineCache]).
//
// Each [Store] keeps a local set of revoked session IDs and answers
// IsRevoked from it alone: the hot path of every request never touches the
// network and takes no lock. Revoke writes the session ID to Redis under a
// key with a TTL and publishes it on a channel; one subscriber goroutine per
// Store adds what is published to the local set. Whenever that subscription
// is (re)established, the Store reloads every revoked ID from Redis (SCAN
// over the key prefix), so revocations missed during a partition are
// learned, and writes back the ones it recorded locally while Redis was
// unreachable. The same resync runs every [Options.ResyncInterval] (default
// 1 minute, jittered) while the subscription stays up, so revocations Redis
// lost without dropping the connection are written back too.
//
// # Using it
//
//	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	store, err := redisstore.New(ctx, client, redisstore.Options{})
//	if err != nil { ... }
//	defer store.Close()
//	cfg.Revocations = store
//
// # While Redis is unreachable
//
// By default a Store keeps serving from its local set (availability first:
// a revocation made elsewhere during the outage is learned only once Redis
// is back) and reports the outage through [Options.OnError] and
// [Store.Status]. With [Options.FailClosed], IsRevoked returns an error
// wrapping [ErrUnavailable] for every session not known to be revoked; the
// clerkauth Verifier treats any store error as "cannot tell" and rejects the
// request as unavailable (fail closed), never as an invalid token.
//
// Revoke always records the revocation locally first, so the replica that
// revoked rejects the session at once. It then waits for the write to Redis
// no longer than its context allows. If the write fails (Redis unreachable,
// out of memory, a cluster master down) or the context ends first, it
// returns an error wrapping [ErrNotShared]: the revocation is in force on
// this replica, and a writer goroutine retries the write in the background,
// with jittered backoff and the TTL the revocation has left, until Redis
// accepts it. Retrying Revoke is harmless.
//
// # Redis configuration
//
// Run Redis with maxmemory-policy noeviction: an evicting policy (allkeys-*
// or volatile-*, since revocation keys carry a TTL) drops revocations
// silently under memory pressure. The Store reads the policy at its first
// connection, warns through [Options.Logger] if it evicts and reports it in
// [Status]; with CONFIG disabled (managed Redis) it cannot tell. Redis
// Cluster is supported; a master down with no replica to promote makes
// writes fail (retried as above) and, if it serves the channel's slot, stops
// the revocation feed for every replica until it is back. Run every master
// with persistence: one restarted empty keeps the subscriptions up, so its
// revocations are written back only by the periodic resync
// ([Options.ResyncInterval], default 1 minute), and a replica started
// before then does not see them.
package redisstore
