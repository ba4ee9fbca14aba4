package rqlite

import (
	"database/sql"
	"strings"
	"testing"
)

// The driver's own rules, without a cluster.

// A bad URL is refused when it is parsed, with the node at fault and
// the reason, and never with the URL itself: a password in it must not
// reach an error, and so a log.
func TestParseURL(t *testing.T) {
	good := []struct {
		url  string
		want []string
	}{
		{"rqlite://127.0.0.1:4001", []string{"127.0.0.1:4001"}},
		{"rqlite://a:4001,b.example:4003,[::1]:65535", []string{"a:4001", "b.example:4003", "[::1]:65535"}},
	}
	for _, tc := range good {
		got, err := parseURL(tc.url)
		if err != nil || strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("parseURL(%q) = %q, %v; want %q", tc.url, got, err, tc.want)
		}
	}
	bad := []struct {
		name, url, wantErr string
	}{
		{"no nodes", "rqlite://", "want rqlite://host:port"},
		{"credentials", "rqlite://admin:s3cret@db1:4001", `credentials in the URL are not supported (node "db1:4001")`},
		{"credentials, second node", "rqlite://db1:4001,admin:s3cret@db2:4001/x", `node 2 of 2: credentials in the URL are not supported (node "db2:4001")`},
		{"user and password, no host", "rqlite://admin:s3cret", `host "admin": the port must be a number`},
		{"path", "rqlite://db1:4001/db?s3cret", `"db1:4001": want host:port only`},
		{"no port", "rqlite://db1", "node 1 of 1: want host:port"},
		{"empty node", "rqlite://db1:4001,", "node 2 of 2: want host:port"},
		{"no host", "rqlite://:4001", "want host:port"},
		{"port 0", "rqlite://db1:0", `host "db1": the port must be a number from 1 to 65535`},
		{"port too large", "rqlite://db1:65536", `host "db1": the port must be a number from 1 to 65535`},
		{"port not a number", "rqlite://db1:http", `host "db1": the port must be a number`},
		{"percent in host", "rqlite://db%41:4001", `"db%41:4001" is not a host:port an HTTP URL can name`},
		{"space in host", "rqlite://db 1:4001", `is not a host:port an HTTP URL can name`},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseURL(tc.url)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("parseURL(%q) = %v; want an error with %q", tc.url, err, tc.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("parseURL(%q) = %q; the password is in it", tc.url, err)
			}
		})
	}
}

// sql.Open refuses such a URL at once, before anything is sent, and
// IsURL tells an rqlite URL from a file name by its scheme alone.
func TestOpenRefusesBadURL(t *testing.T) {
	for _, url := range []string{"rqlite://admin:s3cret@127.0.0.1:4001", "rqlite://db%41:4001"} {
		db, err := sql.Open("rqlite", url)
		if err == nil {
			db.Close()
			t.Fatalf("sql.Open(%q) succeeded", url)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("sql.Open(%q) = %q; the password is in it", url, err)
		}
	}
	for s, want := range map[string]bool{
		"rqlite://127.0.0.1:4001": true,
		"rqlite://":               true,
		"tokenapi.db":             false,
		"file:rqlite://x":         false,
		"RQLITE://db1:4001":       false,
	} {
		if got := IsURL(s); got != want {
			t.Errorf("IsURL(%q) = %v, want %v", s, got, want)
		}
	}
}

// A transaction on rqlite is a multi-statement write: a read inside one
// is refused before anything is sent, unless the transaction is a schema
// step's, which may read before it writes.
func TestReadInTransaction(t *testing.T) {
	node := newFakeNode(t, answerAsLeader)
	db, ctx := openDB(t, fakeURL(node)), testContext(t)

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	err = tx.QueryRowContext(ctx, "SELECT n FROM t").Scan(&n)
	if err == nil || !strings.Contains(err.Error(), "read before BeginTx") {
		t.Errorf("a read in a transaction = %v; want it refused", err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO t (n) VALUES (?)", 1); err != nil {
		t.Fatal(err)
	}
	if got := node.requests.Load(); got != 0 {
		t.Errorf("%d requests sent before Commit, want 0", got)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if got := node.requests.Load(); got != 1 {
		t.Errorf("%d requests sent by Commit, want 1", got)
	}

	step, err := db.BeginTx(WithSchemaStep(ctx), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer step.Rollback()
	if err := step.QueryRowContext(ctx, "SELECT n FROM t").Scan(&n); err != nil || n != 7 {
		t.Errorf("a read in a schema step = %d, %v; want 7", n, err)
	}
	if _, err := step.ExecContext(ctx, "INSERT INTO t (n) VALUES (?)", 1); err != nil {
		t.Fatal(err)
	}
	if err := step.QueryRowContext(ctx, "SELECT n FROM t").Scan(&n); err == nil {
		t.Errorf("a read after a write in a schema step = nil error, want one")
	}
}

// openDB opens url through the driver, as any program would, for the rest
// of the test.
func openDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("rqlite", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
