package main

import (
	"sync"
	"time"
)

const (
	defaultThrottleLimit  = 10
	defaultThrottleWindow = 15 * time.Minute
	// maxThrottleEntries bounds the table's memory. With the password hash
	// limiting logins to a few dozen a second, a table this size holds far
	// more than one window's worth of failures.
	maxThrottleEntries = 100_000
)

// throttleKey is one username (lower-cased, as usernames are unique in any
// case) tried from one client address.
type throttleKey struct {
	username string
	addr     string
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
	limit  int
	window time.Duration
	now    func() time.Time

	mu      sync.Mutex
	entries map[throttleKey]*throttleEntry
}

func newLoginThrottle(limit int, window time.Duration, now func() time.Time) *loginThrottle {
	return &loginThrottle{limit: limit, window: window, now: now, entries: map[throttleKey]*throttleEntry{}}
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
		if len(t.entries) >= maxThrottleEntries {
			t.sweepLocked(now)
			if len(t.entries) >= maxThrottleEntries {
				return t.window // full of live lockouts: refuse rather than forget them
			}
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
