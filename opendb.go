package main

// Opening the SQLite file and bringing its schema up to date. The queries
// are in store.go and the store_*.go files.

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-sqlite3"

	"tokenapi/internal/rqlite"
)

//go:embed schema.sql
var schemaSQL string

// schemaSteps are the sections of schema.sql: schemaSteps[i] moves a
// database from version i to i+1. len(schemaSteps) is the version this
// binary writes; a database with a higher one was written by a newer binary.
var schemaSteps = splitSchema(schemaSQL)

// splitSchema cuts schema.sql at its "-- version N" lines. The sections
// must be numbered 1, 2, 3... in order; anything else is a bug in this
// binary, caught by its tests.
func splitSchema(sql string) []string {
	const marker = "\n-- version "
	parts := strings.Split(sql, marker)
	steps := make([]string, 0, len(parts)-1)
	for i, part := range parts[1:] {
		heading, step, _ := strings.Cut(part, "\n")
		if number, _, _ := strings.Cut(heading, ":"); number != strconv.Itoa(i+1) {
			panic(fmt.Sprintf("schema.sql: section %d is headed %q", i+1, strings.TrimSpace(marker+heading)))
		}
		steps = append(steps, step)
	}
	if len(steps) == 0 {
		panic("schema.sql: no \"-- version 1\" section")
	}
	return steps
}

// sqlStore is the store on one SQLite file. It keeps two pools: a single
// writer connection, so that our own writes queue in Go instead of spinning
// on SQLITE_BUSY, and several read-only connections, which WAL lets run
// beside the writer.
type sqlStore struct {
	read    *sql.DB
	write   *sql.DB
	commits *committer   // runs the writes on write, in groups (committer.go); nil on rqlite
	sweeps  sweepOptions // how the sweeps delete (store_sweeps.go)
}

// openStore opens the SQLite database at path, creating it with its schema
// when the file does not exist yet, or the rqlite cluster that path names
// when it is an rqlite:// URL (see openRqliteStore).
func openStore(ctx context.Context, path string) (*sqlStore, error) {
	if rqlite.IsURL(path) {
		return openRqliteStore(ctx, path)
	}
	if err := checkDBPath(path); err != nil {
		return nil, err
	}
	write, err := sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxLifetime(0)
	if err := retryWhileLocked(ctx, func() error { return migrate(ctx, write) }); err != nil {
		write.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	read, err := sql.Open("sqlite3", dsn(path, true))
	if err != nil {
		write.Close()
		return nil, err
	}
	conns := 2 * runtime.GOMAXPROCS(0)
	read.SetMaxOpenConns(conns)
	read.SetMaxIdleConns(conns)
	read.SetConnMaxLifetime(0)
	return &sqlStore{read: read, write: write, commits: newCommitter(write)}, nil
}

// checkDBPath refuses a path SQLite could not create a database at, with
// the reason in words: SQLite itself says only "unable to open database
// file".
func checkDBPath(path string) error {
	dir := filepath.Dir(path)
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("database directory %s does not exist", dir)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("database directory %s: permission denied", dir)
	case err != nil:
		return fmt.Errorf("database directory %s: %w", dir, err)
	case !info.IsDir():
		return fmt.Errorf("database directory %s is not a directory", dir)
	}
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return fmt.Errorf("database path %s is a directory", path)
	}
	// Opening the file for writing, and creating it when it is new, is how
	// to learn whether we may: a permission check of our own would be wrong
	// for root, ACLs and read-only mounts.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return openError(path, err)
	}
	return f.Close()
}

// openError words the failure to open or create the database file. The
// operating system's "permission denied" is kept as it is, so an operator
// knows what to fix.
func openError(path string, err error) error {
	if pathErr := (*fs.PathError)(nil); errors.As(err, &pathErr) {
		err = pathErr.Err
	}
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("database %s: permission denied", path)
	}
	return fmt.Errorf("database %s: cannot create or open the file for writing: %w", path, err)
}

// dsn builds the go-sqlite3 connection string. WAL lets readers run beside
// the writer; synchronous=FULL makes a commit durable before the client gets
// its 2xx; the busy timeout makes a connection wait for a lock (held by the
// other pool or another process) rather than fail; IMMEDIATE transactions
// take the write lock up front, so they never fail half-way on an upgrade.
// Each connection keeps its prepared statements and reuses them: the SQL
// below is a fixed set of texts, so each is compiled once per connection,
// not once per request.
func dsn(path string, readOnly bool) string {
	params := url.Values{
		"_journal_mode":    {"WAL"},
		"_synchronous":     {"FULL"},
		"_foreign_keys":    {"on"},
		"_busy_timeout":    {"10000"},
		"_txlock":          {"immediate"},
		"_stmt_cache_size": {"64"},
	}
	if readOnly {
		params.Set("_query_only", "on")
	}
	// A file: URI with an escaped path keeps a '?' or '#' in the file name
	// from being read as the start of the parameters.
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + params.Encode()
}

// retryWhileLocked runs f again while it fails with SQLITE_BUSY, for up
// to lockedRetryFor. Two processes that start at once on a file in
// rollback-journal mode (a new file, or one another program wrote) both
// switch it to WAL as their first connection opens, and SQLite answers the
// loser at once, without waiting out the busy timeout.
func retryWhileLocked(ctx context.Context, f func() error) error {
	deadline := time.Now().Add(lockedRetryFor)
	for {
		err := f()
		var sqliteErr sqlite3.Error
		if !errors.As(err, &sqliteErr) || sqliteErr.Code != sqlite3.ErrBusy || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// lockedRetryFor bounds retryWhileLocked, as the busy timeout bounds every
// other wait for a lock.
const lockedRetryFor = 10 * time.Second

// migrate brings the database to the version this binary writes, one
// schema step per transaction, and refuses a database that a newer binary
// wrote. Each step reads the version inside its own (IMMEDIATE, so write
// locked) transaction: two processes starting on one file at once cannot
// both run a step.
//
// On rqlite a transaction's reads are not locked against other writers
// (see internal/rqlite; it lets a transaction read only in a schema step,
// marked with rqlite.WithSchemaStep), so two processes starting at once may both
// try a step. Every step begins with a statement that fails when the step has
// run already (CREATE TABLE, CREATE INDEX without IF NOT EXISTS, ALTER
// TABLE ... ADD COLUMN; TestSchemaStepsFailTwice keeps it so), and the step is one atomic request: the second attempt
// changes nothing, and migrate carries on from the version the winner
// wrote.
func migrate(ctx context.Context, db *sql.DB) error {
	for {
		version, done, err := migrateStep(ctx, db)
		if err != nil {
			var now int
			if rerr := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&now); rerr == nil && now > version {
				continue // another process ran this step meanwhile
			}
			return err
		}
		if done {
			return nil
		}
	}
}

// migrateStep runs the next schema step, from the version it returns, or
// reports that there is none.
func migrateStep(ctx context.Context, db *sql.DB) (version int, done bool, err error) {
	ctx = rqlite.WithSchemaStep(ctx) // the rqlite driver's leave to read in this transaction
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, err
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return 0, false, err
	}
	switch {
	case version > len(schemaSteps):
		return version, false, fmt.Errorf("schema version %d is newer than this binary knows (%d)", version, len(schemaSteps))
	case version == len(schemaSteps):
		return version, true, nil
	case version == 0:
		// Version 0 with tables in it is some other program's database.
		var tables int
		// sqlite_sequence, SQLite's own, may outlive the tables it served.
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'").Scan(&tables); err != nil {
			return version, false, err
		}
		if tables > 0 {
			return version, false, errors.New("the file holds tables but no tokenapi schema version; is it another program's database?")
		}
	}
	if inGo := schemaStepInGo[version+1]; inGo != nil {
		if err := inGo(ctx, tx); err != nil {
			return version, false, fmt.Errorf("upgrade schema to version %d: %w", version+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, schemaSteps[version]); err != nil {
		return version, false, fmt.Errorf("upgrade schema to version %d: %w", version+1, err)
	}
	// PRAGMA takes no placeholders; the value is our own number.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version+1)); err != nil {
		return version, false, err
	}
	return version, false, tx.Commit()
}

// schemaStepInGo holds, by the version a step moves to, the part of the
// step that SQL cannot do. It runs in the step's transaction, before the
// step's SQL, so the database moves to the version with all of it or stays
// where it was. Before, not after: it reads the database as the previous
// version left it and then writes, which is all a transaction on rqlite
// can do (its writes go out together at Commit; a read after one is
// refused). A step whose Go part needs the step's new columns would have
// to be split in two steps.
var schemaStepInGo = map[int]func(context.Context, *sql.Tx) error{
	3: recomputeEmailKeys,
}

// recomputeEmailKeys rewrites every users.email_key with today's emailKey,
// which joins more addresses than the strings.ToLower of versions 1 and 2
// ('ſam@' and 'sam@'). Two rows that now share a key are an error naming
// both, and nothing is written: which account keeps the address is for an
// operator to decide, not the upgrade.
//
// Every row is checked before any is written, so that the UPDATEs cannot
// trip the UNIQUE constraint half-way through. An old key is
// strings.ToLower of the address, whose emailKey is the address's own
// (emailKey keeps the pairs ToLower joined, and a key is its own key): a
// row whose old key is another row's new key has that new key too, and is
// its twin.
func recomputeEmailKeys(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, email, email_key FROM users ORDER BY id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	type keyed struct {
		id         int64
		email, key string
	}
	byKey := map[string]keyed{} // by new key, the first row that has it
	var changed []keyed
	var twins []string
	for rows.Next() {
		var u keyed
		var oldKey string
		if err := rows.Scan(&u.id, &u.email, &oldKey); err != nil {
			return err
		}
		u.key = emailKey(u.email)
		if first, ok := byKey[u.key]; ok {
			twins = append(twins, fmt.Sprintf("users %d (%q) and %d (%q)", first.id, first.email, u.id, u.email))
			continue
		}
		byKey[u.key] = u
		if u.key != oldKey {
			changed = append(changed, u)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	switch {
	case len(twins) == 1:
		return fmt.Errorf("%s have emails that differ only in case; change one before upgrading", twins[0])
	case len(twins) > 1:
		return fmt.Errorf("%s have emails that differ only in case; change one of each pair before upgrading", strings.Join(twins, ", "))
	}
	for _, u := range changed {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET email_key = ? WHERE id = ?`, u.key, u.id); err != nil {
			return err
		}
	}
	return nil
}

// Close lets the writes under way commit, then closes both pools. Closing
// the last connection checkpoints the WAL into the database file. On
// rqlite the two are one.
func (s *sqlStore) Close() error {
	if s.commits != nil {
		s.commits.close()
	}
	if s.read == s.write {
		return s.write.Close()
	}
	return errors.Join(s.read.Close(), s.write.Close())
}

// ping checks that the database answers. It reads the schema, not a
// constant, so that a file that went bad under us fails it.
func (s *sqlStore) ping(ctx context.Context) error {
	var tables int
	return s.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_schema").Scan(&tables)
}
