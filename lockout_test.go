package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
)

// The login defence holds where a count kept in one process's memory, by
// username, would not: across a rename, a restart, two servers on one
// file, many addresses against one account, and one address against many
// accounts.

// lockOut fails limit logins as username with a wrong password.
func lockOut(t *testing.T, c *client, username string) {
	t.Helper()
	for i := range defaultThrottleLimit {
		res := c.callBasic(t, "POST", "/api/tokens", username, "wrong-password")
		wantStatus(t, fmt.Sprintf("failed login %d as %s", i+1, username), res, http.StatusUnauthorized)
	}
}

// A stolen token can rename the account, but the lockout is the account's,
// not the name's: the new name is locked out too, and so is the old name
// if someone takes it.
func TestLockoutSurvivesRename(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	lockOut(t, &ts.client, "muthoni")
	res := ts.call(t, "PUT", userPath(id), token, `{"username": "muthoni2"}`)
	wantStatus(t, "PUT /api/users/{id} renaming the locked-out user", res, http.StatusOK)
	res = ts.callBasic(t, "POST", "/api/tokens", "muthoni2", "muthoni-password")
	wantTooManyRequests(t, "POST /api/tokens as the new name", res, windowSeconds)
	res = ts.callBasic(t, "POST", "/api/tokens", "MUTHONI2", "guess")
	wantTooManyRequests(t, "POST /api/tokens as the new name in capitals", res, windowSeconds)
}

// The count is in the database: a restart does not clear it, and a second
// server on the same file refuses what the first locked out.
func TestLockoutSurvivesRestartAndSecondServer(t *testing.T) {
	dir := t.TempDir()
	db := testDB(t, filepath.Join(dir, "tokenapi.db")) // or the cluster: two servers on one cluster
	args := []string{"-addr", "127.0.0.1:0", "-db", db}
	first := startProgram(t, dir, args, cheapPasswords)
	first.createUser(t, "muthoni", "muthoni-password")
	lockOut(t, &first.client, "muthoni")

	second := startProgram(t, dir, args, cheapPasswords)
	res := second.callBasic(t, "POST", "/api/tokens", "muthoni", "muthoni-password")
	wantStatus(t, "POST /api/tokens to a second server on the file", res, http.StatusTooManyRequests)
	second.stop(t)

	first.stop(t)
	restarted := startProgram(t, dir, args, cheapPasswords)
	res = restarted.callBasic(t, "POST", "/api/tokens", "muthoni", "muthoni-password")
	wantStatus(t, "POST /api/tokens after a restart", res, http.StatusTooManyRequests)
}

// At most accountLimit failures in a row for one account from all
// addresses together; past it every new login to the account is refused,
// from anywhere, while the owner's live tokens keep working.
func TestAccountLimitAcrossAddresses(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	failures := 0
	for a := 0; failures < defaultAccountLimit; a++ {
		addr := fmt.Sprintf("198.51.100.%d", a+1)
		for range defaultThrottleLimit - 1 { // stay under each address's own limit
			if failures == defaultAccountLimit {
				break
			}
			if got := loginFrom(ts, addr, "muthoni", "wrong-password"); got != http.StatusUnauthorized {
				t.Fatalf("failed login %d (from %s) = %d, want 401", failures+1, addr, got)
			}
			failures++
		}
	}
	if got := loginFrom(ts, "203.0.113.9", "muthoni", "muthoni-password"); got != http.StatusTooManyRequests {
		t.Errorf("right password from a new address after %d failures = %d, want 429", failures, got)
	}
	res := ts.call(t, "GET", "/api/users", token, "")
	wantStatus(t, "GET /api/users with the owner's live token", res, http.StatusOK)
	if got := loginFrom(ts, "203.0.113.9", "kamau-not-here", "wrong-password"); got != http.StatusUnauthorized {
		t.Errorf("another username from a new address = %d, want 401", got)
	}
	ts.clock.Advance(defaultThrottleWindow)
	if got := loginFrom(ts, "203.0.113.9", "muthoni", "muthoni-password"); got != http.StatusOK {
		t.Errorf("right password once the window passed = %d, want 200", got)
	}
}

// At most addressLimit failures in a row from one address over any
// usernames; IPv6 addresses count by their /64.
func TestAddressLimitAcrossUsernames(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "muthoni", "muthoni-password")
	for i := range defaultAddressLimit {
		// Every address of one /64: one client can hold them all.
		addr := fmt.Sprintf("2001:db8:7:7::%x", i+1)
		if got := loginFrom(ts, addr, fmt.Sprintf("spray%d", i), "Summer2026!"); got != http.StatusUnauthorized {
			t.Fatalf("sprayed login %d from %s = %d, want 401", i+1, addr, got)
		}
	}
	if got := loginFrom(ts, "2001:db8:7:7:ffff::1", "muthoni", "muthoni-password"); got != http.StatusTooManyRequests {
		t.Errorf("right password from the same /64 after the spray = %d, want 429", got)
	}
	if got := loginFrom(ts, "2001:db8:7:8::1", "muthoni", "muthoni-password"); got != http.StatusOK {
		t.Errorf("right password from the next /64 = %d, want 200", got)
	}
}
