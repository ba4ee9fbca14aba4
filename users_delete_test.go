package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// wantNoRowOf fails for every row, in every table of the database, that
// still names the user: a user_id or a users.id of theirs, or a text that
// holds their username, their email or their failure-key name
// ("user:ID"). It reads the tables the schema has, not a list kept here,
// so a table added later is checked too.
func wantNoRowOf(t *testing.T, ts *testServer, id int64, username, email string) {
	t.Helper()
	names, err := ts.db.read.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for names.Next() {
		var name string
		if err := names.Scan(&name); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, name)
	}
	if err := names.Close(); err != nil {
		t.Fatal(err)
	}
	key := regexp.MustCompile(fmt.Sprintf(`\buser:%d\b`, id))
	for _, table := range tables {
		rows, err := ts.db.read.Query(`SELECT * FROM "` + table + `"`) // a name from sqlite_master
		if err != nil {
			t.Fatal(err)
		}
		columns, _ := rows.Columns()
		for rows.Next() {
			values := make([]any, len(columns))
			ptrs := make([]any, len(columns))
			for i := range values {
				ptrs[i] = &values[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range values {
				text := fmt.Sprint(v)
				if b, ok := v.([]byte); ok {
					text = string(b)
				}
				byID := columns[i] == "user_id" || (table == "users" && columns[i] == "id")
				lower := strings.ToLower(text)
				if (byID && text == fmt.Sprint(id)) || strings.Contains(lower, username) ||
					strings.Contains(lower, email) || key.MatchString(text) {
					t.Errorf("table %s still holds %s = %q of the deleted user", table, columns[i], text)
				}
			}
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// Deleting an account leaves no row of it in any table: its posts,
// sessions, known addresses and failure records go with it. Its tokens
// answer 401, another user's things stay, the counters stay exact, and
// its username and email can sign up again, under a new id.
func TestDeleteUser(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "amina")
	second := ts.login(t, "amina", "amina-password")
	otherID, other := ts.newUser(t, "baraka")
	ts.createPost(t, token, "mine", "one")
	ts.createPost(t, token, "mine too", "two")
	kept := ts.createPost(t, other, "baraka's", "three")
	// Failure records of every kind that names the account.
	wantStatus(t, "a wrong password", ts.callBasic(t, "POST", "/api/tokens", "amina", "wrong-password"), http.StatusUnauthorized)
	wantError(t, "a wrong current_password", ts.call(t, "PUT", userPath(id), token,
		`{"password": "new-password-1", "current_password": "wrong"}`), http.StatusBadRequest, "field current_password is wrong")
	if n := ts.count(t, fmt.Sprintf("password_failures WHERE key LIKE 'user:%d%%' OR key LIKE '%%of user:%d'", id, id)); n != 3 {
		t.Fatalf("failure records of amina before the delete = %d, want 3", n)
	}
	if n := ts.count(t, fmt.Sprintf("known_addresses WHERE user_id = %d", id)); n == 0 {
		t.Fatal("amina has no known address before the delete; the cascade is not tested")
	}

	res := ts.call(t, "DELETE", userPath(id), token, `{"current_password": "amina-password"}`)
	wantStatus(t, "DELETE own account", res, http.StatusNoContent)
	if len(res.body) != 0 {
		t.Errorf("204 body = %q, want none", res.body)
	}
	wantNoRowOf(t, ts, id, "amina", "amina@example.com")
	for _, tok := range []string{token, second} {
		wantStatus(t, "a token of the deleted user", ts.call(t, "GET", "/api/users", tok, ""), http.StatusUnauthorized)
	}
	wantStatus(t, "GET the deleted user", ts.call(t, "GET", userPath(id), other, ""), http.StatusNotFound)
	wantStatus(t, "baraka's post", ts.call(t, "GET", fmt.Sprintf("/api/posts/%d", kept), other, ""), http.StatusOK)
	wantStatus(t, "baraka himself", ts.call(t, "GET", userPath(otherID), other, ""), http.StatusOK)
	wantCountsExact(t, "after an account was deleted", ts.db.read)
	ts.wantTotalItems(t, "/api/posts", other, `SELECT COUNT(*) FROM posts`)
	ts.wantTotalItems(t, "/api/users", other, `SELECT COUNT(*) FROM users`)

	again := ts.createUser(t, "amina", "amina-password")
	if again <= otherID {
		t.Errorf("amina signed up again as id %d; want a new id above %d", again, otherID)
	}
	ts.login(t, "amina", "amina-password")
}

// The newest account's id is not given to the next sign-up: SQLite alone
// would give max(id)+1, the deleted account's id, and every link to it
// would show the new user.
func TestDeletedUsersIDNotReused(t *testing.T) {
	ts := newTestServer(t)
	_, reader := ts.newUser(t, "amina")
	newest, token := ts.newUser(t, "baraka")
	wantStatus(t, "DELETE baraka", ts.call(t, "DELETE", userPath(newest), token, `{"current_password": "baraka-password"}`), http.StatusNoContent)
	next := ts.createUser(t, "chebet", "chebet-password")
	if next == newest {
		t.Fatalf("chebet got id %d, the id of deleted baraka", next)
	}
	wantStatus(t, "GET the deleted id", ts.call(t, "GET", userPath(newest), reader, ""), http.StatusNotFound)
}

// Every refused delete answers with its error and deletes nothing.
func TestDeleteUserRefused(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "amina")
	otherID, other := ts.newUser(t, "baraka")
	ts.createPost(t, token, "mine", "one")
	readOnly := ts.callWith(t, "POST", "/api/tokens", `{"scope": "read"}`, basic("amina", "amina-password"),
		withHeader("Content-Type", "application/json")).object(t)["token"].(string)
	tooLong := strings.Repeat("x", maxPasswordLen*4+1)

	for _, tc := range []struct {
		what, token, path, body string
		status                  int
		message                 string
	}{
		{"no body", token, userPath(id), "", http.StatusUnsupportedMediaType, "Content-Type must be application/json"},
		{"a body that is not an object", token, userPath(id), `["amina-password"]`, http.StatusBadRequest, ""},
		{"no current_password", token, userPath(id), `{}`, http.StatusBadRequest, "field current_password is required to delete the account"},
		{"a wrong current_password", token, userPath(id), `{"current_password": "wrong"}`, http.StatusBadRequest, "field current_password is wrong"},
		{"a current_password too long to be anyone's", token, userPath(id), fmt.Sprintf(`{"current_password": %q}`, tooLong), http.StatusBadRequest, "field current_password is wrong"},
		{"another user's account", other, userPath(id), `{"current_password": "baraka-password"}`, http.StatusForbidden, "you may delete only your own account"},
		{"an id that is no one's", token, userPath(otherID + 100), `{"current_password": "amina-password"}`, http.StatusForbidden, "you may delete only your own account"},
		{"a bad id", token, "/api/users/x", `{"current_password": "amina-password"}`, http.StatusNotFound, ""},
		{"a read-only session", readOnly, userPath(id), `{"current_password": "amina-password"}`, http.StatusForbidden, ""},
		{"no token", "", userPath(id), `{"current_password": "amina-password"}`, http.StatusUnauthorized, ""},
	} {
		res := ts.call(t, "DELETE", tc.path, tc.token, tc.body)
		if tc.message != "" {
			wantError(t, tc.what, res, tc.status, tc.message)
		} else {
			wantStatus(t, tc.what, res, tc.status)
		}
	}
	if n := ts.count(t, fmt.Sprintf("users WHERE id IN (%d, %d)", id, otherID)); n != 2 {
		t.Errorf("users left = %d, want both", n)
	}
	if n := ts.count(t, fmt.Sprintf("posts WHERE user_id = %d", id)); n != 1 {
		t.Errorf("amina's posts = %d, want 1", n)
	}
	wantStatus(t, "amina's token after the refusals", ts.call(t, "GET", userPath(id), token, ""), http.StatusOK)
}

// Version 11 starts the id high-water mark at the highest id a database
// holds, keeping every user, and its trigger deletes the failure records
// of a user deleted after the upgrade.
func TestUpgradeFromVersion10(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "v10.db")
	var steps string
	for _, step := range schemaSteps[:10] {
		steps += step
	}
	makeDB(t, dbPath, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;"+steps+`
		PRAGMA user_version = 10;
		INSERT INTO users (id, username, email, email_key, password_hash, last_seen) VALUES
			(1, 'muthoni', 'muthoni@example.com', 'muthoni@example.com', 'x', '2026-11-01T00:00:00.000000Z'),
			(5, 'kamau', 'kamau@example.com', 'kamau@example.com', 'x', '2026-11-01T00:00:00.000000Z');
		INSERT INTO password_failures (key, failures, max_failures, last_failure) VALUES
			('user:5 from 127.0.0.1', 3, 10, '2026-11-29T11:59:00.000000Z'),
			('user:1', 2, 100, '2026-11-29T11:59:00.000000Z');`)

	ts := newTestServerAt(t, dbPath)
	if n := ts.count(t, "users"); n != 2 {
		t.Fatalf("users after the upgrade = %d, want 2", n)
	}
	id, _ := ts.newUser(t, "baraka")
	if id != 6 {
		t.Errorf("the first sign-up after the upgrade got id %d, want 6", id)
	}
	if _, err := ts.db.write.Exec(`DELETE FROM users WHERE id = 5`); err != nil {
		t.Fatal(err)
	}
	if n := ts.count(t, "password_failures WHERE key LIKE 'user:5%'"); n != 0 {
		t.Errorf("failure records of the deleted user = %d, want 0", n)
	}
	if n := ts.count(t, "password_failures WHERE key = 'user:1'"); n != 1 {
		t.Errorf("failure records of user 1 = %d, want 1 (another user's stay)", n)
	}
}

// A user with TOTP on deletes the account only with a code in X-OTP as
// well: without one the answer asks for it (X-OTP: required), a wrong one
// is refused and counted as a wrong password, and neither deletes
// anything. A recovery code does, as at login.
func TestDeleteUserWithTOTP(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "amina")
	_, codes := turnTOTPOn(t, ts, id, token, "amina-password")
	del := func(with ...func(*http.Request)) response {
		return ts.callWith(t, "DELETE", userPath(id), `{"current_password": "amina-password"}`,
			append([]func(*http.Request){bearer(token), withHeader("Content-Type", "application/json")}, with...)...)
	}
	res := del()
	wantError(t, "DELETE without a code", res, http.StatusBadRequest, otpRequiredMessage)
	if got := res.header.Get(otpHeader); got != "required" {
		t.Errorf("DELETE without a code: X-OTP = %q, want required", got)
	}
	wantError(t, "DELETE with a wrong code", del(withOTP("000000")), http.StatusBadRequest, codeWrongMessage)
	wantError(t, "DELETE with a wrong password and no code", ts.call(t, "DELETE", userPath(id), token,
		`{"current_password": "wrong"}`), http.StatusBadRequest, "field current_password is wrong")
	var failures int
	if err := ts.db.read.QueryRow(`SELECT failures FROM password_failures WHERE key = ?`, currentPasswordKey(id)).Scan(&failures); err != nil || failures != 2 {
		t.Errorf("failures of current_password = %d, %v; want 2 (the wrong code and the wrong password)", failures, err)
	}
	if n := ts.count(t, fmt.Sprintf("users WHERE id = %d", id)); n != 1 {
		t.Fatalf("amina's account after refused deletes: %d rows, want 1", n)
	}
	wantStatus(t, "DELETE with a recovery code", del(withOTP(codes[0])), http.StatusNoContent)
	wantNoRowOf(t, ts, id, "amina", "amina@example.com")
}
