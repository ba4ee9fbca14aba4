package main

// tokenapi backup FILE: a consistent copy of the database while a server
// runs on it and writes, made by SQLite's VACUUM INTO. A restore is a
// server started on the copy (docs/operating.md).
//
// Why VACUUM INTO, not a copy of the file: a server in WAL mode keeps its
// latest commits in the -wal file until a checkpoint, and writes the main
// file while cp reads it, so a copied file can be old, torn or both.
// VACUUM INTO reads the database inside one read transaction, a snapshot
// that WAL keeps whole while the server goes on writing, and writes it out
// as a new, compact database. It holds every transaction committed before
// it began, and none after.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"tokenapi/internal/rqlite"
)

// backupResult is what tokenapi backup prints.
type backupResult struct {
	File          string `json:"file"` // absolute
	Bytes         int64  `json:"bytes"`
	SchemaVersion int    `json:"schema_version"`
	// SecretKey is where the key that seals the copy's TOTP secrets is
	// (secrets.go): a file, or TOKENAPI_SECRET_KEY. The copy does not hold
	// it, by design, and a server on the copy needs it.
	SecretKey string `json:"secret_key"`
}

func (a *admin) backup(ctx context.Context, args []string) error {
	got, err := a.parse(args, "FILE")
	if err != nil {
		return err
	}
	if rqlite.IsURL(a.opts.db) {
		return rqliteBackupAdvice(a.opts.db, got[0])
	}
	b, err := backupDatabase(ctx, a.opts.db, got[0])
	if err != nil {
		return err
	}
	b.SecretKey = a.opts.secretKeySource(a.opts.db)
	if a.json {
		return a.writeJSON(b)
	}
	_, err = fmt.Fprintf(a.stdout, "backed up %s to %s: %d bytes, schema version %d\n"+
		"its TOTP secrets are sealed with the key in %s, which the copy does not hold: keep the key apart, and give it to a server on the copy\n",
		a.opts.db, b.File, b.Bytes, b.SchemaVersion, b.SecretKey)
	return err
}

// rqliteBackupAdvice is the error of tokenapi backup on a cluster: the
// nodes own their SQLite files, and rqlite serves a consistent copy of its
// own at /db/backup on any node (a follower asks the leader for it). The
// node named is dbURL's first; the URL holds no credentials (the driver
// refuses them), and whatever precedes an '@' is left out all the same.
func rqliteBackupAdvice(dbURL, file string) error {
	node, _, _ := strings.Cut(strings.TrimPrefix(dbURL, "rqlite://"), ",")
	if at := strings.LastIndexByte(node, '@'); at >= 0 {
		node = node[at+1:]
	}
	return fmt.Errorf("backup copies a SQLite file, and -db names an rqlite cluster; use rqlite's own backup, which any node serves: curl -s %s/db/backup -o %s",
		node, "'"+strings.ReplaceAll(file, "'", `'\''`)+"'")
}

// backupDatabase copies the tokenapi database at dbPath, which a server may
// be using, to the new file out, and returns the copy's size and schema
// version. It refuses a database a server has not made, as every command
// does, and never overwrites a file: out is created empty first, with
// O_EXCL, which fails if anything (a file, a link, a directory) is there,
// and VACUUM INTO then fails itself unless its target is empty. The copy
// is readable by its owner only: it holds the password hashes. Nothing of
// out is left behind if the copy fails.
//
// It opens the database read-only and never upgrades its schema, unlike
// the other commands: a backup taken with a newer binary before an
// upgrade must be the database as the old server left it.
func backupDatabase(ctx context.Context, dbPath, out string) (backupResult, error) {
	db, err := openFileToRead(dbPath)
	if err != nil {
		return backupResult{}, err
	}
	defer db.Close()
	version, tables, err := schemaVersion(ctx, db)
	if err := checkTokenapiSchema(dbPath, version, tables, err); err != nil {
		return backupResult{}, err
	}
	if out, err = filepath.Abs(out); err != nil {
		return backupResult{}, err
	}
	created, err := createEmpty(out)
	if err != nil {
		return backupResult{}, err
	}
	b, err := vacuumInto(ctx, db, out)
	if err != nil {
		// Only the file this made: not one put in its place meanwhile.
		if now, serr := os.Lstat(out); serr == nil && os.SameFile(now, created) {
			os.Remove(out)
		}
		return backupResult{}, err
	}
	return b, nil
}

// createEmpty creates the file out, empty, and fails if it exists.
func createEmpty(out string) (fs.FileInfo, error) {
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("backup file %s exists; a backup never overwrites a file: name a new one", out)
	}
	if err != nil {
		return nil, backupFileError(out, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, backupFileError(out, err)
	}
	return info, f.Close()
}

// vacuumInto writes db's database into the empty file out, makes it
// durable, and reads back its size and schema version.
//
// The file name is a bound parameter: VACUUM INTO takes any expression
// for it, a placeholder too, so no name can end the SQL string. It is
// absolute, so SQLite never reads it as a "file:" URI.
func vacuumInto(ctx context.Context, db *sql.DB, out string) (backupResult, error) {
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", out); err != nil {
		return backupResult{}, fmt.Errorf("back up into %s: %w", out, err)
	}
	// SQLite does not sync what VACUUM INTO wrote: a backup that a power
	// cut could tear is no backup.
	if err := syncPath(out); err != nil {
		return backupResult{}, err
	}
	if err := syncPath(filepath.Dir(out)); err != nil {
		return backupResult{}, err
	}
	info, err := os.Stat(out)
	if err != nil {
		return backupResult{}, backupFileError(out, err)
	}
	copied, err := openFileToRead(out)
	if err != nil {
		return backupResult{}, err
	}
	defer copied.Close()
	version, _, err := schemaVersion(ctx, copied)
	if err != nil {
		return backupResult{}, fmt.Errorf("backup %s: read it back: %w", out, err)
	}
	return backupResult{File: out, Bytes: info.Size(), SchemaVersion: version}, nil
}

// syncPath makes a file or a directory durable.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return backupFileError(path, err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return backupFileError(path, err)
	}
	return nil
}

// backupFileError words a failure to write the backup file, or its
// directory, as the operating system says it.
func backupFileError(path string, err error) error {
	return fmt.Errorf("backup file %s: %w", path, pathErrorCause(err))
}
