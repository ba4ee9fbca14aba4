package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// tokenapi totp-off turns TOTP off for a user who lost the device, and
// ends the user's sessions; the user then logs in with the password alone.
func TestAdminTOTPOff(t *testing.T) {
	t.Parallel()
	p, dir := startAdminServer(t)
	id := p.createUser(t, "amara", "amara-password")
	token := p.login(t, "amara", "amara-password")
	path := totpPath(id)
	res := p.call(t, "POST", path, token, `{"current_password": "amara-password"}`)
	wantStatus(t, "POST "+path, res, http.StatusOK)
	secret := res.object(t)["secret"].(string)
	// The program's clock is the real one: totp-code makes the code.
	code := strings.TrimSpace(runOK(t, dir, "", "totp-code", secret))
	res = p.call(t, "POST", path+"/confirm", token, fmt.Sprintf(`{"code": %q}`, code))
	wantStatus(t, "POST "+path+"/confirm", res, http.StatusOK)
	recovery := res.object(t)["recovery_codes"].([]any)[0].(string)
	res = p.callBasic(t, "POST", "/api/tokens", "amara", "amara-password")
	wantStatus(t, "login without a code", res, http.StatusUnauthorized)
	res = p.callWith(t, "POST", "/api/tokens", "", basic("amara", "amara-password"), withOTP(recovery))
	wantStatus(t, "login with a recovery code", res, http.StatusOK)

	if out := runOK(t, dir, "", "totp-off", "amara"); out != "turned TOTP off for amara and ended 2 sessions\n" {
		t.Errorf("totp-off amara printed %q", out)
	}
	waitRefused(t, p, token, "a session from before totp-off")
	// The user's log says what the operator did.
	items := adminEventsJSON(t, dir, "amara")
	if len(items) < 3 || items[1].Type != eventSessionEnded || text(items[1].Detail) != byAdmin ||
		items[2].Type != eventTOTPDisabled || text(items[2].Detail) != byAdmin {
		t.Errorf("the log after totp-off, newest first: %+v; want events.read, session.ended admin, totp.disabled admin", items)
	}
	wantWorks(t, p, p.login(t, "amara", "amara-password"), "a login with the password alone")
	_, stderr, code2 := runProgram(t, dir, "", "-db", "tokenapi.db", "totp-off", "amara")
	if want := "tokenapi: TOTP is off for amara already\n"; code2 != 1 || stderr != want {
		t.Errorf("totp-off again: exit code %d, stderr %q; want 1 and %q", code2, stderr, want)
	}
}

// tokenapi totp-code prints the code of a secret now, as an app would.
func TestAdminTOTPCode(t *testing.T) {
	t.Parallel()
	secret := []byte("12345678901234567890")
	encoded := totpBase32.EncodeToString(secret)
	before := totpCode(secret, time.Now())
	out, stderr, code := runProgram(t, t.TempDir(), "", "totp-code", strings.ToLower(encoded))
	after := totpCode(secret, time.Now())
	if got := strings.TrimSpace(out); code != 0 || stderr != "" || got != before && got != after {
		t.Errorf("totp-code: %q, %q, exit code %d; want %s or %s", out, stderr, code, before, after)
	}
	_, stderr, code = runProgram(t, t.TempDir(), "", "totp-code", "not base32!")
	if code != 2 || !strings.Contains(stderr, "is not a base32 secret") {
		t.Errorf("totp-code with a bad secret: exit code %d, stderr %q; want 2", code, stderr)
	}
}
