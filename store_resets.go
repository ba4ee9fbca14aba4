package main

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// The SQL of password resets (passwordreset.go) and of the limits on the
// requests that send mail: schema.sql, version 10.

// userByEmail returns the user whose email folds to email's key
// (emailKey), or errNotFound.
func (s *sqlStore) userByEmail(ctx context.Context, email string) (user, error) {
	return scanUser(s.read.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users u WHERE u.email_key = ?`, emailKey(email)))
}

// mailRequests returns how many requests were counted under key since
// since, and when the oldest of them was.
func (s *sqlStore) mailRequests(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	var n int
	var oldest sql.NullString
	if err := s.read.QueryRowContext(ctx, `SELECT COUNT(*), MIN(at) FROM mail_requests WHERE key = ? AND at > ?`,
		key, formatTime(since)).Scan(&n, &oldest); err != nil {
		return 0, time.Time{}, err
	}
	if !oldest.Valid {
		return n, time.Time{}, nil
	}
	t, err := parseTime(oldest.String)
	return n, t, err
}

// passwordReset is what one request for a reset writes: a request counted
// under each of keys, and for a real account (userID not 0) its new reset
// token's hash, which replaces any older one, and the mail that carries
// the token.
type passwordReset struct {
	keys      []string
	at        time.Time
	userID    int64
	hash      tokenHash
	expiresAt time.Time
	mail      queuedMail
}

// recordPasswordReset writes r in one transaction: the mail is queued if
// and only if its token is stored. The transaction holds writes only, as
// a transaction on rqlite must.
func (s *sqlStore) recordPasswordReset(ctx context.Context, r passwordReset) error {
	return s.execAtomic(ctx, func(ctx context.Context, tx execer) error {
		for _, key := range r.keys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO mail_requests (key, at) VALUES (?, ?)`, key, formatTime(r.at)); err != nil {
				return err
			}
		}
		if r.userID == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO password_resets (user_id, hash, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, expires_at = excluded.expires_at`,
			r.userID, r.hash.String(), formatTime(r.expiresAt)); err != nil {
			return err
		}
		query, args := queueMailSQL(r.mail)
		_, err := tx.ExecContext(ctx, query, args...)
		return err
	})
}

// countMailRequest counts one request under key at at, alone.
func (s *sqlStore) countMailRequest(ctx context.Context, key string, at time.Time) error {
	_, err := s.execResult(ctx, `INSERT INTO mail_requests (key, at) VALUES (?, ?)`, key, formatTime(at))
	return err
}

// passwordResetUser returns the user whose live reset token has hash, or
// errNotFound.
func (s *sqlStore) passwordResetUser(ctx context.Context, hash tokenHash, now time.Time) (int64, error) {
	var id int64
	err := s.read.QueryRowContext(ctx, `SELECT user_id FROM password_resets WHERE hash = ? AND expires_at > ?`,
		hash.String(), formatTime(now)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errNotFound
	}
	return id, err
}

// usePasswordReset deletes the live reset token with hash, in one
// statement: of two requests with one token, one deletes it and the other
// gets errNotFound, so a token works once.
func (s *sqlStore) usePasswordReset(ctx context.Context, hash tokenHash, now time.Time) error {
	return rowsAffectedOrNotFound(s.execResult(ctx,
		`DELETE FROM password_resets WHERE hash = ? AND expires_at > ?`, hash.String(), formatTime(now)))
}

// deleteStaleMailRecords deletes the requests counted before before and
// the reset tokens and verification codes expired by now, a batch at a time.
func (s *sqlStore) deleteStaleMailRecords(ctx context.Context, before, now time.Time) (int64, error) {
	n, err := s.deleteInBatches(ctx,
		`DELETE FROM mail_requests WHERE rowid IN (SELECT rowid FROM mail_requests WHERE at < ? LIMIT ?)`, formatTime(before))
	if err != nil {
		return n, err
	}
	m, err := s.deleteInBatches(ctx,
		`DELETE FROM password_resets WHERE user_id IN (SELECT user_id FROM password_resets WHERE expires_at <= ? LIMIT ?)`, formatTime(now))
	if err != nil {
		return n + m, err
	}
	v, err := s.deleteInBatches(ctx, deleteExpiredVerificationsSQL, formatTime(now))
	return n + m + v, err
}

// deleteExpiredVerificationsSQL deletes expired email verification codes
// (verifyemail.go) through email_verifications_by_expiry.
const deleteExpiredVerificationsSQL = `DELETE FROM email_verifications WHERE user_id IN (
	SELECT user_id FROM email_verifications WHERE expires_at <= ? LIMIT ?)`
