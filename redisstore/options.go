package redisstore

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/clerkauth/clerkauth"
)

// Defaults for [Options].
const (
	DefaultPrefix         = "clerkauth:revoked:"
	DefaultMinTTL         = 2 * time.Minute
	DefaultMaxTTL         = 24 * time.Hour
	DefaultPingInterval   = 5 * time.Second
	DefaultRetryInterval  = 500 * time.Millisecond
	DefaultMaxRetry       = 30 * time.Second
	DefaultMaxPending     = 10000
	DefaultResyncInterval = time.Minute
	// MinResyncInterval is the shortest positive Options.ResyncInterval
	// accepted: a shorter one would have the Store scan Redis nonstop.
	MinResyncInterval = 100 * time.Millisecond
)

// Options configures a [Store]. The zero value is usable: every field
// documents its default.
type Options struct {
	// Prefix is prepended to a session ID to form its Redis key. Every
	// replica of a fleet must use the same Prefix. Default "clerkauth:revoked:".
	Prefix string

	// Channel is the pub/sub channel revocations are broadcast on. Every
	// replica of a fleet must use the same Channel. Default Prefix+"events".
	Channel string

	// FailClosed makes IsRevoked return an error wrapping [ErrUnavailable]
	// for any session not known to be revoked while the Store is not
	// synchronised with Redis (before the first sync and during outages).
	// Default false: keep answering from the local set.
	FailClosed bool

	// OnError, if set, is called from the subscriber goroutine with every
	// background failure (lost connection, failed resync, malformed message).
	// It must not block. Default: none; use [Store.Status] to poll instead.
	OnError func(error)

	// Logger receives rare operational messages: an evicting
	// maxmemory-policy found at the first connection, a maxmemory-policy
	// that cannot be read, the pending set reaching MaxPending, and one
	// Info line per resynchronisation that wrote revocations back to
	// Redis (with their count). It never
	// receives tokens. Default slog.Default(): these warnings are about
	// revocations being lost, so they are not silent unless asked
	// (pass a logger with a discarding handler to silence them).
	Logger *slog.Logger

	// MaxPending caps the number of revocations held for a background
	// retry after their write to Redis failed. Beyond it the Store stops
	// tracking them one by one: they stay in force locally, and the next
	// retry reconciles the whole local set with Redis (the resynchronisation
	// done after a reconnect) instead. Default 10000 (about 1 MB).
	MaxPending int

	// Now returns the current time. Default time.Now.
	Now func() time.Time

	// MinTTL is the shortest time a revocation is kept, whatever until is
	// passed to Revoke (covers clock skew and until values in the past).
	// Default 2 minutes.
	MinTTL time.Duration

	// MaxTTL is the longest time a revocation is kept; it is also used when
	// Revoke is passed a zero until. It must cover the longest token lifetime
	// plus leeway. Default 24 hours.
	MaxTTL time.Duration

	// PingInterval is how long the subscriber waits for traffic before it
	// pings Redis; no reply within another PingInterval counts as a lost
	// connection. It also bounds the wait for the subscription to be
	// confirmed. Default 5 seconds.
	PingInterval time.Duration

	// RetryInterval is the first delay before reconnecting, or before
	// retrying a failed write, after a failure; it doubles on each further
	// failure up to MaxRetryInterval. Write retries are jittered (a random
	// delay between half and all of the interval). Default 500 ms.
	RetryInterval time.Duration

	// MaxRetryInterval caps the reconnection and write retry delays.
	// Default 30 seconds.
	MaxRetryInterval time.Duration

	// ResyncInterval is how often the Store reconciles its local set with
	// Redis while the subscription stays up: it loads the revocations
	// Redis holds that the local set lacks, and writes back (SET NX, with
	// the TTL each has left, broadcast) those the local set holds that
	// Redis lacks. This heals a Redis Cluster master restarted without
	// persistence, which drops no subscription and so triggers no
	// reconnection resync. Each wait is drawn at random between half and
	// all of the interval, so a fleet does not resync in step.
	//
	// One resync costs, per master, one SCAN of the database (COUNT 1000
	// per call; MATCH filters on the server, so a database shared with
	// other data costs about one call per 1000 keys of it) with one PTTL
	// pipeline per SCAN page, then one pipeline of SET NX and one of
	// PUBLISH for what was missing; and memory for one map of the
	// revocations found. It runs on the writer goroutine, between write
	// attempts, and is skipped while the Store is not synchronised (the
	// reconnection resyncs anyway). A failure is reported through OnError
	// and retried at the next interval.
	//
	// Default 1 minute; a negative value disables it; a positive value
	// below MinResyncInterval is invalid.
	ResyncInterval time.Duration
}

// withDefaults returns a copy of o with defaults filled in, or an error
// wrapping clerkauth.ErrInvalidConfig.
func (o Options) withDefaults() (Options, error) {
	for _, d := range []time.Duration{o.MinTTL, o.MaxTTL, o.PingInterval, o.RetryInterval, o.MaxRetryInterval} {
		if d < 0 {
			return o, fmt.Errorf("redisstore: negative duration in options: %w", clerkauth.ErrInvalidConfig)
		}
	}
	if o.ResyncInterval > 0 && o.ResyncInterval < MinResyncInterval {
		return o, fmt.Errorf("redisstore: ResyncInterval %v below %v: %w", o.ResyncInterval, MinResyncInterval, clerkauth.ErrInvalidConfig)
	}
	if o.MaxPending < 0 {
		return o, fmt.Errorf("redisstore: negative MaxPending: %w", clerkauth.ErrInvalidConfig)
	}
	if o.MaxPending == 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.Channel == "" {
		o.Channel = o.Prefix + "events"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.MinTTL = orDefault(o.MinTTL, DefaultMinTTL)
	o.MaxTTL = orDefault(o.MaxTTL, DefaultMaxTTL)
	o.PingInterval = orDefault(o.PingInterval, DefaultPingInterval)
	o.RetryInterval = orDefault(o.RetryInterval, DefaultRetryInterval)
	o.ResyncInterval = orDefault(o.ResyncInterval, DefaultResyncInterval)
	o.MaxRetryInterval = orDefault(o.MaxRetryInterval, max(DefaultMaxRetry, o.RetryInterval))
	if o.MinTTL > o.MaxTTL {
		return o, fmt.Errorf("redisstore: MinTTL %v exceeds MaxTTL %v: %w", o.MinTTL, o.MaxTTL, clerkauth.ErrInvalidConfig)
	}
	if o.RetryInterval > o.MaxRetryInterval {
		return o, fmt.Errorf("redisstore: RetryInterval exceeds MaxRetryInterval: %w", clerkauth.ErrInvalidConfig)
	}
	return o, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// ttlFor returns how long a revocation asked to last until must be kept,
// counted from now and clamped to [MinTTL, MaxTTL]. A zero until means the
// caller does not know: keep it for MaxTTL.
func (o *Options) ttlFor(until, now time.Time) time.Duration {
	if until.IsZero() {
		return o.MaxTTL
	}
	return min(max(until.Sub(now), o.MinTTL), o.MaxTTL)
}
