package main

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3"
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

// The store speaks in these sentinel errors; handlers turn them into
// responses with errors.Is.
var (
	errNotFound          = errors.New("not found")
	errDuplicateUsername = errors.New("username is already taken")
	errDuplicateEmail    = errors.New("email is already registered")
)

// timeLayout is fixed-width, so timestamps compare correctly as text in SQL.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) { return time.Parse(timeLayout, s) }

// store holds all SQL. It keeps two pools on one SQLite file: a single
// writer connection, so that our own writes queue in Go instead of spinning
// on SQLITE_BUSY, and several read-only connections, which WAL lets run
// beside the writer.
type store struct {
	read  *sql.DB
	write *sql.DB
}

// openStore opens the SQLite database at path, creating it with its schema
// when the file does not exist yet.
func openStore(ctx context.Context, path string) (*store, error) {
	if info, err := os.Stat(filepath.Dir(path)); err != nil || !info.IsDir() {
		return nil, fmt.Errorf("database directory %s does not exist", filepath.Dir(path))
	}
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return nil, fmt.Errorf("database path %s is a directory", path)
	}
	write, err := sql.Open("sqlite3", dsn(path, false))
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxLifetime(0)
	if err := migrate(ctx, write); err != nil {
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
	return &store{read: read, write: write}, nil
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

// migrate brings the database to the version this binary writes, one
// schema step per transaction, and refuses a database that a newer binary
// wrote. Each step reads the version inside its own (IMMEDIATE, so write
// locked) transaction: two processes starting on one file at once cannot
// both run a step.
func migrate(ctx context.Context, db *sql.DB) error {
	for {
		done, err := migrateStep(ctx, db)
		if err != nil || done {
			return err
		}
	}
}

// migrateStep runs the next schema step, or reports that there is none.
func migrateStep(ctx context.Context, db *sql.DB) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return false, err
	}
	switch {
	case version > len(schemaSteps):
		return false, fmt.Errorf("schema version %d is newer than this binary knows (%d)", version, len(schemaSteps))
	case version == len(schemaSteps):
		return true, nil
	case version == 0:
		// Version 0 with tables in it is some other program's database.
		var tables int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_schema").Scan(&tables); err != nil {
			return false, err
		}
		if tables > 0 {
			return false, errors.New("the file holds tables but no tokenapi schema version; is it another program's database?")
		}
	}
	if _, err := tx.ExecContext(ctx, schemaSteps[version]); err != nil {
		return false, fmt.Errorf("upgrade schema to version %d: %w", version+1, err)
	}
	// PRAGMA takes no placeholders; the value is our own number.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version+1)); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

// Close closes both pools. Closing the last connection checkpoints the WAL
// into the database file.
func (s *store) Close() error {
	return errors.Join(s.read.Close(), s.write.Close())
}

// ping checks that the database answers. It reads the schema, not a
// constant, so that a file that went bad under us fails it.
func (s *store) ping(ctx context.Context) error {
	var tables int
	return s.read.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_schema").Scan(&tables)
}

// uniqueViolation turns a UNIQUE constraint error on users into the sentinel
// error that names the field. It matches SQLite's own message text, which
// every SQLite driver (and rqlite) passes on unchanged.
func uniqueViolation(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "UNIQUE constraint failed: users.username"):
		return errDuplicateUsername
	case strings.Contains(msg, "UNIQUE constraint failed: users.email_key"):
		return errDuplicateEmail
	}
	return err
}

// rowsAffectedOrNotFound reports errNotFound when a write matched no row.
func rowsAffectedOrNotFound(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return errNotFound
	}
	return nil
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}

// ---- users ----

type user struct {
	ID        int64
	Username  string
	Email     string
	AboutMe   string // "" when unset
	LastSeen  time.Time
	PostCount int
}

const userColumns = `u.id, u.username, u.email, u.about_me, u.last_seen, u.post_count`

func scanUser(row scanner) (user, error) {
	var u user
	var about sql.NullString
	var lastSeen string
	if err := row.Scan(&u.ID, &u.Username, &u.Email, &about, &lastSeen, &u.PostCount); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return user{}, errNotFound
		}
		return user{}, err
	}
	u.AboutMe = about.String
	t, err := parseTime(lastSeen)
	if err != nil {
		return user{}, fmt.Errorf("user %d: last_seen: %w", u.ID, err)
	}
	u.LastSeen = t
	return u, nil
}

// nullIfEmpty stores an empty optional text as NULL, so "unset" has one form.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// emailKey is what makes an email unique (the users.email_key column).
// SQLite's NOCASE folds only ASCII letters, so Go lower-cases the address in
// full Unicode, for the UNIQUE constraint to catch "ZOË@" beside "zoë@".
func emailKey(email string) string { return strings.ToLower(email) }

// createUser inserts a user and returns its id, or errDuplicateUsername or
// errDuplicateEmail.
func (s *store) createUser(ctx context.Context, u user, passwordHash string) (int64, error) {
	res, err := s.write.ExecContext(ctx,
		`INSERT INTO users (username, email, email_key, password_hash, about_me, last_seen) VALUES (?, ?, ?, ?, ?, ?)`,
		u.Username, u.Email, emailKey(u.Email), passwordHash, nullIfEmpty(u.AboutMe), formatTime(u.LastSeen))
	if err != nil {
		return 0, uniqueViolation(err)
	}
	return res.LastInsertId()
}

// userByID returns errNotFound if there is no such user.
func (s *store) userByID(ctx context.Context, id int64) (user, error) {
	return scanUser(s.read.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users u WHERE u.id = ?`, id))
}

// passwordHashByUsername returns the id and stored password hash of the user
// with that name (in any case), or errNotFound.
func (s *store) passwordHashByUsername(ctx context.Context, username string) (int64, string, error) {
	var id int64
	var hash string
	err := s.read.QueryRowContext(ctx,
		`SELECT id, password_hash FROM users WHERE username = ?`, username).Scan(&id, &hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", errNotFound
	}
	return id, hash, err
}

// passwordHashByID returns the stored password hash of a user, or errNotFound.
func (s *store) passwordHashByID(ctx context.Context, id int64) (string, error) {
	var hash string
	err := s.read.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, id).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errNotFound
	}
	return hash, err
}

// listUsers returns one page of users in id order and the number of users.
func (s *store) listUsers(ctx context.Context, limit, offset int) ([]user, int, error) {
	var total int
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.read.QueryContext(ctx,
		`SELECT `+userColumns+` FROM users u ORDER BY u.id LIMIT ? OFFSET ?`, limit, offset)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	users := []user{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, err
		}
		users = append(users, u)
	}
	return users, total, rows.Err()
}

// userChanges holds the fields of a user to change; nil leaves a field as it is.
type userChanges struct {
	Username     *string
	Email        *string
	AboutMe      *string // "" clears it
	PasswordHash *string
}

// updateUser changes a user in one statement. It returns errNotFound,
// errDuplicateUsername or errDuplicateEmail.
func (s *store) updateUser(ctx context.Context, id int64, c userChanges) error {
	var about, key any
	if c.AboutMe != nil {
		about = nullIfEmpty(*c.AboutMe)
	}
	if c.Email != nil {
		key = emailKey(*c.Email)
	}
	return uniqueViolation(rowsAffectedOrNotFound(s.write.ExecContext(ctx,
		`UPDATE users SET
			username = COALESCE(?, username),
			email = COALESCE(?, email),
			email_key = COALESCE(?, email_key),
			about_me = CASE WHEN ? THEN ? ELSE about_me END,
			password_hash = COALESCE(?, password_hash)
		WHERE id = ?`,
		c.Username, c.Email, key, c.AboutMe != nil, about, c.PasswordHash, id)))
}

// writeLastSeen moves the last_seen of each user in seen forward to the
// time given, in one transaction. A time older than the stored one is left.
func (s *store) writeLastSeen(ctx context.Context, seen map[int64]time.Time) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for id, at := range seen {
		if _, err := tx.ExecContext(ctx,
			`UPDATE users SET last_seen = ? WHERE id = ? AND last_seen < ?`,
			formatTime(at), id, formatTime(at)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// ---- tokens ----

// insertToken stores the hash of a new token for a user whose password
// hash is still passwordHash, the one the login was checked against. If the
// password changed while the login was being checked, it stores nothing and
// returns errNotFound: the check and the insert are one statement, so no
// token issued on an old password outlives a password change.
func (s *store) insertToken(ctx context.Context, hash string, userID int64, passwordHash string, created, expires time.Time) error {
	return rowsAffectedOrNotFound(s.write.ExecContext(ctx,
		`INSERT INTO tokens (hash, user_id, created_at, expires_at)
		SELECT ?, id, ?, ? FROM users WHERE id = ? AND password_hash = ?`,
		hash, formatTime(created), formatTime(expires), userID, passwordHash))
}

// retireOldTokens deletes a user's tokens beyond the newest keep and
// returns how many it deleted.
func (s *store) retireOldTokens(ctx context.Context, userID int64, keep int) (int64, error) {
	res, err := s.write.ExecContext(ctx,
		`DELETE FROM tokens WHERE user_id = ? AND id <= (
			SELECT id FROM tokens WHERE user_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
		userID, userID, keep)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// tokenOwner returns the id of the user that holds the live token with
// this hash, and when the token expires, or errNotFound when the token is
// unknown, revoked or expired at now. The hash is looked up through an
// index: comparing hashes of random tokens leaks nothing useful about the
// token through timing.
func (s *store) tokenOwner(ctx context.Context, hash string, now time.Time) (int64, time.Time, error) {
	var id int64
	var expires string
	err := s.read.QueryRowContext(ctx,
		`SELECT user_id, expires_at FROM tokens WHERE hash = ? AND expires_at > ?`,
		hash, formatTime(now)).Scan(&id, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, time.Time{}, errNotFound
	}
	if err != nil {
		return 0, time.Time{}, err
	}
	t, err := parseTime(expires)
	return id, t, err
}

// deleteToken revokes a token.
func (s *store) deleteToken(ctx context.Context, hash string) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM tokens WHERE hash = ?`, hash)
	return err
}

// deleteOtherTokens revokes every token of a user but the one with keepHash.
func (s *store) deleteOtherTokens(ctx context.Context, userID int64, keepHash string) error {
	_, err := s.write.ExecContext(ctx,
		`DELETE FROM tokens WHERE user_id = ? AND hash <> ?`, userID, keepHash)
	return err
}

// deleteExpiredTokens removes tokens that expired at or before now.
func (s *store) deleteExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM tokens WHERE expires_at <= ?`, formatTime(now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// ---- posts ----

type post struct {
	ID        int64
	Title     string
	Body      string
	Timestamp time.Time
	Author    user // ID, Username, AboutMe and PostCount only
}

const postQuery = `SELECT p.id, p.title, p.body, p.timestamp,
	u.id, u.username, u.about_me, u.post_count
	FROM posts p JOIN users u ON u.id = p.user_id`

func scanPost(row scanner) (post, error) {
	var p post
	var timestamp string
	var about sql.NullString
	err := row.Scan(&p.ID, &p.Title, &p.Body, &timestamp,
		&p.Author.ID, &p.Author.Username, &about, &p.Author.PostCount)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return post{}, errNotFound
		}
		return post{}, err
	}
	p.Author.AboutMe = about.String
	t, err := parseTime(timestamp)
	if err != nil {
		return post{}, fmt.Errorf("post %d: timestamp: %w", p.ID, err)
	}
	p.Timestamp = t
	return p, nil
}

// createPost inserts a post and returns its id.
func (s *store) createPost(ctx context.Context, authorID int64, title, body string, at time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx,
		`INSERT INTO posts (title, body, timestamp, user_id) VALUES (?, ?, ?, ?)`,
		title, body, formatTime(at), authorID)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// postByID returns errNotFound if there is no such post.
func (s *store) postByID(ctx context.Context, id int64) (post, error) {
	return scanPost(s.read.QueryRowContext(ctx, postQuery+` WHERE p.id = ?`, id))
}

// listPosts returns one page of posts, newest first, and the number of posts.
// An authorID of 0 lists everyone's posts. Ids grow with every insert, so id
// order is creation order and needs no index of its own.
func (s *store) listPosts(ctx context.Context, authorID int64, limit, offset int) ([]post, int, error) {
	where, args := "", []any{}
	if authorID != 0 {
		where, args = ` WHERE p.user_id = ?`, []any{authorID}
	}
	var total int
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM posts p`+where, args...).Scan(&total); err != nil {
		return nil, 0, err
	}
	rows, err := s.read.QueryContext(ctx,
		postQuery+where+` ORDER BY p.id DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	posts := []post{}
	for rows.Next() {
		p, err := scanPost(rows)
		if err != nil {
			return nil, 0, err
		}
		posts = append(posts, p)
	}
	return posts, total, rows.Err()
}

// updatePost changes the title and body of a post by authorID; nil leaves a
// field as it is. It returns errNotFound when no post has that id and author.
func (s *store) updatePost(ctx context.Context, id, authorID int64, title, body *string) error {
	return rowsAffectedOrNotFound(s.write.ExecContext(ctx,
		`UPDATE posts SET title = COALESCE(?, title), body = COALESCE(?, body)
		WHERE id = ? AND user_id = ?`, title, body, id, authorID))
}

// deletePost deletes a post by authorID, or returns errNotFound.
func (s *store) deletePost(ctx context.Context, id, authorID int64) error {
	return rowsAffectedOrNotFound(s.write.ExecContext(ctx,
		`DELETE FROM posts WHERE id = ? AND user_id = ?`, id, authorID))
}
