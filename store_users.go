package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

type user struct {
	ID        int64
	Username  string
	Email     string
	AboutMe   string // "" when unset
	LastSeen  time.Time
	PostCount int
	// EmailVerified is whether a code mailed to Email came back
	// (verifyemail.go).
	EmailVerified bool
	// TOTPEnabled is whether a login needs a code too (totplogin.go). It
	// is read with the rest, so that the user's own view, cached with the
	// user, costs no query of its own.
	TOTPEnabled bool
}

const userColumns = `u.id, u.username, u.email, u.about_me, u.last_seen, u.post_count, u.email_verified,
	EXISTS (SELECT 1 FROM totp t WHERE t.user_id = u.id AND COALESCE(t.secret, '') != '')`

func scanUser(row scanner) (user, error) {
	var u user
	var about sql.NullString
	var lastSeen string
	if err := row.Scan(&u.ID, &u.Username, &u.Email, &about, &lastSeen, &u.PostCount, &u.EmailVerified, &u.TOTPEnabled); err != nil {
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

// emailKey is what makes an email unique (the users.email_key column): two
// addresses that differ only in case have one key, and the UNIQUE
// constraint refuses the second. SQLite's NOCASE folds only ASCII letters,
// and strings.ToLower is not enough either: it leaves 'ſ' (long s), 'ς'
// (final sigma) and 'ϐ' (curly beta) as they are, which Unicode case
// folding (unicode.SimpleFold) holds equal to 's', 'σ' and 'β'. So each
// character becomes foldRune of it, one form for all its case forms.
//
// emailKey runs on every sign-up and change of email, and nearly every
// address is ASCII: those take a fast path, which allocates nothing when
// the address is already lower-case.
func emailKey(email string) string {
	for i := 0; i < len(email); i++ {
		if email[i] >= utf8.RuneSelf {
			return strings.Map(foldRune, email)
		}
	}
	return strings.ToLower(email)
}

// foldRune is the form of r in an email key: its lower case, or, when that
// has other forms under Unicode case folding (its unicode.SimpleFold
// orbit), the one of them that upper-casing and lower-casing gives back:
// 's' for 'S', 's' and 'ſ'; 'k' for 'K', 'k' and 'K' (the Kelvin sign).
// Starting from the lower case keeps every pair strings.ToLower joined,
// such as 'İ' and 'i', so the key refuses all that it refused before; and
// 'ı' (dotless i), alone in its orbit, stays apart from 'i'. email_test.go
// checks every rune.
func foldRune(r rune) rune {
	r = unicode.ToLower(r)
	f := r
	for unicode.ToLower(unicode.ToUpper(f)) != f {
		if f = unicode.SimpleFold(f); f == r {
			return r // no form comes back, as for 'ı'
		}
	}
	return f
}

// createUser inserts a user and returns its id, or errDuplicateUsername or
// errDuplicateEmail. The id is one above every id ever given, deleted
// accounts' included (schema.sql, version 11).
func (s *sqlStore) createUser(ctx context.Context, u user, passwordHash string) (int64, error) {
	query, args := createUserSQL(u, passwordHash)
	res, err := s.execResult(ctx, query, args...)
	if err != nil {
		return 0, uniqueViolation(err)
	}
	return res.LastInsertId()
}

// createUserSQL is the INSERT of a new user, for createUser and
// createUserVerifying (store_verifications.go).
func createUserSQL(u user, passwordHash string) (string, []any) {
	return `INSERT INTO users (id, username, email, email_key, password_hash, about_me, last_seen, created_at)
		 VALUES ((SELECT n + 1 FROM counts WHERE name = 'user_ids'), ?, ?, ?, ?, ?, ?, ?)`,
		[]any{u.Username, u.Email, emailKey(u.Email), passwordHash, nullIfEmpty(u.AboutMe), formatTime(u.LastSeen), formatTime(u.LastSeen)}
}

// deleteUser deletes a user and every row of theirs, in one statement
// (schema.sql, version 11), or returns errNotFound. With farewell, the
// mail that confirms it, the two go in one transaction: the mail is
// queued if and only if the account goes. A transaction on rqlite holds
// writes only and has no result to read, so there the mail's INSERT
// names the user itself, and a user deleted meanwhile by another request
// is no error: it is gone either way, and queues nothing.
func (s *sqlStore) deleteUser(ctx context.Context, id int64, farewell *queuedMail) error {
	if farewell == nil {
		return rowsAffectedOrNotFound(s.execResult(ctx, `DELETE FROM users WHERE id = ?`, id))
	}
	query, args := queueMailWhileUserSQL(*farewell, id)
	return s.inTransaction(ctx, []string{query, `DELETE FROM users WHERE id = ?`}, [][]any{args, {id}})
}

// userByID returns errNotFound if there is no such user.
func (s *sqlStore) userByID(ctx context.Context, id int64) (user, error) {
	return scanUser(s.read.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users u WHERE u.id = ?`, id))
}

// passwordHashByUsername returns the id and stored password hash of the user
// with that name (in any case), or errNotFound.
func (s *sqlStore) passwordHashByUsername(ctx context.Context, username string) (int64, string, error) {
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
func (s *sqlStore) passwordHashByID(ctx context.Context, id int64) (string, error) {
	var hash string
	err := s.read.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE id = ?`, id).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errNotFound
	}
	return hash, err
}

// listUsers returns one page of users in id order and the number of users,
// which triggers keep in the counts table (schema.sql, version 7).
func (s *sqlStore) listUsers(ctx context.Context, q pageQuery) ([]user, int, error) {
	return countedPage(ctx, s.read, `SELECT n FROM counts WHERE name = 'users'`, nil, q, userPageSQL, scanUser)
}

// userPageSQL is the query of one page of users: the page's ids first
// (pageOfIDs), then their rows.
func userPageSQL(q pageQuery) (string, []any) {
	ids, args := pageOfIDs("users", false, q, nil, nil)
	return `SELECT ` + userColumns + ` FROM users u WHERE u.id IN (` + ids + `) ORDER BY u.id`, args
}

// userChanges holds the fields of a user to change; nil leaves a field as it is.
type userChanges struct {
	Username     *string
	Email        *string
	AboutMe      *string // "" clears it
	PasswordHash *string
}

// updateUser changes a user in one statement. A new address (another
// email_key: not a change of case alone) is unverified until a code
// mailed to it comes back (verifyemail.go). It returns errNotFound,
// errDuplicateUsername or errDuplicateEmail.
func (s *sqlStore) updateUser(ctx context.Context, id int64, c userChanges) error {
	var about, key any
	if c.AboutMe != nil {
		about = nullIfEmpty(*c.AboutMe)
	}
	if c.Email != nil {
		key = emailKey(*c.Email)
	}
	return uniqueViolation(rowsAffectedOrNotFound(s.execResult(ctx,
		`UPDATE users SET
			username = COALESCE(?, username),
			email = COALESCE(?, email),
			email_verified = CASE WHEN COALESCE(?, email_key) = email_key THEN email_verified ELSE 0 END,
			email_key = COALESCE(?, email_key),
			about_me = CASE WHEN ? THEN ? ELSE about_me END,
			password_hash = COALESCE(?, password_hash)
		WHERE id = ?`,
		c.Username, c.Email, key, key, c.AboutMe != nil, about, c.PasswordHash, id)))
}

// lastSeenInterval is how stale a stored last_seen may get: a user's
// last_seen is written at most once in it (noted at most once in it by the
// caching store).
const lastSeenInterval = time.Minute

// userSeen moves a user's last_seen forward to at, writing only when the
// stored time is more than lastSeenInterval older: last_seen is a hint,
// worth a write a minute per user, not one per request.
func (s *sqlStore) userSeen(ctx context.Context, id int64, at time.Time) error {
	_, err := s.execResult(ctx,
		`UPDATE users SET last_seen = ? WHERE id = ? AND last_seen < ?`,
		formatTime(at), id, formatTime(at.Add(-lastSeenInterval)))
	return err
}

// writeLastSeen moves the last_seen of each user in seen forward to the
// time given, all or none. A time older than the stored one is left.
func (s *sqlStore) writeLastSeen(ctx context.Context, seen map[int64]time.Time) error {
	return s.execAtomic(ctx, func(ctx context.Context, tx execer) error {
		for id, at := range seen {
			if _, err := tx.ExecContext(ctx,
				`UPDATE users SET last_seen = ? WHERE id = ? AND last_seen < ?`,
				formatTime(at), id, formatTime(at)); err != nil {
				return err
			}
		}
		return nil
	})
}
