package clerkauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// This file lets the replicas of a service share the verification of
// opaque machine tokens through a MachineTokenCache (issue #16), so that
// Clerk's Backend API sees about one call per token per
// MachineTokenCacheTTL for the whole fleet, not one per replica:
//
//   - a refusal is shared too, briefly (negativeTTL), as a negative entry;
//   - a cache that is also a MachineTokenLeaser lets one replica call Clerk
//     for a token while the others missing it wait, at most
//     fleetLeaseWait, for its answer;
//   - a cache that is also a MachineTokenWatcher tells every Verifier when
//     an entry is deleted (ForgetMachineToken, ForgetMachineTokenID on any
//     replica), so that their in-process caches drop it at once.
//
// The shared cache is only a cache: a cache that fails or is slow makes
// the Verifier fall back to its in-process cache and to its own calls,
// within MachineVerifyRate.

// MachineTokenLeaser is implemented by a [MachineTokenCache] that grants
// short leases. When replicas miss the same token at the same moment, the
// one that takes the lease named after the token's cache key asks Clerk
// and stores the answer; the others wait for that answer, polling the
// cache, for at most a second, then ask Clerk themselves. A Verifier
// discovers the interface by type assertion on Config.MachineTokenCache.
//
// Implementations must be safe for concurrent use by multiple goroutines.
type MachineTokenLeaser interface {
	// Lease takes the lease named key for ttl, unless someone holds it,
	// and reports whether it was taken.
	Lease(ctx context.Context, key string, ttl time.Duration) (bool, error)
	// Unlease gives back a lease this cache took, so that waiters need not
	// wait for its ttl. Giving back a lease it no longer holds (expired,
	// taken by another) must change nothing.
	Unlease(ctx context.Context, key string) error
}

// MachineTokenWatcher is implemented by a [MachineTokenCache] that tells
// the Verifiers using it, on every replica, when an entry is deleted, so
// that they drop it from their in-process caches without waiting for
// MachineTokenCacheTTL. A Verifier calls Watch once, from NewVerifier,
// and stop from Close.
//
// forget is called with the key of a deleted entry, or with "" when the
// watcher may have missed deletions (after a lost connection): every
// in-process entry is then dropped. forget is fast and never blocks; it is
// safe to call from any goroutine.
type MachineTokenWatcher interface {
	Watch(forget func(key string)) (stop func())
}

const (
	// fleetLeaseWait bounds how long a Verifier waits for the replica
	// holding a token's lease to answer before it asks Clerk itself; it is
	// also the lease's ttl.
	fleetLeaseWait = time.Second
	// fleetPollMin and fleetPollMax bound the pause between two looks at
	// the shared cache while waiting.
	fleetPollMin = 2 * time.Millisecond
	fleetPollMax = 25 * time.Millisecond
	// forgottenSize bounds the keys remembered as forgotten, so that a
	// call in flight when its token was forgotten is not cached: as many
	// as the in-process caches hold, so a bulk revocation of up to that
	// many tokens within one TTL (each forget by ID remembers about two
	// keys) pushes none out early. Only forgets fill it (the operator's,
	// or another replica's through the shared cache), never callers;
	// about 100 bytes an entry.
	forgottenSize = machineCacheSize
)

// fleet is the part of an opaqueVerifier that deals with other replicas.
type fleet struct {
	leaser    MachineTokenLeaser // nil when the shared cache has no leases
	stopWatch func()
	forgotten *lru.Cache[[sha256.Size]byte, time.Time] // key -> when forgotten
	holding   atomic.Int32                             // leases held
}

func newFleet(shared MachineTokenCache, forget func(string)) *fleet {
	forgotten, _ := lru.New[[sha256.Size]byte, time.Time](forgottenSize)
	f := &fleet{forgotten: forgotten, stopWatch: func() {}}
	if l, ok := shared.(MachineTokenLeaser); ok {
		f.leaser = l
	}
	if w, ok := shared.(MachineTokenWatcher); ok {
		f.stopWatch = w.Watch(forget)
	}
	return f
}

// sharedRefusal is the encoding of a refused token in a MachineTokenCache.
// decodeShared never mistakes it for a confirmed token: it has no ID.
type sharedRefusal struct {
	V       int       `json:"v"`
	Kind    TokenKind `json:"kind"`
	Refused bool      `json:"refused"`
	Until   int64     `json:"until"` // Unix ms
}

// noteSharedRefusal reports whether b, read from the shared cache, is a
// refusal of a token of kind still in force at now; it then remembers the
// refusal in process.
func (o *opaqueVerifier) noteSharedRefusal(key [sha256.Size]byte, b []byte, kind TokenKind, now time.Time) bool {
	var r sharedRefusal
	if json.Unmarshal(b, &r) != nil || !r.Refused || r.V != sharedEntryVersion || r.Kind != kind {
		return false
	}
	until := time.UnixMilli(r.Until)
	if !now.Before(until) {
		return false
	}
	o.refused.Add(key, minTime(until, now.Add(negativeTTL)))
	return true
}

// confirmShared asks Clerk about token, unless another replica is asking
// already: then it waits for that answer in the shared cache. It also
// shares what Clerk answered.
func (o *opaqueVerifier) confirmShared(ctx context.Context, key [sha256.Size]byte, token string, kind TokenKind, bearer string, strict bool) (*MachineToken, error) {
	if o.shared == nil {
		return o.confirm(ctx, key, token, kind, bearer)
	}
	if o.fleet.leaser != nil && !strict && o.ttl > 0 {
		name := sharedKey(key)
		mt, answered, err := o.awaitLease(ctx, key, name, kind)
		if answered {
			return mt, err
		}
		if err == nil { // we hold the lease
			defer o.giveBack(ctx, name)
		}
	}
	began := time.Now()
	mt, err := o.confirm(ctx, key, token, kind, bearer)
	switch {
	case err == nil:
		o.shareIndex(ctx, key, mt, began)
	case errors.Is(err, ErrInvalidToken):
		o.shareRefusal(ctx, key, kind)
	}
	return mt, err
}

// errNoLease says a Verifier gave up waiting and asks Clerk without the
// lease.
var errNoLease = errors.New("clerkauth: no lease")

// awaitLease returns the verdict another replica stored (mt or err),
// with answered set; else it returns a nil error once this Verifier holds
// the lease, or errNoLease when it must ask Clerk without it (the wait is
// over, the cache fails).
func (o *opaqueVerifier) awaitLease(ctx context.Context, key [sha256.Size]byte, name string, kind TokenKind) (mt *MachineToken, answered bool, err error) {
	deadline := time.NewTimer(fleetLeaseWait)
	defer deadline.Stop()
	pause := fleetPollMin
	for {
		lease, lerr := o.tryLease(ctx, name)
		// Look after the lease is taken too: its last holder stored its
		// answer before giving it back.
		if mt, ok, err := o.sharedAnswer(ctx, key, kind); ok {
			if lease == leaseTaken {
				o.giveBack(ctx, name)
			}
			return mt, true, err
		}
		switch {
		case lerr != nil:
			return nil, false, errNoLease
		case lease == leaseTaken:
			return nil, false, nil
		case lease == leaseFree:
			// Nobody asks Clerk about the token: no answer will come.
			return nil, false, errNoLease
		}
		t := time.NewTimer(pause)
		select {
		case <-t.C:
		case <-deadline.C:
			t.Stop()
			return nil, false, errNoLease
		case <-ctx.Done():
			t.Stop()
			return nil, false, errNoLease // the flight reports the context's end
		}
		pause = min(2*pause, fleetPollMax)
	}
}

// leaseState is what tryLease found of a token's lease.
type leaseState uint8

const (
	leaseHeld  leaseState = iota // another replica (or call) holds it: its answer will come
	leaseTaken                   // this Verifier holds it now
	leaseFree                    // nobody holds it, and this Verifier may not
)

// tryLease takes the lease of name unless this Verifier already holds
// as many leases as it may make calls at once: a call it could not make
// would be answered 503, so it lets another replica take the lease. Then
// it only learns whether someone holds the lease (leaseHeld: wait for the
// answer) or not (leaseFree: no answer will come; a flood of made-up
// tokens is answered at once, not after fleetLeaseWait of polling).
func (o *opaqueVerifier) tryLease(ctx context.Context, name string) (leaseState, error) {
	saturated := o.fleet.holding.Add(1) > maxVerifyInFlight
	taken, err := o.fleet.leaser.Lease(ctx, name, fleetLeaseWait)
	switch {
	case err != nil || !taken:
		o.fleet.holding.Add(-1)
		return leaseHeld, err
	case saturated:
		o.giveBack(ctx, name)
		return leaseFree, nil
	}
	return leaseTaken, nil
}

// giveBack gives back a lease tryLease took.
func (o *opaqueVerifier) giveBack(ctx context.Context, name string) {
	_ = o.fleet.leaser.Unlease(context.WithoutCancel(ctx), name)
	o.fleet.holding.Add(-1)
}

// sharedAnswer returns the verdict about the token of key that the caches
// hold now, if any.
func (o *opaqueVerifier) sharedAnswer(ctx context.Context, key [sha256.Size]byte, kind TokenKind) (*MachineToken, bool, error) {
	now := o.now()
	if mt, ok := o.cached(ctx, key, kind, now); ok {
		return mt, true, nil
	}
	if until, ok := o.refused.Get(key); ok && now.Before(until) {
		return nil, true, verr(ReasonTokenInvalid, "Clerk did not confirm the token (remembered)")
	}
	return nil, false, nil
}

// shareRefusal stores a refusal in the shared cache for negativeTTL.
func (o *opaqueVerifier) shareRefusal(ctx context.Context, key [sha256.Size]byte, kind TokenKind) {
	until := o.now().Add(negativeTTL)
	b, _ := json.Marshal(sharedRefusal{V: sharedEntryVersion, Kind: kind, Refused: true, Until: until.UnixMilli()})
	if err := o.shared.Set(ctx, sharedKey(key), b, negativeTTL); err != nil {
		o.log(slog.LevelDebug, "clerkauth: machine token cache write failed", slog.String("error", err.Error()))
	}
}

// shareIndex records, next to a confirmed token's entry, which entry
// holds the token of its ID, so that ForgetMachineTokenID finds it. A
// token forgotten (by key or by ID) while its call was in flight is
// dropped again instead: the answer may predate the revocation.
func (o *opaqueVerifier) shareIndex(ctx context.Context, key [sha256.Size]byte, mt *MachineToken, began time.Time) {
	if o.forgottenSince(key, mt, began) {
		_ = o.forgetKey(ctx, key)
		return
	}
	e, ok := o.local.Peek(key)
	if !ok {
		return // not cached (TTL off, or already expired)
	}
	ttl := e.until.Sub(o.now())
	if ttl <= 0 {
		return
	}
	if err := o.shared.Set(ctx, sharedKey(o.idSum(mt.ID)), []byte(sharedKey(key)), ttl); err != nil {
		o.log(slog.LevelDebug, "clerkauth: machine token cache write failed", slog.String("error", err.Error()))
	}
}

// forgottenSince reports whether mt, the token of key, was forgotten by
// key or by ID at or after t: an answer about it obtained since t may
// predate its revocation, and is not cached.
func (o *opaqueVerifier) forgottenSince(key [sha256.Size]byte, mt *MachineToken, t time.Time) bool {
	for _, k := range [...][sha256.Size]byte{key, o.idSum(mt.ID)} {
		if at, ok := o.fleet.forgotten.Get(k); ok && !at.Before(t) {
			return true
		}
	}
	return false
}

// distrustsShared reports whether mt, the token of key, read from the
// shared cache at t, may be stale: it was forgotten since t -
// MachineTokenCacheTTL. A replica whose call to Clerk was in flight
// during the revocation may have stored an answer predating it (it drops
// it again once it learns of the revocation, but a reader may have read
// it in between); such an entry lives at most the TTL. For that long, this
// Verifier asks Clerk itself about the token: one call per replica per
// revocation.
func (o *opaqueVerifier) distrustsShared(key [sha256.Size]byte, mt *MachineToken, t time.Time) bool {
	return o.forgottenSince(key, mt, t.Add(-o.ttl))
}

// idSum is the hash naming the index entry of a token ID in the shared
// cache, and the ID in deletions. No token starts with a NUL byte, so it
// names no token's entry.
func (o *opaqueVerifier) idSum(id string) [sha256.Size]byte {
	return o.hasher.sum("\x00id\x00" + id)
}

// forgetToken drops the token of key from every cache, with the index
// entry of its ID when this Verifier knows the ID.
func (o *opaqueVerifier) forgetToken(ctx context.Context, key [sha256.Size]byte) error {
	e, known := o.local.Peek(key)
	if err := o.forgetKey(ctx, key); err != nil || !known {
		return err
	}
	return o.forgetKey(ctx, o.idSum(e.mt.ID))
}

// forgetKey drops the entry of key from this Verifier and from the shared
// cache (which tells the other replicas, if it is a MachineTokenWatcher).
func (o *opaqueVerifier) forgetKey(ctx context.Context, key [sha256.Size]byte) error {
	o.forgetLocal(key)
	if o.shared == nil {
		return nil
	}
	return o.shared.Delete(ctx, sharedKey(key))
}

// forgetLocal drops the token of key from the in-process cache, and
// remembers when, so that an answer obtained before is not cached. key
// may be an ID's (idSum): nothing is cached under it, but the time is
// remembered all the same.
func (o *opaqueVerifier) forgetLocal(key [sha256.Size]byte) {
	o.fleet.forgotten.Add(key, time.Now())
	o.local.Remove(key)
}

// forgetLocalID drops from the in-process cache the tokens whose ID, or
// whose ID's hash, is given, and returns their keys.
func (o *opaqueVerifier) forgetLocalID(match func(mt *MachineToken) bool) [][sha256.Size]byte {
	var keys [][sha256.Size]byte
	for _, key := range o.local.Keys() {
		if e, ok := o.local.Peek(key); ok && match(e.mt) {
			o.forgetLocal(key)
			keys = append(keys, key)
		}
	}
	return keys
}

// forgetWatched is the callback a MachineTokenWatcher calls with the key
// of an entry deleted anywhere in the fleet, or "" for every entry. A key
// this Verifier holds no token under may be an ID's: the tokens of that
// ID are dropped (rare: deletions follow revocations).
func (o *opaqueVerifier) forgetWatched(name string) {
	if name == "" {
		o.local.Purge()
		return
	}
	var key [sha256.Size]byte
	if n, err := hex.Decode(key[:], []byte(name)); err != nil || n != len(key) {
		return // a foreign key: nothing cached under it
	}
	if o.local.Contains(key) {
		o.forgetLocal(key)
		return
	}
	o.forgetLocal(key)
	o.forgetLocalID(func(mt *MachineToken) bool { return o.idSum(mt.ID) == key })
}

// forgetID drops the token whose ID is id from every cache. It always
// deletes the ID's index entry, so that every replica learns the ID is
// forgotten even when no cache holds the token now: an answer about it
// from a call in flight is then not cached.
func (o *opaqueVerifier) forgetID(ctx context.Context, id string) error {
	idk := o.idSum(id)
	o.forgetLocal(idk)
	for _, key := range o.forgetLocalID(func(mt *MachineToken) bool { return mt.ID == id }) {
		if err := o.forgetKey(ctx, key); err != nil {
			return err
		}
	}
	if o.shared == nil {
		return nil
	}
	b, err := o.shared.Get(ctx, sharedKey(idk))
	if err != nil {
		return err
	}
	var key [sha256.Size]byte
	if n, err := hex.Decode(key[:], b); err == nil && n == len(key) {
		if err := o.forgetKey(ctx, key); err != nil {
			return err
		}
	}
	return o.forgetKey(ctx, idk)
}

// ForgetMachineTokenID drops the opaque machine token (or API key) whose
// ID is id (mt_…, ak_…, oat_…: the ID, not the token) from the Verifier's
// cache and from Config.MachineTokenCache, so that its next use asks
// Clerk. Call it when the application revokes a token by ID (for one,
// through [M2MTokensClient.Revoke]) or learns of a revocation by ID (from
// a webhook, an admin tool). When the shared cache is a
// [MachineTokenWatcher] (redisstore.MachineCache is), every replica drops
// the token from its in-process cache too. The error is the shared
// cache's: a failed forget should be retried (a webhook handler answers
// 5xx so that it is delivered again).
func (v *Verifier) ForgetMachineTokenID(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty token ID", ErrInvalidArgument)
	}
	return v.opaque.forgetID(ctx, id)
}
