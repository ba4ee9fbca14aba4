package main

// Crosses the whole program: the outbox under kill -9, and the SMTP credentials kept out of the log.

import (
	"database/sql"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Mails queued while the SMTP server is down survive kill -9: after a
// restart with the server up, each arrives, exactly once.
func TestKill9KeepsQueuedMail(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "mail.db")
	sink := newSMTPSink(t) // down
	args := []string{"-addr", "127.0.0.1:0", "-db", dbPath, "-smtp-url", sink.url(""), "-mail-from", "noreply@blog.example"}
	p := startProgram(t, dir, args, cheapPasswords)
	var want []string
	for i := range 5 {
		name := fmt.Sprintf("user%d", i)
		p.createUser(t, name, name+"-password")
		res := p.call(t, "POST", "/api/password-reset", "", fmt.Sprintf(`{"email": "%s@example.com"}`, name))
		wantStatus(t, "POST /api/password-reset with the SMTP server down", res, http.StatusAccepted)
		want = append(want, name+"@example.com", name+"@example.com") // the sign-up's verification code, and the reset
	}
	// Killed between attempts, as a kill mostly finds it: a mail claimed
	// by the killed process would wait for its claim to run out, two
	// minutes, before the restarted one may send it.
	db := openReadOnly(t, dbPath)
	waitUnclaimed(t, db, len(want))
	p.kill(t)
	if n := outboxRows(t, db); n != len(want) {
		t.Fatalf("outbox after kill -9 = %d rows, want %d", n, len(want))
	}

	sink.start(t)
	p = startProgram(t, dir, args, cheapPasswords)
	sink.waitMails(t, len(want))
	deadline := time.Now().Add(30 * time.Second)
	for outboxRows(t, db) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	p.stop(t)
	var got []string
	for _, m := range sink.mails(t) { // all of them, now that the outbox is empty
		got = append(got, m.to)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("recipients of the mails the SMTP server took = %v, want each of %v once", got, want)
	}
	if n := outboxRows(t, db); n != 0 {
		t.Errorf("outbox after the restart = %d rows, want 0", n)
	}
}

// waitUnclaimed waits until n mails in the outbox have had an attempt
// and none is claimed.
func waitUnclaimed(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var settled int
		if err := db.QueryRow(`SELECT COUNT(*) FROM outbox WHERE attempts > 0 AND claimed_by IS NULL`).Scan(&settled); err != nil {
			t.Fatal(err)
		}
		if settled == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d mails tried and unclaimed after 30s", settled, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func outboxRows(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The password of -smtp-url never reaches the log: not in the start-up
// line, not when the sender refuses to send it without TLS (aiosmtpd
// offers no STARTTLS), and not in the error for a bad URL, from the flag
// or from TOKENAPI_SMTP_URL.
func TestSMTPPasswordNotLogged(t *testing.T) {
	const secret = "s3cret-Pa55"
	dir := t.TempDir()
	sink := startSMTPSink(t)
	args := []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "mail.db"),
		"-smtp-url", sink.url("mailer:" + secret), "-mail-from", "noreply@blog.example"}
	p := startProgram(t, dir, args, cheapPasswords)
	p.createUser(t, "muthoni", "muthoni-password")
	wantStatus(t, "POST /api/password-reset", p.call(t, "POST", "/api/password-reset", "", `{"email": "muthoni@example.com"}`), http.StatusAccepted)
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(p.stderr.String(), "STARTTLS") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	p.stop(t)
	log := p.stderr.String()
	if !strings.Contains(log, "never sent without TLS") || !strings.Contains(log, "smtp=smtp://"+sink.addr) {
		t.Errorf("log lacks the start-up line or the refusal to send credentials in clear:\n%s", log)
	}
	if strings.Contains(log, secret) {
		t.Errorf("log holds the SMTP password:\n%s", log)
	}
	if n := len(sink.mails(t)); n != 0 {
		t.Errorf("the SMTP server took %d mails without TLS for the credentials, want 0", n)
	}

	for _, bad := range []string{"smtp://mailer:" + secret + "@mail.example", "ftp://mailer:" + secret + "@mail.example:25", "smtp://mailer:" + secret + "@mail.example:25/x"} {
		for _, c := range []struct {
			args []string
			env  map[string]string
		}{
			{args: []string{"-smtp-url", bad, "-mail-from", "a@b.c"}},
			{env: map[string]string{"TOKENAPI_SMTP_URL": bad, "TOKENAPI_MAIL_FROM": "a@b.c"}},
		} {
			_, _, err := parseOptions(c.args, func(k string) string { return c.env[k] }, nil)
			if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "SMTP_URL") && !strings.Contains(err.Error(), "-smtp-url") {
				t.Errorf("parseOptions(%v, %v) = %v; want an error naming the flag or variable, without the password", c.args, c.env, err)
			}
		}
	}
}
