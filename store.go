package main

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// store is everything the handlers need of the database. sqlStore is the
// plain one: one SQL statement a method, in the store_*.go files. The
// server runs on it as it is; run wraps it in a cachingStore
// (cachingstore.go), which has the same methods and answers the hot reads
// from memory, and the handlers cannot tell the two apart.
//
// Every method takes the request's context first. Every write is one
// self-contained statement (or one transaction), so that two processes on
// one file, or a replicated SQLite, need nothing else to stay correct.
type store interface {
	// Users.
	createUser(ctx context.Context, u user, passwordHash string) (int64, error)
	userByID(ctx context.Context, id int64) (user, error)
	listUsers(ctx context.Context, q pageQuery) ([]user, int, error)
	updateUser(ctx context.Context, id int64, c userChanges) error
	deleteUser(ctx context.Context, id int64, farewell *queuedMail) error
	passwordHashByUsername(ctx context.Context, username string) (int64, string, error)
	passwordHashByID(ctx context.Context, id int64) (string, error)
	userSeen(ctx context.Context, id int64, at time.Time) error

	// Sessions, one for each token, found by the SHA-256 of the token: the
	// token itself is never stored.
	insertSession(ctx context.Context, hash tokenHash, passwordHash string, s session) (int64, error)
	liveSession(ctx context.Context, hash tokenHash, now time.Time) (session, error)
	sessionUsed(ctx context.Context, s session, at, expires time.Time) error
	sessionsOf(ctx context.Context, userID int64) ([]session, error)
	deleteSessionByHash(ctx context.Context, hash tokenHash) error
	deleteSession(ctx context.Context, userID, id int64) error
	deleteOtherSessions(ctx context.Context, userID int64, keep tokenHash) error
	deleteSessionsOf(ctx context.Context, userID int64) (int64, error)
	retireOldSessions(ctx context.Context, userID int64, keep int) (int64, error)
	deleteExpiredSessions(ctx context.Context, before time.Time) (int64, error)

	// Failed password checks, by failure key (throttle.go).
	passwordFailures(ctx context.Context, key string) (failureRecord, error)
	recordPasswordFailure(ctx context.Context, keys []failureKey, now time.Time, window time.Duration) error
	clearPasswordFailures(ctx context.Context, key string) error
	deleteStaleFailures(ctx context.Context, now time.Time, window time.Duration) (int64, error)

	// The addresses each account logged in from (knownaddresses.go).
	isKnownAddress(ctx context.Context, userID int64, addr string, since time.Time) (bool, error)
	rememberAddress(ctx context.Context, userID int64, addr string, at time.Time) error
	forgetStaleAddresses(ctx context.Context, before time.Time) (int64, error)

	// The second step at login (store_totp.go): secrets sealed, recovery
	// codes hashed.
	totpOf(ctx context.Context, userID int64) (totpRecord, error)
	setPendingTOTP(ctx context.Context, userID int64, sealed string) error
	enableTOTP(ctx context.Context, userID int64, pending string, step int64, codeHashes []string) error
	replaceRecoveryCodes(ctx context.Context, userID int64, codeHashes []string) error
	useTOTPStep(ctx context.Context, userID, step int64) error
	useRecoveryCode(ctx context.Context, userID int64, hash string) error
	disableTOTP(ctx context.Context, userID int64) error

	// Each user's security log (events.go, store_events.go).
	addEvent(ctx context.Context, e event) error
	eventsOf(ctx context.Context, userID int64, q pageQuery) ([]event, int, error)
	deleteOldEvents(ctx context.Context, before time.Time) (int64, error)

	// Password resets and the limits on mail (store_resets.go).
	userByEmail(ctx context.Context, email string) (user, error)
	mailRequests(ctx context.Context, key string, since time.Time) (int, time.Time, error)
	countMailRequest(ctx context.Context, key string, at time.Time) error
	recordPasswordReset(ctx context.Context, r passwordReset) error
	passwordResetUser(ctx context.Context, hash tokenHash, now time.Time) (int64, error)
	usePasswordReset(ctx context.Context, hash tokenHash, now time.Time) error
	deleteStaleMailRecords(ctx context.Context, before, now time.Time) (int64, error)

	// Verified addresses and the devices accounts logged in from
	// (store_verifications.go).
	createUserVerifying(ctx context.Context, u user, passwordHash string, v emailVerification) (int64, error)
	recordEmailVerification(ctx context.Context, v emailVerification) error
	emailVerificationOf(ctx context.Context, hash tokenHash, now time.Time) (int64, string, error)
	verifyEmail(ctx context.Context, hash tokenHash, userID int64, emailKey string, now time.Time) error
	knownDevice(ctx context.Context, userID int64, address, userAgent string, since time.Time) (known, anyDevice bool, err error)
	rememberDevice(ctx context.Context, d deviceLogin) error

	// Posts.
	createPost(ctx context.Context, authorID int64, title, body string, at time.Time) (int64, error)
	postByID(ctx context.Context, id int64) (post, error)
	listPosts(ctx context.Context, authorID int64, q pageQuery) ([]post, int, error)
	updatePost(ctx context.Context, id, authorID int64, title, body *string) error
	deletePost(ctx context.Context, id, authorID int64) error

	ping(ctx context.Context) error
	Close() error
}

// Both stores are whole stores: the server runs on either.
var (
	_ store = (*sqlStore)(nil)
	_ store = (*cachingStore)(nil)
)

// The store speaks in these sentinel errors; handlers turn them into
// responses with errors.Is. Besides them it returns errStoreUnavailable
// (a database cluster between leaders: come back soon) and the errors of
// database/sql and the driver, which are nobody's fault but ours.
var (
	errNotFound          = errors.New("not found")
	errDuplicateUsername = errors.New("username is already taken")
	errDuplicateEmail    = errors.New("email is already registered")
)

// timeLayout is fixed-width, so timestamps compare correctly as text in SQL.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) { return time.Parse(timeLayout, s) }

// uniqueViolation turns a UNIQUE constraint error on users into the sentinel
// error that names the field. It matches SQLite's own message text, which
// every SQLite driver (and rqlite) passes on unchanged.
func uniqueViolation(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "UNIQUE constraint failed: users.username"):
		return errDuplicateUsername
	case strings.Contains(msg, "UNIQUE constraint failed: users.email_key"):
		return errDuplicateEmail
	}
	return err
}

// rowsAffectedOrNotFound reports errNotFound when a write matched no row.
func rowsAffectedOrNotFound(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return errNotFound
	}
	return nil
}

// pageQuery is which items of a collection a page holds: limit of them,
// either after skipping offset items or, when after is not 0, starting
// with the first item that follows the item whose id is after in the
// collection's order. The second is a seek, as cheap at any depth and
// untroubled by rows inserted or deleted ahead of it. total is the
// collection's size as its counter holds it, which the store sets before
// it builds the query so that a deep page can be reached from the end (0
// is unknown: every page is counted from the start).
type pageQuery struct {
	limit, offset int
	after         int64
	total         int
}

// pageOfIDs is the subquery that picks a page's ids from table in id
// order (desc for newest first), with where (its conditions, ANDed; args
// are theirs) narrowing it. It reads ids alone, from the rowid or a
// covering index, so an OFFSET skips index entries, not whole rows, and
// the caller joins and reads the full rows of this page only (and puts
// them in order).
//
// An OFFSET still steps over every entry it skips, which no index can
// avoid: 5M entries took 80-90 ms. So a page in the far half of the
// collection is counted from the other end, in the opposite order: the
// last page of 5M posts skips nothing, and no page skips more than half.
func pageOfIDs(table string, desc bool, q pageQuery, where []string, args []any) (string, []any) {
	order, seek := "id", "id > ?"
	if desc {
		order, seek = "id DESC", "id < ?"
	}
	limit, offset := q.limit, q.offset
	switch {
	case q.after != 0:
		where, args, offset = append(where, seek), append(args, q.after), 0
	case q.total > 0 && offset > q.total/2:
		// Items offset to offset+limit-1 of total are, counted from the
		// other end, the last of them first: limit shrinks to what is
		// left, and what lies beyond the end is no page at all.
		limit = max(min(limit, q.total-offset), 0)
		offset = max(q.total-q.offset-limit, 0)
		order = "id DESC"
		if desc {
			order = "id"
		}
	}
	sql := "SELECT id FROM " + table
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	return sql + " ORDER BY " + order + " LIMIT ? OFFSET ?", append(args, limit, offset)
}

// countedPage reads a collection's total with count (one row of a
// counter that triggers keep, never a COUNT(*)), then the page that query
// makes of q with that total, each row read by scan. Every collection
// pages through it, so none can forget to give pageOfIDs the total that
// lets a deep page be counted from the far end.
func countedPage[T any](ctx context.Context, db *sql.DB, count string, countArgs []any, q pageQuery,
	query func(pageQuery) (string, []any), scan func(scanner) (T, error)) ([]T, int, error) {
	if err := db.QueryRowContext(ctx, count, countArgs...).Scan(&q.total); err != nil {
		return nil, 0, err
	}
	text, args := query(q)
	rows, err := db.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, 0, err
	}
	items, err := scanAll(rows, scan)
	return items, q.total, err
}

// scanAll reads every row of rows with scan, and closes them. It never
// returns a nil slice: an empty page is [] in JSON, not null.
func scanAll[T any](rows *sql.Rows, scan func(scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	items := []T{}
	for rows.Next() {
		item, err := scan(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
	return items, rows.Err()
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}
