package main

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// throttleSize is the number of entries a throttle holds.
func throttleSize(th *passwordThrottle) int {
	th.mu.Lock()
	defer th.mu.Unlock()
	return len(th.entries)
}

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

// putPassword asks to change the caller's password.
func putPassword(t testing.TB, ts *testServer, id int64, token, current, next string) response {
	t.Helper()
	body := fmt.Sprintf(`{"password": %q, "current_password": %q}`, next, current)
	return ts.call(t, "PUT", fmt.Sprintf("/api/users/%d", id), token, body)
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
	hash := ts.passwordHash(t, id)
	for i := 0; i < defaultThrottleLimit; i++ {
		res := putPassword(t, ts, id, token, "wrong-password", "new-password")
		wantError(t, fmt.Sprintf("PUT with wrong current_password %d", i+1), res, http.StatusBadRequest, "current_password is wrong")
	}
	res := putPassword(t, ts, id, token, "muthoni-password", "new-password")
	wantTooManyRequests(t, "PUT with the right current_password", res, windowSeconds)
	if ts.passwordHash(t, id) != hash {
		t.Error("password_hash changed, want it unchanged")
	}
	// The count is the user's own, apart from logins: someone guessing with
	// a stolen token does not lock the owner out of logging in.
	ts.login(t, "muthoni", "muthoni-password")

	ts.clock.Advance(defaultThrottleWindow)
	res = putPassword(t, ts, id, token, "muthoni-password", "new-password")
	wantStatus(t, "PUT after the lockout", res, http.StatusOK)
	ts.login(t, "muthoni", "new-password")
}

// TestConfirmPasswordThrottleSurvivesRename: a username can be changed
// without the current password, so a rename must not start a fresh count,
// or a stolen token could guess the password behind it without end.
func TestConfirmPasswordThrottleSurvivesRename(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	for i := 0; i < defaultThrottleLimit; i++ {
		putPassword(t, ts, id, token, "wrong-password", "new-password")
	}
	wantTooManyRequests(t, "PUT after 10 wrong current_password", putPassword(t, ts, id, token, "wrong-password", "new-password"), windowSeconds)
	res := ts.call(t, "PUT", fmt.Sprintf("/api/users/%d", id), token, `{"username": "muthoni2"}`)
	wantStatus(t, "PUT a new username", res, http.StatusOK)
	res = putPassword(t, ts, id, token, "wrong-password", "new-password")
	wantStatus(t, "PUT with wrong current_password after a rename", res, http.StatusTooManyRequests)
}

var throttleKeyA = throttleKey{username: "muthoni", addr: "192.0.2.1"}

// newUnitThrottle is a throttle with the default limit and window on a
// clock the test moves.
func newUnitThrottle() (*passwordThrottle, *testClock) {
	clock := &testClock{now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	return newPasswordThrottle(defaultThrottleLimit, defaultThrottleWindow, clock.Now), clock
}

// outcomePending stands for begin's answer "wait for the outcome of the
// attempts in flight".
const outcomePending time.Duration = -1

// tryBegin is begin with its two answers folded into one for tables.
func tryBegin(th *passwordThrottle, key throttleKey) time.Duration {
	wait, settled := th.begin(key)
	if settled != nil {
		return outcomePending
	}
	return wait
}

// attempts runs n whole attempts for key, each failed or succeeded.
func attempts(th *passwordThrottle, key throttleKey, n int, failed bool) {
	for i := 0; i < n; i++ {
		if tryBegin(th, key) > 0 {
			return
		}
		if failed {
			th.failed(key)
		} else {
			th.succeeded(key)
		}
	}
}

func TestLoginThrottleUnit(t *testing.T) {
	window := defaultThrottleWindow
	tests := []struct {
		name string
		run  func(th *passwordThrottle, clock *testClock)
		want time.Duration // of the next begin for throttleKeyA
	}{
		{name: "first attempt", run: func(*passwordThrottle, *testClock) {}, want: 0},
		{name: "nine failures", run: func(th *passwordThrottle, _ *testClock) { attempts(th, throttleKeyA, 9, true) }, want: 0},
		{name: "ten failures", run: func(th *passwordThrottle, _ *testClock) { attempts(th, throttleKeyA, 10, true) }, want: window},
		{name: "ten failures, a minute ago", run: func(th *passwordThrottle, clock *testClock) {
			attempts(th, throttleKeyA, 10, true)
			clock.Advance(time.Minute)
		}, want: window - time.Minute},
		{name: "ten failures, a window ago", run: func(th *passwordThrottle, clock *testClock) {
			attempts(th, throttleKeyA, 10, true)
			clock.Advance(window)
		}, want: 0},
		// An attempt counts from its start: one of ten still running might
		// succeed, so the eleventh waits for an outcome.
		{name: "ten in flight", run: func(th *passwordThrottle, _ *testClock) {
			for i := 0; i < 10; i++ {
				tryBegin(th, throttleKeyA)
			}
		}, want: outcomePending},
		{name: "ten in flight, then all fail", run: func(th *passwordThrottle, _ *testClock) {
			for i := 0; i < 10; i++ {
				tryBegin(th, throttleKeyA)
			}
			for i := 0; i < 10; i++ {
				th.failed(throttleKeyA)
			}
		}, want: window},
		{name: "ten in flight, then one succeeds", run: func(th *passwordThrottle, _ *testClock) {
			for i := 0; i < 10; i++ {
				tryBegin(th, throttleKeyA)
			}
			th.succeeded(throttleKeyA)
		}, want: 0},
		{name: "nine failures, success, nine failures", run: func(th *passwordThrottle, _ *testClock) {
			attempts(th, throttleKeyA, 9, true)
			attempts(th, throttleKeyA, 1, false)
			attempts(th, throttleKeyA, 9, true)
		}, want: 0},
		{name: "nine failures, then nine a window later", run: func(th *passwordThrottle, clock *testClock) {
			attempts(th, throttleKeyA, 9, true)
			clock.Advance(window)
			attempts(th, throttleKeyA, 9, true)
		}, want: 0},
		{name: "nine failures, then one just within the window", run: func(th *passwordThrottle, clock *testClock) {
			attempts(th, throttleKeyA, 9, true)
			clock.Advance(window - time.Second)
			attempts(th, throttleKeyA, 1, true)
		}, want: window},
		{name: "ten failures for another username", run: func(th *passwordThrottle, _ *testClock) {
			attempts(th, throttleKey{username: "kamau", addr: throttleKeyA.addr}, 10, true)
		}, want: 0},
		{name: "ten failures from another address", run: func(th *passwordThrottle, _ *testClock) {
			attempts(th, throttleKey{username: throttleKeyA.username, addr: "192.0.2.2"}, 10, true)
		}, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			th, clock := newUnitThrottle()
			tc.run(th, clock)
			if got := tryBegin(th, throttleKeyA); got != tc.want {
				t.Errorf("begin = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLoginThrottleSweep(t *testing.T) {
	th, clock := newUnitThrottle()
	failedOnce := throttleKey{username: "once", addr: "192.0.2.1"}
	locked := throttleKey{username: "locked", addr: "192.0.2.1"}
	later := throttleKey{username: "later", addr: "192.0.2.1"}
	attempts(th, failedOnce, 1, true)
	attempts(th, locked, defaultThrottleLimit, true)
	clock.Advance(5 * time.Minute)
	attempts(th, later, 1, true)

	steps := []struct {
		name    string
		advance time.Duration
		want    int
	}{
		{name: "just under a window", advance: defaultThrottleWindow - 5*time.Minute - time.Nanosecond, want: 3},
		{name: "a window after the first", advance: time.Nanosecond, want: 1},
		{name: "a window after the last", advance: 5 * time.Minute, want: 0},
	}
	for _, step := range steps {
		clock.Advance(step.advance)
		th.sweep()
		if got := throttleSize(th); got != step.want {
			t.Errorf("%s: entries after sweep = %d, want %d", step.name, got, step.want)
		}
	}
}

// fillThrottle gives n usernames from one address failures failed attempts
// each.
func fillThrottle(th *passwordThrottle, n, failures int) {
	for i := 0; i < n; i++ {
		attempts(th, throttleKey{username: "user" + strconv.Itoa(i), addr: "198.51.100.1"}, failures, true)
	}
}

func TestLoginThrottleBounded(t *testing.T) {
	clock := &testClock{now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	th := newPasswordThrottle(1, defaultThrottleWindow, clock.Now)
	fillThrottle(th, maxThrottleEntries, 1) // every entry a live lockout
	if got := tryBegin(th, throttleKeyA); got <= 0 {
		t.Errorf("begin with a table full of lockouts = %v, want a wait", got)
	}
	if got := throttleSize(th); got != maxThrottleEntries {
		t.Errorf("entries = %d, want %d", got, maxThrottleEntries)
	}
	clock.Advance(defaultThrottleWindow)
	if got := tryBegin(th, throttleKeyA); got != 0 {
		t.Errorf("begin a window later = %v, want 0", got)
	}
	if got := throttleSize(th); got != 1 {
		t.Errorf("entries a window later = %d, want 1", got)
	}
}

// TestLoginThrottleFullOfSingleFailures: one failed login for each of
// 100,000 made-up usernames must not lock every other user out; a full
// table makes room among the entries that are not locked out.
func TestLoginThrottleFullOfSingleFailures(t *testing.T) {
	th, _ := newUnitThrottle()
	fillThrottle(th, maxThrottleEntries, 1)
	if got := tryBegin(th, throttleKeyA); got != 0 {
		t.Errorf("begin with a table full of single failures = %v, want 0", got)
	}
}

// TestLoginThrottleEvictsOldestUnlocked checks what a full table gives up:
// the oldest entries that are not locked out, never a lockout, never a
// recent count.
func TestLoginThrottleEvictsOldestUnlocked(t *testing.T) {
	th, clock := newUnitThrottle()
	th.maxEntries = 16
	locked := throttleKey{username: "locked", addr: "192.0.2.9"}
	attempts(th, locked, defaultThrottleLimit, true)
	for i := range th.maxEntries - 1 {
		clock.Advance(time.Second)
		attempts(th, throttleKey{username: "user" + strconv.Itoa(i), addr: "192.0.2.1"}, 1, true)
	}
	if got := throttleSize(th); got != th.maxEntries {
		t.Fatalf("entries = %d, want a full table of %d", got, th.maxEntries)
	}
	if got := tryBegin(th, throttleKeyA); got != 0 {
		t.Fatalf("begin on a full table = %v, want room made", got)
	}
	if got := throttleSize(th); got > th.maxEntries {
		t.Errorf("entries = %d, want at most %d", got, th.maxEntries)
	}
	th.mu.Lock()
	_, oldestKept := th.entries[throttleKey{username: "user0", addr: "192.0.2.1"}]
	_, newestKept := th.entries[throttleKey{username: "user14", addr: "192.0.2.1"}]
	th.mu.Unlock()
	if oldestKept || !newestKept {
		t.Errorf("kept oldest = %v, newest = %v; want the oldest evicted and the newest kept", oldestKept, newestKept)
	}
	if got := tryBegin(th, locked); got <= 0 {
		t.Errorf("the lockout was evicted: begin = %v, want a wait", got)
	}
}

// TestLoginThrottleAbandoned checks that an attempt whose password was never
// checked counts neither way and leaves no entry behind.
func TestLoginThrottleAbandoned(t *testing.T) {
	th, _ := newUnitThrottle()
	for range defaultThrottleLimit * 3 {
		if got := tryBegin(th, throttleKeyA); got != 0 {
			t.Fatalf("begin after abandoned attempts = %v, want 0", got)
		}
		th.abandoned(throttleKeyA)
	}
	if got := throttleSize(th); got != 0 {
		t.Errorf("entries after abandoned attempts = %d, want 0", got)
	}
	attempts(th, throttleKeyA, 3, true)
	tryBegin(th, throttleKeyA)
	th.abandoned(throttleKeyA)
	th.mu.Lock()
	e := *th.entries[throttleKeyA]
	th.mu.Unlock()
	if e.failures != 3 || e.inFlight != 0 {
		t.Errorf("after 3 failures and an abandoned attempt: failures %d, in flight %d; want 3, 0", e.failures, e.inFlight)
	}
}

// TestLoginThrottleEnterWaitsForOutcome checks that an attempt beyond the
// limit of those in flight waits, then goes ahead when one succeeds, or is
// refused when they all fail.
func TestLoginThrottleEnterWaitsForOutcome(t *testing.T) {
	for _, outcome := range []string{"succeeded", "failed"} {
		t.Run(outcome, func(t *testing.T) {
			th, _ := newUnitThrottle()
			for range defaultThrottleLimit {
				if got := tryBegin(th, throttleKeyA); got != 0 {
					t.Fatalf("begin = %v, want 0", got)
				}
			}
			type result struct {
				wait time.Duration
				err  error
			}
			done := make(chan result, 1)
			go func() {
				wait, err := th.enter(context.Background(), throttleKeyA)
				done <- result{wait, err}
			}()
			select {
			case r := <-done:
				t.Fatalf("enter with the limit in flight = %v, %v; want it to wait", r.wait, r.err)
			case <-time.After(50 * time.Millisecond):
			}
			for range defaultThrottleLimit {
				if outcome == "succeeded" {
					th.succeeded(throttleKeyA)
				} else {
					th.failed(throttleKeyA)
				}
			}
			r := <-done
			switch {
			case r.err != nil:
				t.Fatalf("enter = %v", r.err)
			case outcome == "succeeded" && r.wait != 0:
				t.Errorf("enter after the others succeeded = %v, want 0", r.wait)
			case outcome == "failed" && r.wait != defaultThrottleWindow:
				t.Errorf("enter after the others failed = %v, want %v", r.wait, defaultThrottleWindow)
			}
		})
	}
}

func TestLoginThrottleEnterCanceled(t *testing.T) {
	th, _ := newUnitThrottle()
	for range defaultThrottleLimit {
		tryBegin(th, throttleKeyA)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := th.enter(ctx, throttleKeyA); err != context.Canceled {
		t.Errorf("enter with a canceled context = %v, want context.Canceled", err)
	}
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
	login := func(addr, password string) int {
		req := httptest.NewRequest("POST", "/api/tokens", nil)
		req.RemoteAddr = addr + ":40000"
		req.SetBasicAuth("muthoni", password)
		rec := httptest.NewRecorder()
		ts.srv.ServeHTTP(rec, req)
		return rec.Code
	}
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
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", ts.URL+"/api/tokens", nil)
	if err != nil {
		return 0
	}
	req.SetBasicAuth(username, password)
	res, err := ts.Client().Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// TestThrottledUserDoesNotHoldBackOthers: while one username has logins
// waiting for the outcome of the attempts in flight, and then while it is
// locked out, another user logs in as usual. The waiting logins wait until
// the test ends the attempts in flight, so nothing here depends on timing;
// a wait shared between users would leave the other login unanswered.
func TestThrottledUserDoesNotHoldBackOthers(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "muthoni", "muthoni-password")
	ts.createUser(t, "kamau", "kamau-password")
	th := ts.srv.throttle

	// One real failure gives the key the server counts muthoni's logins by;
	// the rest of the limit is then put in flight, as if being checked.
	wantBasicChallenge(t, "POST /api/tokens as muthoni, wrong password", ts.callBasic(t, "POST", "/api/tokens", "muthoni", "wrong-password"))
	th.mu.Lock()
	keys := slices.Collect(maps.Keys(th.entries))
	th.mu.Unlock()
	if len(keys) != 1 {
		t.Fatalf("throttle keys after one failed login = %v, want one", keys)
	}
	key := keys[0]
	for range defaultThrottleLimit - 1 {
		if wait, settled := th.begin(key); wait != 0 || settled != nil {
			t.Fatalf("begin(%v) = %v, %v; want the attempt to start", key, wait, settled)
		}
	}
	inFlight := defaultThrottleLimit - 1
	defer func() { // the server cannot close while logins wait
		for ; inFlight > 0; inFlight-- {
			th.failed(key)
		}
	}()

	const waiting = 3
	statuses := make(chan int, waiting)
	for range waiting {
		go func() { statuses <- ts.loginStatus("muthoni", "muthoni-password") }()
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		th.mu.Lock()
		isWaiting := th.entries[key].settled != nil
		th.mu.Unlock()
		if isWaiting {
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
		th.failed(key)
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
// usernames at once, through HTTP, at a server whose throttle holds at most
// 64 entries: the table never grows past its cap, a lockout made before
// the flood survives it, and a real user still logs in after it. The unit
// tests prove the cap at its real size of 100,000.
func TestFailedLoginFloodBounded(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "muthoni", "muthoni-password")
	ts.createUser(t, "kamau", "kamau-password")
	th := ts.srv.throttle
	const maxEntries = 64
	th.mu.Lock()
	th.maxEntries = maxEntries
	th.mu.Unlock()
	for range defaultThrottleLimit {
		ts.callBasic(t, "POST", "/api/tokens", "muthoni", "wrong-password")
	}

	const clients, perClient = 8, 40
	var largest atomic.Int64
	sampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			largest.Store(max(largest.Load(), int64(throttleSize(th))))
			select {
			case <-sampling:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	var unexpected atomic.Int64
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perClient {
				if ts.loginStatus(fmt.Sprintf("flood%d-%d", c, i), "wrong-password") != http.StatusUnauthorized {
					unexpected.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(sampling)
	<-sampled
	largest.Store(max(largest.Load(), int64(throttleSize(th))))

	if n := unexpected.Load(); n != 0 {
		t.Errorf("%d of %d failed logins for made-up usernames were not 401", n, clients*perClient)
	}
	if got := largest.Load(); got > maxEntries {
		t.Errorf("throttle held %d entries during the flood, want at most %d", got, maxEntries)
	}
	res := ts.callBasic(t, "POST", "/api/tokens", "muthoni", "muthoni-password")
	wantStatus(t, "POST /api/tokens as muthoni, locked out before the flood", res, http.StatusTooManyRequests)
	ts.login(t, "kamau", "kamau-password")
}
