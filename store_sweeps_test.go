package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// seedRows inserts n rows into table in one statement, all stale or fresh
// by at: tokens expiring at at, failures last counted at at, addresses last
// logged in from at at, events that happened at at. Their keys start with prefix.
func seedRows(t *testing.T, db *sqlStore, table, prefix string, userID int64, n int, at time.Time) {
	t.Helper()
	const numbers = `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) `
	stamp := formatTime(at)
	seeds := map[string]struct {
		query string
		args  []any
	}{
		"tokens": {`INSERT INTO tokens (hash, user_id, created_at, expires_at, max_expires_at)
			` + numbers + `SELECT ? || i, ?, ?, ?, ? FROM n`, []any{n, prefix, userID, stamp, stamp, stamp}},
		"password_failures": {`INSERT INTO password_failures (key, failures, max_failures, last_failure)
			` + numbers + `SELECT ? || i, 1, 5, ? FROM n`, []any{n, prefix, stamp}},
		"known_addresses": {`INSERT INTO known_addresses (user_id, address, last_login)
			` + numbers + `SELECT ?, ? || i, ? FROM n`, []any{n, userID, prefix, stamp}},
		"events": {`INSERT INTO events (user_id, type, at, detail)
			` + numbers + `SELECT ?, 'login.succeeded', ?, ? || i FROM n`, []any{n, userID, stamp, prefix}},
	}
	if _, err := db.write.Exec(seeds[table].query, seeds[table].args...); err != nil {
		t.Fatalf("seed %d rows of %s: %v", n, table, err)
	}
}

// Each sweep deletes exactly the stale rows, a batch at a time, and stops
// after the first batch that is not full.
func TestSweepsDeleteInBatches(t *testing.T) {
	const stale, fresh, batch = 2500, 7, 100
	tests := []struct {
		table string
		sweep func(ctx context.Context, ts *testServer) (int64, error)
	}{
		{"tokens", func(ctx context.Context, ts *testServer) (int64, error) {
			return ts.db.deleteExpiredSessions(ctx, ts.clock.Now())
		}},
		{"password_failures", func(ctx context.Context, ts *testServer) (int64, error) {
			return ts.db.deleteStaleFailures(ctx, ts.clock.Now(), time.Minute)
		}},
		{"known_addresses", func(ctx context.Context, ts *testServer) (int64, error) {
			return ts.db.forgetStaleAddresses(ctx, ts.clock.Now().Add(-time.Minute))
		}},
		{"events", func(ctx context.Context, ts *testServer) (int64, error) {
			return ts.db.deleteOldEvents(ctx, ts.clock.Now())
		}},
	}
	for _, tc := range tests {
		t.Run(tc.table, func(t *testing.T) {
			ts := newTestServer(t)
			id, _ := ts.newUser(t, "muthoni")
			now := ts.clock.Now()
			seedRows(t, ts.db, tc.table, "stale-", id, stale, now.Add(-time.Hour))
			seedRows(t, ts.db, tc.table, "fresh-", id, fresh, now.Add(time.Hour))
			left := ts.count(t, tc.table) - stale
			batches := 0
			ts.db.sweeps = sweepOptions{batch: batch, beforeBatch: func(int) { batches++ }}

			n, err := tc.sweep(context.Background(), ts)
			if err != nil || n != stale {
				t.Fatalf("sweep of %s = %d, %v; want %d, nil", tc.table, n, err, stale)
			}
			want := stale/batch + 1 // the last finds none
			if tc.table == "known_addresses" {
				want++ // and one of known_devices, which finds none
			}
			if batches != want {
				t.Errorf("sweep of %s ran %d batches, want %d", tc.table, batches, want)
			}
			if got := ts.count(t, tc.table); got != left {
				t.Errorf("%s = %d rows after the sweep, want %d", tc.table, got, left)
			}
		})
	}
}

// A sweep stopped by its context stops between batches, with what it
// deleted so far deleted.
func TestSweepStopsWithItsContext(t *testing.T) {
	ts := newTestServer(t)
	id, _ := ts.newUser(t, "muthoni")
	seedRows(t, ts.db, "tokens", "stale-", id, 500, ts.clock.Now().Add(-time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ts.db.sweeps = sweepOptions{batch: 100, beforeBatch: func(n int) {
		if n == 3 {
			cancel()
		}
	}}
	n, err := ts.db.deleteExpiredSessions(ctx, ts.clock.Now())
	if !errors.Is(err, context.Canceled) || n != 200 {
		t.Errorf("sweep stopped before its third batch = %d, %v; want 200, context canceled", n, err)
	}
	if got := ts.count(t, "tokens"); got != 501-int(n) {
		t.Errorf("tokens = %d rows after deleting %d of 500, want %d", got, n, 501-int(n))
	}
}

// A write that comes while a long sweep runs waits for one batch, not for
// the whole sweep: it completes before the sweep's last batch begins.
func TestWriteGoesBetweenSweepBatches(t *testing.T) {
	const stale, batch = 20000, 100
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	seedRows(t, ts.db, "tokens", "stale-", id, stale, ts.clock.Now().Add(-time.Hour))

	var begun atomic.Int64 // batches begun, in every sweep
	var sweeping atomic.Bool
	sweeping.Store(true)
	posted := make(chan int64, 1) // batches begun when the post was answered
	ts.db.sweeps = sweepOptions{batch: batch, beforeBatch: func(int) {
		if begun.Add(1) != 1 {
			return
		}
		go func() {
			// Post once a batch holds the write connection (or the sweep is
			// over), so that the post must wait for it.
			for ts.db.write.Stats().InUse == 0 && sweeping.Load() {
				time.Sleep(50 * time.Microsecond)
			}
			res, err := ts.do("POST", "/api/posts", `{"title": "t", "body": "b"}`, bearer(token))
			if err != nil || res.status != http.StatusCreated {
				t.Errorf("POST /api/posts during a sweep = %d %s, %v; want 201", res.status, res.body, err)
			}
			posted <- begun.Load()
		}()
	}}
	ts.srv.sweep(context.Background())
	sweeping.Store(false)
	at := <-posted

	last := int64(stale/batch + 1) // of the tokens' sweep; the last finds none
	if at >= last {
		t.Errorf("POST /api/posts was answered after %d batches began, want before batch %d, the sweep's last", at, last)
	}
	if n := ts.count(t, "tokens"); n != 1 {
		t.Errorf("tokens = %d rows after the sweep, want 1", n)
	}
	if n := ts.count(t, "posts"); n != 1 {
		t.Errorf("posts = %d rows, want 1", n)
	}
	t.Logf("the post was answered after %d of %d batches began", at, last)
}

// Each batch of a sweep finds its rows through the index on their time, so
// it reads only what it deletes, however big the table.
func TestSweepsUseTheirIndexes(t *testing.T) {
	if rqliteTestURL() != "" {
		t.Skip("the plan is the SQLite file's; a cluster's nodes plan for themselves")
	}
	ts := newTestServer(t)
	tests := []struct {
		query, index string
		args         []any
	}{
		{deleteExpiredSessionsSQL, "tokens_by_expiry", []any{"x", 1}},
		{deleteStaleFailuresSQL, "password_failures_by_time", []any{"x", "x", 1}},
		{forgetStaleAddressesSQL, "known_addresses_by_time", []any{"x", 1}},
		{deleteOldEventsSQL, "events_by_time", []any{"x", 1}},
		{forgetStaleDevicesSQL, "known_devices_by_time", []any{"x", 1}},
		{deleteExpiredVerificationsSQL, "email_verifications_by_expiry", []any{"x", 1}},
	}
	for _, tc := range tests {
		plan := queryPlan(t, ts, tc.query, tc.args)
		if got := strings.Join(plan, "; "); !strings.Contains(got, "INDEX "+tc.index) {
			t.Errorf("plan of %q = %q, want a search with %s", tc.query, got, tc.index)
		}
	}
}
