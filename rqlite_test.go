package main

// Crosses the whole program: the service on an rqlite cluster, across processes.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The driver and the service on a real rqlite cluster: the one
// TOKENAPI_TEST_RQLITE names, or else one these tests start when rqlited
// is built (tools/rqlite/build.sh; without it they skip: see
// rqlitehelpers_test.go and .ci/rqlite-check). Under that switch the rest
// of the suite runs on the cluster too. The driver's tests that need no
// cluster are in internal/rqlite.

// openRqliteDB opens the emptied test cluster through the driver alone.
func openRqliteDB(t *testing.T) *sql.DB {
	t.Helper()
	return rqliteDB(t, needRqlite(t))
}

// Integers past 2^53 (where a float64 loses them), ids past 1,000,000, the
// extremes of int64, reals that happen to be whole, text that rqlite would
// take for a blob literal, and blobs all come back as they went in.
func TestRqliteValuesRoundTrip(t *testing.T) {
	db := openRqliteDB(t)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE v (id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB)`); err != nil {
		t.Fatal(err)
	}
	type row struct {
		id int64
		i  int64
		r  float64
		s  string
		b  []byte
	}
	rows := []row{
		{1_000_001, 1<<53 + 1, 1.0, "X'4142'", []byte{0, 1, 255}},
		{1<<53 + 3, math.MaxInt64, 0.1, " x'00' ", []byte{}},
		{1<<62 + 7, math.MinInt64, -2.5e300, "naïve ' \" ? -- /*", []byte("X'41'")},
	}
	for _, r := range rows {
		// The placeholder with a blob-looking string is rewritten; the one
		// inside the comment and the quotes must not be counted.
		res, err := db.ExecContext(ctx, `INSERT INTO v (id, i, r, s, b) /* ? */ VALUES (?, ?, ?, ?, ?) -- '?'`, r.id, r.i, r.r, r.s, r.b)
		if err != nil {
			t.Fatalf("insert %v: %v", r, err)
		}
		if id, err := res.LastInsertId(); err != nil || id != r.id {
			t.Errorf("LastInsertId = %d, %v; want %d", id, err, r.id)
		}
	}
	// An id chosen by SQLite after the largest one.
	res, err := db.ExecContext(ctx, `INSERT INTO v (i) VALUES (?)`, int64(-1))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := res.LastInsertId(); id != 1<<62+8 {
		t.Errorf("next LastInsertId = %d, want %d", id, int64(1<<62+8))
	}
	for _, want := range rows {
		var got row
		var typeS string
		err := db.QueryRowContext(ctx, `SELECT id, i, r, s, b, typeof(s) FROM v WHERE id = ?`, want.id).
			Scan(&got.id, &got.i, &got.r, &got.s, &got.b, &typeS)
		if err != nil {
			t.Fatalf("select %d: %v", want.id, err)
		}
		if got.id != want.id || got.i != want.i || got.r != want.r || got.s != want.s || string(got.b) != string(want.b) || typeS != "text" {
			t.Errorf("row %d = %+v (s is %s), want %+v (s text)", want.id, got, typeS, want)
		}
	}
	var sum float64
	if err := db.QueryRowContext(ctx, `SELECT SUM(r) FROM v WHERE id = ?`, 1_000_001).Scan(&sum); err != nil || sum != 1.0 {
		t.Errorf("a whole real = %v, %v; want 1", sum, err)
	}
}

// rqlite passes SQLite's constraint messages on as they are, so the store
// turns them into the same sentinel errors as on a file.
func TestRqliteUniqueViolationsAreSentinels(t *testing.T) {
	st, err := openStore(context.Background(), needRqlite(t))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	if _, err := st.createUser(ctx, user{Username: "amara", Email: "amara@example.org", LastSeen: now}, "h"); err != nil {
		t.Fatal(err)
	}
	_, err = st.createUser(ctx, user{Username: "AMARA", Email: "other@example.org", LastSeen: now}, "h")
	if !errors.Is(err, errDuplicateUsername) {
		t.Errorf("createUser with a taken name = %v, want errDuplicateUsername", err)
	}
	_, err = st.createUser(ctx, user{Username: "bola", Email: "Amara@Example.org", LastSeen: now}, "h")
	if !errors.Is(err, errDuplicateEmail) {
		t.Errorf("createUser with a taken email = %v, want errDuplicateEmail", err)
	}
	if _, err := st.createPost(ctx, 999, "t", "b", now); err == nil || !strings.Contains(err.Error(), "FOREIGN KEY constraint failed") {
		t.Errorf("createPost for no user = %v, want a FOREIGN KEY error (the nodes run with -fk)", err)
	}
}

// A transaction's writes go as one atomic request: one failing statement
// leaves nothing of the others. What the driver cannot do honestly inside
// one, it refuses.
func TestRqliteTransactionIsAtomic(t *testing.T) {
	db := openRqliteDB(t)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE u (id INTEGER PRIMARY KEY, name TEXT UNIQUE)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO u (name) VALUES ('taken')`); err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO u (name) VALUES ('new')`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := res.LastInsertId(); err == nil {
		t.Errorf("LastInsertId of a buffered write = nil error, want one")
	}
	if _, err := tx.QueryContext(ctx, `SELECT COUNT(*) FROM u`); err == nil {
		t.Errorf("a query after a write in a transaction = nil error, want one")
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO u (name) VALUES ('taken')`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err == nil || !strings.Contains(err.Error(), "UNIQUE constraint failed") {
		t.Errorf("Commit = %v, want the UNIQUE error", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM u WHERE name = 'new'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("rows of the failed transaction = %d, %v; want 0", n, err)
	}
	if _, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}); err == nil {
		t.Errorf("a read-only transaction = nil error, want one")
	}
}

// Two tokenapi processes on one cluster: a token revoked through one is
// refused by the other once the other's cache lapses (it trusts what it
// read for a second). A write is read back at once through the process
// that made it (its cache forgets what it writes) and by any reader of
// the cluster (reads are linearizable); through another process, once
// that process's cache lapses.
func TestRqliteRevokeReachesOtherProcess(t *testing.T) {
	url := needRqlite(t)
	args := []string{"-addr", "127.0.0.1:0", "-db", url}
	a := startProgram(t, t.TempDir(), args, cheapPasswords)
	b := startProgram(t, t.TempDir(), args, cheapPasswords)
	id, token := a.newUser(t, "amara")
	wantStatus(t, "GET /api/users/{id} on the other process, just after sign-up", b.call(t, "GET", userPath(id), token, ""), http.StatusOK)
	wantStatus(t, "GET /api/users/{id} on a", a.call(t, "GET", userPath(id), token, ""), http.StatusOK)
	res := b.call(t, "PUT", userPath(id), token, `{"about_me": "written through b"}`)
	wantStatus(t, "PUT /api/users/{id} on b", res, http.StatusOK)
	if got := b.call(t, "GET", userPath(id), token, "").object(t)["about_me"]; got != "written through b" {
		t.Errorf("about_me read through b right after b wrote it = %v, want the new text", got)
	}
	db := rqliteDB(t, url)
	var about string
	if err := db.QueryRow(`SELECT about_me FROM users WHERE id = ?`, id).Scan(&about); err != nil || about != "written through b" {
		t.Errorf("about_me read from the cluster right after b wrote it = %q, %v; want the new text", about, err)
	}
	time.Sleep(time.Second + 50*time.Millisecond)
	if got := a.call(t, "GET", userPath(id), token, "").object(t)["about_me"]; got != "written through b" {
		t.Errorf("about_me read through a a second after b wrote it = %v, want the new text", got)
	}

	// b has just checked the token, so its cache holds it at the revoke.
	wantStatus(t, "GET /api/users/{id} on b before the revoke", b.call(t, "GET", userPath(id), token, ""), http.StatusOK)
	wantStatus(t, "DELETE /api/tokens on a", a.call(t, "DELETE", "/api/tokens", token, ""), http.StatusNoContent)
	revoked := time.Now()
	// Polled, for the figure; the promise is checked after a second.
	var refusedAfter time.Duration
	for time.Since(revoked) < 3*time.Second {
		if b.call(t, "GET", userPath(id), token, "").status == http.StatusUnauthorized {
			refusedAfter = time.Since(revoked)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Until(revoked.Add(time.Second + 50*time.Millisecond)))
	wantStatus(t, "GET /api/users/{id} on b a second after a revoked the token", b.call(t, "GET", userPath(id), token, ""), http.StatusUnauthorized)
	rqliteTestFigure(t, "a token revoked on one process was refused by the other after %v", refusedAfter.Round(time.Millisecond))
}

// The operator's commands work on a cluster as on a file.
func TestRqliteAdminCommands(t *testing.T) {
	url := needRqlite(t)
	p := startProgram(t, t.TempDir(), []string{"-addr", "127.0.0.1:0", "-db", url}, cheapPasswords)
	_, token := p.newUser(t, "amara")
	dir := t.TempDir()
	out, stderr, code := runProgram(t, dir, "", "-db", url, "users")
	if code != 0 || !strings.Contains(out, "amara") {
		t.Fatalf("tokenapi users on the cluster: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	_, stderr, code = runProgram(t, dir, "", "-db", url, "revoke", "amara")
	if code != 0 {
		t.Fatalf("tokenapi revoke amara: exit %d, stderr %q", code, stderr)
	}
	time.Sleep(time.Second + 50*time.Millisecond) // the server's cache trust
	wantStatus(t, "GET /api/users after the operator revoked every session", p.call(t, "GET", "/api/users", token, ""), http.StatusUnauthorized)
}

// On a cluster no server has started on, a command refuses, as it does
// an empty file, and writes nothing: the cluster is left with no schema.
func TestRqliteAdminRefusesEmptyCluster(t *testing.T) {
	url := needRqlite(t)
	_, stderr, code := runProgram(t, t.TempDir(), "", "-db", url, "users")
	want := "tokenapi: database " + url + " holds no tokenapi schema; a server makes one on its first start\n"
	if code != 1 || stderr != want {
		t.Errorf("tokenapi -db %s users on an empty cluster: exit %d, stderr %q; want 1 and %q", url, code, stderr, want)
	}
	version, tables, err := schemaVersion(testRqliteContext(t), rqliteDB(t, url))
	if err != nil || version != 0 || tables != 0 {
		t.Errorf("after the command, the cluster has schema version %d and %d tables (%v); want 0 and none", version, tables, err)
	}
}

// The schema steps can run on rqlite only because each fails when run a
// second time (see migrate): keep it so for every new step.
func TestSchemaStepsFailTwice(t *testing.T) {
	for i, step := range schemaSteps {
		first := strings.TrimSpace(stripSQLComments(step))
		upper := strings.ToUpper(first)
		statement := strings.SplitN(upper, ";", 2)[0]
		failsTwice := strings.HasPrefix(upper, "CREATE TABLE ") ||
			(strings.HasPrefix(upper, "CREATE INDEX ") && !strings.Contains(statement, " IF NOT EXISTS ")) ||
			(strings.HasPrefix(upper, "ALTER TABLE ") && strings.Contains(statement, " ADD COLUMN ")) ||
			(strings.HasPrefix(upper, "CREATE TRIGGER ") && !strings.Contains(statement, " IF NOT EXISTS "))
		if !failsTwice {
			t.Errorf("schema step %d starts with %.40q; want CREATE TABLE, CREATE INDEX, CREATE TRIGGER or ALTER TABLE ... ADD COLUMN, which fail when run twice", i+1, first)
		}
	}
}

// stripSQLComments drops -- comments, enough for schema.sql.
func stripSQLComments(sqlText string) string {
	var b strings.Builder
	for _, line := range strings.Split(sqlText, "\n") {
		if before, _, _ := strings.Cut(line, "--"); strings.TrimSpace(before) != "" {
			b.WriteString(before + "\n")
		}
	}
	return b.String()
}

// rqliteTestFigure prints a measured figure so that a CI log shows it.
func rqliteTestFigure(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf(format, args...)
	fmt.Printf("rqlite: "+format+"\n", args...)
}
