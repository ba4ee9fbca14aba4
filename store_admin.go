package main

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// The queries only the operator's commands (admin.go) and the admin
// listener (adminserver.go) make. They are methods of the plain sqlStore,
// not of store: the API never makes them, and they have no cache to keep
// in step.

// userSummary is a user as tokenapi users lists it.
type userSummary struct {
	ID           int64
	Username     string
	CreatedAt    time.Time // zero for users from before schema version 4
	LastSeen     time.Time
	LiveSessions int // sessions whose stored expiry is after the time asked
}

// adminUsers returns every user in id order, each with the number of its
// sessions that expire after now. It reads them adminUsersPage at a time,
// so that no one answer grows with the number of users (an rqlite node's
// answer is capped).
func (s *sqlStore) adminUsers(ctx context.Context, now time.Time) ([]userSummary, error) {
	var all []userSummary
	for after := int64(0); ; {
		page, err := s.adminUsersAfter(ctx, now, after)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < adminUsersPage {
			return all, nil
		}
		after = page[len(page)-1].ID
	}
}

const adminUsersPage = 1000

// adminUsersAfter returns the first adminUsersPage users whose id is
// greater than after.
func (s *sqlStore) adminUsersAfter(ctx context.Context, now time.Time, after int64) ([]userSummary, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT u.id, u.username, u.created_at, u.last_seen,
			(SELECT COUNT(*) FROM tokens t WHERE t.user_id = u.id AND t.expires_at > ?)
		FROM users u WHERE u.id > ? ORDER BY u.id LIMIT ?`, formatTime(now), after, adminUsersPage)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(row scanner) (userSummary, error) {
		var u userSummary
		var created sql.NullString
		var lastSeen string
		if err := row.Scan(&u.ID, &u.Username, &created, &lastSeen, &u.LiveSessions); err != nil {
			return userSummary{}, err
		}
		var err error
		if created.Valid {
			if u.CreatedAt, err = parseTime(created.String); err != nil {
				return userSummary{}, fmt.Errorf("user %d: created_at: %w", u.ID, err)
			}
		}
		if u.LastSeen, err = parseTime(lastSeen); err != nil {
			return userSummary{}, fmt.Errorf("user %d: last_seen: %w", u.ID, err)
		}
		return u, nil
	})
}

// deleteSessionByID ends the session with this id, whoever's it is, or
// returns errNotFound.
func (s *sqlStore) deleteSessionByID(ctx context.Context, id int64) error {
	return rowsAffectedOrNotFound(s.write.ExecContext(ctx, `DELETE FROM tokens WHERE id = ?`, id))
}

// liveSessionCount is the number of sessions whose stored expiry is after
// now. A session kept alive only by uses not written yet (noteduses.go) is
// not counted: that lags by at most maxSessionLag.
func (s *sqlStore) liveSessionCount(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE expires_at > ?`, formatTime(now)).Scan(&n)
	return n, err
}
