package main

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Unit tests of the password throttle (throttle.go), on the store of a
// test server (a real SQLite file) and a clock the test moves. The HTTP
// tests of the endpoints it guards are in throttle_http_test.go.

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
	keys := th.loginKeys(1, "muthoni", "192.0.2.1")
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
	keys := th.loginKeys(1, "muthoni", "192.0.2.1")
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
	keys := th.loginKeys(1, "muthoni", "192.0.2.1")
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
	keys := th.loginKeys(1, "muthoni", "192.0.2.1")
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
	keys := th.loginKeys(1, "muthoni", "192.0.2.1")
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
	keys := th.loginKeys(1, "muthoni", "192.0.2.1")
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
		keys := th.loginKeys(tc.userID, tc.username, tc.addr)
		for i, k := range keys {
			if k.name != tc.want[i] {
				t.Errorf("loginKeys(%d, %q, %q)[%d] = %q, want %q", tc.userID, tc.username, tc.addr, i, k.name, tc.want[i])
			}
		}
		if keys[0].limit != 10 || keys[1].limit != 100 || keys[2].limit != 100 {
			t.Errorf("loginKeys limits = %d, %d, %d; want 10, 100, 100", keys[0].limit, keys[1].limit, keys[2].limit)
		}
	}
}
