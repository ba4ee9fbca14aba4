package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"tokenapi/internal/rqlite" // and its driver, "rqlite"
)

// errStoreUnavailable is the store's "come back shortly": the cluster has
// no leader for now, or a write's outcome is unknown (the node went away
// after it was sent). handleError answers it with 503 and Retry-After; a
// client that retries a write it was told may have been applied decides
// for itself whether a twin is harmless.
var errStoreUnavailable = rqlite.ErrUnavailable

// openRqliteStore opens the store on the rqlite cluster that url names
// (rqlite://host:port[,host:port...]) and brings its schema up to date.
//
// None of what openStore does for a file applies: the nodes own their
// SQLite files, their journal mode and durability (rqlite refuses the
// PRAGMAs that would change them), and rqlite serialises writes through
// its leader, so there is no SQLITE_BUSY to wait out and no separate
// reader pool: one pool serves both, each request its own HTTP call. The
// nodes must run with -fk, as the schema's ON DELETE CASCADE expects.
func openRqliteStore(ctx context.Context, url string) (*sqlStore, error) {
	db, err := sql.Open("rqlite", url)
	if err != nil {
		return nil, err
	}
	// A connection is a handle on a shared HTTP client, free to keep: keep
	// as many as requests run at once, so that none is made per request.
	db.SetMaxIdleConns(64)
	db.SetConnMaxLifetime(0)
	if err := checkForeignKeys(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", url, err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("database %s: %w", url, err)
	}
	return &sqlStore{read: db, write: db}, nil
}

// checkForeignKeys refuses a cluster whose nodes run without -fk: there a
// deleted user's tokens and posts would stay behind.
func checkForeignKeys(ctx context.Context, db *sql.DB) error {
	var on int
	if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&on); err != nil {
		return err
	}
	if on != 1 {
		return errors.New("foreign keys are off; start every rqlite node with -fk")
	}
	return nil
}
