package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// session is a token as its user may see it: never the token, never its
// hash. Each row of the tokens table is one; the store's methods speak of
// sessions, by id, by user or by the hash of their token. ExpiresAt is the earlier of last use + the token lifetime and
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

// insertSession stores the hash of a new token, with its session, for a user
// whose password hash is still passwordHash, the one the login was checked
// against, and returns the session's id. If the password changed while the
// login was being checked, it stores nothing and returns errNotFound: the
// check and the insert are one statement, so no token issued on an old
// password outlives a password change.
func (s *sqlStore) insertSession(ctx context.Context, hash tokenHash, passwordHash string, ses session) (int64, error) {
	res, err := s.execResult(ctx,
		`INSERT INTO tokens (hash, user_id, name, scope, user_agent, created_at, expires_at, max_expires_at)
		SELECT ?, id, ?, ?, ?, ?, ?, ? FROM users WHERE id = ? AND password_hash = ?`,
		hash.String(), nullIfEmpty(ses.Name), ses.Scope, nullIfEmpty(ses.UserAgent), formatTime(ses.CreatedAt),
		formatTime(ses.ExpiresAt), formatTime(ses.MaxExpiresAt), ses.UserID, passwordHash)
	if err := rowsAffectedOrNotFound(res, err); err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// retireOldSessions deletes a user's sessions beyond the newest keep and
// returns how many it deleted.
func (s *sqlStore) retireOldSessions(ctx context.Context, userID int64, keep int) (int64, error) {
	res, err := s.execResult(ctx,
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
	return scanSession(s.read.QueryRowContext(ctx, liveSessionSQL, hash.String(), formatTime(now)))
}

// liveSessionSQL is the lookup behind every token, which the README quotes.
const liveSessionSQL = `SELECT ` + sessionColumns + ` FROM tokens WHERE hash = ? AND expires_at > ?`

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
// of two writers, an older use changes nothing. A session is named by its
// id and its creation time, so that a use can never land on another
// session, whatever became of the id.
const sessionUseSQL = `UPDATE tokens SET last_used_at = ?, expires_at = MIN(?, max_expires_at)
	WHERE id = ? AND created_at = ? AND (last_used_at IS NULL OR last_used_at < ?)`

// sessionUsed records a use of a session at at, which moves its expiry to
// expires (no later than its cap), and is its user seen.
func (s *sqlStore) sessionUsed(ctx context.Context, ses session, at, expires time.Time) error {
	use := sessionUse{sessionKey: keyOf(ses), at: at, expires: expires}
	if err := s.exec(ctx, func(ctx context.Context, db execer) error { return s.writeSessionUse(ctx, db, use) }); err != nil {
		return err
	}
	return s.userSeen(ctx, ses.UserID, at)
}

// writeSessionUses stores many uses, all or none.
func (s *sqlStore) writeSessionUses(ctx context.Context, uses map[sessionKey]sessionUse) error {
	return s.execAtomic(ctx, func(ctx context.Context, tx execer) error {
		for _, u := range uses {
			if err := s.writeSessionUse(ctx, tx, u); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *sqlStore) writeSessionUse(ctx context.Context, db execer, u sessionUse) error {
	_, err := db.ExecContext(ctx, sessionUseSQL, formatTime(u.at), formatTime(u.expires),
		u.id, formatTime(time.UnixMicro(u.created)), formatTime(u.at))
	return err
}

// execer is what *sql.DB and *sql.Tx have in common for a write.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// sessionKey names one session for ever: its id and its creation time.
type sessionKey struct {
	id      int64
	created int64 // Unix microseconds, as precise as the stored time
}

func keyOf(s session) sessionKey { return sessionKey{id: s.ID, created: s.CreatedAt.UnixMicro()} }

// sessionUse is a use of a session and the expiry it moves it to.
type sessionUse struct {
	sessionKey
	at, expires time.Time
}

// deleteSession ends one session of a user, or returns errNotFound.
func (s *sqlStore) deleteSession(ctx context.Context, userID, id int64) error {
	return rowsAffectedOrNotFound(s.execResult(ctx,
		`DELETE FROM tokens WHERE id = ? AND user_id = ?`, id, userID))
}

// deleteSessionsOf ends every session of a user and returns how many.
func (s *sqlStore) deleteSessionsOf(ctx context.Context, userID int64) (int64, error) {
	res, err := s.execResult(ctx, `DELETE FROM tokens WHERE user_id = ?`, userID)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// deleteSessionByHash ends the session of a token: the token is revoked.
func (s *sqlStore) deleteSessionByHash(ctx context.Context, hash tokenHash) error {
	_, err := s.execResult(ctx, `DELETE FROM tokens WHERE hash = ?`, hash.String())
	return err
}

// deleteOtherSessions ends every session of a user but the one of the
// token with hash keep.
func (s *sqlStore) deleteOtherSessions(ctx context.Context, userID int64, keep tokenHash) error {
	_, err := s.execResult(ctx,
		`DELETE FROM tokens WHERE user_id = ? AND hash <> ?`, userID, keep.String())
	return err
}

// deleteExpiredSessions removes the sessions whose stored expiry is at or
// before before, a batch at a time (see deleteInBatches), and returns how
// many. (The sweeper passes a time a little before now: a session's stored
// expiry may lag the uses the caching store noted.) The inner SELECT walks
// the tokens_by_expiry index, so each batch reads only the rows it deletes.
func (s *sqlStore) deleteExpiredSessions(ctx context.Context, before time.Time) (int64, error) {
	return s.deleteInBatches(ctx, deleteExpiredSessionsSQL, formatTime(before))
}

const deleteExpiredSessionsSQL = `DELETE FROM tokens WHERE id IN (
	SELECT id FROM tokens WHERE expires_at <= ? LIMIT ?)`
