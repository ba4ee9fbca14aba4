package main

import (
	"context"
	"sync"
	"time"
)

// lastSeenInterval is how stale a stored last_seen may get: a user is noted
// at most once in it.
const lastSeenInterval = time.Minute

// lastSeenFlushInterval is how often noted last_seen times are written.
const lastSeenFlushInterval = time.Second

// lastSeenRecorder keeps last_seen writes off the request path. A request
// only notes its user's time in memory, at most once a minute per user; a
// background writer stores what was noted in one transaction a second, so
// an authenticated read is never a database write, however many users
// call. Views of a user show the noted time when it is newer than the
// stored one, so what clients see is as fresh as if every note were a write.
// A crash loses at most the last second of notes: last_seen is a hint, not
// data a client was promised.
type lastSeenRecorder struct {
	mu sync.Mutex
	// noted holds the latest time noted for each user seen within the
	// interval, written or not; pending holds the notes not yet written.
	noted   map[int64]time.Time
	pending map[int64]time.Time
}

func newLastSeenRecorder() *lastSeenRecorder {
	return &lastSeenRecorder{noted: make(map[int64]time.Time), pending: make(map[int64]time.Time)}
}

// note records that a user was seen at now, unless it was within the interval.
func (l *lastSeenRecorder) note(userID int64, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t, ok := l.noted[userID]; ok && t.After(now.Add(-lastSeenInterval)) {
		return
	}
	l.noted[userID] = now
	l.pending[userID] = now
}

// latest is the user's last_seen: the stored one or a newer noted one.
func (l *lastSeenRecorder) latest(userID int64, stored time.Time) time.Time {
	l.mu.Lock()
	t, ok := l.noted[userID]
	l.mu.Unlock()
	if ok && t.After(stored) {
		return t
	}
	return stored
}

// take hands over the notes to write and forgets the users last noted
// before the interval whose notes an earlier take handed over: the writer
// has stored those by now, so the stored time is as new.
func (l *lastSeenRecorder) take(now time.Time) map[int64]time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	cutoff := now.Add(-lastSeenInterval)
	for id, t := range l.noted {
		if _, waiting := l.pending[id]; !waiting && !t.After(cutoff) {
			delete(l.noted, id)
		}
	}
	taken := l.pending
	l.pending = make(map[int64]time.Time)
	return taken
}

// putBack returns notes a failed write did not store, unless newer ones
// came in meanwhile.
func (l *lastSeenRecorder) putBack(notes map[int64]time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, t := range notes {
		if newer, ok := l.pending[id]; !ok || t.After(newer) {
			l.pending[id] = t
		}
	}
}

// flushLastSeen writes the pending notes. A failure keeps them for the next
// flush and is logged: it costs only freshness.
func (c *cachingStore) flushLastSeen(ctx context.Context) {
	notes := c.lastSeen.take(c.now())
	if len(notes) == 0 {
		return
	}
	if err := c.db.writeLastSeen(ctx, notes); err != nil {
		c.lastSeen.putBack(notes)
		c.log.Error("write last_seen", "users", len(notes), "error", err)
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
