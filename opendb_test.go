package main

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A database written by a binary of schema version 1 is upgraded in place:
// its data stays, users can log in and use their tokens, and post counts,
// kept in the users table since version 2, are right from the start and
// stay right.
func TestUpgradeFromVersion1(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "v1.db")
	hash, err := newPasswordHasher(testPasswordIterations, newHashSlots(1)).hash(context.Background(), "", "muthoni-password")
	if err != nil {
		t.Fatal(err)
	}
	token := newToken()
	// The clock of the test server starts at 2026-11-29 12:00.
	makeDB(t, dbPath, schemaSteps[0]+fmt.Sprintf(`
		PRAGMA user_version = 1;
		INSERT INTO users (username, email, email_key, password_hash, last_seen) VALUES
			('muthoni', 'muthoni@example.com', 'muthoni@example.com', '%s', '2026-11-01T00:00:00.000000Z'),
			('kamau', 'kamau@example.com', 'kamau@example.com', 'x', '2026-11-01T00:00:00.000000Z');
		INSERT INTO posts (title, body, timestamp, user_id) VALUES
			('one', 'a', '2026-11-01T00:00:00.000000Z', 1),
			('two', 'b', '2026-11-01T00:00:01.000000Z', 1),
			('three', 'c', '2026-11-01T00:00:02.000000Z', 2);
		INSERT INTO tokens (hash, user_id, created_at, expires_at) VALUES
			('%s', 1, '2026-11-29T11:30:00.000000Z', '2026-11-29T12:30:00.000000Z');`,
		hash, hashToken(token)))

	ts := newTestServerAt(t, dbPath)
	var version int
	if err := ts.db.read.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != len(schemaSteps) {
		t.Fatalf("user_version after upgrade = %d, %v; want %d", version, err, len(schemaSteps))
	}
	postCount := func(what string, id int64, want int) {
		t.Helper()
		res := ts.call(t, "GET", fmt.Sprintf("/api/users/%d", id), token, "")
		wantStatus(t, "GET /api/users/1", res, http.StatusOK)
		if got := res.object(t)["post_count"]; got != float64(want) {
			t.Errorf("%s: user %d post_count = %v, want %d", what, id, got, want)
		}
	}
	postCount("after the upgrade", 1, 2) // the token from before the upgrade works
	postCount("after the upgrade", 2, 1)

	newPost := ts.createPost(t, token, "four", "d")
	postCount("after a new post", 1, 3)
	wantStatus(t, "DELETE a post", ts.call(t, "DELETE", "/api/posts/1", token, ""), http.StatusNoContent)
	wantStatus(t, "DELETE a post", ts.call(t, "DELETE", fmt.Sprintf("/api/posts/%d", newPost), token, ""), http.StatusNoContent)
	postCount("after two deletes", 1, 1)
	postCount("after another user's posts changed", 2, 1)
	ts.login(t, "muthoni", "muthoni-password")

	// The upgraded schema is the one a new database gets.
	fresh := newTestServer(t)
	if got, want := schemaOf(t, ts.db.read), schemaOf(t, fresh.db.read); !slices.Equal(got, want) {
		t.Errorf("upgraded schema:\n%s\nwant, as a new database has it:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// makeVersion2DB makes a database file as a binary of schema version 2
// left it, in WAL mode, with a user for each email (ids 1, 2, ...), keyed
// as version 2 keyed them: by strings.ToLower.
func makeVersion2DB(t *testing.T, path string, emails ...string) {
	t.Helper()
	makeDB(t, path, "PRAGMA journal_mode = WAL;"+schemaSteps[0]+schemaSteps[1]+"PRAGMA user_version = 2;")
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i, email := range emails {
		if _, err := db.Exec(`INSERT INTO users (username, email, email_key, password_hash, last_seen) VALUES (?, ?, ?, 'x', '2026-11-01T00:00:00.000000Z')`,
			fmt.Sprintf("user%d", i+1), email, strings.ToLower(email)); err != nil {
			t.Fatal(err)
		}
	}
}

// Version 3 keys emails by Unicode case folding (emailKey), not
// strings.ToLower: the upgrade recomputes every stored key, the address
// itself stays as the user wrote it, and from then on a case twin of an
// old address is refused.
func TestUpgradeFromVersion2(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "v2.db")
	makeVersion2DB(t, dbPath, "ſam@x.org", "Muthoni@Example.com", "ϐa@x.org", "İs@x.org")

	ts := newTestServerAt(t, dbPath)
	var version int
	if err := ts.db.read.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != len(schemaSteps) {
		t.Fatalf("user_version after upgrade = %d, %v; want %d", version, err, len(schemaSteps))
	}
	for i, want := range []struct{ email, key string }{
		{"ſam@x.org", "sam@x.org"}, // was ſam@x.org
		{"Muthoni@Example.com", "muthoni@example.com"},
		{"ϐa@x.org", "βa@x.org"}, // was ϐa@x.org
		{"İs@x.org", "is@x.org"},
	} {
		var email, key string
		if err := ts.db.read.QueryRow(`SELECT email, email_key FROM users WHERE id = ?`, i+1).Scan(&email, &key); err != nil {
			t.Fatal(err)
		}
		if email != want.email || key != want.key {
			t.Errorf("user %d after the upgrade: email %q, email_key %q; want %q, %q", i+1, email, key, want.email, want.key)
		}
	}

	signUp := func(email string) response {
		t.Helper()
		return ts.call(t, "POST", "/api/users", "", jsonText(t, map[string]string{"username": "newcomer", "email": email, "password": "password1"}))
	}
	for _, twin := range []string{"sam@x.org", "SAM@x.org", "βa@x.org", "iſ@x.org", "MUTHONI@example.com"} {
		wantError(t, "POST /api/users with "+twin, signUp(twin), http.StatusBadRequest, "email is already registered")
	}
	if n := ts.count(t, "users"); n != 4 {
		t.Errorf("users = %d rows, want 4", n)
	}
	wantStatus(t, "POST /api/users with a new address", signUp("new@x.org"), http.StatusCreated)
}

// An old database with two addresses that fold together cannot be
// upgraded: the program refuses to start and names both rows, for an
// operator to choose which to change, and leaves the file as it was, at
// version 2. In the second case "iſ@x.org" now folds to "is@x.org", the
// key "İs@x.org" has held since version 2 (strings.ToLower joins 'İ' and
// 'i', and emailKey keeps that). Writing keys before checking them all
// would trip the UNIQUE constraint, in both cases, rather than name the
// twins.
func TestUpgradeFromVersion2RefusesCaseTwins(t *testing.T) {
	tests := []struct {
		name    string
		emails  []string
		wantErr string
	}{
		{"one pair", []string{"sam@x.org", "muthoni@example.com", "ſam@x.org"},
			`upgrade schema to version 3: users 1 ("sam@x.org") and 3 ("ſam@x.org") have emails that differ only in case; change one before upgrading`},
		{"two pairs, one through the key of İ", []string{"iſ@x.org", "İs@x.org", "ςa@x.org", "σa@x.org"},
			`upgrade schema to version 3: users 1 ("iſ@x.org") and 2 ("İs@x.org"), users 3 ("ςa@x.org") and 4 ("σa@x.org") have emails that differ only in case; change one of each pair before upgrading`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			makeVersion2DB(t, filepath.Join(dir, "tokenapi.db"), tt.emails...)
			before := snapshotDir(t, dir)

			args := []string{"-addr", "127.0.0.1:0", "-db", "tokenapi.db"}
			p := spawnProgram(t, dir, args)
			if code := p.wait(t, time.Minute); code != 1 {
				t.Errorf("tokenapi %s: exit code %d, want 1", strings.Join(args, " "), code)
			}
			if got, want := p.stderr.String(), "tokenapi: database tokenapi.db: "+tt.wantErr+"\n"; got != want {
				t.Errorf("tokenapi %s: stderr = %q, want %q", strings.Join(args, " "), got, want)
			}
			if after := snapshotDir(t, dir); !maps.Equal(after, before) {
				t.Errorf("the refused upgrade changed the directory: files %v, were %v", slices.Sorted(maps.Keys(after)), slices.Sorted(maps.Keys(before)))
			}
			var version int
			if err := openReadOnly(t, filepath.Join(dir, "tokenapi.db")).QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != 2 {
				t.Errorf("user_version after the refused upgrade = %d, %v; want 2", version, err)
			}
		})
	}
}

// schemaOf lists a database's tables with their columns, and its indexes
// and triggers, in a form that does not depend on how they were created.
func schemaOf(t *testing.T, db *sql.DB) []string {
	t.Helper()
	rows, err := db.Query(`SELECT s.type, s.name, s.tbl_name, COALESCE(c.name, ''), COALESCE(c.type, ''), COALESCE(c."notnull", 0), COALESCE(c.dflt_value, '')
		FROM sqlite_schema s LEFT JOIN pragma_table_info(s.name) c ON s.type = 'table'
		WHERE s.name NOT LIKE 'sqlite_%' ORDER BY s.name, c.cid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var schema []string
	for rows.Next() {
		var kind, name, table, column, columnType, defaultValue string
		var notNull bool
		if err := rows.Scan(&kind, &name, &table, &column, &columnType, &notNull, &defaultValue); err != nil {
			t.Fatal(err)
		}
		schema = append(schema, fmt.Sprintf("%s %s on %s: %s %s notnull=%v default=%s", kind, name, table, column, columnType, notNull, defaultValue))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return schema
}

func TestSplitSchema(t *testing.T) {
	steps := splitSchema("-- header\n\n-- version 1\nCREATE TABLE a (x);\n-- version 2: why\nCREATE TABLE b (y);\n")
	want := []string{"CREATE TABLE a (x);", "CREATE TABLE b (y);\n"}
	if !slices.Equal(steps, want) {
		t.Errorf("splitSchema = %q, want %q", steps, want)
	}
	for _, bad := range []string{
		"CREATE TABLE a (x);\n",
		"-- x\n-- version 2\nCREATE TABLE a (x);\n",
		"-- x\n-- version 1\nA;\n-- version 3\nB;\n",
		"-- x\n-- version 1\nA;\n-- version 1\nB;\n",
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("splitSchema(%q) did not panic", bad)
				}
			}()
			splitSchema(bad)
		}()
	}
}

// Two servers starting at once on one old database upgrade it once: the
// second finds the work done rather than failing on it. (Found by review.)
func TestConcurrentUpgrade(t *testing.T) {
	for i := range 10 {
		dbPath := filepath.Join(t.TempDir(), fmt.Sprintf("v1-%d.db", i))
		makeDB(t, dbPath, schemaSteps[0]+"PRAGMA user_version = 1;")
		errs := make(chan error, 2)
		for range 2 {
			go func() {
				st, err := openStore(context.Background(), dbPath)
				if err == nil {
					err = st.Close()
				}
				errs <- err
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatalf("round %d: openStore: %v", i, err)
			}
		}
	}
}

// A database the operating system will not let us write is reported with
// its own words, "permission denied", not as a missing file. Tests run as
// root, whom permission bits do not stop, so the wording is checked on the
// error such an open returns.
func TestOpenErrorSaysPermissionDenied(t *testing.T) {
	denied := &fs.PathError{Op: "open", Path: "/srv/ro/tokenapi.db", Err: syscall.EACCES}
	if got, want := openError("/srv/ro/tokenapi.db", denied).Error(), "database /srv/ro/tokenapi.db: permission denied"; got != want {
		t.Errorf("openError(EACCES) = %q, want %q", got, want)
	}
	missing := &fs.PathError{Op: "open", Path: "/proc/x.db", Err: syscall.ENOENT}
	if got := openError("/proc/x.db", missing).Error(); strings.Contains(got, "permission") {
		t.Errorf("openError(ENOENT) = %q, want no word of permission", got)
	}
}

// Version 4 makes tokens sessions. Tokens from before keep working after
// the upgrade: no name, scope write, and their old expiry kept as their
// cap, so no use makes them live longer than they were issued for.
func TestUpgradeFromVersion3(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "v3.db")
	hash, err := newPasswordHasher(testPasswordIterations, newHashSlots(1)).hash(context.Background(), "", "muthoni-password")
	if err != nil {
		t.Fatal(err)
	}
	old := "Kq3uTqZQ1kq1cH0Zb8M3o0l6kDFSlj1vq8d9eZC3w9E" // an old-format token: 43 URL-safe characters
	// The clock of the test server starts at 2026-11-29 12:00.
	makeDB(t, dbPath, "PRAGMA journal_mode = WAL;"+schemaSteps[0]+schemaSteps[1]+schemaSteps[2]+fmt.Sprintf(`
		PRAGMA user_version = 3;
		INSERT INTO users (username, email, email_key, password_hash, last_seen) VALUES
			('muthoni', 'muthoni@example.com', 'muthoni@example.com', '%s', '2026-11-01T00:00:00.000000Z');
		INSERT INTO tokens (hash, user_id, created_at, expires_at) VALUES
			('%s', 1, '2026-11-29T11:30:00.000000Z', '2026-11-29T12:30:00.000000Z');`,
		hash, hashToken(old)))

	ts := newTestServerAt(t, dbPath)
	var version int
	if err := ts.db.read.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != len(schemaSteps) {
		t.Fatalf("user_version after upgrade = %d, %v; want %d", version, err, len(schemaSteps))
	}
	items := ts.sessions(t, old)
	if len(items) != 1 {
		t.Fatalf("sessions of the old token = %d, want 1", len(items))
	}
	s := items[0]
	if s["name"] != nil || s["scope"] != "write" || s["user_agent"] != nil || s["current"] != true {
		t.Errorf("the old token's session = %v, want no name, scope write, no user agent, current", s)
	}
	oldExpiry := time.Date(2026, 11, 29, 12, 30, 0, 0, time.UTC)
	wantTimestamp(t, "expires_at of the old token, used now", s["expires_at"], oldExpiry)
	ts.clock.Advance(29 * time.Minute)
	wantStatus(t, "POST /api/posts with the old token", ts.call(t, "POST", "/api/posts", old, `{"title": "t", "body": "b"}`), http.StatusCreated)
	ts.clock.Advance(time.Minute)
	wantBearerChallenge(t, "GET /api/users at the old token's old expiry", ts.call(t, "GET", "/api/users", old, ""), true)
}
