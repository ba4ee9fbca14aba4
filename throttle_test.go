package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Unit tests of the password throttle (throttle.go), on the store of a
// test server (a real SQLite file) and a clock the test moves. The HTTP
// tests of the endpoints it guards come after them.

// check runs one whole password check charged to keys: it enters the
// throttle and ends the check as failed or succeeded. It returns the wait
// enter gave, which is 0 when the check ran.
func check(t *testing.T, th *passwordThrottle, keys []failureKey, fails bool) time.Duration {
	t.Helper()
	ctx := context.Background()
	wait, err := th.enter(ctx, keys)
	if err != nil || wait > 0 {
		if err != nil {
			t.Fatalf("enter(%v) = %v", keys, err)
		}
		return wait
	}
	if fails {
		err = th.failed(ctx, keys)
	} else {
		err = th.succeeded(ctx, keys)
	}
	if err != nil {
		t.Fatalf("ending a check of %v: %v", keys, err)
	}
	return 0
}

func TestThrottleLocksAfterLimit(t *testing.T) {
	ts := newTestServer(t)
	th := ts.srv.throttle
	keys := th.loginKeys(1, "muthoni", "192.0.2.1", false)
	for i := range defaultThrottleLimit {
		if wait := check(t, th, keys, true); wait != 0 {
			t.Fatalf("failed check %d: refused for %v, want it checked", i+1, wait)
		}
	}
	if wait := check(t, th, keys, false); wait != defaultThrottleWindow {
		t.Fatalf("a check after %d failures: wait %v, want the window %v", defaultThrottleLimit, wait, defaultThrottleWindow)
	}
	ts.clock.Advance(defaultThrottleWindow - time.Second)
	if wait := check(t, th, keys, false); wait != time.Second {
		t.Fatalf("a check a second before the lockout ends: wait %v, want 1s", wait)
	}
	ts.clock.Advance(time.Second)
	if wait := check(t, th, keys, false); wait != 0 {
		t.Fatalf("a check once the lockout ended: wait %v, want it checked", wait)
	}
}

// Failures count in a row only while each comes within the window of the
// last; after a quiet window the count starts again.
func TestThrottleCountRestartsAfterQuietWindow(t *testing.T) {
	ts := newTestServer(t)
	th := ts.srv.throttle
	keys := th.loginKeys(1, "muthoni", "192.0.2.1", false)
	for range defaultThrottleLimit - 1 {
		check(t, th, keys, true)
	}
	ts.clock.Advance(defaultThrottleWindow)
	for i := range defaultThrottleLimit - 1 {
		if wait := check(t, th, keys, true); wait != 0 {
			t.Fatalf("failure %d after a quiet window: refused for %v, want a fresh count", i+1, wait)
		}
	}
	if wait := check(t, th, keys, true); wait != 0 {
		t.Fatalf("the 10th failure in a row: refused for %v, want it checked (and then a lockout)", wait)
	}
	if wait := check(t, th, keys, false); wait == 0 {
		t.Fatal("after 10 failures in a row the key is not locked")
	}
}

// A success clears only the count it proves wrong, that account from that
// address; the account's and the address's counts stand.
func TestThrottleSuccessClearsOnlyThePair(t *testing.T) {
	ts := newTestServer(t)
	th := ts.srv.throttle
	keys := th.loginKeys(1, "muthoni", "192.0.2.1", false)
	for range 3 {
		check(t, th, keys, true)
	}
	check(t, th, keys, false)
	for i, want := range []int{0, 3, 3} {
		rec, err := ts.db.passwordFailures(context.Background(), keys[i].name)
		if err != nil || rec.failures != want {
			t.Errorf("after a success, %q: %d failures (%v), want %d", keys[i].name, rec.failures, err, want)
		}
	}
}

func TestThrottleAbandonedCountsNeitherWay(t *testing.T) {
	ts := newTestServer(t)
	th := ts.srv.throttle
	keys := th.loginKeys(1, "muthoni", "192.0.2.1", false)
	if wait, err := th.enter(context.Background(), keys); wait != 0 || err != nil {
		t.Fatalf("enter = %v, %v", wait, err)
	}
	th.abandoned(keys)
	if n := th.flying(); n != 0 {
		t.Errorf("checks in flight after an abandoned one = %d, want 0", n)
	}
	if n := ts.count(t, "password_failures"); n != 0 {
		t.Errorf("password_failures holds %d rows after an abandoned check, want 0", n)
	}
}

// Checks beyond the limit of those in flight wait for an outcome: they go
// ahead when one succeeds, and are refused when all fail.
func TestThrottleEnterWaitsForOutcome(t *testing.T) {
	ts := newTestServer(t)
	th := ts.srv.throttle
	keys := th.loginKeys(1, "muthoni", "192.0.2.1", false)
	ctx := context.Background()
	for range defaultThrottleLimit {
		if wait, err := th.enter(ctx, keys); wait != 0 || err != nil {
			t.Fatalf("enter = %v, %v; want the check to start", wait, err)
		}
	}
	type result struct {
		wait time.Duration
		err  error
	}
	results := make(chan result, 1)
	go func() {
		wait, err := th.enter(ctx, keys)
		results <- result{wait, err}
	}()
	for deadline := time.Now().Add(10 * time.Second); !th.waitedOn(keys[0].name); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a check beyond the limit in flight does not wait")
		}
	}
	th.succeeded(ctx, keys) // one right password: the one waiting may go
	if r := <-results; r.wait != 0 || r.err != nil {
		t.Fatalf("the waiting check after a success = %v, %v; want it to start", r.wait, r.err)
	}
	for range defaultThrottleLimit {
		th.failed(ctx, keys)
	}
	if wait, err := th.enter(ctx, keys); wait == 0 || err != nil {
		t.Fatalf("enter after %d failures = %v, %v; want a lockout", defaultThrottleLimit, wait, err)
	}
	if n := th.flying(); n != 0 {
		t.Errorf("checks in flight at the end = %d, want 0", n)
	}
}

func TestThrottleEnterCanceled(t *testing.T) {
	ts := newTestServer(t)
	th := ts.srv.throttle
	keys := th.loginKeys(1, "muthoni", "192.0.2.1", false)
	for range defaultThrottleLimit {
		th.enter(context.Background(), keys)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for !th.waitedOn(keys[0].name) {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	if _, err := th.enter(ctx, keys); !errors.Is(err, context.Canceled) {
		t.Fatalf("enter canceled while waiting = %v, want context.Canceled", err)
	}
	for range defaultThrottleLimit {
		th.abandoned(keys)
	}
}

func TestThrottleKeys(t *testing.T) {
	th := &passwordThrottle{limit: 10, accountLimit: 100, addressLimit: 100}
	tests := []struct {
		userID         int64
		username, addr string
		want           []string
	}{
		{7, "Muthoni", "192.0.2.1", []string{"user:7 from 192.0.2.1", "user:7", "from 192.0.2.1"}},
		{0, "NoBody", "192.0.2.1", []string{"name:nobody from 192.0.2.1", "name:nobody", "from 192.0.2.1"}},
		{7, "muthoni", "2001:db8:1:2:3:4:5:6", []string{"user:7 from 2001:db8:1:2::/64", "user:7", "from 2001:db8:1:2::/64"}},
		{7, "muthoni", "2001:db8:1:2:ffff::1", []string{"user:7 from 2001:db8:1:2::/64", "user:7", "from 2001:db8:1:2::/64"}},
		{7, "muthoni", "::ffff:192.0.2.1", []string{"user:7 from 192.0.2.1", "user:7", "from 192.0.2.1"}},
		{7, "muthoni", "fe80::1%eth0", []string{"user:7 from fe80::/64", "user:7", "from fe80::/64"}},
	}
	for _, tc := range tests {
		keys := th.loginKeys(tc.userID, tc.username, throttleAddr(tc.addr), false)
		for i, k := range keys {
			if k.name != tc.want[i] {
				t.Errorf("loginKeys(%d, %q, %q)[%d] = %q, want %q", tc.userID, tc.username, tc.addr, i, k.name, tc.want[i])
			}
		}
		if keys[0].limit != 10 || keys[1].limit != 100 || keys[2].limit != 100 {
			t.Errorf("loginKeys limits = %d, %d, %d; want 10, 100, 100", keys[0].limit, keys[1].limit, keys[2].limit)
		}
	}
	// An account known at the address is not charged to the address.
	known := th.loginKeys(7, "muthoni", "192.0.2.1", true)
	if len(known) != 2 || known[0].name != "user:7 from 192.0.2.1" || known[1].name != "user:7" {
		t.Errorf("loginKeys of an account known at the address = %v, want the account from there and the account", known)
	}
}

// The password throttle seen from the endpoints it guards: logins at
// POST /api/tokens, and the current_password of a password change. The
// unit tests of the throttle itself are above.

// wantTooManyRequests checks a 429 with a Retry-After of wantSeconds.
func wantTooManyRequests(t testing.TB, what string, res response, wantSeconds int) {
	t.Helper()
	wantError(t, what, res, http.StatusTooManyRequests, "too many failed logins")
	got, err := strconv.Atoi(res.header.Get("Retry-After"))
	if err != nil || got <= 0 || got != wantSeconds {
		t.Errorf("%s: Retry-After = %q, want %d (whole seconds)", what, res.header.Get("Retry-After"), wantSeconds)
	}
}

const windowSeconds = int(defaultThrottleWindow / time.Second)

func TestLoginThrottle(t *testing.T) {
	tests := []struct {
		name           string
		failAs         string // the username of the failed logins
		failures       int
		user, password string // then this login
		wantStatus     int
	}{
		{name: "right password after the limit", failAs: "muthoni", failures: 10, user: "muthoni", password: "muthoni-password", wantStatus: http.StatusTooManyRequests},
		{name: "wrong password after the limit", failAs: "muthoni", failures: 10, user: "muthoni", password: "wrong-password", wantStatus: http.StatusTooManyRequests},
		{name: "username in other case", failAs: "MUTHONI", failures: 10, user: "muthoni", password: "muthoni-password", wantStatus: http.StatusTooManyRequests},
		{name: "unknown user", failAs: "nobody", failures: 10, user: "nobody", password: "muthoni-password", wantStatus: http.StatusTooManyRequests},
		{name: "another user", failAs: "muthoni", failures: 10, user: "kamau", password: "kamau-password", wantStatus: http.StatusOK},
		{name: "below the limit", failAs: "muthoni", failures: 9, user: "muthoni", password: "muthoni-password", wantStatus: http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			ts.createUser(t, "muthoni", "muthoni-password")
			ts.createUser(t, "kamau", "kamau-password")
			for i := 0; i < tc.failures; i++ {
				res := ts.callBasic(t, "POST", "/api/tokens", tc.failAs, "wrong-password")
				wantBasicChallenge(t, fmt.Sprintf("failed login %d", i+1), res)
			}
			res := ts.callBasic(t, "POST", "/api/tokens", tc.user, tc.password)
			wantStatus(t, "POST /api/tokens", res, tc.wantStatus)
			wantTokens := 1
			if tc.wantStatus == http.StatusTooManyRequests {
				wantTooManyRequests(t, "POST /api/tokens", res, windowSeconds)
				wantTokens = 0
			}
			if n := ts.count(t, "tokens"); n != wantTokens {
				t.Errorf("tokens = %d rows, want %d", n, wantTokens)
			}
		})
	}
}

func TestLoginThrottleEndsAfterWindow(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "muthoni", "muthoni-password")
	for i := 0; i < defaultThrottleLimit; i++ {
		ts.callBasic(t, "POST", "/api/tokens", "muthoni", "wrong-password")
	}
	ts.clock.Advance(5 * time.Minute)
	res := ts.callBasic(t, "POST", "/api/tokens", "muthoni", "muthoni-password")
	wantTooManyRequests(t, "POST /api/tokens 5 minutes into the lockout", res, windowSeconds-5*60)
	ts.clock.Advance(defaultThrottleWindow - 5*time.Minute - 1500*time.Millisecond)
	res = ts.callBasic(t, "POST", "/api/tokens", "muthoni", "muthoni-password")
	wantTooManyRequests(t, "POST /api/tokens 1.5 s before the lockout ends", res, 2) // rounded up
	ts.clock.Advance(time.Second)
	res = ts.callBasic(t, "POST", "/api/tokens", "muthoni", "muthoni-password")
	wantTooManyRequests(t, "POST /api/tokens 0.5 s before the lockout ends", res, 1)
	ts.clock.Advance(500 * time.Millisecond)
	// The count starts afresh: one more wrong password is a 401, not a 429.
	wantBasicChallenge(t, "POST /api/tokens with a wrong password as the lockout ends",
		ts.callBasic(t, "POST", "/api/tokens", "muthoni", "wrong-password"))
	ts.login(t, "muthoni", "muthoni-password")
}

func TestLoginThrottleSuccessResets(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "muthoni", "muthoni-password")
	for round := 0; round < 3; round++ {
		for i := 0; i < defaultThrottleLimit-1; i++ {
			res := ts.callBasic(t, "POST", "/api/tokens", "muthoni", "wrong-password")
			wantBasicChallenge(t, fmt.Sprintf("round %d, failed login %d", round, i+1), res)
		}
		ts.login(t, "muthoni", "muthoni-password")
	}
}

// passwordChange is the body of a PUT /api/users/{id} that changes the
// caller's password from current to next.
func passwordChange(current, next string) string {
	return fmt.Sprintf(`{"password": %q, "current_password": %q}`, next, current)
}

func (ts *testServer) passwordHash(t testing.TB, id int64) string {
	t.Helper()
	hash, err := ts.db.passwordHashByID(context.Background(), id)
	if err != nil {
		t.Fatalf("passwordHashByID(%d): %v", id, err)
	}
	return hash
}

func TestConfirmPasswordThrottled(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	path := userPath(id)
	hash := ts.passwordHash(t, id)
	for i := 0; i < defaultThrottleLimit; i++ {
		res := ts.call(t, "PUT", path, token, passwordChange("wrong-password", "new-password"))
		wantError(t, fmt.Sprintf("PUT %s with wrong current_password %d", path, i+1), res, http.StatusBadRequest, "current_password is wrong")
	}
	res := ts.call(t, "PUT", path, token, passwordChange("muthoni-password", "new-password"))
	wantTooManyRequests(t, "PUT "+path+" with the right current_password", res, windowSeconds)
	if ts.passwordHash(t, id) != hash {
		t.Error("password_hash changed, want it unchanged")
	}
	// The count is the user's own, apart from logins: someone guessing with
	// a stolen token does not lock the owner out of logging in.
	ts.login(t, "muthoni", "muthoni-password")

	ts.clock.Advance(defaultThrottleWindow)
	res = ts.call(t, "PUT", path, token, passwordChange("muthoni-password", "new-password"))
	wantStatus(t, "PUT "+path+" after the lockout", res, http.StatusOK)
	ts.login(t, "muthoni", "new-password")
}

// TestConfirmPasswordThrottleSurvivesRename: a username can be changed
// without the current password, so a rename must not start a fresh count,
// or a stolen token could guess the password behind it without end.
func TestConfirmPasswordThrottleSurvivesRename(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	path := userPath(id)
	guess := passwordChange("wrong-password", "new-password")
	for i := 0; i < defaultThrottleLimit; i++ {
		ts.call(t, "PUT", path, token, guess)
	}
	wantTooManyRequests(t, "PUT "+path+" after 10 wrong current_password", ts.call(t, "PUT", path, token, guess), windowSeconds)
	res := ts.call(t, "PUT", path, token, `{"username": "muthoni2"}`)
	wantStatus(t, "PUT "+path+" with a new username", res, http.StatusOK)
	res = ts.call(t, "PUT", path, token, guess)
	wantStatus(t, "PUT "+path+" with wrong current_password after a rename", res, http.StatusTooManyRequests)
}

// TestParallelLogins sends many logins for one username at once: right
// passwords all get their token, as none failed; wrong ones get exactly
// limit password checks (401) before the rest are refused (429).
func TestParallelLogins(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "muthoni", "muthoni-password")
	const parallel = 3 * defaultThrottleLimit
	statuses := func(password string) map[int]int {
		var mu sync.Mutex
		var wg sync.WaitGroup
		counts := map[int]int{}
		for range parallel {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := ts.callBasic(t, "POST", "/api/tokens", "muthoni", password)
				mu.Lock()
				counts[res.status]++
				mu.Unlock()
			}()
		}
		wg.Wait()
		return counts
	}
	if got := statuses("muthoni-password"); got[http.StatusOK] != parallel {
		t.Errorf("%d parallel right logins: statuses %v, want all 200", parallel, got)
	}
	got := statuses("wrong-password")
	if got[http.StatusUnauthorized] != defaultThrottleLimit || got[http.StatusTooManyRequests] != parallel-defaultThrottleLimit {
		t.Errorf("%d parallel wrong logins: statuses %v, want %d × 401 and the rest 429", parallel, got, defaultThrottleLimit)
	}
}

// TestLoginThrottlePerAddress checks that the lockout holds a username only
// from the address that failed: the same user from another address logs in.
func TestLoginThrottlePerAddress(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "muthoni", "muthoni-password")
	login := func(addr, password string) int { return loginFrom(ts, addr, "muthoni", password) }
	for i := range defaultThrottleLimit {
		if got := login("192.0.2.1", "wrong-password"); got != http.StatusUnauthorized {
			t.Fatalf("failed login %d from 192.0.2.1 = %d, want 401", i+1, got)
		}
	}
	if got := login("192.0.2.1", "muthoni-password"); got != http.StatusTooManyRequests {
		t.Errorf("right password from the locked-out address = %d, want 429", got)
	}
	if got := login("192.0.2.2", "muthoni-password"); got != http.StatusOK {
		t.Errorf("right password from another address = %d, want 200", got)
	}
}

// loginStatus sends a login and returns its status, or 0 when no answer
// came within the 10 s a liveness check allows. It may run in a goroutine.
func (ts *testServer) loginStatus(username, password string) int {
	patient := client{base: ts.base, http: &http.Client{Transport: ts.http.Transport, Timeout: 10 * time.Second}}
	res, err := patient.do("POST", "/api/tokens", "", basic(username, password))
	if err != nil {
		return 0
	}
	return res.status
}

// TestThrottledUserDoesNotHoldBackOthers: while one username has logins
// waiting for the outcome of the attempts in flight, and then while it is
// locked out, another user logs in as usual. The waiting logins wait until
// the test ends the attempts in flight, so nothing here depends on timing;
// a wait shared between users would leave the other login unanswered.
func TestThrottledUserDoesNotHoldBackOthers(t *testing.T) {
	ts := newTestServer(t)
	muthoni := ts.createUser(t, "muthoni", "muthoni-password")
	ts.createUser(t, "kamau", "kamau-password")
	th := ts.srv.throttle

	// One real failure, counted by the keys of muthoni's logins from the
	// test's address; the rest of the limit is then put in flight, as if
	// being checked.
	wantBasicChallenge(t, "POST /api/tokens as muthoni, wrong password", ts.callBasic(t, "POST", "/api/tokens", "muthoni", "wrong-password"))
	keys := th.loginKeys(muthoni, "muthoni", "127.0.0.1", false)
	if rec, err := ts.db.passwordFailures(context.Background(), keys[0].name); err != nil || rec.failures != 1 {
		t.Fatalf("after one failed login: %+v, %v for %q; want one failure", rec, err, keys[0].name)
	}
	for range defaultThrottleLimit - 1 {
		if settled := th.begin(keys, []int{1, 1, 1}, th.endedCount()); settled != nil {
			t.Fatalf("begin(%v) waits; want the attempt to start", keys[0])
		}
	}
	inFlight := defaultThrottleLimit - 1
	defer func() { // the server cannot close while logins wait
		for ; inFlight > 0; inFlight-- {
			th.failed(context.Background(), keys)
		}
	}()

	const waiting = 3
	statuses := make(chan int, waiting)
	for range waiting {
		go func() { statuses <- ts.loginStatus("muthoni", "muthoni-password") }()
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if th.waitedOn(keys[0].name) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no login for muthoni is waiting for the attempts in flight")
		}
	}

	if got := ts.loginStatus("kamau", "kamau-password"); got != http.StatusOK {
		t.Fatalf("kamau's login while muthoni's logins wait = %d, want 200 (0: no answer in 10 s)", got)
	}
	if got := ts.loginStatus("kamau", "wrong-password"); got != http.StatusUnauthorized {
		t.Fatalf("kamau's wrong password while muthoni's logins wait = %d, want 401", got)
	}
	select {
	case got := <-statuses:
		t.Fatalf("a login for muthoni = %d while the limit was in flight, want it to wait", got)
	default:
	}

	// The attempts in flight fail: muthoni is locked out, the waiting
	// logins hear so, and kamau still logs in.
	for ; inFlight > 0; inFlight-- {
		if err := th.failed(context.Background(), keys); err != nil {
			t.Fatal(err)
		}
	}
	for range waiting {
		if got := <-statuses; got != http.StatusTooManyRequests {
			t.Errorf("a waiting login for muthoni = %d, want 429", got)
		}
	}
	if got := ts.loginStatus("kamau", "kamau-password"); got != http.StatusOK {
		t.Errorf("kamau's login while muthoni is locked out = %d, want 200", got)
	}
}

// TestFailedLoginFloodBounded sends failed logins for hundreds of made-up
// usernames at once, through HTTP, from one address: the address is
// refused (429) once its failures reach the per-address limit, the
// throttle keeps nothing in memory once the flood is over, a lockout made
// before the flood survives it, and a real user from another address
// still logs in.
func TestFailedLoginFloodBounded(t *testing.T) {
	ts := newTestServer(t)
	th := ts.srv.throttle
	ts.createUser(t, "muthoni", "muthoni-password")
	ts.createUser(t, "kamau", "kamau-password")
	for range defaultThrottleLimit {
		ts.callBasic(t, "POST", "/api/tokens", "muthoni", "wrong-password")
	}

	const clients, perClient = 8, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perClient {
				got := ts.loginStatus(fmt.Sprintf("flood%d-%d", c, i), "wrong-password")
				mu.Lock()
				statuses[got]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// muthoni's 10 failures count for the address too.
	if want := defaultAddressLimit - defaultThrottleLimit; statuses[http.StatusUnauthorized] != want ||
		statuses[http.StatusTooManyRequests] != clients*perClient-want {
		t.Errorf("%d failed logins for made-up usernames: statuses %v, want %d × 401 and the rest 429",
			clients*perClient, statuses, want)
	}
	if n := th.flying(); n != 0 {
		t.Errorf("checks in flight after the flood = %d, want 0", n)
	}
	res := ts.callBasic(t, "POST", "/api/tokens", "muthoni", "muthoni-password")
	wantStatus(t, "POST /api/tokens as muthoni, locked out before the flood", res, http.StatusTooManyRequests)
	if got := loginFrom(ts, "192.0.2.7", "kamau", "kamau-password"); got != http.StatusOK {
		t.Errorf("kamau's login from another address after the flood = %d, want 200", got)
	}
}

// loginFrom sends a login as if from addr, through the whole handler
// stack, and returns its status.
func loginFrom(ts *testServer, addr, username, password string) int {
	req := httptest.NewRequest("POST", "/api/tokens", nil)
	req.RemoteAddr = net.JoinHostPort(addr, "40000")
	req.SetBasicAuth(username, password)
	rec := httptest.NewRecorder()
	ts.srv.ServeHTTP(rec, req)
	return rec.Code
}

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
