package main

// The helpers of the cluster tests: which cluster they run on, and how to empty it.

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"tokenapi/internal/rqlite"
)

// The switch that runs the tests on an rqlite cluster as well as on SQLite
// files: with TOKENAPI_TEST_RQLITE=rqlite://host:port,... (the URL that
// tools/rqlite/cluster.sh start prints; .ci/rqlite-check sets it),
// newTestServer and the program tests that call testDB use the cluster
// instead of a fresh file. Without it they use files, and the tests of the
// cluster itself start a cluster of their own (see ownCluster) when
// rqlited is built, and skip when it is not: the tests never build it
// (that takes minutes), tools/rqlite/build.sh does (see needRqlited).
//
// A cluster has one database, so the tests that use it take turns: each
// takes rqliteTurn, empties the database (its schema too, so every test
// starts, as on a new file, with a migration from version 0), and gives
// the turn back when it ends. Parallel tests wait for one another on the
// cluster; on files they still run side by side.
const rqliteTestEnv = "TOKENAPI_TEST_RQLITE"

// rqliteTurn is held by the test that uses the cluster.
var rqliteTurn = make(chan struct{}, 1)

// rqliteTestURL is the cluster the whole suite runs on, or "".
func rqliteTestURL() string { return os.Getenv(rqliteTestEnv) }

// needRqlite gives a test of the cluster itself a cluster, empty, for the
// rest of the test: the one TOKENAPI_TEST_RQLITE names, or else the
// package's own, or it skips the test (see needRqlited).
func needRqlite(t testing.TB) string {
	t.Helper()
	url := rqliteTestURL()
	if url == "" {
		url = ownCluster.start(t, needRqlited(t))
	}
	return cleanRqlite(t, url)
}

// needRqlited returns the path of the rqlited that tools/rqlite/build.sh
// built and cached, for the tests that start a cluster of their own. When
// there is none it skips the test, as building one here would keep the
// first go test ./... busy for minutes without a word. The first test to
// skip says why in one line, naming the command that builds it; the
// others skip without repeating it.
func needRqlited(t testing.TB) string {
	t.Helper()
	path, err := cachedRqlited()
	if err == nil {
		return path
	}
	first := false
	rqlitedSkip.Do(func() { first = true })
	if first {
		t.Skipf("skipping the rqlite cluster tests: no rqlited at %s; run tools/rqlite/build.sh (a few minutes, once) to run them", path)
	}
	t.SkipNow()
	return ""
}

// cachedRqlited asks build.sh where it keeps rqlited, without building it:
// the path, and an error when no binary is there. It looks at the file
// build.sh writes in this checkout once it has a binary: go test caches a
// result by the files of the module a test looked at (the binary lies
// outside it), so the first go test after build.sh runs the cluster tests
// instead of replaying a cached skip.
var cachedRqlited = sync.OnceValues(func() (string, error) {
	os.Stat("tools/rqlite/.rqlited-found")
	out, err := exec.Command("tools/rqlite/build.sh", "-cached").Output()
	return strings.TrimSpace(string(out)), err
})

// rqlitedSkip lets one test say why the cluster tests skip.
var rqlitedSkip sync.Once

// ownCluster is the three-node cluster that the tests of the cluster start
// when none is named: started by the first of them with
// tools/rqlite/cluster.sh on the cached rqlited, stopped by TestMain when
// every test has run.
var ownCluster testCluster

type testCluster struct {
	once sync.Once
	dir  string
	url  string
	err  error
}

// start starts the cluster with the rqlited at path, once.
func (c *testCluster) start(t testing.TB, rqlited string) string {
	t.Helper()
	c.once.Do(func() {
		if c.dir, c.err = os.MkdirTemp("", "tokenapi-rqlite-"); c.err != nil {
			return
		}
		var out []byte
		out, c.err = clusterCommand(rqlited, "start", c.dir).Output()
		if ee, ok := c.err.(*exec.ExitError); ok {
			c.err = fmt.Errorf("%w\n%s", c.err, ee.Stderr)
		}
		c.url = strings.TrimSpace(string(out))
	})
	if c.err != nil {
		t.Fatalf("start an rqlite cluster with tools/rqlite/cluster.sh: %v", c.err)
	}
	return c.url
}

// clusterCommand is tools/rqlite/cluster.sh with args, on the rqlited at
// path, so that it never builds one.
func clusterCommand(rqlited string, args ...string) *exec.Cmd {
	cmd := exec.Command("tools/rqlite/cluster.sh", args...)
	cmd.Env = append(os.Environ(), "RQLITED="+rqlited)
	return cmd
}

// stop stops the cluster if a test started it.
func (c *testCluster) stop() {
	if c.dir == "" {
		return
	}
	if out, err := exec.Command("tools/rqlite/cluster.sh", "stop", c.dir).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "cluster.sh stop %s: %v\n%s", c.dir, err, out)
		return
	}
	os.RemoveAll(c.dir)
}

// skipOnRqlite skips a test that is about the SQLite file itself when the
// tests run on the cluster.
func skipOnRqlite(t testing.TB, why string) {
	t.Helper()
	if rqliteTestURL() != "" {
		t.Skipf("on rqlite: %s", why)
	}
}

// testDB is the -db value for a program test: file (relative to the
// program's directory), or the cluster, emptied and held for the test.
func testDB(t testing.TB, file string) string {
	t.Helper()
	if url := rqliteTestURL(); url != "" {
		return cleanRqlite(t, url)
	}
	return file
}

// rqliteKeyEnv is the environment a program started with args needs for
// its secret key: TOKENAPI_SECRET_KEY when args name a cluster, which has
// no local file to keep a key in (secrets.go), and nothing otherwise. A
// test's own env, added after it, may still set another.
func rqliteKeyEnv(args []string) []string {
	for _, a := range args {
		if rqlite.IsURL(a) {
			return []string{secretKeyEnv + "=" + testSecretKey}
		}
	}
	return nil
}

// testRqliteContext bounds a test's request generously: no test waits it
// out unless it fails.
func testRqliteContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// rqliteDB opens the cluster at url through the driver, for the rest of
// the test.
func rqliteDB(t testing.TB, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("rqlite", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// cleanRqlite waits for the cluster's turn, empties its database and
// returns url.
func cleanRqlite(t testing.TB, url string) string {
	t.Helper()
	rqliteTurn <- struct{}{}
	t.Cleanup(func() { <-rqliteTurn }) // first registered, so it runs last
	if err := dropEverything(testRqliteContext(t), rqliteDB(t, url)); err != nil {
		t.Fatalf("empty the rqlite database at %s: %v", url, err)
	}
	return url
}

// dropEverything drops every table (their indexes and triggers go with
// them), those that refer to others first, and sets the schema version to
// 0, in one atomic request.
func dropEverything(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_schema s
		WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
		ORDER BY (SELECT COUNT(*) FROM pragma_foreign_key_list(s.name)) DESC`)
	if err != nil {
		return err
	}
	names, err := scanAll(rows, func(row scanner) (string, error) {
		var name string
		err := row.Scan(&name)
		return name, err
	})
	if err != nil {
		return err
	}
	var hasSequence bool
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) > 0 FROM sqlite_schema WHERE name = 'sqlite_sequence'`).
		Scan(&hasSequence); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, name := range names {
		// The names are the database's own, quoted as identifiers.
		if _, err := tx.ExecContext(ctx, `DROP TABLE "`+strings.ReplaceAll(name, `"`, `""`)+`"`); err != nil {
			return err
		}
	}
	if hasSequence {
		// AUTOINCREMENT's counters, so that ids start at 1 again.
		if _, err := tx.ExecContext(ctx, "DELETE FROM sqlite_sequence"); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = 0"); err != nil {
		return err
	}
	return tx.Commit()
}
