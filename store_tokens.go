package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// session is a token as its user may see it: never the token, never its
// hash. ExpiresAt is the earlier of last use + the token lifetime and
// MaxExpiresAt, the cap on the session's life from its creation.
type session struct {
	ID           int64
	UserID       int64
	Name         string // "" when unnamed
	Scope        string // scopeRead or scopeWrite
	UserAgent    string
	CreatedAt    time.Time
	LastUsedAt   time.Time // zero until first use
	ExpiresAt    time.Time
	MaxExpiresAt time.Time
}

// The scopes of a session: a write session may do everything, a read
// session every GET, and log itself out.
const (
	scopeRead  = "read"
	scopeWrite = "write"
)

const sessionColumns = `id, user_id, name, scope, user_agent, created_at, last_used_at, expires_at, max_expires_at`

func scanSession(row scanner) (session, error) {
	var s session
	var name, agent, lastUsed, maxExpires sql.NullString
	var created, expires string
	if err := row.Scan(&s.ID, &s.UserID, &name, &s.Scope, &agent, &created, &lastUsed, &expires, &maxExpires); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return session{}, errNotFound
		}
		return session{}, err
	}
	s.Name, s.UserAgent = name.String, agent.String
	var err error
	for _, t := range []struct {
		text string
		dst  *time.Time
	}{{created, &s.CreatedAt}, {lastUsed.String, &s.LastUsedAt}, {expires, &s.ExpiresAt}, {maxExpires.String, &s.MaxExpiresAt}} {
		if t.text == "" {
			continue
		}
		if *t.dst, err = parseTime(t.text); err != nil {
			return session{}, fmt.Errorf("token %d: %w", s.ID, err)
		}
	}
	if s.MaxExpiresAt.IsZero() {
		s.MaxExpiresAt = s.ExpiresAt
	}
	return s, nil
}

// insertToken stores the hash of a new token, with its session, for a user
// whose password hash is still passwordHash, the one the login was checked
// against, and returns the session's id. If the password changed while the
// login was being checked, it stores nothing and returns errNotFound: the
// check and the insert are one statement, so no token issued on an old
// password outlives a password change.
func (s *sqlStore) insertToken(ctx context.Context, hash tokenHash, passwordHash string, ses session) (int64, error) {
	res, err := s.write.ExecContext(ctx,
		`INSERT INTO tokens (hash, user_id, name, scope, user_agent, created_at, expires_at, max_expires_at)
		SELECT ?, id, ?, ?, ?, ?, ?, ? FROM users WHERE id = ? AND password_hash = ?`,
		hash.String(), nullIfEmpty(ses.Name), ses.Scope, nullIfEmpty(ses.UserAgent), formatTime(ses.CreatedAt),
		formatTime(ses.ExpiresAt), formatTime(ses.MaxExpiresAt), ses.UserID, passwordHash)
	if err := rowsAffectedOrNotFound(res, err); err != nil {
		return 0, err
	}
	return res.LastInsertId()
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

// liveSession returns the session of the live token with this hash, or
// errNotFound when the token is unknown, revoked or expired at now. The
// hash is looked up through an index: comparing hashes of random tokens
// leaks nothing useful about the token through timing.
func (s *sqlStore) liveSession(ctx context.Context, hash tokenHash, now time.Time) (session, error) {
	return scanSession(s.read.QueryRowContext(ctx,
		`SELECT `+sessionColumns+` FROM tokens WHERE hash = ? AND expires_at > ?`, hash.String(), formatTime(now)))
}

// sessionByHash is liveSession whatever the stored expiry says, for
// cachingStore, which knows of uses not written yet.
func (s *sqlStore) sessionByHash(ctx context.Context, hash tokenHash) (session, error) {
	return scanSession(s.read.QueryRowContext(ctx,
		`SELECT `+sessionColumns+` FROM tokens WHERE hash = ?`, hash.String()))
}

// sessionsOf returns every stored session of a user, newest first, expired
// or not: whoever lists them decides which are live.
func (s *sqlStore) sessionsOf(ctx context.Context, userID int64) ([]session, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT `+sessionColumns+` FROM tokens WHERE user_id = ? ORDER BY id DESC`, userID)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, scanSession)
}

// sessionUseSQL moves a session's last use and expiry forward, never back:
// of two writers, an older use changes nothing.
const sessionUseSQL = `UPDATE tokens SET last_used_at = ?, expires_at = MIN(?, max_expires_at)
	WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)`

// sessionUsed records a use of a session at at, which moves its expiry to
// expires (no later than its cap), and is its user seen.
func (s *sqlStore) sessionUsed(ctx context.Context, ses session, at, expires time.Time) error {
	_, err := s.write.ExecContext(ctx, sessionUseSQL, formatTime(at), formatTime(expires), ses.ID, formatTime(at))
	if err != nil {
		return err
	}
	return s.userSeen(ctx, ses.UserID, at)
}

// writeSessionUses stores many uses in one transaction.
func (s *sqlStore) writeSessionUses(ctx context.Context, uses map[int64]sessionUse) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for id, u := range uses {
		if _, err := tx.ExecContext(ctx, sessionUseSQL,
			formatTime(u.at), formatTime(u.expires), id, formatTime(u.at)); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// deleteSession ends one session of a user, or returns errNotFound.
func (s *sqlStore) deleteSession(ctx context.Context, userID, id int64) error {
	return rowsAffectedOrNotFound(s.write.ExecContext(ctx,
		`DELETE FROM tokens WHERE id = ? AND user_id = ?`, id, userID))
}

// deleteTokensOf ends every session of a user and returns how many.
func (s *sqlStore) deleteTokensOf(ctx context.Context, userID int64) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM tokens WHERE user_id = ?`, userID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
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

// deleteExpiredTokens removes tokens whose stored expiry is at or before
// before. (The sweeper passes a time a little before now: a session's
// stored expiry may lag the uses noted in memory.)
func (s *sqlStore) deleteExpiredTokens(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.write.ExecContext(ctx, `DELETE FROM tokens WHERE expires_at <= ?`, formatTime(before))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
