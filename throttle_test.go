package main

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// Unit tests of the password throttle (throttle.go) on a clock the test
// moves. The HTTP tests of the endpoints it guards are in
// throttle_http_test.go.

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
		if got := th.size(); got != step.want {
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
	if got := th.size(); got != maxThrottleEntries {
		t.Errorf("entries = %d, want %d", got, maxThrottleEntries)
	}
	clock.Advance(defaultThrottleWindow)
	if got := tryBegin(th, throttleKeyA); got != 0 {
		t.Errorf("begin a window later = %v, want 0", got)
	}
	if got := th.size(); got != 1 {
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
	if got := th.size(); got != th.maxEntries {
		t.Fatalf("entries = %d, want a full table of %d", got, th.maxEntries)
	}
	if got := tryBegin(th, throttleKeyA); got != 0 {
		t.Fatalf("begin on a full table = %v, want room made", got)
	}
	if got := th.size(); got > th.maxEntries {
		t.Errorf("entries = %d, want at most %d", got, th.maxEntries)
	}
	oldestKept := th.state(throttleKey{username: "user0", addr: "192.0.2.1"}).present
	newestKept := th.state(throttleKey{username: "user14", addr: "192.0.2.1"}).present
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
	if got := th.size(); got != 0 {
		t.Errorf("entries after abandoned attempts = %d, want 0", got)
	}
	attempts(th, throttleKeyA, 3, true)
	tryBegin(th, throttleKeyA)
	th.abandoned(throttleKeyA)
	if s := th.state(throttleKeyA); s.failures != 3 || s.inFlight != 0 {
		t.Errorf("after 3 failures and an abandoned attempt: failures %d, in flight %d; want 3, 0", s.failures, s.inFlight)
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
