package main

import (
	"context"
	"net/http"
	"slices"
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
	ts.srv.passwords.slots.maxWait = 50 * time.Millisecond
	free := takeAllSlots(t, ts.srv.passwords.slots)
	for range defaultThrottleLimit + 1 {
		res := ts.callBasic(t, "POST", "/api/tokens", "muthoni", "wrong-password")
		wantError(t, "POST /api/tokens with every slot busy", res, http.StatusServiceUnavailable, "try again")
		if res.header.Get("Retry-After") == "" {
			t.Fatalf("503 without Retry-After")
		}
	}
	free()
	// None of the busy answers counted against the user.
	ts.login(t, "muthoni", "muthoni123")
	if strings.Contains(ts.logs.String(), "level=ERROR") {
		t.Errorf("a busy server logged an error:\n%s", ts.logs)
	}
}

// TestDerivePassesCancellation checks a caller that gives up while waiting
// for a slot is let go at once.
func TestDerivePassesCancellation(t *testing.T) {
	h := newPasswordHasher(testPasswordIterations, newHashSlots(1))
	defer takeAllSlots(t, h.slots)()
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
	ts.srv.passwords.slots.maxWait = 50 * time.Millisecond
	defer takeAllSlots(t, ts.srv.passwords.slots)()
	res := ts.callBasic(t, "POST", "/api/tokens", "nobody", "some-password")
	wantError(t, "POST /api/tokens for an unknown user with every slot busy", res, http.StatusServiceUnavailable, "")
}

// TestUnknownUserTakesAsLong measures what TestUnknownUserCostsAHash
// implies: a login for a username that does not exist takes as long as one
// with a wrong password. At a password cost high enough for the hash to
// dominate, the medians of interleaved tries must be within a factor of two
// of each other. Measured under the race detector: about 1.0 as it is, 0.10
// when an unknown username skips the hash, and over 100 when its dummy hash
// has the default cost rather than the server's.
func TestUnknownUserTakesAsLong(t *testing.T) {
	// A cost at which a hash takes about 15 ms here, with or without the
	// race detector (which slows PBKDF2 tenfold): well above the rest of a
	// request, well below a slow test.
	iterations := iterationsTaking(t, 15*time.Millisecond)
	ts := newTestServer(t, func(c *config) {
		c.passwordIterations = iterations
		c.throttleLimit, c.accountLimit, c.addressLimit = 1<<30, 1<<30, 1<<30 // every try is a password check, never a 429
	})
	ts.createUser(t, "muthoni", "muthoni-password")
	const tries = 40
	var wrongPassword, unknownUser []time.Duration
	try := func(username string) time.Duration {
		start := time.Now()
		res := ts.callBasic(t, "POST", "/api/tokens", username, "wrong-password")
		elapsed := time.Since(start)
		wantStatus(t, "POST /api/tokens as "+username, res, http.StatusUnauthorized)
		return elapsed
	}
	try("muthoni") // warm up both paths
	try("nobody")
	for i := range tries {
		if i%2 == 0 {
			wrongPassword = append(wrongPassword, try("muthoni"))
			unknownUser = append(unknownUser, try("nobody"))
		} else {
			unknownUser = append(unknownUser, try("nobody"))
			wrongPassword = append(wrongPassword, try("muthoni"))
		}
	}
	median := func(d []time.Duration) time.Duration {
		slices.Sort(d)
		return d[len(d)/2]
	}
	wrong, unknown := median(wrongPassword), median(unknownUser)
	ratio := float64(unknown) / float64(wrong)
	t.Logf("%d iterations, median of %d logins: wrong password %v, unknown username %v; ratio %.2f",
		iterations, tries, wrong, unknown, ratio)
	if ratio < 0.5 || ratio > 2 {
		t.Errorf("an unknown username takes %.2f times as long as a wrong password (%v against %v), want 0.5 to 2",
			ratio, unknown, wrong)
	}
}
