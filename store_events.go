package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// event is one entry of a user's security log (events.go). Address,
// UserAgent and Detail are "" and SessionID 0 where they do not apply.
type event struct {
	ID        int64
	UserID    int64
	Type      string
	At        time.Time
	Address   string
	UserAgent string
	SessionID int64
	Detail    string
}

const eventColumns = `id, user_id, type, at, address, user_agent, session_id, detail`

func scanEvent(row scanner) (event, error) {
	var e event
	var at string
	var address, agent, detail sql.NullString
	var session sql.NullInt64
	if err := row.Scan(&e.ID, &e.UserID, &e.Type, &at, &address, &agent, &session, &detail); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return event{}, errNotFound
		}
		return event{}, err
	}
	e.Address, e.UserAgent, e.SessionID, e.Detail = address.String, agent.String, session.Int64, detail.String
	t, err := parseTime(at)
	if err != nil {
		return event{}, fmt.Errorf("event %d: at: %w", e.ID, err)
	}
	e.At = t
	return e, nil
}

// eventCoalescing is how long one row of a coalesced type (see
// coalescedEvent) takes in the events that follow it: those within this
// time of its own add to its count instead of a row of their own.
const eventCoalescing = time.Minute

// addEvent writes e into its user's log. An event of a coalesced type
// (login.failed, login.locked) adds one to the count in the detail of the
// user's row of that type from the last eventCoalescing, when there is
// one, and otherwise is a row with the count 1: the two statements are
// one transaction, so of two such events at once the second counts on the
// first's row. A row keeps the time, address and user agent of the first
// event it counts.
func (s *sqlStore) addEvent(ctx context.Context, e event) error {
	if !coalescedEvent(e.Type) {
		_, err := s.execResult(ctx,
			`INSERT INTO events (user_id, type, at, address, user_agent, session_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			e.UserID, e.Type, formatTime(e.At), nullIfEmpty(e.Address), nullIfEmpty(e.UserAgent), nullIfZero(e.SessionID), nullIfEmpty(e.Detail))
		return err
	}
	since := formatTime(e.At.Add(-eventCoalescing))
	return s.execAtomic(ctx, func(ctx context.Context, tx execer) error {
		// detail has TEXT affinity: the sum is stored as text again.
		if _, err := tx.ExecContext(ctx,
			`UPDATE events SET detail = detail + 1 WHERE id = (
				SELECT id FROM events WHERE user_id = ? AND type = ? AND at > ? ORDER BY at DESC LIMIT 1)`,
			e.UserID, e.Type, since); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO events (user_id, type, at, address, user_agent, session_id, detail)
			SELECT ?, ?, ?, ?, ?, ?, '1' WHERE NOT EXISTS (
				SELECT 1 FROM events WHERE user_id = ? AND type = ? AND at > ?)`,
			e.UserID, e.Type, formatTime(e.At), nullIfEmpty(e.Address), nullIfEmpty(e.UserAgent), nullIfZero(e.SessionID),
			e.UserID, e.Type, since)
		return err
	})
}

// nullIfZero stores an id that does not apply as NULL.
func nullIfZero(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// eventsOf returns one page of a user's events, newest first, and the
// number of them, which triggers keep in users.event_count (schema.sql,
// version 9); a user who does not exist has none. The page's ids come
// from events_by_user (pageOfIDs), then only their rows are read.
func (s *sqlStore) eventsOf(ctx context.Context, userID int64, q pageQuery) ([]event, int, error) {
	return countedPage(ctx, s.read, `SELECT COALESCE((SELECT event_count FROM users WHERE id = ?), 0)`, []any{userID}, q,
		func(q pageQuery) (string, []any) {
			ids, args := pageOfIDs("events", true, q, []string{"user_id = ?"}, []any{userID})
			return `SELECT ` + eventColumns + ` FROM events WHERE id IN (` + ids + `) ORDER BY id DESC`, args
		}, scanEvent)
}

// deleteOldEvents removes the events from before before, a batch at a
// time (see deleteInBatches), and returns how many. The inner SELECT walks
// events_by_time, so each batch reads only the rows it deletes.
func (s *sqlStore) deleteOldEvents(ctx context.Context, before time.Time) (int64, error) {
	return s.deleteInBatches(ctx, deleteOldEventsSQL, formatTime(before))
}

const deleteOldEventsSQL = `DELETE FROM events WHERE id IN (
	SELECT id FROM events WHERE at < ? LIMIT ?)`
