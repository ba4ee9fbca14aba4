package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The sweeper, as run starts it, clears expired sessions and stale
// records of failed password checks.
func TestSweepEvery(t *testing.T) {
	ts := newTestServer(t)
	ts.newUser(t, "muthoni")
	ts.login(t, "muthoni", "muthoni-password")
	wantBasicChallenge(t, "POST /api/tokens with a wrong password", ts.callBasic(t, "POST", "/api/tokens", "nobody", "wrong-password"))
	if n := ts.count(t, "password_failures"); n != 3 { // the name from here, the name, this address
		t.Fatalf("password_failures = %d rows, want 3", n)
	}
	ts.clock.Advance(defaultConfig().tokenTTL + defaultThrottleWindow)
	_, live := ts.newUser(t, "kamau")

	stop := ts.srv.startSweeper(time.Hour) // sweeps at once
	deadline := time.Now().Add(5 * time.Second)
	for (ts.count(t, "tokens") != 1 || ts.count(t, "password_failures") != 0) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if n := ts.count(t, "tokens"); n != 1 {
		t.Errorf("tokens = %d rows after a sweep, want 1", n)
	}
	if n := ts.count(t, "password_failures"); n != 0 {
		t.Errorf("password_failures = %d rows after a sweep, want 0", n)
	}
	wantStatus(t, "GET /api/users with a live token", ts.call(t, "GET", "/api/users", live, ""), http.StatusOK)
	if !strings.Contains(ts.logs.String(), "deleted expired sessions") {
		t.Errorf("logs = %q, want a line about deleted expired sessions", ts.logs.String())
	}
}
