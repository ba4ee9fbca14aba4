package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
)

// A claim takes a row from nobody else: two claimers at one moment get
// disjoint rows, a row claimed and then marked as being sent is never
// claimed again, and one whose claim ran out without the mark is.
func TestClaimMailTakesEachRowOnce(t *testing.T) {
	ts := newTestServer(t)
	ctx := context.Background()
	now := ts.clock.Now()
	for i := range 4 {
		query, args := queueMailSQL(queuedMail{recipient: fmt.Sprintf("u%d@example.com", i), message: "m", at: now, giveUpAt: now.Add(time.Hour)})
		if _, err := ts.db.write.Exec(query, args...); err != nil {
			t.Fatal(err)
		}
	}
	until := now.Add(2 * smtpTimeout)
	a, err := ts.db.claimMail(ctx, "a", now, until, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := ts.db.claimMail(ctx, "b", now, until, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 3 || len(b) != 1 || slices.ContainsFunc(a, func(m outboxMail) bool { return m.ID == b[0].ID }) {
		t.Fatalf("claims a = %v, b = %v; want 3 and the 1 other", a, b)
	}
	if err := ts.db.markMailSending(ctx, a[0].ID, "b", now); err != errNotFound {
		t.Errorf("markMailSending by a process that did not claim = %v, want errNotFound", err)
	}
	if err := ts.db.markMailSending(ctx, a[0].ID, "a", now); err != nil {
		t.Fatal(err)
	}
	later := until.Add(time.Second) // every claim has run out
	c, err := ts.db.claimMail(ctx, "c", later, later.Add(2*smtpTimeout), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != 3 || slices.ContainsFunc(c, func(m outboxMail) bool { return m.ID == a[0].ID }) {
		t.Errorf("claim after the claims ran out = %v, want the 3 rows not marked as being sent", c)
	}
	if n, err := ts.db.deleteCutShortMail(ctx, later); err != nil || n != 1 {
		t.Errorf("deleteCutShortMail = %d, %v; want the 1 row marked and left", n, err)
	}
}

// Two processes on one rqlite cluster share the outbox: with the SMTP
// server down both try every mail; once it is up, each mail arrives
// exactly once.
func TestRqliteTwoSendersSendEachMailOnce(t *testing.T) {
	url := needRqlite(t)
	sink := newSMTPSink(t) // down
	args := []string{"-addr", "127.0.0.1:0", "-db", url, "-smtp-url", sink.url(""), "-mail-from", "noreply@blog.example"}
	a := startProgram(t, t.TempDir(), args, cheapPasswords)
	b := startProgram(t, t.TempDir(), args, cheapPasswords)
	var want []string
	for i, p := range []*program{a, b, a, b, a, b} {
		name := fmt.Sprintf("user%d", i)
		p.createUser(t, name, name+"-password")
		wantStatus(t, "POST /api/password-reset", p.call(t, "POST", "/api/password-reset", "", fmt.Sprintf(`{"email": "%s@example.com"}`, name)), http.StatusAccepted)
		want = append(want, name+"@example.com", name+"@example.com") // the sign-up's verification code, and the reset
	}
	sink.start(t)
	db := rqliteDB(t, url)
	sink.waitMails(t, len(want))
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d mails after 30s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	a.stop(t)
	b.stop(t)
	var got []string
	for _, m := range sink.mails(t) {
		got = append(got, m.to)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("recipients = %v, want each of %v once", got, want)
	}
}
