package main

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Uses noted in memory, for cachingStore: a user's last_seen, and each
// session's last use, which slides its expiry. A request only notes its
// time, at most once every interval per user or session; the caching
// store's background writer stores what was noted in one transaction a
// second, so an authenticated read is never a database write, however many
// clients call. Reads show the noted value when it is newer than the
// stored one, so what clients see is as fresh as if every note were a
// write. A crash loses at most the notes of the last second and of the
// last interval: a session may then expire up to maxSessionLag early,
// never late.

// notedUsesFlushInterval is how often noted uses are written.
const notedUsesFlushInterval = time.Second

// maxSessionLag is how far a session's stored last use and expiry may lag
// its real ones: min(1 minute, the token lifetime / 10). A session is noted
// for writing at most once in half of it, and the notes are written every
// notedUsesFlushInterval, which leaves the other half for a slow write.
func maxSessionLag(tokenTTL time.Duration) time.Duration {
	return min(time.Minute, tokenTTL/10)
}

// useRecorder keeps the latest noted use of each key, and the notes not
// yet written.
type useRecorder[K comparable, V any] struct {
	interval time.Duration
	at       func(V) time.Time // when a note was taken

	mu sync.Mutex
	// noted holds the latest note for each key noted within the interval,
	// written or not; pending holds the notes not yet written.
	noted   map[K]V
	pending map[K]V
}

func newUseRecorder[K comparable, V any](interval time.Duration, at func(V) time.Time) *useRecorder[K, V] {
	return &useRecorder[K, V]{interval: interval, at: at, noted: map[K]V{}, pending: map[K]V{}}
}

// note records v for k, unless a note within the interval stands.
func (u *useRecorder[K, V]) note(k K, v V) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if old, ok := u.noted[k]; ok && u.at(old).After(u.at(v).Add(-u.interval)) {
		return
	}
	u.noted[k] = v
	u.pending[k] = v
}

// latest is the newest note for k, if there is one.
func (u *useRecorder[K, V]) latest(k K) (V, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	v, ok := u.noted[k]
	return v, ok
}

// take hands over the notes to write and forgets the keys last noted
// before the interval whose notes an earlier take handed over: the writer
// has stored those by now, so the stored value is as new.
func (u *useRecorder[K, V]) take(now time.Time) map[K]V {
	u.mu.Lock()
	defer u.mu.Unlock()
	cutoff := now.Add(-u.interval)
	for k, v := range u.noted {
		if _, waiting := u.pending[k]; !waiting && !u.at(v).After(cutoff) {
			delete(u.noted, k)
		}
	}
	taken := u.pending
	u.pending = make(map[K]V)
	return taken
}

// putBack returns notes a failed write did not store, unless newer ones
// came in meanwhile.
func (u *useRecorder[K, V]) putBack(notes map[K]V) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for k, v := range notes {
		if newer, ok := u.pending[k]; !ok || u.at(v).After(u.at(newer)) {
			u.pending[k] = v
		}
	}
}

// flushNotedUses writes the pending notes of users and sessions. A failure
// keeps them for the next flush and is logged.
func (c *cachingStore) flushNotedUses(ctx context.Context) {
	now := c.now()
	seen, used := c.lastSeen.take(now), c.sessionUses.take(now)
	var errs []error
	if len(seen) > 0 {
		if err := c.db.writeLastSeen(ctx, seen); err != nil {
			c.lastSeen.putBack(seen)
			errs = append(errs, err)
		}
	}
	if len(used) > 0 {
		if err := c.db.writeSessionUses(ctx, used); err != nil {
			c.sessionUses.putBack(used)
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil && ctx.Err() == nil {
		c.log.Error("write noted uses", "users", len(seen), "sessions", len(used), "error", err)
	}
}
