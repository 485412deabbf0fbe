package redisstore

import (
	"sync"
	"time"
)

// localSet is the replica-local set of revoked session IDs, each mapped to
// the UnixNano time (local clock) it may be forgotten at. It is a sync.Map so
// that lookups, the hot path, are lock-free and scale across cores; writes
// are rare. It is safe for concurrent use.
type localSet struct {
	m sync.Map // string -> int64
}

// has reports whether id is revoked at now(). It reads the clock only for
// a known id: most lookups miss.
func (l *localSet) has(id string, now func() time.Time) bool {
	v, ok := l.m.Load(id)
	return ok && now().UnixNano() < v.(int64)
}

// add records id as revoked until the given time, keeping the later of the
// new and any existing time.
func (l *localSet) add(id string, until time.Time) {
	u := until.UnixNano()
	for {
		old, loaded := l.m.LoadOrStore(id, u)
		if !loaded || old.(int64) >= u || l.m.CompareAndSwap(id, old, u) {
			return
		}
	}
}

// purge drops the entries expired at now.
func (l *localSet) purge(now time.Time) {
	n := now.UnixNano()
	l.m.Range(func(k, v any) bool {
		if v.(int64) <= n {
			l.m.CompareAndDelete(k, v)
		}
		return true
	})
}

// live calls fn for every entry not expired at now, with its remaining time.
func (l *localSet) live(now time.Time, fn func(id string, remaining time.Duration)) {
	n := now.UnixNano()
	l.m.Range(func(k, v any) bool {
		if u := v.(int64); u > n {
			fn(k.(string), time.Duration(u-n))
		}
		return true
	})
}

// len counts the entries, expired ones not yet purged included.
func (l *localSet) len() int {
	n := 0
	l.m.Range(func(_, _ any) bool { n++; return true })
	return n
}
