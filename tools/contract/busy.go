package main

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"
)

// The busy traffic: the 503s of a server whose password hash slots are
// all taken (hashslots.go at the root), run on a server whose hashes are
// slow and which has two cores, so two slots.

// The server's rules the busy traffic counts on.
const (
	hashSlots   = 2                // one a core but one, and the spare: GOMAXPROCS=2
	maxHashWait = 10 * time.Second // a password check waits no longer for a slot
	// How many failed logins and logins in flight one client address may
	// have before the next waits for one to end (throttle.go); every
	// request of the run comes from Prism's address.
	addressLimit = 100
)

// busyPassword is the password of every sign-up of the busy traffic.
const busyPassword = "long-enough"

// account is a user the busy traffic signed up.
type account struct {
	id       int
	username string
}

// passwordBusyTraffic brings about a 503: sign-ups at once, on a server
// whose hashes are slow, beyond the few that may wait for a hash slot.
// One sign-up first lets the server learn how long a hash takes: until it
// knows, it lets any number wait. It returns the users signed up, first
// the first.
func passwordBusyTraffic(r *runner, burst int) []account {
	signUp := func(name string) string {
		return fmt.Sprintf(`{"username": %q, "email": "%s@example.com", "password": %q}`, name, name, busyPassword)
	}
	created := func(name string, res reply) account {
		id, _ := res.field("id").(float64)
		return account{int(id), name}
	}
	accounts := []account{created("first", r.expect(201, "POST /api/users", "/api/users", jsonBody(signUp("first"))))}
	var wg sync.WaitGroup
	replies := make([]reply, burst)
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies[i] = r.expectBusy([]int{201, 503}, "POST /api/users", "/api/users",
				jsonBody(signUp(fmt.Sprintf("burst%d", i))))
		}()
	}
	wg.Wait()
	busy := 0
	for i, res := range replies {
		switch res.status {
		case http.StatusCreated:
			accounts = append(accounts, created(fmt.Sprintf("burst%d", i), res))
		case http.StatusServiceUnavailable:
			busy++
		}
	}
	if busy == 0 {
		r.fail("a burst of %d sign-ups on slow hashes got no 503", burst)
	}
	return accounts
}

// passwordChecksBusyTraffic brings about the 503 of a login and of the
// current_password check of a password change, an account deletion and a
// TOTP enrolment: a password check that waited
// maxHashWait for a slot. It sends, all at once, more logins and more
// password changes each than the slots can check in maxHashWait (and the
// second or so the requests take to arrive), were hashes even 1.5 times
// as fast as the users' own logins just timed: some of each must wait
// longer, whatever order they arrive in. The logins are for usernames
// nobody has, each checked against a hash as slow as a real one; the
// password changes (to the same password) are those of up to four of the
// users, 10 each, the most one user may have in flight. A slower or busier
// machine only makes the waits longer.
func passwordChecksBusyTraffic(r *runner, accounts []account) {
	accounts = accounts[:min(len(accounts), 4)]
	tokens := make([]string, len(accounts))
	hashTimes := make([]time.Duration, len(accounts))
	var wg sync.WaitGroup
	for i, a := range accounts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			tokens[i], _ = r.expect(200, "POST /api/tokens", "/api/tokens", basic(a.username, busyPassword)).field("token").(string)
			hashTimes[i] = time.Since(start)
		}()
	}
	wg.Wait()
	hashTime := slices.Min(hashTimes)
	grants := hashSlots * (1 + int(3*(maxHashWait+time.Second)/(2*hashTime)))
	logins := min(grants+10, addressLimit-10)
	const changesEach = 10 // the throttle's limit on checks in flight for one user

	loginStatuses := make([]int, logins)
	for i := range logins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loginStatuses[i] = r.expectBusy([]int{401, 503}, "POST /api/tokens", "/api/tokens",
				basic(fmt.Sprintf("nobody%d", i), busyPassword)).status
		}()
	}
	// The checks take turns: password changes, account deletions with a
	// wrong password (they delete nothing, and the three or four a user
	// stay below the lock) and TOTP enrolments. Each waits for a slot as a
	// change's does, and each must reach its 503.
	checks := []struct {
		what, op, path string
		body           option
		ok             int
	}{
		{"password changes", "PUT /api/users/{id}", "/api/users/%d",
			jsonBody(fmt.Sprintf(`{"password": %q, "current_password": %q}`, busyPassword, busyPassword)), 200},
		{"account deletions", "DELETE /api/users/{id}", "/api/users/%d", jsonBody(`{"current_password": "not-the-password"}`), 400},
		{"TOTP enrolments", "POST /api/users/{id}/totp", "/api/users/%d/totp",
			jsonBody(fmt.Sprintf(`{"current_password": %q}`, busyPassword)), 200},
	}
	checkStatuses := make([]int, changesEach*len(accounts))
	for i := range checkStatuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, token := accounts[i%len(accounts)], bearer(tokens[i%len(accounts)])
			c := checks[i%len(checks)]
			checkStatuses[i] = r.expectBusy([]int{c.ok, 503}, c.op, fmt.Sprintf(c.path, a.id), token, c.body).status
		}()
	}
	wg.Wait()
	if count(loginStatuses, http.StatusServiceUnavailable) == 0 {
		r.fail("%d logins at once, a hash taking %s, got no 503", logins, hashTime.Round(time.Millisecond))
	}
	for k, c := range checks {
		var statuses []int
		for i := k; i < len(checkStatuses); i += len(checks) {
			statuses = append(statuses, checkStatuses[i])
		}
		if count(statuses, http.StatusServiceUnavailable) == 0 {
			r.fail("%d %s at once beside %d logins, a hash taking %s, got no 503",
				len(statuses), c.what, logins, hashTime.Round(time.Millisecond))
		}
	}
}

// expectBusy is expectOneOf for a request that may find every hash slot
// taken: its 503 must say when to come back.
func (r *runner) expectBusy(statuses []int, op, path string, options ...option) reply {
	res := r.expectOneOf(statuses, op, path, options...)
	if res.status == http.StatusServiceUnavailable && res.header.Get("Retry-After") == "" {
		r.fail("%s (%s) = 503 without Retry-After", op, path)
	}
	return res
}

// count is how many of statuses are status.
func count(statuses []int, status int) int {
	n := 0
	for _, s := range statuses {
		if s == status {
			n++
		}
	}
	return n
}
