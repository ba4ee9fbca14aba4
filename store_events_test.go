package main

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The security log's table: its counter, its sweep, its rows going with
// their user, and the upgrade that makes it.

// wantEventCountExact checks every user's event_count, the log's
// total_items, against a count of the rows.
func wantEventCountExact(t *testing.T, what string, ts *testServer) {
	t.Helper()
	var wrong int
	if err := ts.db.read.QueryRow(`SELECT COUNT(*) FROM users u
		WHERE event_count <> (SELECT COUNT(*) FROM events e WHERE e.user_id = u.id)`).Scan(&wrong); err != nil {
		t.Fatal(err)
	}
	if wrong != 0 {
		t.Errorf("%s: %d users' event_count differ from the count of their events", what, wrong)
	}
}

// The sweeper deletes events older than 90 days, and nothing younger; the
// counter follows.
func TestSweepDeletesOldEvents(t *testing.T) {
	ts := newTestServer(t)
	id, _ := ts.newUser(t, "amina")
	ts.login(t, "amina", "amina-password")
	ts.clock.Advance(eventTTL - time.Second)
	token := ts.login(t, "amina", "amina-password") // 89 days, 23:59:59 old at the sweep
	ts.clock.Advance(2 * time.Second)
	ts.srv.sweep(context.Background())
	items := ts.eventsOf(t, id, token)
	if len(items) != 1 {
		t.Fatalf("log after the sweep = %+v, want the one login under 90 days old", items)
	}
	wantTimestamp(t, "at of the event kept", items[0].At, ts.clock.Now().Add(-2*time.Second))
	wantEventCountExact(t, "after the sweep", ts)
}

// Deleting a user deletes the user's events (ON DELETE CASCADE), and no
// one else's.
func TestDeletingUserDeletesEvents(t *testing.T) {
	ts := newTestServer(t)
	amina, _ := ts.newUser(t, "amina")
	_, token := ts.newUser(t, "baraka")
	if _, err := ts.db.write.Exec(`DELETE FROM users WHERE id = ?`, amina); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := ts.db.read.QueryRow(`SELECT COUNT(*) FROM events WHERE user_id = ?`, amina).Scan(&left); err != nil || left != 0 {
		t.Errorf("amina's events after her deletion = %d, %v; want 0", left, err)
	}
	if got := ts.count(t, "events"); got != 1 {
		t.Errorf("events = %d rows, want baraka's login", got)
	}
	ts.wantTotalItems(t, "/api/users/2/events", token, `SELECT COUNT(*) FROM events WHERE user_id = 2`)
}

// A database of schema version 8 is upgraded keeping every user, post,
// token (session), failure record and known address as they were, the
// tokens go on working, and the new log starts empty and counted.
func TestUpgradeFromVersion8KeepsEverything(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "v8.db")
	hash, err := newPasswordHasher(testPasswordIterations, newHashSlots(1)).hash(context.Background(), "", "muthoni-password")
	if err != nil {
		t.Fatal(err)
	}
	token := newToken()
	makeDB(t, dbPath, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;"+strings.Join(schemaSteps[:8], "")+fmt.Sprintf(`
		PRAGMA user_version = 8;
		INSERT INTO users (username, email, email_key, password_hash, about_me, last_seen, created_at) VALUES
			('muthoni', 'muthoni@example.com', 'muthoni@example.com', '%s', 'Tea.', '2026-11-01T00:00:00.000000Z', '2026-10-01T00:00:00.000000Z'),
			('kamau', 'kamau@example.com', 'kamau@example.com', 'x', NULL, '2026-11-01T00:00:00.000000Z', NULL);
		INSERT INTO posts (title, body, timestamp, user_id) VALUES
			('one', 'a', '2026-11-01T00:00:00.000000Z', 1),
			('two', 'b', '2026-11-01T00:00:01.000000Z', 2);
		INSERT INTO tokens (id, hash, user_id, name, scope, user_agent, created_at, last_used_at, expires_at, max_expires_at) VALUES
			(4, '%s', 1, 'laptop', 'read', 'curl/8', '2026-11-29T11:30:00.000000Z', '2026-11-29T11:45:00.000000Z',
				'2026-11-29T12:45:00.000000Z', '2026-12-29T11:30:00.000000Z'),
			(9, 'old', 2, NULL, 'write', NULL, '2026-11-28T11:30:00.000000Z', NULL,
				'2026-11-28T12:30:00.000000Z', '2026-11-28T12:30:00.000000Z');
		INSERT INTO password_failures (key, failures, max_failures, last_failure) VALUES ('user:2', 3, 100, '2026-11-29T11:59:00.000000Z');
		INSERT INTO known_addresses (user_id, address, last_login) VALUES (1, '127.0.0.1', '2026-11-29T11:30:00.000000Z');`,
		hash, hashToken(token)))
	queries := []string{
		`SELECT id, username, email, email_key, password_hash, about_me, last_seen, post_count, created_at FROM users ORDER BY id`,
		`SELECT * FROM posts ORDER BY id`,
		`SELECT * FROM tokens ORDER BY id`,
		`SELECT * FROM password_failures ORDER BY key`,
		`SELECT * FROM known_addresses ORDER BY user_id, address`,
		`SELECT * FROM counts WHERE name IN ('users', 'posts') ORDER BY name`, // later versions add counters of their own
	}
	var before [][][]string
	for _, q := range queries {
		before = append(before, queryRows(t, dbPath, q))
	}

	ts := newTestServerAt(t, dbPath)
	for i, q := range queries {
		if got := queryRows(t, dbPath, q); fmt.Sprint(got) != fmt.Sprint(before[i]) {
			t.Errorf("%s after the upgrade:\n%v\nwant, as before:\n%v", q, got, before[i])
		}
	}
	if items := ts.eventsOf(t, 1, token); len(items) != 0 {
		t.Errorf("the log after the upgrade = %+v, want none", items)
	}
	wantStatus(t, "GET /api/users/1 with a token from before", ts.call(t, "GET", "/api/users/1", token, ""), http.StatusOK)
	fresh := ts.login(t, "muthoni", "muthoni-password")
	if items := ts.eventsOf(t, 1, fresh); len(items) != 1 || items[0].Type != eventLoginSucceeded {
		t.Errorf("the log after a login = %+v, want the login", items)
	}
	wantEventCountExact(t, "after the upgrade and a login", ts)
	freshDB := newTestServer(t)
	if got, want := schemaOf(t, ts.db.read), schemaOf(t, freshDB.db.read); !slices.Equal(got, want) {
		t.Errorf("upgraded schema:\n%s\nwant, as a new database has it:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
