package main

import (
	"slices"
	"sync"
	"time"
)

const (
	defaultThrottleLimit  = 10
	defaultThrottleWindow = 15 * time.Minute
	// maxThrottleEntries bounds the table's memory (about 10 MiB when full).
	maxThrottleEntries = 100_000
)

// throttleKey is what failures are counted by: a username (lower-cased, as
// usernames are unique in any case) tried from one client address at
// POST /api/tokens, or a user id whose current password is being confirmed.
type throttleKey struct {
	username string
	addr     string
	userID   int64
}

type throttleEntry struct {
	attempts    int // attempts not known to have succeeded
	lastAttempt time.Time
	lockedUntil time.Time
}

// loginThrottle locks out a username from an address after limit
// consecutive failed logins, for window. An attempt counts as failed from
// the moment it starts until it succeeds, so that many guesses sent at once
// cannot all get through before the first of them fails.
type loginThrottle struct {
	limit      int
	window     time.Duration
	maxEntries int
	now        func() time.Time

	mu      sync.Mutex
	entries map[throttleKey]*throttleEntry
}

func newLoginThrottle(limit int, window time.Duration, now func() time.Time) *loginThrottle {
	return &loginThrottle{
		limit:      limit,
		window:     window,
		maxEntries: maxThrottleEntries,
		now:        now,
		entries:    map[throttleKey]*throttleEntry{},
	}
}

// begin records the start of a login attempt. It returns 0 when the attempt
// may go ahead, or how long the client must wait.
func (t *loginThrottle) begin(key throttleKey) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	e := t.entries[key]
	if e != nil && t.stale(e, now) {
		delete(t.entries, key)
		e = nil
	}
	if e == nil {
		if len(t.entries) >= t.maxEntries && !t.makeRoomLocked(now) {
			return t.window // full of live lockouts: refuse rather than forget one
		}
		e = &throttleEntry{}
		t.entries[key] = e
	}
	switch {
	case now.Before(e.lockedUntil):
		return e.lockedUntil.Sub(now)
	case e.attempts >= t.limit:
		// The limit is reached by attempts still being checked; one of them
		// may yet succeed, so ask for a short wait, not the whole window.
		return time.Second
	}
	e.attempts++
	e.lastAttempt = now
	return 0
}

// failed records that an attempt begun for key had a wrong password.
func (t *loginThrottle) failed(key throttleKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.entries[key]; e != nil && e.attempts >= t.limit && e.lockedUntil.IsZero() {
		e.lockedUntil = t.now().Add(t.window)
	}
}

// abandoned takes back an attempt begun for key whose password was never
// checked (the server was busy, or the client went away), so that it counts
// neither way and leaves nothing behind.
func (t *loginThrottle) abandoned(key throttleKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.entries[key]
	if e == nil || e.attempts == 0 {
		return
	}
	e.attempts--
	if e.attempts == 0 && e.lockedUntil.IsZero() {
		delete(t.entries, key)
	}
}

// succeeded forgets the failures of key: they were not consecutive after all.
func (t *loginThrottle) succeeded(key throttleKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, key)
}

// sweep forgets entries that no longer hold anything back.
func (t *loginThrottle) sweep() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweepLocked(t.now())
}

// makeRoomLocked frees space in a full table: first the stale entries, then,
// if that is not enough, the oldest eighth of those not locked out, so that
// a flood of made-up usernames costs a few counts, never a lockout.
func (t *loginThrottle) makeRoomLocked(now time.Time) bool {
	t.sweepLocked(now)
	if len(t.entries) < t.maxEntries {
		return true
	}
	var unlocked []throttleKey
	for key, e := range t.entries {
		if e.lockedUntil.IsZero() {
			unlocked = append(unlocked, key)
		}
	}
	if len(unlocked) == 0 {
		return false
	}
	slices.SortFunc(unlocked, func(a, b throttleKey) int {
		return t.entries[a].lastAttempt.Compare(t.entries[b].lastAttempt)
	})
	for _, key := range unlocked[:max(1, len(unlocked)/8)] {
		delete(t.entries, key)
	}
	return true
}

func (t *loginThrottle) sweepLocked(now time.Time) {
	for key, e := range t.entries {
		if t.stale(e, now) {
			delete(t.entries, key)
		}
	}
}

// stale reports whether an entry holds nothing back any more: its lockout
// has passed, or it was never locked and its last attempt is a window old.
func (t *loginThrottle) stale(e *throttleEntry, now time.Time) bool {
	if !e.lockedUntil.IsZero() {
		return !now.Before(e.lockedUntil)
	}
	return now.Sub(e.lastAttempt) >= t.window
}
