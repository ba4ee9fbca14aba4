package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The README's "Reading the code" quotes the token lookup: it must be the
// query that runs, word for word, or the reader learns something false.
func TestREADMEQuotesTheTokenLookup(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, reading, _ := strings.Cut(string(readme), "## Reading the code")
	_, quoted, ok := strings.Cut(reading, "```sql\n")
	quoted, _, _ = strings.Cut(quoted, "```")
	if !ok {
		t.Fatal("README.md's Reading the code quotes no ```sql block")
	}
	if got, want := strings.Join(strings.Fields(quoted), " "), strings.Join(strings.Fields(liveSessionSQL), " "); got != want {
		t.Errorf("README.md quotes the token lookup as\n%s\nwant the query that runs (liveSessionSQL):\n%s", got, want)
	}
}

// A session id names one session for ever: a client may keep it for
// DELETE /api/tokens/{id}, and the uses noted in memory are written by it.
// The ids of ended sessions, the newest included, are never handed out
// again, and one user's use never shows on, or extends, another's session.
func TestSessionIDsAreNeverReused(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "muthoni", "muthoni-password")
	ts.createUser(t, "gitau", "gitau-password")

	first, firstID := ts.loginWith(t, "muthoni", "", "laptop")
	ts.clock.Advance(10 * time.Minute)
	wantStatus(t, "GET /api/users by muthoni", ts.call(t, "GET", "/api/users", first, ""), http.StatusOK)
	wantStatus(t, "DELETE /api/tokens by muthoni", ts.call(t, "DELETE", "/api/tokens", first, ""), http.StatusNoContent)

	ts.clock.Advance(time.Minute)
	second, secondID := ts.loginWith(t, "gitau", "", "phone")
	if secondID == firstID {
		t.Fatalf("gitau's session id = %d, the id of muthoni's ended session", secondID)
	}
	loggedIn := ts.clock.Now()
	items := ts.sessions(t, second)
	if len(items) != 1 {
		t.Fatalf("gitau's sessions = %v, want one", items)
	}
	if used := items[0]["last_used_at"]; used != nil {
		wantTimestamp(t, "gitau's last_used_at", used, loggedIn)
	}
	wantTimestamp(t, "gitau's expires_at", items[0]["expires_at"], loggedIn.Add(defaultTokenTTL))
	wantStatus(t, fmt.Sprintf("DELETE /api/tokens/%d, muthoni's old id, by gitau", firstID),
		ts.call(t, "DELETE", fmt.Sprintf("/api/tokens/%d", firstID), second, ""), http.StatusNotFound)
}

// The same holds whatever the ids: should a database from before hand out
// an ended session's id again, a use noted for the old session reaches
// neither the listing nor the row of the new one.
func TestNotedUseStaysWithItsSession(t *testing.T) {
	ts := newCachingTestServer(t)
	ts.createUser(t, "muthoni", "muthoni-password")
	gitau := ts.createUser(t, "gitau", "gitau-password")
	token, id := ts.loginWith(t, "muthoni", "", "laptop")
	gitauPhone := ts.login(t, "gitau", "gitau-password")
	ts.clock.Advance(10 * time.Minute)
	wantStatus(t, "GET /api/users by muthoni", ts.call(t, "GET", "/api/users", token, ""), http.StatusOK)

	// The row goes and another of gitau's takes its id, as an operator's
	// sqlite3 shell or a schema without AUTOINCREMENT could do, before the
	// use of the old one is written.
	ts.clock.Advance(time.Minute)
	created := ts.clock.Now()
	ctx := context.Background()
	if _, err := ts.db.write.ExecContext(ctx, `DELETE FROM tokens WHERE id = ?`, id); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.db.write.ExecContext(ctx,
		`INSERT INTO tokens (id, hash, user_id, created_at, expires_at, max_expires_at) VALUES (?, ?, ?, ?, ?, ?)`,
		id, hashToken(newToken()).String(), gitau, formatTime(created),
		formatTime(created.Add(defaultTokenTTL)), formatTime(created.Add(defaultTokenMaxAge))); err != nil {
		t.Fatal(err)
	}
	for _, item := range ts.sessions(t, gitauPhone) {
		if int64(item["id"].(float64)) == id && item["last_used_at"] != nil {
			t.Errorf("gitau's unused session %d shows last_used_at %v, muthoni's use", id, item["last_used_at"])
		}
	}

	ts.cache.flushNotedUses(ctx)
	var lastUsed, expires string
	if err := ts.db.read.QueryRow(`SELECT COALESCE(last_used_at, ''), expires_at FROM tokens WHERE id = ?`, id).
		Scan(&lastUsed, &expires); err != nil {
		t.Fatal(err)
	}
	if want := formatTime(created.Add(defaultTokenTTL)); lastUsed != "" || expires != want {
		t.Errorf("gitau's unused session after the flush: last_used_at %q, expires_at %s; want none and %s", lastUsed, expires, want)
	}
}

// A database of schema version 4, whose session ids could be reused, is
// upgraded keeping every session: same id, hash, owner, times and scope,
// and its tokens go on working.
func TestUpgradeKeepsSessions(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "v4.db")
	hash, err := newPasswordHasher(testPasswordIterations, newHashSlots(1)).hash(context.Background(), "", "muthoni-password")
	if err != nil {
		t.Fatal(err)
	}
	live, expired := newToken(), newToken()
	makeDB(t, dbPath, schemaSteps[0]+schemaSteps[1]+schemaSteps[2]+schemaSteps[3]+fmt.Sprintf(`
		PRAGMA user_version = 4;
		INSERT INTO users (username, email, email_key, password_hash, last_seen) VALUES
			('muthoni', 'muthoni@example.com', 'muthoni@example.com', '%s', '2026-11-01T00:00:00.000000Z');
		INSERT INTO tokens (id, hash, user_id, name, scope, user_agent, created_at, last_used_at, expires_at, max_expires_at) VALUES
			(3, '%s', 1, 'laptop', 'read', 'curl/8', '2026-11-29T11:30:00.000000Z', '2026-11-29T11:45:00.000000Z',
				'2026-11-29T12:45:00.000000Z', '2026-12-29T11:30:00.000000Z'),
			(7, '%s', 1, NULL, 'write', NULL, '2026-11-28T11:30:00.000000Z', NULL,
				'2026-11-28T12:30:00.000000Z', '2026-11-28T12:30:00.000000Z');`,
		hash, hashToken(live), hashToken(expired)))
	before := queryRows(t, dbPath, "SELECT * FROM tokens ORDER BY id")

	ts := newTestServerAt(t, dbPath)
	if got := queryRows(t, dbPath, "SELECT * FROM tokens ORDER BY id"); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("sessions after the upgrade:\n%v\nwant, as before:\n%v", got, before)
	}
	items := ts.sessions(t, live)
	if len(items) != 1 || items[0]["id"] != float64(3) || items[0]["name"] != "laptop" || items[0]["scope"] != "read" {
		t.Errorf("GET /api/tokens after the upgrade = %v, want session 3, laptop, read", items)
	}
	// The newest id ever given was 7: the next login gets a later one,
	// and so does the one after the newest session ends.
	token, id := ts.loginWith(t, "muthoni", "", "phone")
	if id <= 7 {
		t.Errorf("a login after the upgrade got session id %d, want above 7", id)
	}
	wantStatus(t, "DELETE /api/tokens", ts.call(t, "DELETE", "/api/tokens", token, ""), http.StatusNoContent)
	if _, again := ts.loginWith(t, "muthoni", "", "phone"); again <= id {
		t.Errorf("a login after session %d ended got id %d, want above it", id, again)
	}
}

// queryRows reads every row a query returns as text, straight from the file.
func queryRows(t *testing.T, path, query string) [][]string {
	t.Helper()
	db := openReadOnly(t, path)
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	for rows.Next() {
		values := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range values {
			ptrs[i] = &values[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range values {
			row[i] = fmt.Sprint(v)
			if b, ok := v.([]byte); ok {
				row[i] = string(b)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeleteExpiredSessions(t *testing.T) {
	ts := newTestServer(t)
	_, early := ts.newUser(t, "muthoni")
	ts.login(t, "muthoni", "muthoni-password")
	ts.clock.Advance(30 * time.Minute)
	_, late := ts.newUser(t, "kamau")
	ts.clock.Advance(30 * time.Minute) // the first two expire now

	n, err := ts.db.deleteExpiredSessions(context.Background(), ts.clock.Now())
	if err != nil || n != 2 {
		t.Fatalf("deleteExpiredSessions = %d, %v; want 2, nil", n, err)
	}
	if n := ts.count(t, "tokens"); n != 1 {
		t.Errorf("tokens = %d rows, want 1", n)
	}
	wantBearerChallenge(t, "GET /api/users with an expired token", ts.call(t, "GET", "/api/users", early, ""), true)
	wantStatus(t, "GET /api/users with a live token", ts.call(t, "GET", "/api/users", late, ""), http.StatusOK)

	n, err = ts.db.deleteExpiredSessions(context.Background(), ts.clock.Now())
	if err != nil || n != 0 {
		t.Errorf("deleteExpiredSessions again = %d, %v; want 0, nil", n, err)
	}
}
