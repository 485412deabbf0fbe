package clerkauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// MachineTokenCache is a second-level cache of opaque machine tokens that
// Clerk confirmed, shared by the replicas of a service (a Redis store, for
// one), so that a token confirmed by one replica costs the others no call
// to Clerk. Each Verifier keeps a small in-process cache in front of it.
//
// Keys are keyed hashes of tokens (HMAC-SHA256 under a key derived from
// the instance's secret key, hex-encoded): never a token, and useless to
// whoever reads the cache without the secret key. Values are opaque bytes
// that expire after ttl; the Verifier also re-checks the expiration they
// hold. A Get that fails or finds nothing returns nil: the Verifier then
// asks Clerk. Errors are never fatal: the cache is only a cache.
//
// Implementations must be safe for concurrent use by multiple goroutines.
// Whoever can write to the cache can make tokens valid: protect it as the
// secret key.
type MachineTokenCache interface {
	// Get returns the value stored under key, or nil when there is none.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores value under key for ttl.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes key; removing a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// tokenHasher computes the keyed hash (HMAC-SHA256) that names a machine
// token in the caches. The pads are computed once; a token of ordinary
// size is hashed from stack buffers, without allocating.
type tokenHasher struct {
	ipad, opad [sha256.BlockSize]byte
}

// hashKeyContext separates the cache key from any other use of the secret.
const hashKeyContext = "clerkauth machine token cache v1\x00"

func newTokenHasher(secret string) tokenHasher {
	k := sha256.Sum256([]byte(hashKeyContext + secret))
	var h tokenHasher
	for i := range h.ipad {
		var b byte
		if i < len(k) {
			b = k[i]
		}
		h.ipad[i], h.opad[i] = b^0x36, b^0x5c
	}
	return h
}

// sum returns HMAC-SHA256(key, token).
func (h *tokenHasher) sum(token string) [sha256.Size]byte {
	var inner [sha256.Size]byte
	var buf [sha256.BlockSize + 512]byte
	if len(token) <= len(buf)-sha256.BlockSize {
		inner = sha256.Sum256(append(append(buf[:0], h.ipad[:]...), token...))
	} else {
		d := sha256.New()
		d.Write(h.ipad[:])
		d.Write([]byte(token))
		d.Sum(inner[:0])
	}
	var outer [sha256.BlockSize + sha256.Size]byte
	copy(outer[:], h.opad[:])
	copy(outer[sha256.BlockSize:], inner[:])
	return sha256.Sum256(outer[:])
}

// sharedEntry is the encoding of a confirmed token in a MachineTokenCache.
type sharedEntry struct {
	V          int             `json:"v"`
	Kind       TokenKind       `json:"kind"`
	ID         string          `json:"id"`
	Subject    string          `json:"sub"`
	Scopes     []string        `json:"scopes,omitempty"`
	Claims     json.RawMessage `json:"claims,omitempty"`
	Name       string          `json:"name,omitempty"`
	ClientID   string          `json:"client_id,omitempty"`
	Expiration int64           `json:"exp,omitempty"` // Unix ms, 0 for never
	IssuedAt   int64           `json:"iat,omitempty"` // Unix ms
	Until      int64           `json:"until"`         // Unix ms: trusted until
}

const sharedEntryVersion = 1

func encodeShared(mt *MachineToken, until time.Time) []byte {
	e := sharedEntry{
		V: sharedEntryVersion, Kind: mt.Kind, ID: mt.ID, Subject: mt.Subject, Scopes: mt.Scopes,
		Claims: mt.Claims, Name: mt.Name, ClientID: mt.ClientID,
		Expiration: unixMilliOrZero(mt.Expiration), IssuedAt: unixMilliOrZero(mt.IssuedAt),
		Until: until.UnixMilli(),
	}
	b, _ := json.Marshal(e) // cannot fail: plain values and valid raw JSON
	return b
}

// decodeShared decodes a cached value, and reports whether it is one this
// version wrote for a token of kind, still trusted at now.
func decodeShared(b []byte, kind TokenKind, now time.Time) (*MachineToken, time.Time, error) {
	var e sharedEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, time.Time{}, err
	}
	until := time.UnixMilli(e.Until)
	switch {
	case e.V != sharedEntryVersion || e.Kind != kind:
		return nil, until, fmt.Errorf("clerkauth: cached entry of another version or kind")
	case e.ID == "" || e.Subject == "":
		return nil, until, fmt.Errorf("clerkauth: cached entry without ID or subject")
	case !now.Before(until):
		return nil, until, fmt.Errorf("clerkauth: cached entry past its time")
	}
	mt := &MachineToken{
		Kind: e.Kind, ID: e.ID, Subject: e.Subject, Scopes: e.Scopes, Claims: e.Claims,
		Name: e.Name, ClientID: e.ClientID, Expiration: timeOfMilli(e.Expiration), IssuedAt: timeOfMilli(e.IssuedAt),
	}
	return mt, until, nil
}

func unixMilliOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func timeOfMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// sharedKey is the MachineTokenCache key of a token's hash.
func sharedKey(sum [sha256.Size]byte) string {
	return hex.EncodeToString(sum[:])
}

// hashSecretOf returns the secret the cache keys derive from: the
// instance's secret key and the machine secret key. Replicas sharing a
// MachineTokenCache share both, and so agree on keys. The machine key is
// part of it because Clerk confirms an M2M token to a machine's key only
// if the token is scoped to that machine: services verifying with
// different machine keys must not share verdicts, even through one Redis.
func hashSecretOf(cfg *Config) string {
	return cfg.SecretKey + "\x00" + cfg.MachineSecretKey
}

// machineDefaults validates and fills the machine-token fields of cfg.
func (cfg *Config) machineDefaults() error {
	switch {
	case cfg.MachineTokenCacheTTL > MaxMachineTokenCacheTTL:
		return configError("%s "+cfg.MachineTokenCacheTTL.String()+" exceeds "+MaxMachineTokenCacheTTL.String(), "MachineTokenCacheTTL")
	case cfg.MachineVerifyRate < 0:
		return configError("%s is negative", "MachineVerifyRate")
	case cfg.MachineVerifyBurst < 0:
		return configError("%s is negative", "MachineVerifyBurst")
	}
	cfg.MachineTokenCacheTTL = orDefault(cfg.MachineTokenCacheTTL, DefaultMachineTokenCacheTTL)
	rate, burst := 50.0, 200
	if strings.HasPrefix(cfg.SecretKey, "sk_test_") || strings.HasPrefix(cfg.PublishableKey, "pk_test_") {
		rate, burst = 5, 20
	}
	cfg.MachineVerifyRate = orDefault(cfg.MachineVerifyRate, rate)
	cfg.MachineVerifyBurst = orDefault(cfg.MachineVerifyBurst, burst)
	return nil
}
