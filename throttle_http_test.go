package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// The password throttle seen from the endpoints it guards: logins at
// POST /api/tokens, and the current_password of a password change. The
// unit tests of the throttle itself are in throttle_test.go.

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
	keys := th.loginKeys(muthoni, "muthoni", "127.0.0.1")
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
