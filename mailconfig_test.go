package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// The mail flags and their variables: what they accept, and the errors
// for what they refuse, which never repeat a URL (it may hold a password).
func TestMailOptions(t *testing.T) {
	for _, c := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    smtpServer
		wantErr string
	}{
		{name: "smtp with credentials", args: []string{"-smtp-url", "smtp://me:pa%40ss@mail.example:587", "-mail-from", "Blog <noreply@example.com>"},
			want: smtpServer{host: "mail.example", port: "587", user: "me", password: "pa@ss"}},
		{name: "smtps from the environment", env: map[string]string{"TOKENAPI_SMTP_URL": "smtps://mail.example:465", "TOKENAPI_MAIL_FROM": "noreply@example.com"},
			want: smtpServer{host: "mail.example", port: "465", implicitTLS: true}},
		{name: "no port", args: []string{"-smtp-url", "smtp://mail.example", "-mail-from", "a@b.c"}, wantErr: "-smtp-url: has no port"},
		{name: "another scheme", env: map[string]string{"TOKENAPI_SMTP_URL": "http://mail.example:25", "TOKENAPI_MAIL_FROM": "a@b.c"}, wantErr: "TOKENAPI_SMTP_URL: must start with smtp:// or smtps://"},
		{name: "a path", args: []string{"-smtp-url", "smtp://mail.example:25/x", "-mail-from", "a@b.c"}, wantErr: "no path or query"},
		{name: "no from", args: []string{"-smtp-url", "smtp://mail.example:25"}, wantErr: "-smtp-url and -mail-from must be given together"},
		{name: "from without a server", args: []string{"-mail-from", "a@b.c"}, wantErr: "must be given together"},
		{name: "bad from", args: []string{"-smtp-url", "smtp://mail.example:25", "-mail-from", "not an address"}, wantErr: `-mail-from: "not an address" is not an address`},
		{name: "reset link without {token}", args: []string{"-smtp-url", "smtp://m.example:25", "-mail-from", "a@b.c", "-reset-url-template", "https://example.com/reset"}, wantErr: "with {token} in it"},
		{name: "reset link without mail", args: []string{"-reset-url-template", "https://example.com/reset?t={token}"}, wantErr: "-reset-url-template needs -smtp-url"},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, _, err := parseOptions(c.args, func(k string) string { return c.env[k] }, io.Discard)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("parseOptions error = %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *o.smtp != c.want {
				t.Errorf("smtp = %+v, want %+v", *o.smtp, c.want)
			}
			if strings.Contains(o.smtp.String(), "pa") || o.config().mail == nil {
				t.Errorf("String() = %q (credentials?), config().mail = %v", o.smtp.String(), o.config().mail)
			}
		})
	}
}

// The reset mail with -reset-url-template carries the link as well as the
// code, quoted-printable leaving both whole.
func TestResetMailLink(t *testing.T) {
	sink := startSMTPSink(t)
	ts := newMailTestServer(t, sink, func(cfg *config) { cfg.mail.resetURLTemplate = "https://blog.example/reset?code={token}" })
	ts.createUser(t, "muthoni", "muthoni-password")
	ts.requestReset(t, "muthoni@example.com")
	m := sink.waitMailsAbout(t, resetMailSubject, 1)[0]
	token := m.token(t)
	if !strings.Contains(m.body, "https://blog.example/reset?code="+token) {
		t.Errorf("the mail has no link with its code:\n%s", m.body)
	}
}

// Version 10 adds the mail tables; every row from version 9 stays, and
// the upgraded database resets a password like a new one.
func TestUpgradeFromVersion9(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "v9.db")
	var steps string
	for _, step := range schemaSteps[:9] {
		steps += step
	}
	makeDB(t, dbPath, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;"+steps+`
		PRAGMA user_version = 9;
		INSERT INTO users (username, email, email_key, password_hash, last_seen) VALUES
			('muthoni', 'muthoni@example.com', 'muthoni@example.com', 'x', '2026-11-01T00:00:00.000000Z');
		INSERT INTO posts (title, body, timestamp, user_id) VALUES ('one', 'a', '2026-11-01T00:00:00.000000Z', 1);`)
	sink := startSMTPSink(t)
	ts := newMailTestServerAt(t, dbPath, sink)
	for table, want := range map[string]int{"users": 1, "posts": 1, "outbox": 0, "password_resets": 0} {
		if n := ts.count(t, table); n != want {
			t.Errorf("%s after the upgrade = %d rows, want %d", table, n, want)
		}
	}
	ts.requestReset(t, "muthoni@example.com")
	token := sink.waitMails(t, 1)[0].token(t)
	wantStatus(t, "confirm on the upgraded database", ts.confirmReset(t, token, "a-new-password"), http.StatusNoContent)
	ts.login(t, "muthoni", "a-new-password")
	res := ts.call(t, "GET", "/api/users/1", ts.login(t, "muthoni", "a-new-password"), "")
	if got := res.object(t)["post_count"]; got != float64(1) {
		t.Errorf("post_count after the upgrade = %v, want 1", got)
	}
}
