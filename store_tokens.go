package main

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// insertToken stores the hash of a new token for a user whose password
// hash is still passwordHash, the one the login was checked against. If the
// password changed while the login was being checked, it stores nothing and
// returns errNotFound: the check and the insert are one statement, so no
// token issued on an old password outlives a password change.
func (s *sqlStore) insertToken(ctx context.Context, hash tokenHash, userID int64, passwordHash string, created, expires time.Time) error {
	return rowsAffectedOrNotFound(s.write.ExecContext(ctx,
		`INSERT INTO tokens (hash, user_id, created_at, expires_at)
		SELECT ?, id, ?, ? FROM users WHERE id = ? AND password_hash = ?`,
		hash.String(), formatTime(created), formatTime(expires), userID, passwordHash))
}

// retireOldTokens deletes a user's tokens beyond the newest keep and
// returns how many it deleted.
func (s *sqlStore) retireOldTokens(ctx context.Context, userID int64, keep int) (int64, error) {
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
func (s *sqlStore) tokenOwner(ctx context.Context, hash tokenHash, now time.Time) (int64, time.Time, error) {
	var id int64
	var expires string
	err := s.read.QueryRowContext(ctx,
		`SELECT user_id, expires_at FROM tokens WHERE hash = ? AND expires_at > ?`,
		hash.String(), formatTime(now)).Scan(&id, &expires)
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
func (s *sqlStore) deleteToken(ctx context.Context, hash tokenHash) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM tokens WHERE hash = ?`, hash.String())
	return err
}

// deleteOtherTokens revokes every token of a user but the one with hash keep.
func (s *sqlStore) deleteOtherTokens(ctx context.Context, userID int64, keep tokenHash) error {
	_, err := s.write.ExecContext(ctx,
		`DELETE FROM tokens WHERE user_id = ? AND hash <> ?`, userID, keep.String())
	return err
}

// deleteExpiredTokens removes tokens that expired at or before now.
func (s *sqlStore) deleteExpiredTokens(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM tokens WHERE expires_at <= ?`, formatTime(now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
