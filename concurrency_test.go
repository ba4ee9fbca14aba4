package main

// Crosses the whole program: many clients writing at once, down to SQLite.

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentWriters has many clients write at once: users (some with the
// same name), posts created, edited and deleted, tokens issued and revoked.
// Writers must wait for SQLite, not fail: no 5xx, no "database is locked",
// exactly one 201 per contested username, and row counts (and post counts)
// that match the 2xx answers. It runs for a few seconds and logs its figures
// (go test -v -run TestConcurrentWriters).
func TestConcurrentWriters(t *testing.T) {
	ts := newTestServer(t)
	const clients = 32
	const duration = 3 * time.Second
	var (
		requests, fiveXX, created, contestedWins, postsLeft atomic.Int64
		wg                                                  sync.WaitGroup
	)
	// Each client writes only its own entries.
	userIDs, postsBy := make([]int64, clients), make([]int64, clients)
	start := time.Now()
	deadline := start.Add(duration)
	check := func(what string, res response, want ...int) bool {
		requests.Add(1)
		if res.status >= 500 {
			fiveXX.Add(1)
		}
		for _, w := range want {
			if res.status == w {
				return true
			}
		}
		t.Errorf("%s = %d %s, want one of %v", what, res.status, res.body, want)
		return false
	}
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("writer%d", c)
			res := ts.call(t, "POST", "/api/users", "", fmt.Sprintf(`{"username": %q, "email": "%s@example.com", "password": "password%d"}`, name, name, c))
			if !check("POST /api/users "+name, res, http.StatusCreated) {
				return
			}
			created.Add(1)
			userIDs[c] = int64(res.object(t)["id"].(float64))
			// Every client also races for one of four shared names.
			contested := fmt.Sprintf("contested%d", c%4)
			res = ts.call(t, "POST", "/api/users", "", fmt.Sprintf(`{"username": %q, "email": "%s-%d@example.com", "password": "password1"}`, contested, contested, c))
			if check("POST /api/users "+contested, res, http.StatusCreated, http.StatusBadRequest) && res.status == http.StatusCreated {
				contestedWins.Add(1)
			}
			for r := 0; r < 2 || time.Now().Before(deadline); r++ {
				res := ts.callBasic(t, "POST", "/api/tokens", name, fmt.Sprintf("password%d", c))
				if !check("POST /api/tokens", res, http.StatusOK) {
					return
				}
				token := res.object(t)["token"].(string)
				res = ts.call(t, "POST", "/api/posts", token, fmt.Sprintf(`{"title": "round %d", "body": "by %s"}`, r, name))
				if !check("POST /api/posts", res, http.StatusCreated) {
					return
				}
				path := fmt.Sprintf("/api/posts/%d", int64(res.object(t)["id"].(float64)))
				check("PUT "+path, ts.call(t, "PUT", path, token, `{"body": "edited"}`), http.StatusOK)
				if r%2 == 0 {
					check("DELETE "+path, ts.call(t, "DELETE", path, token, ""), http.StatusNoContent)
				} else {
					postsLeft.Add(1)
					postsBy[c]++
				}
				check("DELETE /api/tokens", ts.call(t, "DELETE", "/api/tokens", token, ""), http.StatusNoContent)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d clients, %.1f s, %d requests, %d 5xx", clients, elapsed.Seconds(), requests.Load(), fiveXX.Load())
	if fiveXX.Load() != 0 {
		t.Errorf("%d answers were 5xx, want 0", fiveXX.Load())
	}
	if strings.Contains(ts.logs.String(), "database is locked") {
		t.Error(`the log says "database is locked"`)
	}
	if got := contestedWins.Load(); got != 4 {
		t.Errorf("201s for the 4 contested names = %d, want 4", got)
	}
	if got, want := ts.count(t, "users"), int(created.Load()+contestedWins.Load()); got != want {
		t.Errorf("users = %d, want %d", got, want)
	}
	if got, want := ts.count(t, "posts"), int(postsLeft.Load()); got != want {
		t.Errorf("posts = %d, want %d", got, want)
	}
	if got := ts.count(t, "tokens"); got != 0 {
		t.Errorf("tokens = %d after every one was revoked, want 0", got)
	}
	_, token := ts.newUser(t, "reader")
	for c, want := range postsBy {
		path := fmt.Sprintf("/api/users/%d", userIDs[c])
		res := ts.call(t, "GET", path, token, "")
		wantStatus(t, "GET "+path, res, http.StatusOK)
		if got := res.object(t)["post_count"]; got != float64(want) {
			t.Errorf("GET %s: post_count = %v, want %d", path, got, want)
		}
	}
}
