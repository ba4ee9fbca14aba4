package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strings"
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

// adminUsers yields every user in id order, each with the number of its
// sessions that expire after now, adminUsersPage users at a time
// (keysetPages).
func (s *sqlStore) adminUsers(ctx context.Context, now time.Time) iter.Seq2[userSummary, error] {
	return keysetPages(adminUsersPage, func(after int64) ([]userSummary, error) {
		return s.adminUsersAfter(ctx, now, after)
	}, func(u userSummary) int64 { return u.ID })
}

// adminEvents yields every event of a user, newest first, a page at a
// time (keysetPages) through the API's own query.
func (s *sqlStore) adminEvents(ctx context.Context, userID int64) iter.Seq2[event, error] {
	return keysetPages(adminUsersPage, func(after int64) ([]event, error) {
		events, _, err := s.eventsOf(ctx, userID, pageQuery{limit: adminUsersPage, after: after})
		return events, err
	}, func(e event) int64 { return e.ID })
}

// keysetPages yields the items of a listing that page reads size at a
// time, each page starting after the id (idOf) of the last item of the
// one before (0 for the first), and the next page only when the caller
// has taken the last of this one. So a listing holds one page however
// many items there are, and no one answer grows with their number (an
// rqlite node's answer is capped). No read is open while the caller works
// on a page: a slow reader of the output holds back neither the server's
// writes nor its checkpoints. A failure is yielded once, with a zero
// item, and ends the sequence.
func keysetPages[T any](size int, page func(after int64) ([]T, error), idOf func(T) int64) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for after := int64(0); ; {
			items, err := page(after)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range items {
				if !yield(item, nil) {
					return
				}
			}
			if len(items) < size {
				return
			}
			after = idOf(items[len(items)-1])
		}
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

// deleteSessionByID ends the session with this id, whoever's it is, and
// returns whose it was, for the user's log, or errNotFound.
func (s *sqlStore) deleteSessionByID(ctx context.Context, id int64) (userID int64, err error) {
	err = s.read.QueryRowContext(ctx, `SELECT user_id FROM tokens WHERE id = ?`, id).Scan(&userID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, errNotFound
	}
	if err != nil {
		return 0, err
	}
	return userID, s.deleteSession(ctx, userID, id)
}

// liveSessionCount is the number of sessions whose stored expiry is after
// now. A session kept alive only by uses not written yet (noteduses.go) is
// not counted: that lags by at most maxSessionLag.
func (s *sqlStore) liveSessionCount(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE expires_at > ?`, formatTime(now)).Scan(&n)
	return n, err
}

// clearFailuresOfUser deletes the records of failed password checks that
// hold back a user's logins, from anywhere, and password changes, and
// returns them.
func (s *sqlStore) clearFailuresOfUser(ctx context.Context, userID int64) ([]keyedFailureRecord, error) {
	user := accountKey(userID)
	return s.clearFailuresWhere(ctx, `key = ? OR key LIKE ? OR key = ?`, user, user+" from %", currentPasswordKey(userID))
}

// clearFailuresFrom deletes the records of failed password checks counted
// against addr (a counted address, throttleAddr's, which holds no LIKE
// wildcard), for any account or none, and returns them.
func (s *sqlStore) clearFailuresFrom(ctx context.Context, addr string) ([]keyedFailureRecord, error) {
	return s.clearFailuresWhere(ctx, `key = ? OR key LIKE ?`, "from "+addr, "% from "+addr)
}

// clearFailuresWhere reads the records that match where, then deletes
// those it read: a failure that lands in between stays, and so is never
// deleted without being reported.
func (s *sqlStore) clearFailuresWhere(ctx context.Context, where string, args ...any) ([]keyedFailureRecord, error) {
	rows, err := s.read.QueryContext(ctx,
		`SELECT `+failureColumns+` FROM password_failures WHERE `+where+` ORDER BY key`, args...)
	if err != nil {
		return nil, err
	}
	records, err := scanAll(rows, scanKeyedFailureRecord)
	if err != nil || len(records) == 0 {
		return records, err
	}
	keys := make([]any, len(records))
	for i, r := range records {
		keys[i] = r.key
	}
	_, err = s.execResult(ctx,
		`DELETE FROM password_failures WHERE key IN (?`+strings.Repeat(", ?", len(keys)-1)+`)`, keys...)
	return records, err
}
