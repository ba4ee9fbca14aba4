package main

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// failureRecord is what the database holds of one failure key (see
// throttle.go): the failed password checks in a row, the last of them, and
// the end of a lockout if one was reached. A key never seen is the zero
// record.
type failureRecord struct {
	failures    int
	lastFailure time.Time
	lockedUntil time.Time
}

// passwordFailures returns the record of key.
func (s *sqlStore) passwordFailures(ctx context.Context, key string) (failureRecord, error) {
	r, err := scanKeyedFailureRecord(s.read.QueryRowContext(ctx,
		`SELECT `+failureColumns+` FROM password_failures WHERE key = ?`, key))
	if errors.Is(err, sql.ErrNoRows) {
		return failureRecord{}, nil
	}
	return r.failureRecord, err
}

// keyedFailureRecord is a failure record with its key, as an operator sees
// it (store_admin.go).
type keyedFailureRecord struct {
	key string
	failureRecord
}

const failureColumns = `key, failures, last_failure, locked_until`

func scanKeyedFailureRecord(row scanner) (keyedFailureRecord, error) {
	var r keyedFailureRecord
	var last string
	var locked sql.NullString
	if err := row.Scan(&r.key, &r.failures, &last, &locked); err != nil {
		return keyedFailureRecord{}, err
	}
	var err error
	if r.lastFailure, err = parseTime(last); err == nil && locked.Valid {
		r.lockedUntil, err = parseTime(locked.String)
	}
	return r, err
}

// recordPasswordFailure counts one failed check at now against every key,
// in one statement. A count goes on while failures come within window of
// each other and starts again at 1 after a quiet window; a key that reaches
// its limit is locked until now + window. An upsert rather than a read and
// a write, so that two processes failing at once both count.
func (s *sqlStore) recordPasswordFailure(ctx context.Context, keys []failureKey, now time.Time, window time.Duration) error {
	rows := make([]string, len(keys))
	args := make([]any, 0, 4*len(keys)+4)
	at, until := formatTime(now), formatTime(now.Add(window))
	for i, k := range keys {
		rows[i] = `(?, 1, ?, ?, CASE WHEN ? <= 1 THEN ? END)`
		args = append(args, k.name, k.limit, at, k.limit, until)
	}
	cutoff := formatTime(now.Add(-window))
	args = append(args, cutoff, at, cutoff, until)
	// In an upsert's SET, a bare column is the row as it was: every
	// expression below sees the old failures and last_failure.
	_, err := s.execResult(ctx,
		`INSERT INTO password_failures (key, failures, max_failures, last_failure, locked_until)
		VALUES `+strings.Join(rows, ", ")+`
		ON CONFLICT (key) DO UPDATE SET
			failures = CASE WHEN last_failure > ? THEN failures + 1 ELSE 1 END,
			locked_until = CASE
				WHEN locked_until > ? THEN locked_until
				WHEN (CASE WHEN last_failure > ? THEN failures + 1 ELSE 1 END) >= excluded.max_failures THEN ?
			END,
			max_failures = excluded.max_failures,
			last_failure = excluded.last_failure`, args...)
	return err
}

// clearPasswordFailures forgets the failures of key, after a success that
// proves them to have been the owner's typos.
func (s *sqlStore) clearPasswordFailures(ctx context.Context, key string) error {
	_, err := s.execResult(ctx, `DELETE FROM password_failures WHERE key = ?`, key)
	return err
}

// deleteStaleFailures deletes the records that hold nothing back at now:
// no lockout, and no failure within window; a batch at a time, through the
// password_failures_by_time index (see deleteInBatches).
func (s *sqlStore) deleteStaleFailures(ctx context.Context, now time.Time, window time.Duration) (int64, error) {
	return s.deleteInBatches(ctx, deleteStaleFailuresSQL, formatTime(now.Add(-window)), formatTime(now))
}

const deleteStaleFailuresSQL = `DELETE FROM password_failures WHERE key IN (
	SELECT key FROM password_failures
	WHERE last_failure <= ? AND (locked_until IS NULL OR locked_until <= ?) LIMIT ?)`

// isKnownAddress reports whether a user logged in from addr (a counted
// address, throttleAddr's) after since.
func (s *sqlStore) isKnownAddress(ctx context.Context, userID int64, addr string, since time.Time) (bool, error) {
	var known bool
	err := s.read.QueryRowContext(ctx,
		`SELECT EXISTS (SELECT 1 FROM known_addresses WHERE user_id = ? AND address = ? AND last_login > ?)`,
		userID, addr, formatTime(since)).Scan(&known)
	return known, err
}

// rememberAddress records a login of a user from addr at at; of two
// processes, the later login stands.
func (s *sqlStore) rememberAddress(ctx context.Context, userID int64, addr string, at time.Time) error {
	_, err := s.execResult(ctx,
		`INSERT INTO known_addresses (user_id, address, last_login) VALUES (?, ?, ?)
		ON CONFLICT (user_id, address) DO UPDATE SET last_login = MAX(last_login, excluded.last_login)`,
		userID, addr, formatTime(at))
	return err
}

// forgetStaleAddresses deletes the addresses and devices last logged in
// from at or before before; a batch at a time, through the known_addresses_by_time
// index (see deleteInBatches).
func (s *sqlStore) forgetStaleAddresses(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.deleteInBatches(ctx, forgetStaleAddressesSQL, formatTime(before))
	if err != nil {
		return n, err
	}
	// The devices (newdevice.go) are known as long, and go the same way.
	m, err := s.deleteInBatches(ctx, forgetStaleDevicesSQL, formatTime(before))
	return n + m, err
}

const forgetStaleDevicesSQL = `DELETE FROM known_devices WHERE (user_id, address, user_agent) IN (
	SELECT user_id, address, user_agent FROM known_devices WHERE last_login <= ? LIMIT ?)`

const forgetStaleAddressesSQL = `DELETE FROM known_addresses WHERE (user_id, address) IN (
	SELECT user_id, address FROM known_addresses WHERE last_login <= ? LIMIT ?)`
