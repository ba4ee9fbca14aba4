package main

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The limits on failed password checks. Each is a count of failures in a
// row, each within the window of the last; reaching it locks the key out
// for the window, with 429 and Retry-After, even for the right password.
const (
	defaultThrottleWindow = 15 * time.Minute
	// defaultThrottleLimit holds one account from one client address: the
	// owner mistyping is never hurt from elsewhere.
	defaultThrottleLimit = 10
	// defaultAccountLimit holds one account from every address at once, the
	// ceiling of NIST SP 800-63B §5.2.2. Past it new logins to the account
	// are refused; its live tokens keep working.
	defaultAccountLimit = 100
	// defaultAddressLimit holds one client address across accounts: a
	// password sprayed over many usernames. IPv6 counts by the /64.
	defaultAddressLimit = 100
)

// failureKey is one thing failures are counted by, with the count that
// locks it. The key is text in the password_failures table, so every
// process on the database shares the count, and it outlives a restart.
type failureKey struct {
	name  string
	limit int
}

// loginKeys are the counts a login is checked against and, if it fails,
// charged to: the account from this address, the account from anywhere,
// and this address, unless the account is known there (knownaddresses.go).
// An existing account is named by its id, so that no rename or change of
// case resets its counts; a username that does not exist is named as
// lower-cased text, and is counted all the same, so that it costs and
// looks the same as a wrong password. addr is a counted address
// (throttleAddr's).
func (t *passwordThrottle) loginKeys(userID int64, username, addr string, known bool) []failureKey {
	account := "name:" + strings.ToLower(username)
	if userID != 0 {
		account = accountKey(userID)
	}
	keys := []failureKey{
		{account + " from " + addr, t.limit},
		{account, t.accountLimit},
	}
	if !known {
		keys = append(keys, failureKey{"from " + addr, t.addressLimit})
	}
	return keys
}

// currentPasswordKeys are the counts a current_password check is charged
// to: the user, from any address. A stolen token must not buy unlimited
// guesses at the password behind it.
func (t *passwordThrottle) currentPasswordKeys(userID int64) []failureKey {
	return []failureKey{{currentPasswordKey(userID), t.limit}}
}

// accountKey names an existing account in failure keys, and
// currentPasswordKey its current_password checks. The schema's trigger
// users_delete_failures (version 9) spells them too.
func accountKey(userID int64) string { return "user:" + strconv.FormatInt(userID, 10) }

func currentPasswordKey(userID int64) string { return "current_password of " + accountKey(userID) }

// throttleAddr is the client address failures are counted by: an IPv4
// address as it is, an IPv6 address by its /64, which one subscriber
// usually holds whole.
func throttleAddr(addr string) string {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	prefix, _ := ip.WithZone("").Prefix(64)
	return prefix.String()
}

// passwordThrottle counts failed password checks, logins and confirmations
// of the current password alike, in the database, and refuses checks for
// keys that reached their limit.
//
// Within this process, checks in flight count towards each key's limit
// until their outcome is known, so that many guesses sent at once cannot
// all get through before the first of them fails: those beyond a limit
// wait for that outcome. (Two processes each let their own through: at
// worst a limit is passed by the checks in flight elsewhere.)
type passwordThrottle struct {
	store                      store
	limit                      int
	accountLimit, addressLimit int
	window                     time.Duration
	now                        func() time.Time

	mu       sync.Mutex
	inFlight map[string]*flight // by key name
	ended    uint64             // checks ended since the start
}

var closedChannel = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (t *passwordThrottle) endedCount() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ended
}

type flight struct {
	attempts int           // begun, outcome not known yet
	settled  chan struct{} // closed when one of them ends; nil until waited on
}

func newPasswordThrottle(st store, cfg config) *passwordThrottle {
	return &passwordThrottle{
		store:        st,
		limit:        cfg.throttleLimit,
		accountLimit: cfg.accountLimit,
		addressLimit: cfg.addressLimit,
		window:       cfg.throttleWindow,
		now:          cfg.now,
		inFlight:     map[string]*flight{},
	}
}

// enter starts a password check charged to keys. It returns 0 when the
// check may go ahead, in which case the caller must end it with failed,
// succeeded or abandoned; or how long the client must wait.
func (t *passwordThrottle) enter(ctx context.Context, keys []failureKey) (time.Duration, error) {
	for {
		now := t.now()
		ended := t.endedCount()
		failures := make([]int, len(keys))
		for i, k := range keys {
			rec, err := t.store.passwordFailures(ctx, k.name)
			if err != nil {
				return 0, err
			}
			if rec.lockedUntil.After(now) {
				return rec.lockedUntil.Sub(now), nil
			}
			failures[i] = t.live(rec, now)
		}
		settled := t.begin(keys, failures, ended)
		if settled == nil {
			return 0, nil
		}
		select {
		case <-settled:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// live is the count of failures still in force at now.
func (t *passwordThrottle) live(rec failureRecord, now time.Time) int {
	if now.Sub(rec.lastFailure) >= t.window {
		return 0
	}
	return rec.failures
}

// begin counts a check in flight for every key, unless the failures and
// checks in flight of one of them already make its limit: then it returns
// a channel closed when one of that key's checks ends. (Failures alone at
// the limit are a lockout, which enter answered before.) The failures were
// read when ended checks numbered ended; if one has ended since, they may
// be out of date, and begin returns a closed channel to have them read
// again.
func (t *passwordThrottle) begin(keys []failureKey, failures []int, ended uint64) <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended != ended {
		return closedChannel
	}
	for i, k := range keys {
		f := t.inFlight[k.name]
		if f != nil && f.attempts > 0 && failures[i]+f.attempts >= k.limit {
			if f.settled == nil {
				f.settled = make(chan struct{})
			}
			return f.settled
		}
	}
	for _, k := range keys {
		f := t.inFlight[k.name]
		if f == nil {
			f = &flight{}
			t.inFlight[k.name] = f
		}
		f.attempts++
	}
	return nil
}

// failed ends a check whose password was wrong: every key is charged.
func (t *passwordThrottle) failed(ctx context.Context, keys []failureKey) error {
	defer t.end(keys)
	return t.store.recordPasswordFailure(ctx, keys, t.now(), t.window)
}

// succeeded ends a check whose password was right. It clears only the
// count it proves wrong: the first key's, that account from that address.
// The other counts stand: a right password from here says nothing of the
// guesses from elsewhere.
func (t *passwordThrottle) succeeded(ctx context.Context, keys []failureKey) error {
	defer t.end(keys)
	return t.store.clearPasswordFailures(ctx, keys[0].name)
}

// abandoned ends a check whose password was never checked (the server was
// busy, or the client went away): it counts neither way.
func (t *passwordThrottle) abandoned(keys []failureKey) {
	t.end(keys)
}

// end takes a check out of flight for every key and wakes those waiting
// for an outcome. An entry with nothing in flight is dropped, so the map
// holds only what is running now.
func (t *passwordThrottle) end(keys []failureKey) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ended++
	for _, k := range keys {
		f := t.inFlight[k.name]
		if f == nil {
			continue
		}
		f.attempts--
		if f.settled != nil {
			close(f.settled)
			f.settled = nil
		}
		if f.attempts <= 0 {
			delete(t.inFlight, k.name)
		}
	}
}

// waitedOn reports whether a check waits for the outcome of those in
// flight for the key of that name, for tests.
func (t *passwordThrottle) waitedOn(name string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	f := t.inFlight[name]
	return f != nil && f.settled != nil
}

// flying returns how many checks are in flight for all keys, for tests.
func (t *passwordThrottle) flying() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, f := range t.inFlight {
		n += f.attempts
	}
	return n
}
