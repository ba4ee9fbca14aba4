package main

import (
	"fmt"
	"net/http"
	"net/netip"
	"testing"
	"time"
)

// Turning TOTP on and off, the codes of a login and the recovery codes all
// go into the user's security log, with the client's address and user
// agent; a wrong code at login is a login.failed, as a wrong password is.
func TestTOTPEvents(t *testing.T) {
	ts := newTestServer(t, func(c *config) {
		c.trustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	const client, agent = "203.0.113.9", "TeaApp/2.1 (Android 14)"
	from := func(r *http.Request) {
		r.Header.Set("X-Forwarded-For", client)
		r.Header.Set("User-Agent", agent)
	}
	id := ts.createUser(t, "muthoni", "muthoni-password")
	res := ts.callWith(t, "POST", "/api/tokens", "", basic("muthoni", "muthoni-password"), from)
	wantStatus(t, "login", res, http.StatusOK)
	token, mine := res.object(t)["token"].(string), int64(res.object(t)["id"].(float64))
	call := func(method, path, body string) response {
		t.Helper()
		return ts.callWith(t, method, path, body, bearer(token), from)
	}

	secret := enrolTOTP(t, ts, id, token, "muthoni-password")
	res = call("POST", totpPath(id)+"/confirm", fmt.Sprintf(`{"code": %q}`, totpCode(secret, ts.clock.Now())))
	wantStatus(t, "confirm", res, http.StatusOK)
	wantEvent(t, "after the confirmation", ts.newest(t, id, token), eventTOTPEnabled, "", mine, client, agent)
	var codes []string
	for _, c := range res.object(t)["recovery_codes"].([]any) {
		codes = append(codes, c.(string))
	}

	login := func(code string) response {
		return ts.callWith(t, "POST", "/api/tokens", "", basic("muthoni", "muthoni-password"), withOTP(code), from)
	}
	wantOTPRequired(t, "a wrong code", login("aaaa-bbbb-cccc-dddd"), "wrong")
	wantEvent(t, "after a wrong code", ts.newest(t, id, token), eventLoginFailed, "1", 0, client, agent)
	res = login(codes[0])
	wantStatus(t, "login with a recovery code", res, http.StatusOK)
	items := ts.eventsOf(t, id, token)
	wantEvent(t, "after a login with a recovery code", items[0], eventLoginSucceeded, "", int64(res.object(t)["id"].(float64)), client, agent)
	wantEvent(t, "after a login with a recovery code", items[1], eventRecoveryCodeUsed, "", 0, client, agent)

	res = call("POST", totpPath(id)+"/recovery-codes", fmt.Sprintf(`{"code": %q}`, codes[1]))
	wantStatus(t, "new recovery codes", res, http.StatusOK)
	items = ts.eventsOf(t, id, token)
	wantEvent(t, "after new recovery codes", items[0], eventRecoveryCodesReplaced, "", mine, client, agent)
	wantEvent(t, "after new recovery codes", items[1], eventRecoveryCodeUsed, "", mine, client, agent)

	ts.clock.Advance(totpPeriod * time.Second)
	res = call("DELETE", totpPath(id), fmt.Sprintf(`{"current_password": "muthoni-password", "code": %q}`, totpCode(secret, ts.clock.Now())))
	wantStatus(t, "DELETE /totp", res, http.StatusNoContent)
	wantEvent(t, "after TOTP is off", ts.newest(t, id, token), eventTOTPDisabled, "", mine, client, agent)
}
