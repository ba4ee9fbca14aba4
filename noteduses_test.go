package main

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
)

// writes returns how many rows the server's writer connection has changed
// since it opened: every write of the server goes through that connection.
func (ts *testServer) writes(t testing.TB) int {
	t.Helper()
	var n int
	if err := ts.db.write.QueryRow("SELECT total_changes()").Scan(&n); err != nil {
		t.Fatalf("total_changes: %v", err)
	}
	return n
}

// storedLastSeen reads a user's last_seen from the database.
func (ts *testServer) storedLastSeen(t testing.TB, id int64) time.Time {
	t.Helper()
	at, err := parseTime(ts.userRow(t, id).LastSeen)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// Authenticated reads are never database writes: last_seen is noted in
// memory and written by the background writer, as are the sessions' last
// uses: one row per user and per session however many requests there were.
func TestReadsDoNotWrite(t *testing.T) {
	skipOnRqlite(t, "it counts writes with total_changes(), which rqlite's query connection does not see")
	ts := newCachingTestServer(t)
	ts.clock.afterMove = nil // no writer runs: only reads
	start := ts.clock.Now()
	id, token := ts.newUser(t, "muthoni")
	_, other := ts.newUser(t, "wanjiru")
	ts.cache.flushNotedUses(context.Background())
	before := ts.writes(t)

	for i := range 30 {
		ts.clock.Advance(10 * time.Second) // 5 minutes in all: last_seen moves on
		for _, path := range []string{"/api/users/1", "/api/users", "/api/posts", "/api/users/1/my-posts"} {
			tok := token
			if i%2 == 1 {
				tok = other
			}
			wantStatus(t, "GET "+path, ts.call(t, "GET", path, tok, ""), http.StatusOK)
		}
	}
	if got := ts.writes(t); got != before {
		t.Errorf("120 reads changed %d rows, want 0", got-before)
	}

	ts.cache.flushNotedUses(context.Background())
	if got := ts.writes(t); got != before+4 {
		t.Errorf("the flush changed %d rows, want 4 (one per user, one per session)", got-before)
	}
	// muthoni called at 0:10, 0:30, ... 4:50, and was noted at most once a
	// minute: at 0:00 (login), 1:10, 2:10, 3:10 and 4:10.
	if got, want := ts.storedLastSeen(t, id), start.Add(4*time.Minute+10*time.Second); !got.Equal(want) {
		t.Errorf("stored last_seen = %v, want %v", got, want)
	}
}

// Closing the caching store writes what was noted, so a clean shutdown
// loses no last_seen.
func TestCloseWritesNotedUses(t *testing.T) {
	ts := newCachingTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	ts.clock.Advance(5 * time.Minute)
	wantStatus(t, "GET /api/posts", ts.call(t, "GET", "/api/posts", token, ""), http.StatusOK)
	if err := ts.cache.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	db, err := openStore(context.Background(), ts.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	u, err := db.userByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if want := ts.clock.Now(); !u.LastSeen.Equal(want) {
		t.Errorf("stored last_seen after Close = %v, want %v", u.LastSeen, want)
	}
}

// A failed write keeps the notes for the next flush.
func TestLastSeenKeptWhenWriteFails(t *testing.T) {
	ts := newCachingTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	ts.cache.flushNotedUses(context.Background())
	ts.clock.Advance(5 * time.Minute)
	wantStatus(t, "GET /api/posts", ts.call(t, "GET", "/api/posts", token, ""), http.StatusOK)

	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	ts.cache.flushNotedUses(canceled)
	if got, want := ts.storedLastSeen(t, id), ts.clock.Now(); got.Equal(want) {
		t.Fatalf("stored last_seen = %v after a write that could not run", got)
	}
	ts.cache.flushNotedUses(context.Background())
	if got, want := ts.storedLastSeen(t, id), ts.clock.Now(); !got.Equal(want) {
		t.Errorf("stored last_seen after the next flush = %v, want %v", got, want)
	}
}

func TestLastSeen(t *testing.T) {
	ts := newTestServer(t)
	start := ts.clock.Now()
	id, token := ts.newUser(t, "muthoni")
	_, otherToken := ts.newUser(t, "wanjiru")
	lastSeen := func(what string, want time.Time) {
		t.Helper()
		res := ts.call(t, "GET", "/api/users/1", otherToken, "")
		wantStatus(t, "GET /api/users/1", res, http.StatusOK)
		wantTimestamp(t, what+": last_seen", res.object(t)["last_seen"], want)
	}
	lastSeen("after registering", start)

	// Getting a token moves it forward.
	ts.clock.Advance(2 * time.Minute)
	ts.login(t, "muthoni", "muthoni-password")
	lastSeen("after a token 2m later", start.Add(2*time.Minute))

	// Within the minute a request does not write it; after it, one does.
	ts.clock.Advance(30 * time.Second)
	res := ts.call(t, "GET", "/api/posts", token, "")
	wantStatus(t, "GET /api/posts", res, http.StatusOK)
	lastSeen("after a request 30s later", start.Add(2*time.Minute))

	ts.clock.Advance(2 * time.Minute)
	lastSeen("after another user's request 2m later", start.Add(2*time.Minute))
	res = ts.call(t, "GET", "/api/posts", token, "")
	wantStatus(t, "GET /api/posts", res, http.StatusOK)
	lastSeen("after a request 2m later", start.Add(4*time.Minute+30*time.Second))

	// A token within the minute does not write it either.
	ts.clock.Advance(30 * time.Second)
	ts.login(t, "muthoni", "muthoni-password")
	lastSeen("after a token 30s later", start.Add(4*time.Minute+30*time.Second))

	// The user's own view is fresh: the request that reads it has moved it.
	ts.clock.Advance(5 * time.Minute)
	res = ts.call(t, "GET", "/api/users/1", token, "")
	wantStatus(t, "GET /api/users/1", res, http.StatusOK)
	wantTimestamp(t, "GET /api/users/1 as itself: last_seen", res.object(t)["last_seen"], start.Add(10*time.Minute))
	if got := ts.userRow(t, id).LastSeen; !strings.HasSuffix(got, "Z") {
		t.Errorf("stored last_seen = %q, want UTC with a Z", got)
	}
}
