package main

import (
	"context"
	"time"
)

// The outbox's SQL (schema.sql, version 10; outbox.go sends it). A mail is
// queued by the store method that writes what it tells of, in the same
// transaction (queueMailSQL); these methods are the sender's.

// outboxMail is one queued mail as the sender sees it.
type outboxMail struct {
	ID        int64
	Recipient string
	Message   string
	Attempts  int
	GiveUpAt  time.Time
}

// queuedMail is a mail to queue: its envelope recipient, the whole
// message, when it was queued and when to stop trying.
type queuedMail struct {
	recipient, message string
	at, giveUpAt       time.Time
}

// queueMailSQL is the INSERT of m, for a transaction that also writes
// what the mail tells of.
func queueMailSQL(m queuedMail) (string, []any) {
	return `INSERT INTO outbox (recipient, message, created_at, give_up_at, next_attempt_at) VALUES (?, ?, ?, ?, ?)`,
		[]any{m.recipient, m.message, formatTime(m.at), formatTime(m.giveUpAt), formatTime(m.at)}
}

// queueMailWhileUserSQL is queueMailSQL that queues m only if the user
// userID exists, for a transaction on rqlite, which cannot read first.
func queueMailWhileUserSQL(m queuedMail, userID int64) (string, []any) {
	_, args := queueMailSQL(m)
	return `INSERT INTO outbox (recipient, message, created_at, give_up_at, next_attempt_at)
		SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM users WHERE id = ?)`, append(args, userID)
}

// mailDue reports whether some mail is due for an attempt at now: a read,
// so that an idle sender costs no write.
func (s *sqlStore) mailDue(ctx context.Context, now time.Time) (bool, error) {
	var due bool
	err := s.read.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM outbox
		WHERE next_attempt_at <= ? AND sending_at IS NULL AND (claimed_until IS NULL OR claimed_until < ?))`,
		formatTime(now), formatTime(now)).Scan(&due)
	return due, err
}

// claimMail claims up to limit mails due at now for owner until until, in
// one conditional UPDATE, and returns them. Two processes on one file or
// one rqlite cluster never claim one row at once: the statement runs
// whole on the one writer, and a row stays claimed until its claim runs
// out (a process that died) or its claimer lets it go.
func (s *sqlStore) claimMail(ctx context.Context, owner string, now, until time.Time, limit int) ([]outboxMail, error) {
	if _, err := s.execResult(ctx, `UPDATE outbox SET claimed_by = ?, claimed_until = ?
		WHERE id IN (SELECT id FROM outbox
			WHERE next_attempt_at <= ? AND sending_at IS NULL AND (claimed_until IS NULL OR claimed_until < ?)
			ORDER BY next_attempt_at LIMIT ?)`,
		owner, formatTime(until), formatTime(now), formatTime(now), limit); err != nil {
		return nil, err
	}
	// The claim is committed: a read connection sees it (on rqlite the two
	// pools are one).
	rows, err := s.read.QueryContext(ctx, `SELECT id, recipient, message, attempts, give_up_at FROM outbox
		WHERE claimed_by = ? AND sending_at IS NULL ORDER BY id`, owner)
	if err != nil {
		return nil, err
	}
	return scanAll(rows, func(row scanner) (outboxMail, error) {
		var m outboxMail
		var giveUp string
		if err := row.Scan(&m.ID, &m.Recipient, &m.Message, &m.Attempts, &giveUp); err != nil {
			return m, err
		}
		var err error
		m.GiveUpAt, err = parseTime(giveUp)
		return m, err
	})
}

// markMailSending marks a mail owner claimed as being sent, before its
// message goes: from then on no process sends it again, whatever happens
// to this one. errNotFound: the claim was lost (it ran out, and another
// process has the mail).
func (s *sqlStore) markMailSending(ctx context.Context, id int64, owner string, at time.Time) error {
	return rowsAffectedOrNotFound(s.execResult(ctx,
		`UPDATE outbox SET sending_at = ? WHERE id = ? AND claimed_by = ? AND sending_at IS NULL`,
		formatTime(at), id, owner))
}

// retryMail lets a mail owner claimed go until next, one attempt more:
// the SMTP server did not take it.
func (s *sqlStore) retryMail(ctx context.Context, id int64, owner string, next time.Time) error {
	_, err := s.execResult(ctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?,
		claimed_by = NULL, claimed_until = NULL, sending_at = NULL WHERE id = ? AND claimed_by = ?`,
		formatTime(next), id, owner)
	return err
}

// deleteMail deletes a mail: sent, refused for good, or given up.
func (s *sqlStore) deleteMail(ctx context.Context, id int64) error {
	_, err := s.execResult(ctx, `DELETE FROM outbox WHERE id = ?`, id)
	return err
}

// deleteCutShortMail deletes the mails marked as being sent whose claim
// ran out before, and returns how many: their process died (or lost the
// database) between marking and deleting, so the SMTP server may or may
// not have them, and they are not sent again.
func (s *sqlStore) deleteCutShortMail(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.execResult(ctx,
		`DELETE FROM outbox WHERE sending_at IS NOT NULL AND claimed_until < ?`, formatTime(now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// outboxCounts are how many mails the outbox holds, for /debug/vars and
// /metrics: all of them, and those whose last attempt failed, which wait
// to be tried again. A mail given up or refused for good is deleted, and
// only logged.
type outboxCounts struct {
	Queued int64 `json:"queued"`
	Failed int64 `json:"failed"`
}

// outboxCounts counts the outbox in one read. It holds a few mails at a
// time (each is deleted once sent or given up), so counting it is cheap.
func (s *sqlStore) outboxCounts(ctx context.Context) (outboxCounts, error) {
	var c outboxCounts
	err := s.read.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(attempts > 0), 0) FROM outbox`).Scan(&c.Queued, &c.Failed)
	return c, err
}
