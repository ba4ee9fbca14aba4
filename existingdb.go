package main

// The operator's commands open a database a server has made, and nothing
// else. openStore (opendb.go) makes a new tokenapi database of whatever
// it is pointed at, which is what a server wants on its first start; a
// command pointed at the wrong file must leave it as it was.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"

	"tokenapi/internal/rqlite"
)

// openExistingStore opens, as openStore does, the database at path or on
// the rqlite cluster path names, if a server has made it. It refuses,
// before anything is written to it or beside it, a file that does not
// exist, is empty or is not SQLite, and a database (a file or a cluster)
// with no tokenapi schema version. An older schema is upgraded, as a
// server starting on it would.
func openExistingStore(ctx context.Context, path string) (*sqlStore, error) {
	var db *sql.DB
	var err error
	if rqlite.IsURL(path) {
		db, err = sql.Open("rqlite", path)
	} else {
		db, err = openFileToRead(path)
	}
	if err != nil {
		return nil, err
	}
	version, tables, err := schemaVersion(ctx, db)
	db.Close()
	if err := checkTokenapiSchema(path, version, tables, err); err != nil {
		return nil, err
	}
	return openStore(ctx, path)
}

// checkTokenapiSchema refuses the database at path unless what
// schemaVersion read of it (version, tables, err) is a tokenapi schema.
func checkTokenapiSchema(path string, version, tables int, err error) error {
	switch {
	case err != nil:
		return fmt.Errorf("database %s: %w", path, err)
	case version == 0 && tables > 0:
		return fmt.Errorf("database %s holds tables but no tokenapi schema version; is it another program's database?", path)
	case version == 0:
		return fmt.Errorf("database %s holds no tokenapi schema; a server makes one on its first start", path)
	}
	return nil
}

// sqliteHeader is how every SQLite database file begins.
const sqliteHeader = "SQLite format 3\x00"

// openFileToRead opens the SQLite file at path read-only, once it has
// read the file's first bytes itself: an empty file, or one of another
// kind, is refused before SQLite opens it. Then SQLite reads it, not we:
// the version a running server wrote may still be in the -wal file beside
// it.
func openFileToRead(path string) (*sql.DB, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("database %s does not exist", path)
	}
	if err != nil {
		return nil, fileError(path, err)
	}
	defer f.Close()
	if info, err := f.Stat(); err != nil {
		return nil, fileError(path, err)
	} else if info.IsDir() {
		return nil, fmt.Errorf("database path %s is a directory", path)
	}
	header := make([]byte, 20) // the first 16 bytes say SQLite; byte 18 is 2 in WAL mode
	n, err := io.ReadFull(f, header)
	switch {
	case n == 0 && err == io.EOF:
		return nil, fmt.Errorf("database %s is empty, not a tokenapi database; a server makes one on its first start", path)
	case err != nil && err != io.ErrUnexpectedEOF:
		return nil, fileError(path, err)
	case n < len(header) || string(header[:len(sqliteHeader)]) != sqliteHeader:
		return nil, fmt.Errorf("database %s is not a SQLite database", path)
	}
	// mode=ro: SQLite's own read-only, which sets no journal mode (dsn's
	// WAL would switch a file in another mode, a write). But to read a
	// file in WAL mode, SQLite makes a -wal and a -shm file if there are
	// none, and a reader cannot remove them. With no -wal file the
	// database is whole in its file, and no server is using it: it is read
	// as it lies (immutable), which makes nothing.
	params := "mode=ro&_busy_timeout=10000"
	if _, err := os.Lstat(path + "-wal"); header[18] == 2 && errors.Is(err, fs.ErrNotExist) {
		params = "immutable=1"
	}
	return sql.Open("sqlite3", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+params)
}

// fileError words a failure to open or read the database file, as the
// operating system says it ("permission denied").
func fileError(path string, err error) error {
	return fmt.Errorf("database %s: %w", path, pathErrorCause(err))
}

// pathErrorCause is what the operating system said of a path, without
// the operation and path that fs.PathError adds: the message names the
// path its own way.
func pathErrorCause(err error) error {
	if pathErr := (*fs.PathError)(nil); errors.As(err, &pathErr) {
		return pathErr.Err
	}
	return err
}

// schemaVersion reads the database's schema version, and how many tables
// it holds besides SQLite's own, as migrate does.
func schemaVersion(ctx context.Context, db *sql.DB) (version, tables int, err error) {
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return 0, 0, err
	}
	err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'").Scan(&tables)
	return version, tables, err
}
