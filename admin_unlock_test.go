package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// waitLogin waits for a login to succeed, which it must within cacheTrust
// of a change made by another process; it allows twice that.
func waitLogin(t *testing.T, p *program, username, password, what string) {
	t.Helper()
	deadline := time.Now().Add(2 * cacheTrust)
	for {
		res := p.callBasic(t, "POST", "/api/tokens", username, password)
		if res.status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: POST /api/tokens as %s still %d after %v, want 200", what, username, res.status, 2*cacheTrust)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lockOutOf fails logins as username with a wrong password until the
// account is locked out from here.
func lockOutOf(t *testing.T, p *program, username, password string) {
	t.Helper()
	for range defaultThrottleLimit {
		p.callBasic(t, "POST", "/api/tokens", username, "wrong-password")
	}
	wantStatus(t, "POST /api/tokens as "+username+" after a lockout",
		p.callBasic(t, "POST", "/api/tokens", username, password), http.StatusTooManyRequests)
}

// tokenapi unlock clears the lockouts of an account or of an address, and
// a running server honours it within a second; tokenapi passwd clears the
// account's too.
func TestAdminUnlock(t *testing.T) {
	t.Parallel()
	p, dir := startAdminServer(t)
	p.createUser(t, "amara", "amara-password")
	p.createUser(t, "kofi", "kofi-password")

	lockOutOf(t, p, "amara", "amara-password")
	out := runOK(t, dir, "", "unlock", "amara")
	if !strings.HasPrefix(out, "cleared 2 records of failed password checks for amara:\n") ||
		!strings.Contains(out, "from 127.0.0.1") || !strings.Contains(out, "locked until") {
		t.Errorf("unlock amara printed %q", out)
	}
	waitLogin(t, p, "amara", "amara-password", "after unlock amara")
	if out := runOK(t, dir, "", "unlock", "amara"); out != "cleared nothing for amara\n" {
		t.Errorf("unlock amara again printed %q", out)
	}

	// Made-up names from one address lock it out for every account never
	// seen there, such as kofi.
	for i := range defaultAddressLimit {
		p.callBasic(t, "POST", "/api/tokens", fmt.Sprintf("nobody%d", i), "wrong-password")
	}
	wantStatus(t, "kofi after a flood from his address", p.callBasic(t, "POST", "/api/tokens", "kofi", "kofi-password"),
		http.StatusTooManyRequests)
	out = runOK(t, dir, "", "unlock", "-address", "127.0.0.1")
	if !strings.HasPrefix(out, "cleared ") || !strings.Contains(out, "from 127.0.0.1") {
		t.Errorf("unlock -address 127.0.0.1 printed %q", out)
	}
	waitLogin(t, p, "kofi", "kofi-password", "after unlock -address")

	// A new password set by the operator is not met with the old lockout.
	lockOutOf(t, p, "kofi", "kofi-password")
	runOK(t, dir, "a much longer passphrase\n", "passwd", "kofi")
	waitLogin(t, p, "kofi", "a much longer passphrase", "after passwd kofi")
}

func TestAdminUnlockRefusesBadInput(t *testing.T) {
	t.Parallel()
	p, dir := startAdminServer(t)
	p.createUser(t, "amara", "amara-password")
	for _, tc := range []struct {
		args []string
		want string
		code int
	}{
		{[]string{"unlock", "nobody"}, "tokenapi: no user named \"nobody\"\n", 1},
		{[]string{"unlock", "-address", "not-an-address"}, "tokenapi: unlock: invalid value \"not-an-address\" for flag -address: want an IP address such as 192.0.2.7 or 2001:db8::1\n", 2},
		{[]string{"unlock", "-address", "127.0.0.1", "amara"}, "tokenapi: unlock takes a USERNAME or -address ADDR, not both\n", 2},
		{[]string{"unlock"}, "tokenapi: unlock needs a USERNAME\n", 2},
	} {
		args := append([]string{"-db", "tokenapi.db"}, tc.args...)
		_, stderr, code := runProgram(t, dir, "", args...)
		if code != tc.code || !strings.HasPrefix(stderr, strings.TrimSuffix(tc.want, "\n")) {
			t.Errorf("tokenapi %s: exit code %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), code, stderr, tc.code, tc.want)
		}
	}
}
