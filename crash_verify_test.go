package main

// Crosses the whole program: what a restart after crash_test.go's kill -9 must hold.

import (
	"encoding/json"
	"net/http"
	"testing"
)

// The checks TestKill9KeepsAcknowledgedWrites makes of the program each time
// it starts again after a kill.

// verifyCrashState checks a restarted program against what the workers were
// told, and settles each write that was in flight at the kill by what the
// program now shows. Each step checks one kind of record and settles the
// writes in flight of that kind.
func verifyCrashState(t *testing.T, c *client, workers []*crashWorker) {
	checkTokens := wantUsersLogIn(t, c, workers)
	if len(checkTokens) == 0 {
		t.Fatalf("no user could log in after the kill")
	}
	reader := checkTokens[len(checkTokens)-1] // a token to read the collections with
	wantTokensAsAcknowledged(t, c, workers)
	wantUsersAsAcknowledged(t, c, workers, reader)
	wantPostsAsAcknowledged(t, c, workers, reader)
	for _, w := range workers {
		w.pending = nil
	}
	for _, tok := range checkTokens {
		if res, err := c.do("DELETE", "/api/tokens", "", bearer(tok)); err != nil || res.status != http.StatusNoContent {
			t.Errorf("DELETE /api/tokens = %d (%v), want 204", res.status, err)
		}
	}
}

// wantUsersLogIn checks that every acknowledged user logs in with its
// password, and returns the tokens it got, for the caller to revoke.
func wantUsersLogIn(t *testing.T, c *client, workers []*crashWorker) []string {
	var tokens []string
	for _, w := range workers {
		for _, u := range w.users {
			res, err := c.do("POST", "/api/tokens", "", basic(u.name, u.password))
			if err != nil || res.status != http.StatusOK {
				t.Errorf("POST /api/tokens as %s after the kill = %d %s (%v), want 200", u.name, res.status, res.body, err)
				continue
			}
			var answer struct{ Token string }
			json.Unmarshal(res.body, &answer)
			tokens = append(tokens, answer.Token)
		}
	}
	return tokens
}

// wantTokensAsAcknowledged checks that every token issued still
// authenticates and every token whose revoke got its 204 does not. A
// revoke in flight is settled by whether its token still works.
func wantTokensAsAcknowledged(t *testing.T, c *client, workers []*crashWorker) {
	for _, w := range workers {
		for _, u := range w.users {
			path := userPath(u.id)
			for _, tok := range u.live {
				if res, err := c.do("GET", path, "", bearer(tok)); err != nil || res.status != http.StatusOK {
					t.Errorf("GET %s with a token issued to %s = %d (%v), want 200", path, u.name, res.status, err)
				}
			}
			for _, tok := range u.revoked {
				if res, err := c.do("GET", path, "", bearer(tok)); err != nil || res.status != http.StatusUnauthorized {
					t.Errorf("GET %s with a token of %s whose revoke got 204 = %d (%v), want 401", path, u.name, res.status, err)
				}
			}
		}
		if wr := w.pending; wr != nil && wr.kind == "revoke" {
			switch res, err := c.do("GET", userPath(wr.user.id), "", bearer(wr.token)); {
			case err == nil && res.status == http.StatusOK:
				wr.user.live = append(wr.user.live, wr.token)
			case err == nil && res.status == http.StatusUnauthorized:
				wr.user.revoked = append(wr.user.revoked, wr.token)
			default:
				t.Errorf("GET with a token whose revoke was in flight = %d (%v), want 200 or 401", res.status, err)
			}
		}
	}
}

// wantUsersAsAcknowledged checks that every user listed was acknowledged,
// with its id, or in flight, and that every acknowledged one is listed. A
// sign-up in flight is settled by whether its user is listed.
func wantUsersAsAcknowledged(t *testing.T, c *client, workers []*crashWorker, reader string) {
	users := map[string]int64{}
	for _, item := range c.listAll(t, "/api/users", reader) {
		var u struct {
			ID       int64
			Username string
		}
		json.Unmarshal(item, &u)
		users[u.Username] = u.ID
	}
	known := map[string]bool{}
	for _, w := range workers {
		for _, u := range w.users {
			known[u.name] = true
			if id, ok := users[u.name]; !ok || id != u.id {
				t.Errorf("user %s (id %d) listed with id %d, %v after the kill", u.name, u.id, id, ok)
			}
		}
		if wr := w.pending; wr != nil && wr.kind == "create user" {
			if id, ok := users[wr.user.name]; ok {
				wr.user.id = id
				w.users = append(w.users, wr.user)
				known[wr.user.name] = true
			}
		}
	}
	for name := range users {
		if !known[name] {
			t.Errorf("user %s is listed after the kill, but no one created it", name)
		}
	}
}

// wantPostsAsAcknowledged checks that every post listed was acknowledged or
// in flight, with the content last acknowledged or the content in flight;
// that no acknowledged post is lost and no deleted one is back. A create,
// edit or delete in flight is settled by what is listed.
func wantPostsAsAcknowledged(t *testing.T, c *client, workers []*crashWorker, reader string) {
	type listedPost struct {
		ID          int64
		Title, Body string
		Author      struct{ ID int64 }
	}
	posts := map[int64]listedPost{}
	for _, item := range c.listAll(t, "/api/posts", reader) {
		var p listedPost
		json.Unmarshal(item, &p)
		posts[p.ID] = p
	}
	// Titles are unique, so a title tells a post from a later one that took
	// over its id: SQLite gives a new row the highest id plus one, which
	// can be the id of the newest post, deleted.
	for _, w := range workers {
		wr := w.pending
		for _, u := range w.users {
			for _, p := range u.posts {
				if p.deleted {
					continue
				}
				got, ok := posts[p.id]
				edited := wr != nil && wr.kind == "edit post" && wr.post == p && got.Title == wr.title
				isP := ok && got.Author.ID == u.id && (got.Title == p.title || edited)
				switch {
				case !isP && wr != nil && wr.kind == "delete post" && wr.post == p:
					p.deleted = true
				case !ok || got.Author.ID != u.id:
					t.Errorf("post %d %q by %s is lost after the kill; its create got 201", p.id, p.title, u.name)
				case !isP:
					t.Errorf("post %d after the kill = %q, want %q as acknowledged", p.id, got.Title, p.title)
					delete(posts, p.id)
				case edited && got.Body != wr.body, !edited && got.Body != p.body:
					t.Errorf("post %d %q: body after the kill has %d bytes, not the %d acknowledged or in flight",
						p.id, got.Title, len(got.Body), len(p.body))
					delete(posts, p.id)
				default:
					p.title, p.body = got.Title, got.Body
					delete(posts, p.id)
				}
			}
		}
	}
	for _, w := range workers {
		for _, u := range w.users {
			for _, p := range u.posts {
				if got, ok := posts[p.id]; ok && p.deleted && got.Title == p.title {
					t.Errorf("post %d %q is back after the kill; its delete got 204", p.id, p.title)
					delete(posts, p.id)
				}
			}
		}
		if wr := w.pending; wr != nil && wr.kind == "create post" {
			for id, got := range posts {
				if got.Title == wr.title && got.Body == wr.body && got.Author.ID == wr.user.id {
					wr.user.posts = append(wr.user.posts, &crashPost{id: id, title: got.Title, body: got.Body})
					delete(posts, id)
				}
			}
		}
	}
	for id, got := range posts {
		t.Errorf("post %d %q is listed after the kill, but no one created it", id, got.Title)
	}
}
