package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/mail"
	"strings"
	"testing"
	"time"
)

// newMailTestServer is newTestServer with mail through sink and its
// sender running. The sender runs on the test's clock: a mail whose
// attempt failed is tried again once the test moves the clock on.
func newMailTestServer(t *testing.T, sink *smtpSink, options ...func(*config)) *testServer {
	t.Helper()
	return newMailTestServerAt(t, freshTestDB(t), sink, options...)
}

// newMailTestServerAt is newMailTestServer on the database at dbPath.
func newMailTestServerAt(t *testing.T, dbPath string, sink *smtpSink, options ...func(*config)) *testServer {
	t.Helper()
	withMail := func(cfg *config) {
		srv := &smtpServer{}
		if err := parseSMTPURL(sink.url(""), &srv); err != nil {
			t.Fatal(err)
		}
		cfg.mail = &mailConfig{smtp: *srv, from: testMailFrom, retryAfter: outboxRetryAfter, pollEvery: 10 * time.Millisecond}
	}
	ts := newTestServerAt(t, dbPath, append([]func(*config){withMail}, options...)...)
	t.Cleanup(ts.srv.startMailSender(ts.db)) // before the store closes
	return ts
}

var testMailFrom = mail.Address{Name: "Blög Ünlü", Address: "noreply@blog.example"}

// resetOutbox is the outbox's reset mails, for ts.count: a sign-up
// queues a verification mail too (verifyemail.go).
const resetOutbox = "outbox WHERE message LIKE '%Subject: Your password reset code%'"

// resetMailSubject is the subject of the reset mail.
const resetMailSubject = "Your password reset code"

// requestReset asks for a reset of email and wants 202.
func (ts *testServer) requestReset(t *testing.T, email string) response {
	t.Helper()
	res := ts.call(t, "POST", "/api/password-reset", "", fmt.Sprintf(`{"email": %q}`, email))
	wantStatus(t, "POST /api/password-reset "+email, res, http.StatusAccepted)
	return res
}

// confirmReset sends a token and a new password.
func (ts *testServer) confirmReset(t *testing.T, token, password string) response {
	t.Helper()
	return ts.call(t, "POST", "/api/password-reset/confirm", "", fmt.Sprintf(`{"token": %q, "password": %q}`, token, password))
}

// waitOutboxEmpty waits until the sender has settled every queued mail.
func (ts *testServer) waitOutboxEmpty(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for ts.count(t, "outbox") > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the outbox still holds %d mails after 30s; log:\n%s", ts.count(t, "outbox"), ts.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The whole reset: a mail arrives, its token sets a new password, every
// old session ends, the old password fails, and the token fails the
// second time. The mail has the headers it should, names encoded.
func TestPasswordReset(t *testing.T) {
	sink := startSMTPSink(t)
	ts := newMailTestServer(t, sink)
	_, first := ts.newUser(t, "muthoni")
	second := ts.login(t, "muthoni", "muthoni-password")

	ts.requestReset(t, "MUTHONI@example.com") // an email matches in any case
	m := sink.waitMailsAbout(t, resetMailSubject, 1)[0]
	if m.to != "muthoni@example.com" {
		t.Errorf("envelope recipient = %q, want muthoni@example.com", m.to)
	}
	for name, want := range map[string]string{
		"From":           "=?utf-8?q?Bl=C3=B6g_=C3=9Cnl=C3=BC?= <noreply@blog.example>",
		"To":             `"muthoni" <muthoni@example.com>`,
		"Subject":        "Your password reset code",
		"Auto-Submitted": "auto-generated",
		"Content-Type":   "text/plain; charset=utf-8",
	} {
		if got := m.header.Get(name); got != want {
			t.Errorf("mail header %s = %q, want %q", name, got, want)
		}
	}
	if m.header.Get("Date") == "" || !strings.HasSuffix(m.header.Get("Message-ID"), "@blog.example>") {
		t.Errorf("mail Date = %q, Message-ID = %q; want both, the id in the sender's domain", m.header.Get("Date"), m.header.Get("Message-ID"))
	}
	token := m.token(t)

	wantStatus(t, "confirm", ts.confirmReset(t, token, "a-new-password"), http.StatusNoContent)
	for _, old := range []string{first, second} {
		wantBearerChallenge(t, "GET /api/users with a session from before the reset", ts.call(t, "GET", "/api/users", old, ""), true)
	}
	wantStatus(t, "login with the old password", ts.callBasic(t, "POST", "/api/tokens", "muthoni", "muthoni-password"), http.StatusUnauthorized)
	ts.login(t, "muthoni", "a-new-password")
	wantError(t, "the token a second time", ts.confirmReset(t, token, "another-password"), http.StatusBadRequest, "not a live reset token")
	ts.login(t, "muthoni", "a-new-password")
	if n := ts.count(t, "password_resets"); n != 0 {
		t.Errorf("password_resets holds %d rows after the reset, want 0", n)
	}
}

// An address that is no account's gets the same status and body, queues
// nothing, and no mail goes: the mail of a real account requested after
// it is the only one the server takes.
func TestPasswordResetUnknownEmail(t *testing.T) {
	sink := startSMTPSink(t)
	ts := newMailTestServer(t, sink)
	ts.createUser(t, "gitau", "gitau-password")

	unknown := ts.requestReset(t, "nobody@example.com")
	if n := ts.count(t, resetOutbox); n != 0 {
		t.Errorf("outbox after a reset of an unknown address = %d rows, want 0", n)
	}
	known := ts.requestReset(t, "gitau@example.com")
	if !bytes.Equal(unknown.body, known.body) || unknown.header.Get("Content-Type") != known.header.Get("Content-Type") {
		t.Errorf("answers differ: unknown %q, known %q", unknown.body, known.body)
	}
	ts.waitOutboxEmpty(t)
	mails := sink.mailsAbout(t, resetMailSubject)
	if len(mails) != 1 || mails[0].to != "gitau@example.com" {
		t.Fatalf("mails = %d (%v), want one to gitau@example.com", len(mails), mails)
	}
}

// With the SMTP server down a request still gets its 202; the mail waits
// in the outbox, and arrives once the server is up and its wait is over.
// A mail not sent while its token lives is given up, logged.
func TestPasswordResetWhileSMTPDown(t *testing.T) {
	sink := newSMTPSink(t) // not started
	ts := newMailTestServer(t, sink)
	ts.createUser(t, "amani", "amani-password")
	ts.createUser(t, "baraka", "baraka-password")
	ts.requestReset(t, "amani@example.com")
	waitAttempts(t, ts, 1)
	if n := ts.count(t, resetOutbox); n != 1 {
		t.Fatalf("reset mails in the outbox with the SMTP server down = %d rows, want 1", n)
	}
	sink.start(t)
	ts.clock.Advance(time.Minute) // past the first wait
	ts.waitOutboxEmpty(t)
	if mails := sink.waitMailsAbout(t, resetMailSubject, 1); len(mails) != 1 || mails[0].to != "amani@example.com" {
		t.Fatalf("mails = %v, want one to amani", mails)
	}

	sink.stop()
	ts.requestReset(t, "baraka@example.com")
	waitAttempts(t, ts, 1)
	ts.clock.Advance(resetTokenTTL) // the token is dead: its mail goes with it
	ts.waitOutboxEmpty(t)
	if !strings.Contains(ts.logs.String(), "gave up on a mail") {
		t.Errorf("log has no line for the mail given up:\n%s", ts.logs)
	}
}

// waitAttempts waits until the queued mail has had n failed attempts.
func waitAttempts(t *testing.T, ts *testServer, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var attempts int
		if err := ts.db.read.QueryRow(`SELECT COALESCE(MAX(attempts), 0) FROM outbox`).Scan(&attempts); err != nil {
			t.Fatal(err)
		}
		if attempts >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mail had %d attempts after 30s; log:\n%s", n, ts.logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A newer reset token voids the older; a token dies after 30 minutes.
func TestPasswordResetTokenLife(t *testing.T) {
	sink := startSMTPSink(t)
	ts := newMailTestServer(t, sink)
	ts.createUser(t, "muthoni", "muthoni-password")
	ts.requestReset(t, "muthoni@example.com")
	older := sink.waitMailsAbout(t, resetMailSubject, 1)[0].token(t)
	ts.clock.Advance(resetEmailWindow)
	ts.requestReset(t, "muthoni@example.com")
	newer := sink.waitMailsAbout(t, resetMailSubject, 2)[1].token(t)
	wantError(t, "the older token", ts.confirmReset(t, older, "a-new-password"), http.StatusBadRequest, "not a live reset token")

	ts.clock.Advance(resetTokenTTL)
	wantError(t, "the newer token after 30 minutes", ts.confirmReset(t, newer, "a-new-password"), http.StatusBadRequest, "not a live reset token")
	ts.login(t, "muthoni", "muthoni-password")
}

// A bad request gets its message and changes nothing.
func TestPasswordResetBadRequests(t *testing.T) {
	ts := newMailTestServer(t, startSMTPSink(t))
	ts.createUser(t, "muthoni", "muthoni-password")
	tapi := newToken()
	wellFormed := formatTokenWith(resetTokenPrefix, make([]byte, 32))
	for _, c := range []struct{ path, body, message string }{
		{"/api/password-reset", `{}`, "field email is required"},
		{"/api/password-reset", `{"email": "not-an-address"}`, "field email must be an address"},
		{"/api/password-reset", `{"email": 5}`, "email"},
		{"/api/password-reset/confirm", `{"password": "a-new-password"}`, "field token is required"},
		{"/api/password-reset/confirm", `{"token": "` + tapi + `", "password": "a-new-password"}`, "not a live reset token"},
		{"/api/password-reset/confirm", `{"token": "tapr_x", "password": "a-new-password"}`, "not a live reset token"},
		{"/api/password-reset/confirm", `{"token": "` + wellFormed + `", "password": "short"}`, "field password must be 8"},
		{"/api/password-reset/confirm", `{"token": "` + wellFormed + `", "password": "a-new-password"}`, "not a live reset token"},
	} {
		res := ts.call(t, "POST", c.path, "", c.body)
		wantError(t, "POST "+c.path+" "+c.body, res, http.StatusBadRequest, c.message)
	}
	wantError(t, "a body not JSON", ts.callWith(t, "POST", "/api/password-reset", "email=x",
		withHeader("Content-Type", "text/plain")), http.StatusUnsupportedMediaType, "")
	for _, table := range []string{resetOutbox, "password_resets"} {
		if n := ts.count(t, table); n != 0 {
			t.Errorf("%s after bad requests = %d rows, want 0", table, n)
		}
	}
	ts.login(t, "muthoni", "muthoni-password")
}

// The limits: one reset mail a minute for an address, whether or not it
// is an account's; ten requests an hour from one client; ten wrong
// tokens an hour from one client. Each answers 429 with Retry-After.
func TestPasswordResetLimits(t *testing.T) {
	ts := newMailTestServer(t, startSMTPSink(t))
	ts.createUser(t, "muthoni", "muthoni-password")
	for _, email := range []string{"muthoni@example.com", "nobody@example.com"} {
		ts.requestReset(t, email)
		res := ts.call(t, "POST", "/api/password-reset", "", fmt.Sprintf(`{"email": %q}`, email))
		wantError(t, "a second reset of "+email+" within the minute", res, http.StatusTooManyRequests, "too many password reset requests")
		if got := res.header.Get("Retry-After"); got != "60" {
			t.Errorf("Retry-After = %q, want 60", got)
		}
	}
	ts.clock.Advance(resetEmailWindow)
	ts.requestReset(t, "muthoni@example.com")
	for i := range resetClientLimit - 3 {
		ts.requestReset(t, fmt.Sprintf("someone%d@example.com", i))
	}
	res := ts.call(t, "POST", "/api/password-reset", "", `{"email": "one-more@example.com"}`)
	wantError(t, "the 11th request in an hour", res, http.StatusTooManyRequests, "")
	if got := res.header.Get("Retry-After"); got != "3540" {
		t.Errorf("Retry-After = %q, want 3540 (the oldest request, a minute old, is an hour old then)", got)
	}

	wrong := formatTokenWith(resetTokenPrefix, bytes.Repeat([]byte{7}, 32))
	for range resetConfirmLimit {
		wantStatus(t, "a wrong token", ts.confirmReset(t, wrong, "a-new-password"), http.StatusBadRequest)
	}
	wantError(t, "the 11th wrong token", ts.confirmReset(t, wrong, "a-new-password"), http.StatusTooManyRequests, "wrong reset tokens")
	ts.clock.Advance(resetClientWindow + time.Second)
	ts.srv.sweep(context.Background())
	if n := ts.count(t, "mail_requests"); n != 0 {
		t.Errorf("mail_requests after an hour and a sweep = %d rows, want 0", n)
	}
	ts.requestReset(t, "one-more@example.com")
}

// Without -smtp-url both routes answer 501 and say why.
func TestPasswordResetWithoutMail(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "muthoni", "muthoni-password")
	for _, path := range []string{"/api/password-reset", "/api/password-reset/confirm"} {
		wantError(t, "POST "+path, ts.call(t, "POST", path, "", `{"email": "muthoni@example.com"}`),
			http.StatusNotImplemented, "mail is not configured")
	}
	for _, table := range []string{"outbox", "password_resets", "mail_requests"} {
		if n := ts.count(t, table); n != 0 {
			t.Errorf("%s = %d rows, want 0", table, n)
		}
	}
}

// A user with TOTP on resets a password only with a code in X-OTP as
// well: the mailbox alone does not give the account away. Without a code
// the answer asks for one and the token stays good; a wrong code is
// refused; with the code the password changes. Whether TOTP is on shows
// only to someone with a live token: a wrong token answers as for anyone.
func TestPasswordResetWithTOTP(t *testing.T) {
	sink := startSMTPSink(t)
	ts := newMailTestServer(t, sink)
	id, token := ts.newUser(t, "muthoni")
	secret, _ := turnTOTPOn(t, ts, id, token, "muthoni-password")
	ts.requestReset(t, "muthoni@example.com")
	code := sink.waitMailsAbout(t, resetMailSubject, 1)[0].token(t)
	body := fmt.Sprintf(`{"token": %q, "password": "a-new-password"}`, code)
	confirm := func(with ...func(*http.Request)) response {
		return ts.callWith(t, "POST", "/api/password-reset/confirm", body,
			append([]func(*http.Request){withHeader("Content-Type", "application/json")}, with...)...)
	}

	res := confirm()
	wantError(t, "confirm without a code", res, http.StatusBadRequest, otpRequiredMessage)
	if got := res.header.Get(otpHeader); got != "required" {
		t.Errorf("confirm without a code: X-OTP = %q, want required", got)
	}
	wantError(t, "confirm with a wrong code", confirm(withOTP("000000")), http.StatusBadRequest, codeWrongMessage)
	wantStatus(t, "login with the old password after refused confirms", loginWith(t, ts, "muthoni", "muthoni-password",
		withOTP(totpCode(secret, ts.clock.Now()))), http.StatusOK)
	ts.clock.Advance(totpPeriod * time.Second) // the login used this step's code
	wantError(t, "a wrong token, with no code", ts.confirmReset(t, "tapr_"+strings.Repeat("A", 43), "a-new-password"),
		http.StatusBadRequest, "not a live reset token")

	wantStatus(t, "confirm with the code", confirm(withOTP(totpCode(secret, ts.clock.Now()))), http.StatusNoContent)
	wantStatus(t, "login with the old password", loginWith(t, ts, "muthoni", "muthoni-password"), http.StatusUnauthorized)
}
