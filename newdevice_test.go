package main

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"
)

const deviceMailSubject = "A new login to your account"

// loginFrom logs username in from client address addr (behind the
// trusted proxy) with user agent agent, and returns the new session's id.
func (ts *testServer) loginFrom(t *testing.T, username, addr, agent string) int64 {
	t.Helper()
	res := ts.callWith(t, "POST", "/api/tokens", "", basic(username, username+"-password"),
		withHeader("X-Forwarded-For", addr), withHeader("User-Agent", agent))
	wantStatus(t, "login of "+username+" from "+addr+" with "+agent, res, http.StatusOK)
	return int64(res.object(t)["id"].(float64))
}

// deviceAlerts waits for the sender to settle, and returns the alerts
// the SMTP server took.
func deviceAlerts(t *testing.T, ts *testServer, sink *smtpSink) []receivedMail {
	t.Helper()
	ts.waitOutboxEmpty(t)
	return sink.mailsAbout(t, deviceMailSubject)
}

// A login from an address and client the account has not used for 30
// days alerts its verified address, with how to end that session; the
// same device again does not, an address in the same IPv6 /64 is the
// same address, at most one alert goes an hour, and an account's first
// login alerts nobody.
func TestNewDeviceAlert(t *testing.T) {
	sink := startSMTPSink(t)
	ts := newMailTestServer(t, sink, func(cfg *config) {
		cfg.trustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	id := ts.createUser(t, "muthoni", "muthoni-password")
	code := sink.waitMailsAbout(t, verifyMailSubject, 1)[0].token(t)
	wantStatus(t, "confirm", ts.confirmEmail(t, code), http.StatusNoContent)

	ts.loginFrom(t, "muthoni", "2001:db8:1:2::7", "TeaApp/1.0")  // the first: nothing to compare with
	ts.loginFrom(t, "muthoni", "2001:db8:1:2::99", "TeaApp/1.0") // the same /64
	if n := len(deviceAlerts(t, ts, sink)); n != 0 {
		t.Fatalf("alerts after the first login and the same device again = %d, want 0", n)
	}
	ts.clock.Advance(time.Minute)
	session := ts.loginFrom(t, "muthoni", "203.0.113.9", "curl/8.5.0")
	alerts := deviceAlerts(t, ts, sink)
	if len(alerts) != 1 || alerts[0].to != "muthoni@example.com" {
		t.Fatalf("alerts after a new device = %d, want 1 to muthoni@example.com", len(alerts))
	}
	for _, want := range []string{"203.0.113.9", "curl/8.5.0", fmt.Sprintf("DELETE /api/tokens/%d", session), "2026-11-29 12:01:00 UTC"} {
		if !strings.Contains(alerts[0].body, want) {
			t.Errorf("the alert lacks %q:\n%s", want, alerts[0].body)
		}
	}
	ts.loginFrom(t, "muthoni", "203.0.113.9", "curl/8.5.0")  // known now
	ts.loginFrom(t, "muthoni", "198.51.100.4", "TeaApp/1.0") // new, within the hour
	if n := len(deviceAlerts(t, ts, sink)); n != 1 {
		t.Errorf("alerts after a known device and a second new one within the hour = %d, want 1", n)
	}
	ts.clock.Advance(deviceAlertWindow)
	ts.loginFrom(t, "muthoni", "198.51.100.4", "TeaApp/2.0") // another client
	if n := len(deviceAlerts(t, ts, sink)); n != 2 {
		t.Errorf("alerts after a new client an hour on = %d, want 2", n)
	}
	if n := ts.count(t, fmt.Sprintf("known_devices WHERE user_id = %d", id)); n != 4 {
		t.Errorf("known devices = %d, want 4", n)
	}
	ts.clock.Advance(knownAddressTTL)
	ts.srv.sweep(t.Context())
	if n := ts.count(t, "known_devices"); n != 0 {
		t.Errorf("known devices 30 days on, after a sweep = %d, want 0", n)
	}
}

// An unverified address gets no alert.
func TestNewDeviceAlertNeedsVerifiedEmail(t *testing.T) {
	sink := startSMTPSink(t)
	ts := newMailTestServer(t, sink, func(cfg *config) {
		cfg.trustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	ts.createUser(t, "muthoni", "muthoni-password")
	ts.loginFrom(t, "muthoni", "192.0.2.1", "TeaApp/1.0")
	ts.loginFrom(t, "muthoni", "203.0.113.9", "curl/8.5.0")
	if n := len(deviceAlerts(t, ts, sink)); n != 0 {
		t.Errorf("alerts to an unverified address = %d, want 0", n)
	}
	if n := ts.count(t, "known_devices"); n != 2 {
		t.Errorf("known devices = %d, want 2", n)
	}
}

// Deleting an account mails its verified address; an unverified one gets
// nothing, and the account goes all the same.
func TestDeleteUserMail(t *testing.T) {
	sink := startSMTPSink(t)
	ts := newMailTestServer(t, sink)
	id, token := ts.newVerifiedUser(t, sink, "muthoni", 1)
	otherID, other := ts.newUser(t, "baraka")
	for _, u := range []struct {
		id    int64
		token string
		name  string
	}{{id, token, "muthoni"}, {otherID, other, "baraka"}} {
		res := ts.call(t, "DELETE", userPath(u.id), u.token, fmt.Sprintf(`{"current_password": "%s-password"}`, u.name))
		wantStatus(t, "DELETE "+u.name, res, http.StatusNoContent)
	}
	ts.waitOutboxEmpty(t)
	mails := sink.mailsAbout(t, "Your account was deleted")
	if len(mails) != 1 || mails[0].to != "muthoni@example.com" || !strings.Contains(mails[0].body, "were deleted") {
		t.Fatalf("deletion mails = %+v, want one to muthoni@example.com", mails)
	}
	if n := ts.count(t, "users"); n != 0 {
		t.Errorf("users = %d, want 0", n)
	}
}
