package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Writing and reading posts, and what a post looks like in JSON. The lists
// of posts are in pages_test.go.

// storedPost is a posts row as SQLite holds it.
type storedPost struct {
	Title     string
	Body      string
	Timestamp string
	UserID    int64
}

// postRow reads a post straight from the database, bypassing the API.
func (ts *testServer) postRow(t testing.TB, id int64) storedPost {
	t.Helper()
	var p storedPost
	err := ts.db.read.QueryRow(`SELECT title, body, timestamp, user_id FROM posts WHERE id = ?`, id).
		Scan(&p.Title, &p.Body, &p.Timestamp, &p.UserID)
	if err != nil {
		t.Fatalf("read post %d: %v", id, err)
	}
	return p
}

// wantedPost is the JSON a test wants for a post, but for timestamp, which
// wantPost checks as a time.
type wantedPost struct {
	id          int64
	title, body string
	authorID    int64
	author      string // the author's username
	aboutAuthor string // "" is null
	authorPosts int    // the author's post_count
}

func (p wantedPost) json() map[string]any {
	var about any
	if p.aboutAuthor != "" {
		about = p.aboutAuthor
	}
	return map[string]any{
		"id":    p.id,
		"title": p.title,
		"body":  p.body,
		"author": map[string]any{
			"id":           p.authorID,
			"username":     p.author,
			"about_author": about,
			"post_count":   p.authorPosts,
		},
		"_links": map[string]any{
			"self":         fmt.Sprintf("/api/posts/%d", p.id),
			"author":       fmt.Sprintf("/api/users/%d", p.authorID),
			"author_posts": fmt.Sprintf("/api/users/%d/my-posts", p.authorID),
		},
	}
}

// wantPost checks a post object: timestamp as a time, the rest exactly.
func wantPost(t testing.TB, what string, got map[string]any, want wantedPost, timestamp time.Time) {
	t.Helper()
	wantTimestamp(t, what+": timestamp", got["timestamp"], timestamp)
	rest := map[string]any{}
	for k, v := range got {
		if k != "timestamp" {
			rest[k] = v
		}
	}
	wantJSON(t, what, rest, want.json())
}

func TestCreatePost(t *testing.T) {
	ts := newTestServer(t)
	ts.newUser(t, "wanjiru")
	id, token := ts.newUser(t, "muthoni")
	res := ts.call(t, "PUT", "/api/users/2", token, `{"about_me": "Drinks tea."}`)
	wantStatus(t, "PUT /api/users/2", res, http.StatusOK)

	res = ts.call(t, "POST", "/api/posts", token, `{"title": "Tea", "body": "Steep it\n\tfor three minutes."}`)
	wantStatus(t, "POST /api/posts", res, http.StatusCreated)
	if got := res.header.Get("Location"); got != "/api/posts/1" {
		t.Errorf("POST /api/posts: Location = %q, want /api/posts/1", got)
	}
	want := wantedPost{id: 1, title: "Tea", body: "Steep it\n\tfor three minutes.",
		authorID: id, author: "muthoni", aboutAuthor: "Drinks tea.", authorPosts: 1}
	wantPost(t, "POST /api/posts", res.object(t), want, ts.clock.Now())
	if n := ts.count(t, "posts"); n != 1 {
		t.Errorf("posts = %d rows, want 1", n)
	}
	if got := ts.postRow(t, 1); got.UserID != id {
		t.Errorf("stored post user_id = %d, want %d", got.UserID, id)
	}

	// The post is there to read, and counts for its author.
	ts.clock.Advance(10 * time.Minute)
	created := ts.clock.Now().Add(-10 * time.Minute)
	res = ts.call(t, "GET", "/api/posts/1", token, "")
	wantStatus(t, "GET /api/posts/1", res, http.StatusOK)
	wantPost(t, "GET /api/posts/1", res.object(t), want, created)
	res = ts.call(t, "GET", "/api/users/2", token, "")
	wantStatus(t, "GET /api/users/2", res, http.StatusOK)
	if got := res.object(t)["post_count"]; got != float64(1) {
		t.Errorf("GET /api/users/2: post_count = %v, want 1", got)
	}
}

func TestCreatePostIgnoresAuthorFields(t *testing.T) {
	ts := newTestServer(t)
	victim, _ := ts.newUser(t, "wanjiru")
	id, token := ts.newUser(t, "muthoni")
	res := ts.call(t, "POST", "/api/posts", token, fmt.Sprintf(`{
		"title": "Mine",
		"body": "Really mine.",
		"id": 42,
		"author": {"id": %d, "username": "wanjiru"},
		"user_id": %d,
		"author_id": %d,
		"timestamp": "2001-01-01T00:00:00Z"
	}`, victim, victim, victim))
	wantStatus(t, "POST /api/posts", res, http.StatusCreated)
	wantPost(t, "POST /api/posts", res.object(t),
		wantedPost{id: 1, title: "Mine", body: "Really mine.", authorID: id, author: "muthoni", authorPosts: 1}, ts.clock.Now())
	if got := ts.postRow(t, 1); got.UserID != id {
		t.Errorf("stored post user_id = %d, want %d (the caller)", got.UserID, id)
	}
}

func TestCreatePostAcceptsLimits(t *testing.T) {
	tests := []struct {
		name  string
		title string
		body  string
	}{
		{"one-character title and body", "T", "B"},
		{"100-character title", strings.Repeat("t", 100), "body"},
		{"100 non-ASCII characters as title", strings.Repeat("é", 100), "body"},
		{"10,000-character body", "title", strings.Repeat("b", 10_000)},
		{"10,000 non-ASCII characters as body", "title", strings.Repeat("ü", 10_000)},
		{"body with newlines and tabs", "title", "line one\r\n\tline two\n"},
		{"title with spaces around", "  padded  ", "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			id, token := ts.newUser(t, "muthoni")
			res := ts.call(t, "POST", "/api/posts", token, jsonText(t, map[string]string{"title": tt.title, "body": tt.body}))
			wantStatus(t, "POST /api/posts", res, http.StatusCreated)
			wantPost(t, "POST /api/posts", res.object(t),
				wantedPost{id: 1, title: tt.title, body: tt.body, authorID: id, author: "muthoni", authorPosts: 1}, ts.clock.Now())
			if got := ts.postRow(t, 1); got.Title != tt.title || got.Body != tt.body {
				t.Errorf("stored post = %q, %q; want %q, %q", got.Title, got.Body, tt.title, tt.body)
			}
		})
	}
}

// postBodyCases are bodies that creating a post refuses.
var postBodyCases = []bodyCase{
	{"no title", "", `{"body": "text"}`, 400, "field title is required"},
	{"null title", "", `{"title": null, "body": "text"}`, 400, "field title is required"},
	{"empty title", "", `{"title": "", "body": "text"}`, 400, "field title is required"},
	{"blank title", "", `{"title": "  \u00a0 ", "body": "text"}`, 400, "field title is required"},
	{"101-character title", "", `{"title": "` + strings.Repeat("t", 101) + `", "body": "text"}`, 400, "field title must be 1 to 100 characters"},
	{"title with a newline", "", `{"title": "two\nlines", "body": "text"}`, 400, "field title must not contain control characters"},
	{"title with a tab", "", `{"title": "a\tb", "body": "text"}`, 400, "field title must not contain control characters"},
	{"title with a NUL", "", `{"title": "a\u0000b", "body": "text"}`, 400, "field title must not contain control characters"},
	{"title with an escape", "", `{"title": "a\u001b[31mb", "body": "text"}`, 400, "field title must not contain control characters"},
	{"title with DEL", "", `{"title": "a\u007fb", "body": "text"}`, 400, "field title must not contain control characters"},
	{"title with a C1 control", "", `{"title": "a\u0085b", "body": "text"}`, 400, "field title must not contain control characters"},
	{"title a number", "", `{"title": 5, "body": "text"}`, 400, "field title must be a string"},
	{"no body", "", `{"title": "Tea"}`, 400, "field body is required"},
	{"empty body", "", `{"title": "Tea", "body": ""}`, 400, "field body is required"},
	{"blank body", "", `{"title": "Tea", "body": "\n\t "}`, 400, "field body is required"},
	{"10,001-character body", "", `{"title": "Tea", "body": "` + strings.Repeat("b", 10_001) + `"}`, 400, "field body must be 1 to 10000 characters"},
	{"body with a NUL", "", `{"title": "Tea", "body": "a\u0000b"}`, 400, "field body must not contain control characters"},
	{"body an array", "", `{"title": "Tea", "body": ["text"]}`, 400, "field body must be a string"},
	{"text body", "text/plain", `{"title": "Tea", "body": "text"}`, 415, "Content-Type must be application/json"},
	{"no Content-Type", "-", `{"title": "Tea", "body": "text"}`, 415, "Content-Type must be application/json"},
	{"malformed JSON", "", `{"title": "Tea" "body": "text"}`, 400, "request body is malformed JSON"},
	{"truncated JSON", "", `{"title": "Tea", "body": `, 400, "request body is malformed JSON"},
	{"empty request body", "", "", 400, "request body must not be empty"},
}

func TestCreatePostInvalid(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	for _, path := range []string{"/api/posts", "/api/posts/user/1"} {
		for _, tt := range postBodyCases {
			t.Run(path+"/"+tt.name, func(t *testing.T) {
				res := tt.send(t, ts, "POST", path, token)
				wantError(t, "POST "+path, res, tt.status, tt.message)
				if n := ts.count(t, "posts"); n != 0 {
					t.Errorf("posts = %d rows, want 0", n)
				}
			})
		}
	}
}

func TestCreatePostForUser(t *testing.T) {
	ts := newTestServer(t)
	other, _ := ts.newUser(t, "wanjiru")
	id, token := ts.newUser(t, "muthoni")

	res := ts.call(t, "POST", "/api/posts/user/2", token, `{"title": "Tea", "body": "About tea.", "user_id": 1}`)
	wantStatus(t, "POST /api/posts/user/2 as user 2", res, http.StatusCreated)
	if got := res.header.Get("Location"); got != "/api/posts/1" {
		t.Errorf("POST /api/posts/user/2: Location = %q, want /api/posts/1", got)
	}
	wantPost(t, "POST /api/posts/user/2", res.object(t),
		wantedPost{id: 1, title: "Tea", body: "About tea.", authorID: id, author: "muthoni", authorPosts: 1}, ts.clock.Now())

	tests := []struct {
		name   string
		path   string
		status int
	}{
		{"another user", fmt.Sprintf("/api/posts/user/%d", other), http.StatusForbidden},
		{"a user that does not exist", "/api/posts/user/99", http.StatusForbidden},
		{"not an id", "/api/posts/user/abc", http.StatusNotFound},
		{"zero", "/api/posts/user/0", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := ts.call(t, "POST", tt.path, token, `{"title": "Forged", "body": "Not mine."}`)
			wantError(t, "POST "+tt.path+" as user 2", res, tt.status, "")
			if res.status == http.StatusForbidden {
				wantError(t, "POST "+tt.path, res, tt.status, "only as yourself")
			}
			if n := ts.count(t, "posts"); n != 1 {
				t.Errorf("posts = %d rows, want 1", n)
			}
		})
	}
}

func TestGetPost(t *testing.T) {
	ts := newTestServer(t)
	author, authorToken := ts.newUser(t, "muthoni")
	_, token := ts.newUser(t, "wanjiru")
	ts.createPost(t, authorToken, "Tea", "About tea.")

	// Anyone with a token reads any post.
	res := ts.call(t, "GET", "/api/posts/1", token, "")
	wantStatus(t, "GET /api/posts/1", res, http.StatusOK)
	wantPost(t, "GET /api/posts/1", res.object(t),
		wantedPost{id: 1, title: "Tea", body: "About tea.", authorID: author, author: "muthoni", authorPosts: 1}, ts.clock.Now())

	for _, id := range []string{"2", "999999", "abc", "0", "-1", "1.5", "9999999999999999999999"} {
		t.Run(id, func(t *testing.T) {
			res := ts.call(t, "GET", "/api/posts/"+id, token, "")
			wantError(t, "GET /api/posts/"+id, res, http.StatusNotFound, "")
		})
	}
}

func TestPostsNeedToken(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	ts.createPost(t, token, "Tea", "About tea.")
	before := ts.postRow(t, 1)
	tests := []struct {
		name   string
		method string
		path   string
		body   string
	}{
		{"list posts", "GET", "/api/posts", ""},
		{"get post", "GET", "/api/posts/1", ""},
		{"create post", "POST", "/api/posts", `{"title": "Anon", "body": "text"}`},
		{"create post for user", "POST", "/api/posts/user/1", `{"title": "Anon", "body": "text"}`},
		{"update post", "PUT", "/api/posts/1", `{"title": "Changed"}`},
		{"delete post", "DELETE", "/api/posts/1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := ts.call(t, tt.method, tt.path, "", tt.body)
			wantError(t, tt.method+" "+tt.path+" without a token", res, http.StatusUnauthorized, "")
			if n := ts.count(t, "posts"); n != 1 {
				t.Errorf("posts = %d rows, want 1", n)
			}
			if got := ts.postRow(t, 1); got != before {
				t.Errorf("post changed: %+v, was %+v", got, before)
			}
		})
	}
}

func TestUpdatePost(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		title string
		text  string
	}{
		{"title only", `{"title": "Coffee"}`, "Coffee", "About tea."},
		{"body only", `{"body": "About coffee."}`, "Tea", "About coffee."},
		{"both", `{"title": "Coffee", "body": "About coffee."}`, "Coffee", "About coffee."},
		{"nothing", `{}`, "Tea", "About tea."},
		{"nulls", `{"title": null, "body": null}`, "Tea", "About tea."},
		{"server fields ignored", `{"title": "Coffee", "id": 9, "user_id": 1, "author": {"id": 1}, "timestamp": "2001-01-01T00:00:00Z"}`, "Coffee", "About tea."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			ts.newUser(t, "wanjiru")
			id, token := ts.newUser(t, "muthoni")
			created := ts.clock.Now()
			ts.createPost(t, token, "Tea", "About tea.")
			ts.clock.Advance(10 * time.Minute)

			res := ts.call(t, "PUT", "/api/posts/1", token, tt.body)
			wantStatus(t, "PUT /api/posts/1", res, http.StatusOK)
			want := wantedPost{id: 1, title: tt.title, body: tt.text, authorID: id, author: "muthoni", authorPosts: 1}
			wantPost(t, "PUT /api/posts/1", res.object(t), want, created)
			res = ts.call(t, "GET", "/api/posts/1", token, "")
			wantStatus(t, "GET /api/posts/1", res, http.StatusOK)
			wantPost(t, "GET /api/posts/1 after PUT", res.object(t), want, created)
			if got := ts.postRow(t, 1); got.UserID != id {
				t.Errorf("stored post user_id = %d, want %d", got.UserID, id)
			}
		})
	}
}

func TestUpdatePostInvalid(t *testing.T) {
	// An update may leave out a field, but what it sends is checked as on
	// create.
	tests := []bodyCase{}
	for _, tt := range postBodyCases {
		switch tt.name {
		case "no title", "null title", "no body":
			continue
		}
		tests = append(tests, tt)
	}
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	ts.createPost(t, token, "Tea", "About tea.")
	before := ts.postRow(t, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.send(t, ts, "PUT", "/api/posts/1", token)
			wantError(t, "PUT /api/posts/1", res, tt.status, tt.message)
			if got := ts.postRow(t, 1); got != before {
				t.Errorf("post changed: %+v, was %+v", got, before)
			}
		})
	}
}

func TestDeletePost(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	ts.createPost(t, token, "Tea", "About tea.")
	ts.createPost(t, token, "Coffee", "About coffee.")

	res := ts.call(t, "DELETE", "/api/posts/1", token, "")
	wantStatus(t, "DELETE /api/posts/1", res, http.StatusNoContent)
	if len(res.body) != 0 {
		t.Errorf("DELETE /api/posts/1: body %q, want none", res.body)
	}
	res = ts.call(t, "GET", "/api/posts/1", token, "")
	wantError(t, "GET /api/posts/1 after DELETE", res, http.StatusNotFound, "")
	if n := ts.count(t, "posts"); n != 1 {
		t.Errorf("posts = %d rows, want 1", n)
	}
	// The other post is untouched and the author's count went down.
	res = ts.call(t, "GET", "/api/posts/2", token, "")
	wantStatus(t, "GET /api/posts/2", res, http.StatusOK)
	wantPost(t, "GET /api/posts/2", res.object(t),
		wantedPost{id: 2, title: "Coffee", body: "About coffee.", authorID: id, author: "muthoni", authorPosts: 1}, ts.clock.Now())

	res = ts.call(t, "DELETE", "/api/posts/1", token, "")
	wantError(t, "DELETE /api/posts/1 again", res, http.StatusNotFound, "")
}

// TestChangePostNotOwn tries to edit and delete a post as a user who did not
// write it, or a post that does not exist: each is refused and the post
// stays as it was.
func TestChangePostNotOwn(t *testing.T) {
	ts := newTestServer(t)
	_, authorToken := ts.newUser(t, "muthoni")
	_, token := ts.newUser(t, "wanjiru")
	ts.createPost(t, authorToken, "Tea", "About tea.")
	before := ts.postRow(t, 1)
	tests := []struct {
		name    string
		path    string
		status  int
		message string
	}{
		{"another's post", "/api/posts/1", http.StatusForbidden, "only your own posts"},
		{"missing post", "/api/posts/2", http.StatusNotFound, ""},
		{"not an id", "/api/posts/abc", http.StatusNotFound, ""},
		{"negative id", "/api/posts/-1", http.StatusNotFound, ""},
	}
	for _, method := range []string{"PUT", "DELETE"} {
		for _, tt := range tests {
			t.Run(method+" "+tt.name, func(t *testing.T) {
				res := ts.call(t, method, tt.path, token, `{"title": "Mine now", "body": "Hijacked."}`)
				wantError(t, method+" "+tt.path+" as user 2", res, tt.status, tt.message)
				if got := ts.postRow(t, 1); got != before {
					t.Errorf("post changed: %+v, was %+v", got, before)
				}
				if n := ts.count(t, "posts"); n != 1 {
					t.Errorf("posts = %d rows, want 1", n)
				}
			})
		}
	}
}
