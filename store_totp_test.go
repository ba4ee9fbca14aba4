package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The schema step that adds TOTP keeps every user, token (session) and
// post of the version before it: the old token still works, the password
// alone still logs in, and the user can then turn TOTP on.
func TestUpgradeToTOTP(t *testing.T) {
	skipOnRqlite(t, "builds an old database file")
	// The step's number, found by what it does: steps added before it
	// while branches merge move it.
	totpStep := slices.IndexFunc(schemaSteps, func(step string) bool { return strings.Contains(step, "CREATE TABLE totp ") }) + 1
	if totpStep == 0 {
		t.Fatal("no schema step creates the totp table")
	}
	dbPath := filepath.Join(t.TempDir(), "old.db")
	hash, err := newPasswordHasher(testPasswordIterations, newHashSlots(1)).hash(context.Background(), "", "muthoni-password")
	if err != nil {
		t.Fatal(err)
	}
	token := newToken()
	makeDB(t, dbPath, "PRAGMA journal_mode = WAL;"+strings.Join(schemaSteps[:totpStep-1], "")+fmt.Sprintf(`
		PRAGMA user_version = %d;
		INSERT INTO users (username, email, email_key, password_hash, last_seen, created_at) VALUES
			('muthoni', 'muthoni@example.com', 'muthoni@example.com', '%s', '2026-11-01T00:00:00.000000Z', '2026-11-01T00:00:00.000000Z'),
			('gitau', 'gitau@example.com', 'gitau@example.com', '%s', '2026-11-01T00:00:00.000000Z', '2026-11-01T00:00:00.000000Z');
		INSERT INTO tokens (hash, user_id, created_at, expires_at, max_expires_at, name, scope) VALUES
			('%s', 1, '2026-11-29T11:30:00.000000Z', '2026-11-29T12:30:00.000000Z', '2026-12-29T11:30:00.000000Z', 'laptop', 'write'),
			('%s', 2, '2026-11-29T11:30:00.000000Z', '2026-11-29T12:30:00.000000Z', '2026-12-29T11:30:00.000000Z', NULL, 'read');
		INSERT INTO posts (title, body, timestamp, user_id) VALUES ('Tea', 'About tea.', '2026-11-02T00:00:00.000000Z', 1);`,
		totpStep-1, hash, hash, hashToken(token), hashToken(newToken())))

	ts := newTestServerAt(t, dbPath)
	var version int
	if err := ts.db.read.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != len(schemaSteps) {
		t.Fatalf("user_version after upgrade = %d, %v; want %d", version, err, len(schemaSteps))
	}
	for table, want := range map[string]int{"users": 2, "tokens": 2, "posts": 1, "totp": 0} {
		if got := ts.count(t, table); got != want {
			t.Errorf("%s after the upgrade: %d rows, want %d", table, got, want)
		}
	}
	if items := ts.sessions(t, token); len(items) != 1 || items[0]["name"] != "laptop" {
		t.Errorf("sessions of the old token = %v, want the one named laptop", items)
	}
	wantTOTPEnabled(t, ts, 1, token, false)
	ts.login(t, "muthoni", "muthoni-password")
	_, codes := turnTOTPOn(t, ts, 1, token, "muthoni-password")
	wantStatus(t, "login with a recovery code after the upgrade",
		loginWith(t, ts, "muthoni", "muthoni-password", withOTP(codes[0])), http.StatusOK)
}

// Deleting an account deletes its TOTP secret and recovery codes with it,
// by their foreign keys.
func TestDeletingUserDeletesTOTP(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	secret, _ := turnTOTPOn(t, ts, id, token, "muthoni-password")
	res := ts.callWith(t, "DELETE", userPath(id), `{"current_password": "muthoni-password"}`, bearer(token),
		withHeader("Content-Type", "application/json"), withOTP(totpCode(secret, ts.clock.Now())))
	wantStatus(t, "DELETE "+userPath(id), res, http.StatusNoContent)
	for _, table := range []string{"totp", "totp_recovery_codes"} {
		if n := ts.count(t, table); n != 0 {
			t.Errorf("%s holds %d rows after the account was deleted, want 0", table, n)
		}
	}
}
