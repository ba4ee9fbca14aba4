package main

// Crosses the whole program: the collections, their handlers, paging and caches.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// The collections, GET /api/users, /api/posts and /api/users/{id}/my-posts:
// their pages, their links, and how soon they show a write.

// pageCase is one request for a page of a collection and what it must hold.
type pageCase struct {
	name  string
	path  string
	ids   []int64
	meta  map[string]any
	links map[string]any
}

// checkPages gets each page with token and compares the ids of its items,
// its _meta and its _links.
func (ts *testServer) checkPages(t *testing.T, token string, cases []pageCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			what := "GET " + tc.path
			res := ts.call(t, "GET", tc.path, token, "")
			wantStatus(t, what, res, http.StatusOK)
			got := res.object(t)
			wantJSON(t, what+": ids", itemIDs(t, what, got), tc.ids)
			wantJSON(t, what+": _meta", got["_meta"], tc.meta)
			wantJSON(t, what+": _links", got["_links"], tc.links)
		})
	}
}

// itemIDs returns the ids of a collection's items, failing unless items is
// a JSON array (an empty page must be [], not null).
func itemIDs(t testing.TB, what string, m map[string]any) []int64 {
	t.Helper()
	items, ok := m["items"].([]any)
	if !ok {
		t.Fatalf("%s: items = %v (%T), want a JSON array", what, m["items"], m["items"])
	}
	ids := []int64{}
	for _, item := range items {
		ids = append(ids, int64(item.(map[string]any)["id"].(float64)))
	}
	return ids
}

// strPtr makes a wanted link; nil is JSON null.
func strPtr(s string) *string { return &s }

func TestListUsers(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "amina")
	ts.newUser(t, "baraka")
	ts.newUser(t, "chebet")
	ts.newUser(t, "dalia")
	ts.newUser(t, "eshe")

	ts.checkPages(t, token, []pageCase{
		{"defaults", "/api/users",
			[]int64{1, 2, 3, 4, 5},
			map[string]any{"page": 1, "per_page": 10, "total_pages": 1, "total_items": 5},
			map[string]any{"self": "/api/users?page=1&per_page=10", "next": nil, "prev": nil}},
		{"first page", "/api/users?per_page=2",
			[]int64{1, 2},
			map[string]any{"page": 1, "per_page": 2, "total_pages": 3, "total_items": 5},
			map[string]any{"self": "/api/users?page=1&per_page=2", "next": strPtr("/api/users?page=2&per_page=2&after=2"), "prev": nil}},
		{"middle page", "/api/users?page=2&per_page=2",
			[]int64{3, 4},
			map[string]any{"page": 2, "per_page": 2, "total_pages": 3, "total_items": 5},
			map[string]any{"self": "/api/users?page=2&per_page=2", "next": strPtr("/api/users?page=3&per_page=2&after=4"), "prev": strPtr("/api/users?page=1&per_page=2")}},
		{"last page", "/api/users?per_page=2&page=3",
			[]int64{5},
			map[string]any{"page": 3, "per_page": 2, "total_pages": 3, "total_items": 5},
			map[string]any{"self": "/api/users?page=3&per_page=2", "next": nil, "prev": strPtr("/api/users?page=2&per_page=2")}},
		{"past the end", "/api/users?page=4&per_page=2",
			[]int64{},
			map[string]any{"page": 4, "per_page": 2, "total_pages": 3, "total_items": 5},
			map[string]any{"self": "/api/users?page=4&per_page=2", "next": nil, "prev": strPtr("/api/users?page=3&per_page=2")}},
		{"further past the end: prev is the last page", "/api/users?page=7&per_page=2",
			[]int64{},
			map[string]any{"page": 7, "per_page": 2, "total_pages": 3, "total_items": 5},
			map[string]any{"self": "/api/users?page=7&per_page=2", "next": nil, "prev": strPtr("/api/users?page=3&per_page=2")}},
		{"far past the end", "/api/users?page=999999999",
			[]int64{},
			map[string]any{"page": 999999999, "per_page": 10, "total_pages": 1, "total_items": 5},
			map[string]any{"self": "/api/users?page=999999999&per_page=10", "next": nil, "prev": strPtr("/api/users?page=1&per_page=10")}},
		{"per_page capped", "/api/users?per_page=500",
			[]int64{1, 2, 3, 4, 5},
			map[string]any{"page": 1, "per_page": 100, "total_pages": 1, "total_items": 5},
			map[string]any{"self": "/api/users?page=1&per_page=100", "next": nil, "prev": nil}},
		{"per_page at the cap", "/api/users?per_page=100",
			[]int64{1, 2, 3, 4, 5},
			map[string]any{"page": 1, "per_page": 100, "total_pages": 1, "total_items": 5},
			map[string]any{"self": "/api/users?page=1&per_page=100", "next": nil, "prev": nil}},
		{"leading zeros", "/api/users?page=02&per_page=002",
			[]int64{3, 4},
			map[string]any{"page": 2, "per_page": 2, "total_pages": 3, "total_items": 5},
			map[string]any{"self": "/api/users?page=2&per_page=2", "next": strPtr("/api/users?page=3&per_page=2&after=4"), "prev": strPtr("/api/users?page=1&per_page=2")}},
	})
}

// TestPaginationInvalid covers page and per_page on every collection
// (TestBadCursor, after).
func TestPaginationInvalid(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	ts.createPost(t, token, "Tea", "About tea.")
	values := []struct {
		name  string
		value string
	}{
		{"zero", "0"},
		{"negative", "-1"},
		{"word", "abc"},
		{"fraction", "1.5"},
		{"empty", ""},
		{"plus sign", "%2B1"},
		{"space", "%201"},
		{"ten digits", "1000000000"},
		{"huge", "99999999999999999999999"},
		{"hex", "0x10"},
	}
	for _, path := range []string{"/api/users", "/api/posts", "/api/users/1/my-posts"} {
		for _, param := range []string{"page", "per_page"} {
			for _, v := range values {
				t.Run(path+"/"+param+"/"+v.name, func(t *testing.T) {
					url := path + "?" + param + "=" + v.value
					res := ts.call(t, "GET", url, token, "")
					wantError(t, "GET "+url, res, http.StatusBadRequest, param+" must be a positive integer")
				})
			}
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
			map[string]any{"self": "/api/posts?page=1&per_page=2", "next": strPtr("/api/posts?page=2&per_page=2&after=4"), "prev": nil}},
		{"middle page", "/api/posts?page=2&per_page=2",
			[]int64{3, 2},
			map[string]any{"page": 2, "per_page": 2, "total_pages": 3, "total_items": 5},
			map[string]any{"self": "/api/posts?page=2&per_page=2", "next": strPtr("/api/posts?page=3&per_page=2&after=2"), "prev": strPtr("/api/posts?page=1&per_page=2")}},
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
			map[string]any{"self": "/api/users/2/my-posts?page=1&per_page=1", "next": strPtr("/api/users/2/my-posts?page=2&per_page=1&after=4"), "prev": nil}},
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
		wantedPost{id: 5, title: "Post 5", body: "text", authorID: 1, author: "amina", authorPosts: 3}, ts.clock.Now().Add(-time.Minute))
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
	ts := newCachingTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	body := strings.Repeat("é", maxBodyLen) // 20,000 bytes
	for range 4 {
		ts.createPost(t, token, "long", body)
	}
	for _, path := range []string{"/api/posts?per_page=2", "/api/posts?per_page=4"} {
		res := ts.call(t, "GET", path, token, "")
		wantStatus(t, "GET "+path, res, http.StatusOK)
	}
	// Each page is read with one post more, to tell whether a next follows.
	pages, now := ts.cache.postPages, ts.clock.Now()
	if _, ok := pages.get(pageKey{pageQuery: pageQuery{limit: 5}}, now); ok {
		t.Error("a page of 100,000 bytes of posts was cached")
	}
	if _, ok := pages.get(pageKey{pageQuery: pageQuery{limit: 3}}, now); !ok {
		t.Error("a page of 60,000 bytes of posts was not cached")
	}
}

// pageBody is a collection page as the tests read it.
type pageBody struct {
	Items []struct {
		ID int64 `json:"id"`
	} `json:"items"`
	Meta struct {
		Page int `json:"page"`
	} `json:"_meta"`
	Links struct {
		Self string  `json:"self"`
		Next *string `json:"next"`
	} `json:"_links"`
}

// getPage gets one page of a collection.
func (ts *testServer) getPage(t *testing.T, path, token string) pageBody {
	t.Helper()
	res := ts.call(t, "GET", path, token, "")
	wantStatus(t, "GET "+path, res, http.StatusOK)
	var p pageBody
	if err := json.Unmarshal(res.body, &p); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return p
}

// followNext gets first and every page its next links lead to, calling
// between (if not nil) with the ids so far before each next page. It returns the ids in the
// order they came, and checks that _meta.page counts the pages.
func (ts *testServer) followNext(t *testing.T, first, token string, between func([]int64)) []int64 {
	t.Helper()
	var ids []int64
	path := first
	for number := 1; ; number++ {
		p := ts.getPage(t, path, token)
		if p.Meta.Page != number {
			t.Errorf("GET %s: _meta.page = %d, want %d", path, p.Meta.Page, number)
		}
		for _, item := range p.Items {
			ids = append(ids, item.ID)
		}
		if p.Links.Next == nil {
			return ids
		}
		if number > 100 {
			t.Fatalf("GET %s: still a next link after 100 pages", path)
		}
		if between != nil {
			between(ids)
		}
		path = *p.Links.Next
	}
}

// pageNumbersIDs gets ?page=1, 2, ... of path the way a client that counts
// pages does, calling between as followNext does, until a page has no next.
func (ts *testServer) pageNumbersIDs(t *testing.T, path, token string, perPage int, between func([]int64)) []int64 {
	t.Helper()
	var ids []int64
	for number := 1; ; number++ {
		if number > 1 && between != nil {
			between(ids)
		}
		if number > 100 {
			t.Fatalf("GET %s: still a next link after 100 pages", path)
		}
		url := fmt.Sprintf("%s?page=%d&per_page=%d", path, number, perPage)
		res := ts.call(t, "GET", url, token, "")
		wantStatus(t, "GET "+url, res, http.StatusOK)
		m := res.object(t)
		ids = append(ids, itemIDs(t, url, m)...)
		if m["_links"].(map[string]any)["next"] == nil {
			return ids
		}
	}
}

// Following next from the first page to the last gives every item once, in
// the collection's order, and page=N gives the same pages as before. The
// links carried no cursor before; the ids they led to were the same.
func TestFollowNextLinks(t *testing.T) {
	ts := newTestServer(t)
	first, token := ts.newUser(t, "amina")
	second, other := ts.newUser(t, "baraka")
	users := []int64{first, second}
	for i := range 38 {
		id, _ := ts.newUser(t, fmt.Sprintf("user%02d", i))
		users = append(users, id)
	}
	var posts, aminas []int64
	for i := range 40 {
		author := token
		if i%3 == 0 {
			author = other
		}
		id := ts.createPost(t, author, fmt.Sprintf("Post %d", i), "text")
		posts = append([]int64{id}, posts...) // newest first
		if author == token {
			aminas = append([]int64{id}, aminas...)
		}
	}
	for _, tc := range []struct {
		path string
		want []int64
	}{
		{"/api/users", users},
		{"/api/posts", posts},
		{userPath(first) + "/my-posts", aminas},
	} {
		got := ts.followNext(t, tc.path+"?per_page=3", token, nil)
		wantJSON(t, "ids following next from "+tc.path, got, tc.want)
		got = ts.pageNumbersIDs(t, tc.path, token, 3, nil)
		wantJSON(t, "ids of "+tc.path+"?page=1, 2, ...", got, tc.want)
	}
}

// Posts written and deleted while a client reads page after page: page
// numbers count from the newest post, so a new post pushes one the client
// has seen onto the next page (repeated) and a deleted one it has seen
// pulls one it has not onto the page it read (skipped). A next link's
// cursor starts after the last post seen, wherever it now is. Before
// cursors, next links were page numbers and this test failed.
func TestNextLinksWhileWriting(t *testing.T) {
	for _, byNumber := range []bool{false, true} {
		t.Run(fmt.Sprintf("by number %v", byNumber), func(t *testing.T) {
			ts := newTestServer(t)
			_, token := ts.newUser(t, "amina")
			var posts []int64
			for i := range 40 {
				posts = append([]int64{ts.createPost(t, token, fmt.Sprintf("Post %d", i), "text")}, posts...)
			}
			// Between pages: a new post, and the deletion of the last post
			// seen or, every third page, of the next one not yet seen.
			var gone []int64 // deleted before they were seen
			n := 0
			between := func(seen []int64) {
				n++
				ts.createPost(t, token, "new", "text")
				victim := seen[len(seen)-1]
				if n%3 == 0 {
					i := slices.Index(posts, victim) + 1
					for slices.Contains(gone, posts[i]) {
						i++
					}
					victim = posts[i]
					gone = append(gone, victim)
				}
				res := ts.call(t, "DELETE", fmt.Sprintf("/api/posts/%d", victim), token, "")
				wantStatus(t, "DELETE a post", res, http.StatusNoContent)
			}
			var got []int64
			if byNumber {
				got = ts.pageNumbersIDs(t, "/api/posts", token, 3, between)
			} else {
				got = ts.followNext(t, "/api/posts?per_page=3", token, between)
			}
			// Every post there was at the start, newest first, once, but those
			// deleted before their page came.
			want := slices.DeleteFunc(slices.Clone(posts), func(id int64) bool { return slices.Contains(gone, id) })
			switch {
			case !byNumber:
				wantJSON(t, "ids following next while writing", got, want)
			case slices.Equal(got, want):
				t.Errorf("page numbers while writing gave every post once; want repeats and skips, or this test shows nothing")
			default:
				t.Logf("page numbers while writing gave %v", got)
			}
		})
	}
}

// A cursor is compared, not looked up: one whose post is gone still starts
// the page after where that post was.
func TestCursorOfDeletedPost(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "amina")
	var ids []int64
	for i := range 6 {
		ids = append(ids, ts.createPost(t, token, fmt.Sprintf("Post %d", i), "text"))
	}
	res := ts.call(t, "DELETE", fmt.Sprintf("/api/posts/%d", ids[4]), token, "")
	wantStatus(t, "DELETE a post", res, http.StatusNoContent)
	path := fmt.Sprintf("/api/posts?page=2&per_page=2&after=%d", ids[4])
	p := ts.getPage(t, path, token)
	got := []int64{}
	for _, item := range p.Items {
		got = append(got, item.ID)
	}
	wantJSON(t, "GET "+path+": ids", got, []int64{ids[3], ids[2]})
	if want := path; p.Links.Self != want {
		t.Errorf("GET %s: self = %q, want %q", path, p.Links.Self, want)
	}
	if want := fmt.Sprintf("/api/posts?page=3&per_page=2&after=%d", ids[2]); p.Links.Next == nil || *p.Links.Next != want {
		t.Errorf("GET %s: next = %v, want %q", path, p.Links.Next, want)
	}
}

// A bad cursor is a 400 that says what after is, and reads nothing.
func TestBadCursor(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "amina")
	ts.createPost(t, token, "Tea", "About tea.")
	before := ts.call(t, "GET", "/api/posts", token, "")
	for _, after := range []string{"0", "-3", "abc", "", "1.5", "1e3", "9999999999999999999", "%201"} {
		for _, path := range []string{"/api/users", "/api/posts", "/api/users/1/my-posts"} {
			url := path + "?page=2&after=" + after
			res := ts.call(t, "GET", url, token, "")
			wantError(t, "GET "+url, res, http.StatusBadRequest, "after must be a positive integer, the id of the last item")
		}
	}
	after := ts.call(t, "GET", "/api/posts", token, "")
	if string(after.body) != string(before.body) {
		t.Errorf("GET /api/posts after bad cursors = %s, want %s as before", after.body, before.body)
	}
}

// A page's ids come from a covering index, so a deep page skips index
// entries, not rows with their bodies, and reads the full rows of its own
// items only. Before version 8 the posts' subquery scanned the table.
func TestPagesReadOnlyTheirRows(t *testing.T) {
	if rqliteTestURL() != "" {
		t.Skip("the plan is the SQLite file's; a cluster's nodes plan for themselves")
	}
	ts := newTestServer(t)
	tests := []struct {
		name, want string
		query      string
		args       []any
	}{
		{"posts by number", "SCAN posts USING COVERING INDEX posts_by_id", "", nil},
		{"posts by cursor", "SEARCH posts USING COVERING INDEX posts_by_id (id<?)", "", nil},
		{"an author's posts", "SEARCH posts USING COVERING INDEX posts_by_user (user_id=?)", "", nil},
		{"an author's posts by cursor", "SEARCH posts USING COVERING INDEX posts_by_user (user_id=? AND id<?)", "", nil},
		{"users by number", "SCAN users USING COVERING INDEX users_by_id", "", nil},
		{"users by cursor", "SEARCH users USING COVERING INDEX users_by_id (id>?)", "", nil},
		{"posts in the far half", "SCAN posts USING COVERING INDEX posts_by_id", "", nil},
		{"users in the far half", "SCAN users USING COVERING INDEX users_by_id", "", nil},
	}
	deep := pageQuery{limit: 11, offset: 500}
	cursor := pageQuery{limit: 11, after: 500}
	tests[0].query, tests[0].args = postPageSQL(0, deep)
	tests[1].query, tests[1].args = postPageSQL(0, cursor)
	tests[2].query, tests[2].args = postPageSQL(1, deep)
	tests[3].query, tests[3].args = postPageSQL(1, cursor)
	tests[4].query, tests[4].args = userPageSQL(deep)
	tests[5].query, tests[5].args = userPageSQL(cursor)
	far := pageQuery{limit: 11, offset: 500, total: 600}
	tests[6].query, tests[6].args = postPageSQL(0, far)
	tests[7].query, tests[7].args = userPageSQL(far)
	for _, tc := range tests {
		plan := queryPlan(t, ts, tc.query, tc.args)
		if !slices.Contains(plan, tc.want) {
			t.Errorf("plan of %s = %q, want a step %q", tc.name, strings.Join(plan, "; "), tc.want)
		}
		for _, step := range plan {
			if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, "COVERING INDEX") {
				t.Errorf("plan of %s has %q: it reads whole rows to skip them", tc.name, step)
			}
		}
	}
}
