package main

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	_ "github.com/mattn/go-sqlite3" // the driver tokenapi itself uses
)

// Seeding fills the server's database before it starts, so that the load
// runs against a million users rather than four. It writes with SQL, not
// through the API: a sign-up costs a password hash (about 0.1 s of a core),
// so a million of them would take hours. The rows take the shape the
// server writes (store_users.go, store_posts.go, store_sessions.go), and
// the schema's triggers keep users.post_count and the counts table right,
// as they do for the server's own inserts. The schema itself is the
// server's: it creates it on its first start, and seeding only inserts.

// seedPassword is every seeded user's password, so that a seeded user can
// log in: seed_1 with this password.
const seedPassword = "seed-password"

// seedIterations is tokenapi's PBKDF2 count (defaultPasswordIterations in
// passwords.go). The hash records its own count, so a server started with
// another -password-iterations still checks it.
const seedIterations = 600_000

// seedBatch is how many rows go in one transaction: large, because a
// commit is the slow part, and bounded, so that the WAL stays small.
const seedBatch = 100_000

// timeLayout is the server's fixed-width timestamp text (store.go), whose
// text order is time order.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// seedConfig is how much to seed.
type seedConfig struct {
	users, posts, tokens int
	iterations           int // PBKDF2 iterations of the shared password hash
}

// seedResult is what seeding wrote.
type seedResult struct {
	firstUserID int64 // seeded users are firstUserID .. firstUserID+users-1
	users       int
	posts       int
	tokens      int
}

// seedUsername is the name of the i-th seeded user, counting from 1.
func seedUsername(i int) string { return fmt.Sprintf("seed_%d", i) }

// seedDatabase inserts cfg's rows into the SQLite file at path, which the
// server must have created (its schema, version 7 or later, with the
// counts table). Users are seed_1, seed_2, ... with seedPassword and
// seed_1@example.com (already lower-case, so it is its own email_key);
// posts go to users in contiguous runs, cfg.posts/cfg.users each, so the
// posts_by_user index grows at its end; tokens go round-robin over users,
// the even ones expired in 2025 and the odd ones live for a century.
func seedDatabase(ctx context.Context, path string, cfg seedConfig) (seedResult, error) {
	res := seedResult{users: cfg.users}
	if cfg.users < 1 {
		return res, fmt.Errorf("seed: at least one user is needed, to own posts and tokens")
	}
	// synchronous=OFF: a seeding cut short by a crash leaves a file to
	// throw away and seed again, so it need not wait for the disk.
	db, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=on&_journal_mode=WAL&_synchronous=OFF")
	if err != nil {
		return res, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	// The counts table is version 7's: without it the server has not
	// created this file, or is older than seeding knows.
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT n FROM counts WHERE name = 'users'`).Scan(&n); err != nil {
		return res, fmt.Errorf("seed: %s has no tokenapi schema of version 7 or later (start the server on it once): %w", path, err)
	}
	var maxID sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(id) FROM users`).Scan(&maxID); err != nil {
		return res, err
	}
	res.firstUserID = maxID.Int64 + 1

	// One fixed time for every row, so that two seedings of the same size
	// differ only in salts and token hashes. Live tokens expire long after.
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hash := seedPasswordHash(cfg.iterations)
	at := epoch.Format(timeLayout)
	first := res.firstUserID
	err = insertBatches(ctx, db, cfg.users,
		`INSERT INTO users (id, username, email, email_key, password_hash, last_seen, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		func(i int) []any {
			name := seedUsername(i + 1)
			email := name + "@example.com"
			return []any{first + int64(i), name, email, email, hash, at, at}
		})
	if err != nil {
		return res, fmt.Errorf("seed users: %w", err)
	}

	err = insertBatches(ctx, db, cfg.posts,
		`INSERT INTO posts (title, body, timestamp, user_id) VALUES (?, ?, ?, ?)`,
		func(i int) []any {
			// A second apart, so that ids and timestamps agree in order.
			ts := epoch.Add(time.Duration(i) * time.Second).Format(timeLayout)
			author := first + int64(i*cfg.users/cfg.posts)
			return []any{fmt.Sprintf("seeded post %d", i+1), "A post written by the load tool's seeding, straight into the table.", ts, author}
		})
	if err != nil {
		return res, fmt.Errorf("seed posts: %w", err)
	}
	res.posts = cfg.posts

	expired := epoch.Add(-24 * time.Hour).Format(timeLayout)
	live := epoch.Add(100 * 365 * 24 * time.Hour).Format(timeLayout)
	err = insertBatches(ctx, db, cfg.tokens,
		`INSERT INTO tokens (hash, user_id, scope, created_at, expires_at, max_expires_at) VALUES (?, ?, 'write', ?, ?, ?)`,
		func(i int) []any {
			// The SHA-256 of a token no one holds: random, so that a
			// second seeding of the same file does not collide.
			var b [32]byte
			rand.Read(b[:])
			sum := sha256.Sum256(b[:])
			expires := live
			if i%2 == 0 {
				expires = expired
			}
			return []any{hex.EncodeToString(sum[:]), first + int64(i%cfg.users), at, expires, expires}
		})
	if err != nil {
		return res, fmt.Errorf("seed tokens: %w", err)
	}
	res.tokens = cfg.tokens
	// Fold the WAL back into the file, so that the server starts on a
	// database of its normal shape.
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return res, err
	}
	return res, nil
}

// insertBatches runs query for rows 0..n-1, args(i) giving row i's
// arguments, seedBatch rows to a transaction.
func insertBatches(ctx context.Context, db *sql.DB, n int, query string, args func(i int) []any) error {
	for start := 0; start < n; start += seedBatch {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, query)
		if err != nil {
			tx.Rollback()
			return err
		}
		for i := start; i < min(start+seedBatch, n); i++ {
			if _, err := stmt.ExecContext(ctx, args(i)...); err != nil {
				tx.Rollback()
				return fmt.Errorf("row %d: %w", i+1, err)
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// seedPasswordHash is seedPassword hashed as tokenapi's passwords.go does
// (encodeHash): "pbkdf2-sha256$<iterations>$<salt>$<key>", a 16-byte salt
// and a 32-byte key in unpadded base64. It is computed once and shared by
// every seeded user: one hash, not a million.
func seedPasswordHash(iterations int) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	key, err := pbkdf2.Key(sha256.New, seedPassword, salt, iterations, 32)
	if err != nil {
		panic("seed: pbkdf2: " + err.Error()) // only for a bad key length
	}
	return fmt.Sprintf("pbkdf2-sha256$%d$%s$%s", iterations,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// seedServerDB has the server create its schema in the database file
// dbPath (benchDB in dir when empty, the file the measured server then
// starts on) by starting it once on the empty file and stopping it, then
// seeds that file. Timed by the caller, both steps: the first start is
// part of the cost of a seeded run.
func seedServerDB(ctx context.Context, o options, dir, dbPath string, progress func(string, ...any)) (seedResult, error) {
	proc, err := startBinary(o.binary, dir, dbPath, o.serverArgs)
	if err != nil {
		return seedResult{}, fmt.Errorf("start the server to create its schema: %w", err)
	}
	if err := proc.waitReady(ctx, o.healthPath, o.readyTimeout); err != nil {
		proc.stop()
		return seedResult{}, err
	}
	if err := proc.stop(); err != nil {
		return seedResult{}, err
	}
	progress("seeding %d users, %d posts, %d sessions into %s", o.seedUsers, o.seedPosts, o.seedTokens, proc.dbPath)
	return seedDatabase(ctx, proc.dbPath, seedConfig{users: o.seedUsers, posts: o.seedPosts, tokens: o.seedTokens, iterations: seedIterations})
}
