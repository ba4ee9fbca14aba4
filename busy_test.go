package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPasswordSlotsBusy fills every hash slot and checks that a login then
// gets a 503 with Retry-After after the bounded wait, counts as no failed
// attempt, and logs no error.
func TestPasswordSlotsBusy(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "muthoni", "muthoni123")
	ts.srv.passwords.maxWait = 50 * time.Millisecond
	for range cap(ts.srv.passwords.slots) {
		ts.srv.passwords.slots <- struct{}{}
	}
	for range defaultThrottleLimit + 1 {
		res := ts.callBasic(t, "POST", "/api/tokens", "muthoni", "wrong-password")
		wantError(t, "POST /api/tokens with every slot busy", res, http.StatusServiceUnavailable, "try again")
		if res.header.Get("Retry-After") == "" {
			t.Fatalf("503 without Retry-After")
		}
	}
	for range cap(ts.srv.passwords.slots) {
		<-ts.srv.passwords.slots
	}
	// None of the busy answers counted against the user.
	ts.login(t, "muthoni", "muthoni123")
	if strings.Contains(ts.logs.String(), "level=ERROR") {
		t.Errorf("a busy server logged an error:\n%s", ts.logs)
	}
}

// TestDerivePassesCancellation checks a caller that gives up while waiting
// for a slot is let go at once.
func TestDerivePassesCancellation(t *testing.T) {
	h := newPasswordHasher(testPasswordIterations, 1)
	h.slots <- struct{}{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.hash(ctx, "password1"); err != context.Canceled {
		t.Fatalf("hash with a canceled context and no free slot = %v, want context.Canceled", err)
	}
}

// TestUnknownUserCostsAHash checks that a login for a username that does
// not exist still runs the password hash: with every hash slot taken, it
// must wait for one like any other login, not answer 401 at once.
func TestUnknownUserCostsAHash(t *testing.T) {
	ts := newTestServer(t)
	ts.srv.passwords.maxWait = 50 * time.Millisecond
	for range cap(ts.srv.passwords.slots) {
		ts.srv.passwords.slots <- struct{}{}
	}
	defer func() {
		for range cap(ts.srv.passwords.slots) {
			<-ts.srv.passwords.slots
		}
	}()
	res := ts.callBasic(t, "POST", "/api/tokens", "nobody", "some-password")
	wantError(t, "POST /api/tokens for an unknown user with every slot busy", res, http.StatusServiceUnavailable, "")
}
