package main

import (
	"context"
	"errors"
	"sync"
	"time"
)

// lastSeenInterval is how stale a stored last_seen may get: a user is noted
// at most once in it.
const lastSeenInterval = time.Minute

// lastSeenFlushInterval is how often noted uses are written.
const lastSeenFlushInterval = time.Second

// maxSessionLag is how far a session's stored last use and expiry may lag
// its real ones: min(1 minute, the token lifetime / 10). A session is noted
// for writing at most once in half of it, and the notes are written every
// lastSeenFlushInterval.
func maxSessionLag(tokenTTL time.Duration) time.Duration {
	return min(time.Minute, tokenTTL/10)
}

// useRecorder keeps writes of "last used" times off the request path: the
// users' last_seen, and the sessions' last use and sliding expiry. A
// request only notes its time in memory, at most once every interval per
// id; a background writer stores what was noted in one transaction a
// second, so an authenticated read is never a database write, however many
// clients call. Reads show the noted value when it is newer than the
// stored one, so what clients see is as fresh as if every note were a
// write. A crash loses at most the notes of the last second and of the
// last interval: a session may then expire up to that much early, never
// late.
type useRecorder[V any] struct {
	interval time.Duration
	at       func(V) time.Time // when a note was taken

	mu sync.Mutex
	// noted holds the latest note for each id noted within the interval,
	// written or not; pending holds the notes not yet written.
	noted   map[int64]V
	pending map[int64]V
}

func newUseRecorder[V any](interval time.Duration, at func(V) time.Time) *useRecorder[V] {
	return &useRecorder[V]{interval: interval, at: at, noted: map[int64]V{}, pending: map[int64]V{}}
}

// note records v for id, unless a note within the interval stands.
func (u *useRecorder[V]) note(id int64, v V) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if old, ok := u.noted[id]; ok && u.at(old).After(u.at(v).Add(-u.interval)) {
		return
	}
	u.noted[id] = v
	u.pending[id] = v
}

// latest is the newest note for id, if there is one.
func (u *useRecorder[V]) latest(id int64) (V, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	v, ok := u.noted[id]
	return v, ok
}

// take hands over the notes to write and forgets the ids last noted
// before the interval whose notes an earlier take handed over: the writer
// has stored those by now, so the stored value is as new.
func (u *useRecorder[V]) take(now time.Time) map[int64]V {
	u.mu.Lock()
	defer u.mu.Unlock()
	cutoff := now.Add(-u.interval)
	for id, v := range u.noted {
		if _, waiting := u.pending[id]; !waiting && !u.at(v).After(cutoff) {
			delete(u.noted, id)
		}
	}
	taken := u.pending
	u.pending = make(map[int64]V)
	return taken
}

// putBack returns notes a failed write did not store, unless newer ones
// came in meanwhile.
func (u *useRecorder[V]) putBack(notes map[int64]V) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for id, v := range notes {
		if newer, ok := u.pending[id]; !ok || u.at(v).After(u.at(newer)) {
			u.pending[id] = v
		}
	}
}

// sessionUse is a noted use of a session and the expiry it moves it to.
type sessionUse struct {
	at, expires time.Time
}

// flushLastSeen writes the pending notes of users and sessions. A failure
// keeps them for the next flush and is logged.
func (c *cachingStore) flushLastSeen(ctx context.Context) {
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
	if err := errors.Join(errs...); err != nil {
		c.log.Error("write last uses", "users", len(seen), "sessions", len(used), "error", err)
	}
}

// startLastSeenWriter flushes the notes every interval until the function
// it returns is called; that function writes what is left and then returns,
// so the store can close after it.
func (c *cachingStore) startLastSeenWriter(interval time.Duration) (stop func()) {
	stopFlushing := runEvery(interval, c.flushLastSeen)
	return sync.OnceFunc(func() {
		stopFlushing()
		c.flushLastSeen(context.Background())
	})
}
