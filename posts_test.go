package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

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

// postJSON is the JSON a test wants for a post, without timestamp, which
// is checked as a time. An empty aboutAuthor means null.
func postJSON(id int64, title, body string, authorID int64, author, aboutAuthor string, postCount int) map[string]any {
	var about any
	if aboutAuthor != "" {
		about = aboutAuthor
	}
	return map[string]any{
		"id":    id,
		"title": title,
		"body":  body,
		"author": map[string]any{
			"id":           authorID,
			"username":     author,
			"about_author": about,
			"post_count":   postCount,
		},
		"_links": map[string]any{
			"self":         fmt.Sprintf("/api/posts/%d", id),
			"author":       fmt.Sprintf("/api/users/%d", authorID),
			"author_posts": fmt.Sprintf("/api/users/%d/my-posts", authorID),
		},
	}
}

// wantPost checks a post object: timestamp as a time, the rest exactly.
func wantPost(t testing.TB, what string, got map[string]any, want map[string]any, timestamp time.Time) {
	t.Helper()
	wantTimestamp(t, what+": timestamp", got["timestamp"], timestamp)
	rest := map[string]any{}
	for k, v := range got {
		if k != "timestamp" {
			rest[k] = v
		}
	}
	wantJSON(t, what, rest, want)
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
	want := postJSON(1, "Tea", "Steep it\n\tfor three minutes.", id, "muthoni", "Drinks tea.", 1)
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
		postJSON(1, "Mine", "Really mine.", id, "muthoni", "", 1), ts.clock.Now())
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
			wantPost(t, "POST /api/posts", res.object(t), postJSON(1, tt.title, tt.body, id, "muthoni", "", 1), ts.clock.Now())
			if got := ts.postRow(t, 1); got.Title != tt.title || got.Body != tt.body {
				t.Errorf("stored post = %q, %q; want %q, %q", got.Title, got.Body, tt.title, tt.body)
			}
		})
	}
}

// postBodyCases are bodies that creating a post refuses.
var postBodyCases = []bodyCase{
	{"no title", "", `{"body": "text"}`, 400, "title is required"},
	{"null title", "", `{"title": null, "body": "text"}`, 400, "title is required"},
	{"empty title", "", `{"title": "", "body": "text"}`, 400, "title is required"},
	{"blank title", "", `{"title": "  \u00a0 ", "body": "text"}`, 400, "title is required"},
	{"101-character title", "", `{"title": "` + strings.Repeat("t", 101) + `", "body": "text"}`, 400, "title must be 1 to 100 characters"},
	{"title with a newline", "", `{"title": "two\nlines", "body": "text"}`, 400, "title must not contain control characters"},
	{"title with a tab", "", `{"title": "a\tb", "body": "text"}`, 400, "title must not contain control characters"},
	{"title with a NUL", "", `{"title": "a\u0000b", "body": "text"}`, 400, "title must not contain control characters"},
	{"title with an escape", "", `{"title": "a\u001b[31mb", "body": "text"}`, 400, "title must not contain control characters"},
	{"title with DEL", "", `{"title": "a\u007fb", "body": "text"}`, 400, "title must not contain control characters"},
	{"title with a C1 control", "", `{"title": "a\u0085b", "body": "text"}`, 400, "title must not contain control characters"},
	{"title a number", "", `{"title": 5, "body": "text"}`, 400, "title must be a string"},
	{"no body", "", `{"title": "Tea"}`, 400, "body is required"},
	{"empty body", "", `{"title": "Tea", "body": ""}`, 400, "body is required"},
	{"blank body", "", `{"title": "Tea", "body": "\n\t "}`, 400, "body is required"},
	{"10,001-character body", "", `{"title": "Tea", "body": "` + strings.Repeat("b", 10_001) + `"}`, 400, "body must be 1 to 10000 characters"},
	{"body with a NUL", "", `{"title": "Tea", "body": "a\u0000b"}`, 400, "body must not contain control characters"},
	{"body an array", "", `{"title": "Tea", "body": ["text"]}`, 400, "body must be a string"},
	{"text body", "text/plain", `{"title": "Tea", "body": "text"}`, 415, "Content-Type must be application/json"},
	{"no Content-Type", "-", `{"title": "Tea", "body": "text"}`, 415, "Content-Type must be application/json"},
	{"malformed JSON", "", `{"title": "Tea" "body": "text"}`, 400, "malformed JSON"},
	{"truncated JSON", "", `{"title": "Tea", "body": `, 400, "malformed JSON"},
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
	wantPost(t, "POST /api/posts/user/2", res.object(t), postJSON(1, "Tea", "About tea.", id, "muthoni", "", 1), ts.clock.Now())

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
	wantPost(t, "GET /api/posts/1", res.object(t), postJSON(1, "Tea", "About tea.", author, "muthoni", "", 1), ts.clock.Now())

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
			want := postJSON(1, tt.title, tt.text, id, "muthoni", "", 1)
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
	wantPost(t, "GET /api/posts/2", res.object(t), postJSON(2, "Coffee", "About coffee.", id, "muthoni", "", 1), ts.clock.Now())

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

func TestListPosts(t *testing.T) {
	ts := newTestServer(t)
	_, amina := ts.newUser(t, "amina")
	_, baraka := ts.newUser(t, "baraka")
	// Posts 1, 3, 5 by amina and 2, 4 by baraka.
	for i := 1; i <= 5; i++ {
		token := amina
		if i%2 == 0 {
			token = baraka
		}
		ts.createPost(t, token, fmt.Sprintf("Post %d", i), "text")
		ts.clock.Advance(time.Minute)
	}

	ts.checkPages(t, baraka, []pageCase{
		{"all, newest first", "/api/posts",
			[]int64{5, 4, 3, 2, 1},
			map[string]any{"page": 1, "per_page": 10, "total_pages": 1, "total_items": 5},
			map[string]any{"self": "/api/posts?page=1&per_page=10", "next": nil, "prev": nil}},
		{"first page", "/api/posts?per_page=2",
			[]int64{5, 4},
			map[string]any{"page": 1, "per_page": 2, "total_pages": 3, "total_items": 5},
			map[string]any{"self": "/api/posts?page=1&per_page=2", "next": strPtr("/api/posts?page=2&per_page=2"), "prev": nil}},
		{"middle page", "/api/posts?page=2&per_page=2",
			[]int64{3, 2},
			map[string]any{"page": 2, "per_page": 2, "total_pages": 3, "total_items": 5},
			map[string]any{"self": "/api/posts?page=2&per_page=2", "next": strPtr("/api/posts?page=3&per_page=2"), "prev": strPtr("/api/posts?page=1&per_page=2")}},
		{"last page", "/api/posts?page=3&per_page=2",
			[]int64{1},
			map[string]any{"page": 3, "per_page": 2, "total_pages": 3, "total_items": 5},
			map[string]any{"self": "/api/posts?page=3&per_page=2", "next": nil, "prev": strPtr("/api/posts?page=2&per_page=2")}},
		{"past the end", "/api/posts?page=4&per_page=2",
			[]int64{},
			map[string]any{"page": 4, "per_page": 2, "total_pages": 3, "total_items": 5},
			map[string]any{"self": "/api/posts?page=4&per_page=2", "next": nil, "prev": strPtr("/api/posts?page=3&per_page=2")}},
		{"per_page capped", "/api/posts?per_page=500",
			[]int64{5, 4, 3, 2, 1},
			map[string]any{"page": 1, "per_page": 100, "total_pages": 1, "total_items": 5},
			map[string]any{"self": "/api/posts?page=1&per_page=100", "next": nil, "prev": nil}},
		{"one user's, newest first", "/api/users/1/my-posts",
			[]int64{5, 3, 1},
			map[string]any{"page": 1, "per_page": 10, "total_pages": 1, "total_items": 3},
			map[string]any{"self": "/api/users/1/my-posts?page=1&per_page=10", "next": nil, "prev": nil}},
		{"one user's, paged", "/api/users/1/my-posts?page=2&per_page=2",
			[]int64{1},
			map[string]any{"page": 2, "per_page": 2, "total_pages": 2, "total_items": 3},
			map[string]any{"self": "/api/users/1/my-posts?page=2&per_page=2", "next": nil, "prev": strPtr("/api/users/1/my-posts?page=1&per_page=2")}},
		{"another user's", "/api/users/2/my-posts?per_page=1",
			[]int64{4},
			map[string]any{"page": 1, "per_page": 1, "total_pages": 2, "total_items": 2},
			map[string]any{"self": "/api/users/2/my-posts?page=1&per_page=1", "next": strPtr("/api/users/2/my-posts?page=2&per_page=1"), "prev": nil}},
		{"one user's past the end", "/api/users/2/my-posts?page=9",
			[]int64{},
			map[string]any{"page": 9, "per_page": 10, "total_pages": 1, "total_items": 2},
			map[string]any{"self": "/api/users/2/my-posts?page=9&per_page=10", "next": nil, "prev": strPtr("/api/users/2/my-posts?page=1&per_page=10")}},
	})

	// Items are whole posts.
	res := ts.call(t, "GET", "/api/posts?per_page=1", amina, "")
	wantStatus(t, "GET /api/posts?per_page=1", res, http.StatusOK)
	items := res.object(t)["items"].([]any)
	wantPost(t, "GET /api/posts?per_page=1: item 0", items[0].(map[string]any),
		postJSON(5, "Post 5", "text", 1, "amina", "", 3), ts.clock.Now().Add(-time.Minute))
}

func TestListPostsEmpty(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	for _, path := range []string{"/api/posts", "/api/users/1/my-posts"} {
		res := ts.call(t, "GET", path, token, "")
		wantStatus(t, "GET "+path, res, http.StatusOK)
		got := res.object(t)
		wantJSON(t, "GET "+path+": ids", itemIDs(t, "GET "+path, got), []int64{})
		wantJSON(t, "GET "+path+": _meta", got["_meta"],
			map[string]any{"page": 1, "per_page": 10, "total_pages": 0, "total_items": 0})
		wantJSON(t, "GET "+path+": _links", got["_links"],
			map[string]any{"self": path + "?page=1&per_page=10", "next": nil, "prev": nil})
	}
}

func TestListUserPostsNotFound(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	for _, id := range []string{"2", "999999", "abc", "0", "-1"} {
		t.Run(id, func(t *testing.T) {
			path := "/api/users/" + id + "/my-posts"
			res := ts.call(t, "GET", path, token, "")
			wantError(t, "GET "+path, res, http.StatusNotFound, "")
		})
	}
}

// The server caches pages of the collections; every write must show in
// them at once. The test clock stands still, so nothing here ages out of a
// cache: each change must be forgotten by the write itself.
func TestCollectionsShowWritesAtOnce(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	pages := func(what string) (users, posts map[string]any) {
		t.Helper()
		res := ts.call(t, "GET", "/api/users", token, "")
		wantStatus(t, what+": GET /api/users", res, http.StatusOK)
		users = res.object(t)
		res = ts.call(t, "GET", "/api/posts", token, "")
		wantStatus(t, what+": GET /api/posts", res, http.StatusOK)
		return users, res.object(t)
	}
	first := func(m map[string]any) map[string]any {
		items := m["items"].([]any)
		if len(items) == 0 {
			t.Fatalf("no items in %v", m)
		}
		return items[0].(map[string]any)
	}
	pages("before the writes") // now cached

	ts.createUser(t, "kamau", "kamau-password")
	if users, _ := pages("after a sign-up"); users["_meta"].(map[string]any)["total_items"] != float64(2) {
		t.Errorf("after a sign-up: users _meta = %v, want total_items 2", users["_meta"])
	}

	id := ts.createPost(t, token, "first", "one")
	users, posts := pages("after a new post")
	if got := first(posts)["title"]; got != "first" {
		t.Errorf("after a new post: first post title = %v, want first", got)
	}
	if got := first(users)["post_count"]; got != float64(1) {
		t.Errorf("after a new post: user post_count = %v, want 1", got)
	}

	path := fmt.Sprintf("/api/posts/%d", id)
	wantStatus(t, "PUT "+path, ts.call(t, "PUT", path, token, `{"title": "edited"}`), http.StatusOK)
	if _, posts := pages("after an edit"); first(posts)["title"] != "edited" {
		t.Errorf("after an edit: first post title = %v, want edited", first(posts)["title"])
	}

	wantStatus(t, "PUT /api/users/1", ts.call(t, "PUT", "/api/users/1", token, `{"username": "muthoni2"}`), http.StatusOK)
	users, posts = pages("after a rename")
	if first(users)["username"] != "muthoni2" || first(posts)["author"].(map[string]any)["username"] != "muthoni2" {
		t.Errorf("after a rename: user %v, post author %v, want muthoni2 in both", first(users)["username"], first(posts)["author"])
	}

	wantStatus(t, "DELETE "+path, ts.call(t, "DELETE", path, token, ""), http.StatusNoContent)
	users, posts = pages("after a delete")
	if n := len(posts["items"].([]any)); n != 0 {
		t.Errorf("after a delete: %d posts listed, want 0", n)
	}
	if got := first(users)["post_count"]; got != float64(0) {
		t.Errorf("after a delete: user post_count = %v, want 0", got)
	}
}

// A page of long posts is served but not kept: the page caches stay small
// whatever clients write.
func TestLongPostPagesNotCached(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	body := strings.Repeat("é", maxBodyLen) // 20,000 bytes
	for range 4 {
		ts.createPost(t, token, "long", body)
	}
	for _, path := range []string{"/api/posts?per_page=2", "/api/posts?per_page=4"} {
		res := ts.call(t, "GET", path, token, "")
		wantStatus(t, "GET "+path, res, http.StatusOK)
	}
	pages, now := ts.cache.postPages, ts.clock.Now()
	if _, ok := pages.get(pageKey{limit: 4}, now); ok {
		t.Error("a page of 80,000 bytes of posts was cached")
	}
	if _, ok := pages.get(pageKey{limit: 2}, now); !ok {
		t.Error("a page of 40,000 bytes of posts was not cached")
	}
}
