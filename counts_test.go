package main

// Crosses files: the counters schema.sql keeps by triggers, which
// store_users.go and store_posts.go read for total_items.

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"testing"
)

// wantCountsExact checks the counters the triggers of schema.sql keep (the
// counts table, version 7, and users.post_count, version 2) against
// COUNT(*) of the rows they count.
func wantCountsExact(t testing.TB, what string, db *sql.DB) {
	t.Helper()
	for _, table := range []string{"users", "posts"} {
		var n, rows int
		if err := db.QueryRow(`SELECT n FROM counts WHERE name = ?`, table).Scan(&n); err != nil {
			t.Errorf("%s: counts row %q: %v", what, table, err)
			continue
		}
		if err := db.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&rows); err != nil {
			t.Fatalf("%s: COUNT(*) FROM %s: %v", what, table, err)
		}
		if n != rows {
			t.Errorf("%s: counts says %d %s, COUNT(*) = %d", what, n, table, rows)
		}
	}
	var wrong int
	if err := db.QueryRow(`SELECT COUNT(*) FROM users u
		WHERE post_count != (SELECT COUNT(*) FROM posts p WHERE p.user_id = u.id)`).Scan(&wrong); err != nil {
		t.Fatalf("%s: post_count check: %v", what, err)
	}
	if wrong != 0 {
		t.Errorf("%s: %d users have a post_count that is not their number of posts", what, wrong)
	}
}

// wantTotalItems checks the total_items of a collection against COUNT(*).
func (ts *testServer) wantTotalItems(t *testing.T, path, token, countQuery string, args ...any) {
	t.Helper()
	var want int
	if err := ts.db.read.QueryRow(countQuery, args...).Scan(&want); err != nil {
		t.Fatalf("%s: %v", countQuery, err)
	}
	res := ts.call(t, "GET", path, token, "")
	wantStatus(t, "GET "+path, res, http.StatusOK)
	meta, _ := res.object(t)["_meta"].(map[string]any)
	if got := meta["total_items"]; got != float64(want) {
		t.Errorf("GET %s: total_items = %v, want %d as COUNT(*) says", path, got, want)
	}
}

// The counters stay exact through random sign-ups, posts created and
// deleted over HTTP, and a user deleted straight in SQL, whose posts go
// with it by ON DELETE CASCADE (the API deletes no users). The collections'
// total_items come from them and agree with COUNT(*). Before version 7
// there was no counts table: this test failed on the first check.
func TestCountsStayExact(t *testing.T) {
	ts := newTestServer(t)
	rng := rand.New(rand.NewPCG(18, 1))
	type author struct {
		id    int64
		token string
		posts []int64
	}
	var authors []*author
	for i := range 120 {
		switch r := rng.IntN(10); {
		case len(authors) == 0 || r < 2:
			id, token := ts.newUser(t, fmt.Sprintf("user%d", i))
			authors = append(authors, &author{id: id, token: token})
		case r < 7:
			a := authors[rng.IntN(len(authors))]
			a.posts = append(a.posts, ts.createPost(t, a.token, fmt.Sprintf("post %d", i), "b"))
		default:
			a := authors[rng.IntN(len(authors))]
			if len(a.posts) == 0 {
				continue
			}
			j := rng.IntN(len(a.posts))
			path := fmt.Sprintf("/api/posts/%d", a.posts[j])
			wantStatus(t, "DELETE "+path, ts.call(t, "DELETE", path, a.token, ""), http.StatusNoContent)
			a.posts = append(a.posts[:j], a.posts[j+1:]...)
		}
	}
	wantCountsExact(t, "after random writes", ts.db.read)
	reader := authors[0]
	ts.wantTotalItems(t, "/api/users", reader.token, `SELECT COUNT(*) FROM users`)
	ts.wantTotalItems(t, "/api/posts", reader.token, `SELECT COUNT(*) FROM posts`)
	for _, a := range authors {
		ts.wantTotalItems(t, userPath(a.id)+"/my-posts", reader.token, `SELECT COUNT(*) FROM posts WHERE user_id = ?`, a.id)
	}

	// The author with the most posts goes, straight in SQL, as an operator
	// would: the cascade deletes its posts, and the posts counter follows.
	gone := authors[1]
	for _, a := range authors[1:] {
		if len(a.posts) > len(gone.posts) {
			gone = a
		}
	}
	if len(gone.posts) == 0 {
		t.Fatal("no author other than the reader has posts; the cascade is not tested")
	}
	if _, err := ts.db.write.Exec(`DELETE FROM users WHERE id = ?`, gone.id); err != nil {
		t.Fatal(err)
	}
	if n := ts.count(t, "posts WHERE user_id = "+fmt.Sprint(gone.id)); n != 0 {
		t.Fatalf("posts of a deleted user = %d, want 0 (no ON DELETE CASCADE?)", n)
	}
	wantCountsExact(t, "after a user was deleted in SQL", ts.db.read)
	ts.clock.Advance(2 * cacheTrust) // the caching store did not see that delete
	ts.wantTotalItems(t, "/api/users", reader.token, `SELECT COUNT(*) FROM users`)
	ts.wantTotalItems(t, "/api/posts", reader.token, `SELECT COUNT(*) FROM posts`)
}

// Version 7 seeds the counts table from the rows a database already has.
// Before version 7 this test failed: there was no counts table.
func TestUpgradeFromVersion6SeedsCounts(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "v6.db")
	var steps string
	for _, step := range schemaSteps[:6] {
		steps += step
	}
	makeDB(t, dbPath, "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;"+steps+`
		PRAGMA user_version = 6;
		INSERT INTO users (username, email, email_key, password_hash, last_seen) VALUES
			('muthoni', 'muthoni@example.com', 'muthoni@example.com', 'x', '2026-11-01T00:00:00.000000Z'),
			('kamau', 'kamau@example.com', 'kamau@example.com', 'x', '2026-11-01T00:00:00.000000Z'),
			('wanjiru', 'wanjiru@example.com', 'wanjiru@example.com', 'x', '2026-11-01T00:00:00.000000Z');
		INSERT INTO posts (title, body, timestamp, user_id) VALUES
			('one', 'a', '2026-11-01T00:00:00.000000Z', 1),
			('two', 'b', '2026-11-01T00:00:01.000000Z', 1),
			('three', 'c', '2026-11-01T00:00:02.000000Z', 2);`)

	ts := newTestServerAt(t, dbPath)
	for name, want := range map[string]int{"users": 3, "posts": 3} {
		var n int
		if err := ts.db.read.QueryRow(`SELECT n FROM counts WHERE name = ?`, name).Scan(&n); err != nil || n != want {
			t.Errorf("counts %q after the upgrade = %d, %v; want %d", name, n, err, want)
		}
	}
	_, token := ts.newUser(t, "baraka")
	ts.createPost(t, token, "four", "d")
	wantCountsExact(t, "after writes on the upgraded database", ts.db.read)
	ts.wantTotalItems(t, "/api/users", token, `SELECT COUNT(*) FROM users`)
	ts.wantTotalItems(t, "/api/posts", token, `SELECT COUNT(*) FROM posts`)
	ts.wantTotalItems(t, "/api/users/1/my-posts", token, `SELECT COUNT(*) FROM posts WHERE user_id = 1`)
}
