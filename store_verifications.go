package main

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// The SQL of verified addresses (verifyemail.go) and of the devices each
// account logged in from (newdevice.go): schema.sql, version 13. Every
// transaction here holds writes only, as a transaction on rqlite must.

// emailVerification is what sending one verification code writes: a
// request counted under each of keys (the mail limits), the code's hash
// for the user and the address it goes to, which replaces any older
// code, and the mail that carries it.
type emailVerification struct {
	keys      []string
	at        time.Time
	userID    int64 // 0 at sign-up: createUserVerifying names the user by username
	emailKey  string
	hash      tokenHash
	expiresAt time.Time
	mail      queuedMail
}

// verificationSQL is the writes of v but its user's id, which userIDSQL
// (a value or a subquery, with userIDArgs) gives.
func verificationSQL(v emailVerification, userIDSQL string, userIDArgs ...any) (queries []string, args [][]any) {
	for _, key := range v.keys {
		queries = append(queries, `INSERT INTO mail_requests (key, at) VALUES (?, ?)`)
		args = append(args, []any{key, formatTime(v.at)})
	}
	queries = append(queries, `INSERT INTO email_verifications (user_id, hash, email_key, expires_at) VALUES (`+userIDSQL+`, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, email_key = excluded.email_key, expires_at = excluded.expires_at`)
	args = append(args, append(userIDArgs, v.hash.String(), v.emailKey, formatTime(v.expiresAt)))
	query, mailArgs := queueMailSQL(v.mail)
	return append(queries, query), append(args, mailArgs)
}

// inTransaction runs queries, each with its args, as one atomic write
// (execAtomic).
func (s *sqlStore) inTransaction(ctx context.Context, queries []string, args [][]any) error {
	return s.execAtomic(ctx, func(ctx context.Context, tx execer) error {
		for i, query := range queries {
			if _, err := tx.ExecContext(ctx, query, args[i]...); err != nil {
				return err
			}
		}
		return nil
	})
}

// createUserVerifying is createUser with the verification code of the new
// address, in one transaction: the account exists if and only if its mail
// is queued. The id is read after the commit, by username: on rqlite a
// write inside a transaction has no result to read.
func (s *sqlStore) createUserVerifying(ctx context.Context, u user, passwordHash string, v emailVerification) (int64, error) {
	query, args := createUserSQL(u, passwordHash)
	queries, allArgs := verificationSQL(v, `(SELECT id FROM users WHERE username = ?)`, u.Username)
	if err := s.inTransaction(ctx, append([]string{query}, queries...), append([][]any{args}, allArgs...)); err != nil {
		return 0, uniqueViolation(err)
	}
	id, _, err := s.passwordHashByUsername(ctx, u.Username)
	return id, err
}

// recordEmailVerification writes v, for the user v.userID, in one
// transaction: the mail is queued if and only if its code is stored.
func (s *sqlStore) recordEmailVerification(ctx context.Context, v emailVerification) error {
	queries, args := verificationSQL(v, `?`, v.userID)
	return s.inTransaction(ctx, queries, args)
}

// emailVerificationOf returns the user and the email_key of the live
// verification code with hash, or errNotFound.
func (s *sqlStore) emailVerificationOf(ctx context.Context, hash tokenHash, now time.Time) (int64, string, error) {
	var id int64
	var key string
	err := s.read.QueryRowContext(ctx, `SELECT user_id, email_key FROM email_verifications WHERE hash = ? AND expires_at > ?`,
		hash.String(), formatTime(now)).Scan(&id, &key)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, "", errNotFound
	}
	return id, key, err
}

// verifyEmail spends the live code with hash (errNotFound if another
// request spent it first: a code works once), then marks userID's address
// verified if it is still the one the code went to (errNotFound if not).
// Two statements, since each must say whether it matched a row.
func (s *sqlStore) verifyEmail(ctx context.Context, hash tokenHash, userID int64, emailKey string, now time.Time) error {
	if err := rowsAffectedOrNotFound(s.execResult(ctx,
		`DELETE FROM email_verifications WHERE hash = ? AND expires_at > ?`, hash.String(), formatTime(now))); err != nil {
		return err
	}
	return rowsAffectedOrNotFound(s.execResult(ctx,
		`UPDATE users SET email_verified = 1 WHERE id = ? AND email_key = ?`, userID, emailKey))
}

// deviceLogin is what a login writes about the device it came from: the
// device is known to the account from at on, and, when alert is set, the
// mail that tells of a new one, counted under keys.
type deviceLogin struct {
	userID             int64
	address, userAgent string
	at                 time.Time
	alert              *queuedMail
	keys               []string
}

// knownDevice reports whether userID logged in from address with
// userAgent since since, and whether it logged in from any device since.
func (s *sqlStore) knownDevice(ctx context.Context, userID int64, address, userAgent string, since time.Time) (known, anyDevice bool, err error) {
	err = s.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(address = ? AND user_agent = ?), 0), COUNT(*) > 0
		FROM known_devices WHERE user_id = ? AND last_login > ?`,
		address, userAgent, userID, formatTime(since)).Scan(&known, &anyDevice)
	return known, anyDevice, err
}

// rememberDevice writes d in one transaction.
func (s *sqlStore) rememberDevice(ctx context.Context, d deviceLogin) error {
	queries := []string{`INSERT INTO known_devices (user_id, address, user_agent, last_login) VALUES (?, ?, ?, ?)
		ON CONFLICT (user_id, address, user_agent) DO UPDATE SET last_login = MAX(last_login, excluded.last_login)`}
	args := [][]any{{d.userID, d.address, d.userAgent, formatTime(d.at)}}
	if d.alert != nil {
		for _, key := range d.keys {
			queries = append(queries, `INSERT INTO mail_requests (key, at) VALUES (?, ?)`)
			args = append(args, []any{key, formatTime(d.at)})
		}
		query, mailArgs := queueMailSQL(*d.alert)
		queries, args = append(queries, query), append(args, mailArgs)
	}
	return s.inTransaction(ctx, queries, args)
}
