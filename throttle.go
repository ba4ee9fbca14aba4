package main

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	defaultThrottleLimit  = 10
	defaultThrottleWindow = 15 * time.Minute
	// maxThrottleEntries bounds the table's memory: about 25 MiB when full of
	// 64-character usernames from IPv6 addresses (measured).
	maxThrottleEntries = 100_000
)

// throttleKey is what failures are counted by; loginKey and
// currentPasswordKey make them.
type throttleKey struct {
	username string
	addr     string
	userID   int64
}

// loginKey counts the logins at POST /api/tokens of a username from one
// client address. Usernames are unique in any case, so the key is lower
// case. The key outlives the request in the throttle's table; Clone keeps
// it from pinning the decoded Authorization header, password and all.
func loginKey(username, addr string) throttleKey {
	return throttleKey{username: strings.Clone(strings.ToLower(username)), addr: addr}
}

// currentPasswordKey counts the checks of a user's current_password, from
// any address: a stolen token must not buy unlimited guesses at the
// password behind it, and a username can be changed with the token alone,
// so the key is the user id.
func currentPasswordKey(userID int64) throttleKey {
	return throttleKey{userID: userID}
}

type throttleEntry struct {
	failures    int // consecutive, within a window of each other
	inFlight    int // attempts begun whose outcome is not known yet
	lastAttempt time.Time
	lockedUntil time.Time
	settled     chan struct{} // closed when an attempt in flight ends
}

// passwordThrottle locks out a key after limit consecutive failed password
// checks, for window: logins, and confirmations of the current password. Attempts in flight count towards the limit until their outcome is
// known, so that many guesses sent at once cannot all get through before the
// first of them fails: the ones beyond the limit wait for that outcome.
type passwordThrottle struct {
	limit      int
	window     time.Duration
	maxEntries int
	now        func() time.Time

	mu      sync.Mutex
	entries map[throttleKey]*throttleEntry
}

func newPasswordThrottle(limit int, window time.Duration, now func() time.Time) *passwordThrottle {
	return &passwordThrottle{
		limit:      limit,
		window:     window,
		maxEntries: maxThrottleEntries,
		now:        now,
		entries:    map[throttleKey]*throttleEntry{},
	}
}

// enter starts a login attempt for key. It returns 0 when the attempt may go
// ahead, in which case the caller must end it with failed, succeeded or
// abandoned; or how long the client must wait. While limit attempts are in
// flight it waits for one of them to end, or returns ctx's error.
func (t *passwordThrottle) enter(ctx context.Context, key throttleKey) (time.Duration, error) {
	for {
		wait, settled := t.begin(key)
		if settled == nil {
			return wait, nil
		}
		select {
		case <-settled:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// begin is one try of enter: it returns a wait, or a channel to wait on
// before trying again, or neither when the attempt has begun.
func (t *passwordThrottle) begin(key throttleKey) (time.Duration, <-chan struct{}) {
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
			return t.window, nil // full of live lockouts: refuse rather than forget one
		}
		e = &throttleEntry{}
		t.entries[key] = e
	}
	switch {
	case now.Before(e.lockedUntil):
		return e.lockedUntil.Sub(now), nil
	case e.failures+e.inFlight >= t.limit:
		if e.settled == nil {
			e.settled = make(chan struct{})
		}
		return 0, e.settled
	}
	e.inFlight++
	e.lastAttempt = now
	return 0, nil
}

// failed ends an attempt whose password was wrong.
func (t *passwordThrottle) failed(key throttleKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.endLocked(key); e != nil {
		e.failures++
		if e.failures >= t.limit && e.lockedUntil.IsZero() {
			e.lockedUntil = t.now().Add(t.window)
		}
	}
}

// succeeded ends an attempt whose password was right: the failures before it
// were not consecutive after all.
func (t *passwordThrottle) succeeded(key throttleKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.endLocked(key); e != nil && e.inFlight == 0 {
		delete(t.entries, key)
	} else if e != nil {
		e.failures = 0
	}
}

// abandoned ends an attempt whose password was never checked (the server
// was busy, or the client went away): it counts neither way.
func (t *passwordThrottle) abandoned(key throttleKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e := t.endLocked(key); e != nil && e.failures == 0 && e.inFlight == 0 && e.lockedUntil.IsZero() {
		delete(t.entries, key)
	}
}

// endLocked takes an attempt of key out of flight and wakes those waiting
// for an outcome. It returns the entry, or nil if there is none.
func (t *passwordThrottle) endLocked(key throttleKey) *throttleEntry {
	e := t.entries[key]
	if e == nil || e.inFlight == 0 {
		return nil
	}
	e.inFlight--
	if e.settled != nil {
		close(e.settled)
		e.settled = nil
	}
	return e
}

// sweep forgets entries that no longer hold anything back.
func (t *passwordThrottle) sweep() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweepLocked(t.now())
}

func (t *passwordThrottle) sweepLocked(now time.Time) {
	for key, e := range t.entries {
		if t.stale(e, now) {
			delete(t.entries, key)
		}
	}
}

// makeRoomLocked frees space in a full table: first the stale entries, then,
// if that is not enough, the oldest eighth of those not locked out and with
// nothing in flight, so that a flood of made-up usernames costs a few
// counts, never a lockout. It reports whether there is room now.
func (t *passwordThrottle) makeRoomLocked(now time.Time) bool {
	t.sweepLocked(now)
	if len(t.entries) < t.maxEntries {
		return true
	}
	var evictable []throttleKey
	for key, e := range t.entries {
		if e.lockedUntil.IsZero() && e.inFlight == 0 {
			evictable = append(evictable, key)
		}
	}
	if len(evictable) == 0 {
		return false
	}
	slices.SortFunc(evictable, func(a, b throttleKey) int {
		return t.entries[a].lastAttempt.Compare(t.entries[b].lastAttempt)
	})
	for _, key := range evictable[:max(1, len(evictable)/8)] {
		delete(t.entries, key)
	}
	return true
}

// stale reports whether an entry holds nothing back any more: nothing is in
// flight, and its lockout has passed, or it was never locked and its last
// attempt is a window old.
func (t *passwordThrottle) stale(e *throttleEntry, now time.Time) bool {
	switch {
	case e.inFlight > 0:
		return false
	case !e.lockedUntil.IsZero():
		return !now.Before(e.lockedUntil)
	}
	return now.Sub(e.lastAttempt) >= t.window
}

// enterThrottle starts a password check for key under the throttle. When
// key is locked out, or the client goes away while waiting for the outcome
// of the attempts already in flight, it answers the client itself and
// returns false.
func (s *server) enterThrottle(w http.ResponseWriter, r *http.Request, key throttleKey) bool {
	wait, err := s.throttle.enter(r.Context(), key)
	switch {
	case err != nil:
		s.handleError(w, r, err)
		return false
	case wait > 0:
		tooManyRequests(w, wait)
		return false
	}
	return true
}

// size returns the number of entries in the table, for tests.
func (t *passwordThrottle) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

// throttleState is what the throttle holds of a key, for tests.
type throttleState struct {
	present, waitedOn, lockedOut bool
	failures, inFlight           int
}

// state returns what the throttle holds of key, for tests.
func (t *passwordThrottle) state(key throttleKey) throttleState {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[key]
	if !ok {
		return throttleState{}
	}
	return throttleState{present: true, waitedOn: e.settled != nil, lockedOut: !e.lockedUntil.IsZero(),
		failures: e.failures, inFlight: e.inFlight}
}
