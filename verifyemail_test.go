package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const verifyMailSubject = "Your email verification code"

// confirmEmail sends a verification code.
func (ts *testServer) confirmEmail(t *testing.T, token string) response {
	t.Helper()
	return ts.call(t, "POST", "/api/email-verification/confirm", "", fmt.Sprintf(`{"token": %q}`, token))
}

// verifiedFlag is email_verified of the user, as the user sees it.
func (ts *testServer) verifiedFlag(t *testing.T, id int64, token string) any {
	t.Helper()
	res := ts.call(t, "GET", userPath(id), token, "")
	wantStatus(t, "GET "+userPath(id), res, http.StatusOK)
	return res.object(t)["email_verified"]
}

// newVerifiedUser signs a user up, confirms the code of its sign-up mail
// (the nth verification mail the sink takes) and logs it in.
func (ts *testServer) newVerifiedUser(t *testing.T, sink *smtpSink, username string, nth int) (int64, string) {
	t.Helper()
	id := ts.createUser(t, username, username+"-password")
	m := sink.waitMailsAbout(t, verifyMailSubject, nth)[nth-1]
	if m.to != username+"@example.com" {
		t.Fatalf("verification mail %d went to %q, want %s@example.com", nth, m.to, username)
	}
	wantStatus(t, "confirm "+username+"'s code", ts.confirmEmail(t, m.token(t)), http.StatusNoContent)
	return id, ts.login(t, username, username+"-password")
}

// The whole verification: the sign-up mails a code, the code verifies
// the address, works once, and the log says so. Another user sees no
// email_verified, as no email.
func TestEmailVerification(t *testing.T) {
	sink := startSMTPSink(t)
	ts := newMailTestServer(t, sink)
	id, token := ts.newUser(t, "muthoni")
	if got := ts.verifiedFlag(t, id, token); got != false {
		t.Errorf("email_verified after sign-up = %v, want false", got)
	}
	m := sink.waitMailsAbout(t, verifyMailSubject, 1)[0]
	code := m.token(t)
	if m.to != "muthoni@example.com" || !strings.HasPrefix(code, "tapv_") || !strings.Contains(m.body, "POST /api/email-verification/confirm") {
		t.Errorf("mail to %q with code %q:\n%s", m.to, code, m.body)
	}
	wantStatus(t, "confirm", ts.confirmEmail(t, code), http.StatusNoContent)
	if got := ts.verifiedFlag(t, id, token); got != true {
		t.Errorf("email_verified after confirming = %v, want true", got)
	}
	wantError(t, "the code a second time", ts.confirmEmail(t, code), http.StatusBadRequest, errBadVerifyToken)
	if got := ts.newest(t, id, token); got.Type != eventEmailVerified {
		t.Errorf("newest event = %s, want %s", got.Type, eventEmailVerified)
	}
	if n := ts.count(t, "email_verifications"); n != 0 {
		t.Errorf("email_verifications after the confirm = %d rows, want 0", n)
	}
	_, other := ts.newUser(t, "baraka")
	if _, shown := ts.call(t, "GET", userPath(id), other, "").object(t)["email_verified"]; shown {
		t.Error("another user sees email_verified")
	}

	// A sign-up refused for a taken name or email queues nothing: the
	// account and its mail are one transaction.
	ts.waitOutboxEmpty(t)
	kept := ts.count(t, "email_verifications") + ts.count(t, "mail_requests")
	for _, body := range []string{
		`{"username": "MUTHONI", "email": "new@example.com", "password": "password1"}`,
		`{"username": "newcomer", "email": "Muthoni@Example.com", "password": "password1"}`,
	} {
		wantError(t, "POST /api/users "+body, ts.call(t, "POST", "/api/users", "", body), http.StatusBadRequest, "already")
	}
	if n, queued := ts.count(t, "email_verifications")+ts.count(t, "mail_requests"), ts.count(t, "outbox"); n != kept || queued != 0 {
		t.Errorf("after refused sign-ups: codes and counted requests = %d, want %d; outbox = %d, want 0", n, kept, queued)
	}
}

// A new email is unverified and gets a code; the code sent to the old
// address verifies nothing now. A change of case alone is the same
// address: it stays verified, and no mail goes.
func TestEmailChangeUnverifies(t *testing.T) {
	sink := startSMTPSink(t)
	ts := newMailTestServer(t, sink)
	id, token := ts.newUser(t, "muthoni")
	stale := sink.waitMailsAbout(t, verifyMailSubject, 1)[0].token(t)
	ts.clock.Advance(verifyAccountWindow)
	wantStatus(t, "resend", ts.call(t, "POST", userPath(id)+"/email-verification", token, ""), http.StatusAccepted)
	wantStatus(t, "confirm", ts.confirmEmail(t, sink.waitMailsAbout(t, verifyMailSubject, 2)[1].token(t)), http.StatusNoContent)
	wantError(t, "the older code, replaced", ts.confirmEmail(t, stale), http.StatusBadRequest, errBadVerifyToken)

	res := ts.call(t, "PUT", userPath(id), token, `{"email": "MUTHONI@Example.com"}`)
	if wantStatus(t, "PUT a change of case", res, http.StatusOK); res.object(t)["email_verified"] != true {
		t.Errorf("email_verified after a change of case = %v, want true", res.object(t)["email_verified"])
	}
	ts.clock.Advance(verifyAccountWindow)
	res = ts.call(t, "PUT", userPath(id), token, `{"email": "wanjiru@example.com"}`)
	if wantStatus(t, "PUT a new email", res, http.StatusOK); res.object(t)["email_verified"] != false {
		t.Errorf("email_verified after a new email = %v, want false", res.object(t)["email_verified"])
	}
	mails := sink.waitMailsAbout(t, verifyMailSubject, 3)
	if len(mails) != 3 || mails[2].to != "wanjiru@example.com" {
		t.Fatalf("verification mails = %d, the last to %q; want 3, the last to wanjiru@example.com", len(mails), mails[len(mails)-1].to)
	}

	// A code for the old address, sent before the change, is refused.
	ts.call(t, "PUT", userPath(id), token, `{"email": "muthoni@example.com"}`) // within the minute: no mail
	ts.waitOutboxEmpty(t)
	if n := len(sink.mailsAbout(t, verifyMailSubject)); n != 3 {
		t.Errorf("verification mails after a change within the minute = %d, want 3", n)
	}
	res = ts.call(t, "PUT", userPath(id), token, `{"email": "wanjiru@example.com"}`)
	wantStatus(t, "PUT back", res, http.StatusOK)
	// The code mailed to wanjiru@ before the round trip is bound to its
	// address, which the account has again: it still verifies.
	wantStatus(t, "the code of the address the account has again", ts.confirmEmail(t, mails[2].token(t)), http.StatusNoContent)
	if got := ts.verifiedFlag(t, id, token); got != true {
		t.Errorf("email_verified = %v, want true", got)
	}
}

// A code verifies only the address it went to: after a change away from
// it (without mail: the limit holds the new code back), it is refused and
// nothing changes.
func TestEmailVerificationBoundToAddress(t *testing.T) {
	sink := startSMTPSink(t)
	ts := newMailTestServer(t, sink)
	id, token := ts.newUser(t, "muthoni")
	code := sink.waitMailsAbout(t, verifyMailSubject, 1)[0].token(t)
	wantStatus(t, "PUT a new email", ts.call(t, "PUT", userPath(id), token, `{"email": "other@example.com"}`), http.StatusOK)
	wantError(t, "the code of the old address", ts.confirmEmail(t, code), http.StatusBadRequest, errBadVerifyToken)
	if got := ts.verifiedFlag(t, id, token); got != false {
		t.Errorf("email_verified = %v, want false", got)
	}
}

// Asking for a new code: once a minute for an account, ten an hour to an
// address (the sign-up's counted), each beyond 429 with Retry-After. Only
// for oneself, only while unverified; without mail, 501.
func TestEmailVerificationResend(t *testing.T) {
	sink := startSMTPSink(t)
	ts := newMailTestServer(t, sink)
	id, token := ts.newUser(t, "muthoni")
	_, other := ts.newUser(t, "baraka")
	path := userPath(id) + "/email-verification"

	wantStatus(t, "a resend right after the sign-up", ts.call(t, "POST", path, token, ""), http.StatusAccepted)
	res := ts.call(t, "POST", path, token, "")
	wantError(t, "a second resend within the minute", res, http.StatusTooManyRequests, "too many verification codes")
	if got := res.header.Get("Retry-After"); got != "60" {
		t.Errorf("Retry-After = %q, want 60", got)
	}
	for i := range verifyEmailLimit - 2 { // the sign-up's code and the first resend count
		ts.clock.Advance(verifyAccountWindow)
		wantStatus(t, fmt.Sprintf("resend %d", i+2), ts.call(t, "POST", path, token, ""), http.StatusAccepted)
	}
	ts.clock.Advance(verifyAccountWindow)
	res = ts.call(t, "POST", path, token, "")
	wantError(t, "the 11th code in an hour", res, http.StatusTooManyRequests, "too many verification codes")
	if got := res.header.Get("Retry-After"); got != fmt.Sprint(int((verifyEmailWindow - 9*time.Minute).Seconds())) {
		t.Errorf("Retry-After = %q, want the sign-up's code an hour old", got)
	}
	wantError(t, "another user's", ts.call(t, "POST", path, other, ""), http.StatusForbidden, "only your own account")
	wantError(t, "a bad id", ts.call(t, "POST", "/api/users/x/email-verification", token, ""), http.StatusNotFound, "")
	mails := sink.waitMailsAbout(t, verifyMailSubject, 11) // two sign-ups, nine resends
	if n := len(sink.mailsAbout(t, verifyMailSubject)); n != 11 {
		t.Errorf("verification mails = %d, want 11", n)
	}
	wantStatus(t, "confirm the newest", ts.confirmEmail(t, mails[len(mails)-1].token(t)), http.StatusNoContent)
	wantError(t, "once verified (before any limit)", ts.call(t, "POST", path, token, ""), http.StatusBadRequest, "verified already")
}

// A bad confirmation gets its message and changes nothing; ten wrong
// codes an hour from one client, then 429.
func TestEmailVerificationBadRequests(t *testing.T) {
	sink := startSMTPSink(t)
	ts := newMailTestServer(t, sink)
	id, token := ts.newUser(t, "muthoni")
	sink.waitMailsAbout(t, verifyMailSubject, 1)
	wellFormed := formatTokenWith(verifyTokenPrefix, bytes.Repeat([]byte{7}, 32))
	for _, c := range []struct{ body, message string }{
		{`{}`, "field token is required"},
		{`{"token": 5}`, "token"},
		{`{"token": "` + newToken() + `"}`, errBadVerifyToken},
		{`{"token": "` + formatTokenWith(resetTokenPrefix, make([]byte, 32)) + `"}`, errBadVerifyToken},
		{`{"token": "tapv_x"}`, errBadVerifyToken},
		{`{"token": "` + wellFormed + `"}`, errBadVerifyToken},
	} {
		wantError(t, "confirm "+c.body, ts.call(t, "POST", "/api/email-verification/confirm", "", c.body), http.StatusBadRequest, c.message)
	}
	if got := ts.verifiedFlag(t, id, token); got != false || ts.count(t, "email_verifications") != 1 {
		t.Errorf("after bad codes: email_verified = %v, codes stored = %d; want false, 1", got, ts.count(t, "email_verifications"))
	}
	for range verifyConfirmLimit - 1 { // one wrong well-formed code was counted above
		wantStatus(t, "a wrong code", ts.confirmEmail(t, wellFormed), http.StatusBadRequest)
	}
	wantError(t, "the 11th wrong code", ts.confirmEmail(t, wellFormed), http.StatusTooManyRequests, "wrong verification codes")
}

// Without mail a sign-up works and queues nothing; the address stays
// unverified, and the verification routes answer 501.
func TestEmailVerificationWithoutMail(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	if got := ts.verifiedFlag(t, id, token); got != false {
		t.Errorf("email_verified = %v, want false", got)
	}
	wantError(t, "resend", ts.call(t, "POST", userPath(id)+"/email-verification", token, ""), http.StatusNotImplemented, "mail is not configured")
	wantError(t, "confirm", ts.confirmEmail(t, "x"), http.StatusNotImplemented, "mail is not configured")
	for _, table := range []string{"outbox", "email_verifications", "mail_requests"} {
		if n := ts.count(t, table); n != 0 {
			t.Errorf("%s = %d rows, want 0", table, n)
		}
	}
}

// -require-verified-email: a wrong password answers as ever; a right one
// of an unverified account is refused with 403 and a new code; once
// verified, the login works.
func TestRequireVerifiedEmail(t *testing.T) {
	sink := startSMTPSink(t)
	ts := newMailTestServer(t, sink, func(cfg *config) { cfg.mail.requireVerified = true })
	ts.createUser(t, "muthoni", "muthoni-password")
	sink.waitMailsAbout(t, verifyMailSubject, 1)
	wantStatus(t, "a wrong password", ts.callBasic(t, "POST", "/api/tokens", "muthoni", "wrong-password"), http.StatusUnauthorized)
	res := ts.callBasic(t, "POST", "/api/tokens", "muthoni", "muthoni-password")
	wantError(t, "an unverified login", res, http.StatusForbidden, "a new code is on its way")
	res = ts.callBasic(t, "POST", "/api/tokens", "muthoni", "muthoni-password")
	wantError(t, "an unverified login within the minute", res, http.StatusForbidden, "not verified yet: send the code mailed to it")
	if n := ts.count(t, "tokens"); n != 0 {
		t.Errorf("sessions after refused logins = %d, want 0", n)
	}
	code := sink.waitMailsAbout(t, verifyMailSubject, 2)[1].token(t)
	wantStatus(t, "confirm", ts.confirmEmail(t, code), http.StatusNoContent)
	ts.login(t, "muthoni", "muthoni-password")
}

// The reset's confirm writes password.reset into the log.
func TestPasswordResetRecordsEvent(t *testing.T) {
	sink := startSMTPSink(t)
	ts := newMailTestServer(t, sink)
	id := ts.createUser(t, "muthoni", "muthoni-password")
	ts.requestReset(t, "muthoni@example.com")
	code := sink.waitMailsAbout(t, resetMailSubject, 1)[0].token(t)
	wantStatus(t, "confirm", ts.confirmReset(t, code, "a-new-password"), http.StatusNoContent)
	token := ts.login(t, "muthoni", "a-new-password")
	if items := ts.eventsOf(t, id, token); len(items) < 2 || items[1].Type != eventPasswordReset {
		t.Errorf("events = %+v, want password.reset before the new login", items)
	}
}

// -require-verified-email and TOKENAPI_REQUIRE_VERIFIED_EMAIL set the
// server's mail configuration; without mail the flag is refused, since no
// address could then be verified.
func TestRequireVerifiedEmailOption(t *testing.T) {
	mail := []string{"-smtp-url", "smtp://mail.example:25", "-mail-from", "a@b.c"}
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want bool
	}{
		{"the flag", append([]string{"-require-verified-email"}, mail...), nil, true},
		{"the variable", mail, map[string]string{"TOKENAPI_REQUIRE_VERIFIED_EMAIL": "true"}, true},
		{"neither", mail, nil, false},
	} {
		o, _, err := parseOptions(c.args, func(k string) string { return c.env[k] }, io.Discard)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got := o.config().mail.requireVerified; got != c.want {
			t.Errorf("%s: requireVerified = %v, want %v", c.name, got, c.want)
		}
	}
	_, _, err := parseOptions([]string{"-require-verified-email"}, func(string) string { return "" }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-require-verified-email needs -smtp-url") {
		t.Errorf("-require-verified-email without mail: error = %v", err)
	}
}

// Version 13 keeps every row of version 12; the accounts from before are
// unverified, and the upgraded database verifies an address like a new one.
func TestUpgradeFromVersion12(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "v12.db")
	var steps string
	for _, step := range schemaSteps[:12] {
		steps += step
	}
	makeDB(t, dbPath, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;"+steps+`
		PRAGMA user_version = 12;
		INSERT INTO users (id, username, email, email_key, password_hash, last_seen) VALUES
			(1, 'muthoni', 'muthoni@example.com', 'muthoni@example.com', 'x', '2026-11-01T00:00:00.000000Z'),
			(5, 'kamau', 'kamau@example.com', 'kamau@example.com', 'x', '2026-11-01T00:00:00.000000Z');
		INSERT INTO posts (id, title, body, timestamp, user_id) VALUES (1, 't', 'b', '2026-11-01T00:00:00.000000Z', 5);
		INSERT INTO known_addresses (user_id, address, last_login) VALUES (5, '192.0.2.1', '2026-11-28T00:00:00.000000Z');
		INSERT INTO mail_requests (key, at) VALUES ('reset-email:x', '2026-11-29T11:59:00.000000Z');`)

	sink := startSMTPSink(t)
	ts := newMailTestServerAt(t, dbPath, sink)
	for table, want := range map[string]int{"users": 2, "users WHERE email_verified = 0": 2, "posts": 1, "known_addresses": 1, "mail_requests": 1} {
		if n := ts.count(t, table); n != want {
			t.Errorf("%s after the upgrade = %d, want %d", table, n, want)
		}
	}
	id, token := ts.newVerifiedUser(t, sink, "baraka", 1)
	if got := ts.verifiedFlag(t, id, token); got != true {
		t.Errorf("email_verified of a new user after the upgrade = %v, want true", got)
	}
}
