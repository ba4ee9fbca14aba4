package main

// Crosses the whole program: every error, whoever makes it, is JSON in errors.go's shape.

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestUnknownPathsAndMethodsAnswerJSON(t *testing.T) {
	ts := newTestServer(t)
	tests := []struct {
		method, path string
		status       int
		allow        string
	}{
		{"GET", "/nope", 404, ""},
		{"GET", "/api", 404, ""},
		{"GET", "/api/users/1/posts", 404, ""},
		{"GET", "/api/users/", 404, ""},
		{"PATCH", "/api/posts/1", 405, "DELETE, GET, HEAD, PUT"},
		{"DELETE", "/api/users", 405, "GET, HEAD, POST"},
		{"PUT", "/api/tokens", 405, "DELETE, GET, HEAD, POST"},
		{"PUT", "/healthz", 405, "GET, HEAD"},
	}
	for _, tt := range tests {
		res := ts.call(t, tt.method, tt.path, "", "")
		wantError(t, tt.method+" "+tt.path, res, tt.status, "")
		if got := res.header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow = %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}
}

func TestNonNumericIDIsNotFound(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	for _, id := range []string{"abc", "0", "-1", "1.5", "1e3", "99999999999999999999", "%20"} {
		path := "/api/users/" + id
		wantError(t, "GET "+path, ts.call(t, "GET", path, token, ""), 404, "")
	}
}

// TestBodyErrors sends every kind of bad body to the endpoints that read
// one, and checks each gets its clear error and writes nothing.
func TestBodyErrors(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	huge := `{"title": "t", "body": "` + strings.Repeat("x", maxPostBodyBytes) + `"}`
	// Each message says what it is about: the request body as a whole, or
	// one field of it.
	tests := []bodyCase{
		{"no content type", "-", `{"title": "t", "body": "b"}`, 415, "application/json"},
		{"form", "application/x-www-form-urlencoded", "title=t&body=b", 415, "application/json"},
		{"text", "text/plain", `{"title": "t", "body": "b"}`, 415, "application/json"},
		{"latin-1 charset", "application/json; charset=latin1", `{"title": "t", "body": "b"}`, 415, "application/json"},
		{"bad media type", "application/json; =", `{"title": "t", "body": "b"}`, 415, "application/json"},
		{"empty", "application/json", "", 400, "request body must not be empty"},
		{"blank", "application/json", " \n\t", 400, "request body must not be empty"},
		{"blank but not to JSON", "application/json", "\f\u00a0", 400, "request body must be a JSON object"},
		{"malformed", "application/json", `{"title": "t",`, 400, "request body is malformed JSON"},
		{"bad syntax", "application/json", `{"title" "t"}`, 400, "request body is malformed JSON at byte"},
		{"array", "application/json", `[{"title": "t", "body": "b"}]`, 400, "request body must be a JSON object"},
		{"null", "application/json", `null`, 400, "request body must be a JSON object"},
		{"string", "application/json", `"hello"`, 400, "request body must be a JSON object"},
		{"two objects", "application/json", `{"title": "t", "body": "b"} {}`, 400, "request body must hold a single JSON object"},
		{"trailing garbage", "application/json", `{"title": "t", "body": "b"} x`, 400, "request body must hold a single JSON object"},
		{"title a number", "application/json", `{"title": 5, "body": "b"}`, 400, "field title must be a string"},
		{"body an object", "application/json", `{"title": "t", "body": {}}`, 400, "field body must be a string"},
		{"invalid UTF-8", "application/json", "{\"title\": \"\xff\xfe\", \"body\": \"b\"}", 400, "request body must be valid UTF-8"},
		{"NUL in title", "application/json", `{"title": "a\u0000b", "body": "b"}`, 400, "field title must not contain control characters"},
		{"over 1 MiB", "application/json", huge, 413, "request body must not be larger"},
		{"no fields", "application/json", `{}`, 400, "field title is required"},
		{"no body field", "application/json", `{"title": "t"}`, 400, "field body is required"},
		{"empty body field", "application/json", `{"title": "t", "body": ""}`, 400, "field body is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.send(t, ts, "POST", "/api/posts", token)
			wantError(t, "POST /api/posts "+tt.name, res, tt.status, tt.message)
			if n := ts.count(t, "posts"); n != 0 {
				t.Errorf("posts = %d after a refused body, want 0", n)
			}
		})
	}
}

// TestBodyLimit holds every body to its cap however it is framed: with a
// Content-Length, or chunked with none, where the cap must hold while
// reading. An account's body (sign-up, user update) is capped at 64 KiB, a
// post's at 1 MiB. A body of exactly the cap (JSON padded with spaces) is
// served; one byte more is a 413 that writes nothing.
func TestBodyLimit(t *testing.T) {
	ts := newTestServer(t)
	userID, token := ts.newUser(t, "muthoni")
	postID := ts.createPost(t, token, "Tea", "About tea.")
	userPath := fmt.Sprintf("/api/users/%d", userID)
	postPath := fmt.Sprintf("/api/posts/%d", postID)
	endpoints := []struct {
		method, path, token, body string
		status                    int // when the body is within the cap
		limit                     int
	}{
		{"POST", "/api/users", "", `{"username": "big%d", "email": "big%[1]d@example.com", "password": "password1"}`, http.StatusCreated, maxBodyBytes},
		{"PUT", userPath, token, `{"about_me": "Edit %d"}`, http.StatusOK, maxBodyBytes},
		{"POST", "/api/posts", token, `{"title": "Big %d", "body": "b"}`, http.StatusCreated, maxPostBodyBytes},
		{"PUT", postPath, token, `{"title": "Edit %d"}`, http.StatusOK, maxPostBodyBytes},
	}
	n := 0
	for _, ep := range endpoints {
		for _, chunked := range []bool{false, true} {
			for _, size := range []int{ep.limit, ep.limit + 1} {
				n++
				body := fmt.Sprintf(ep.body, n)
				body = strings.Repeat(" ", size-len(body)) + body
				name := fmt.Sprintf("%s %s, %d bytes, chunked %v", ep.method, ep.path, size, chunked)
				t.Run(name, func(t *testing.T) {
					before := map[string]int{"users": ts.count(t, "users"), "posts": ts.count(t, "posts")}
					titleBefore := ts.postRow(t, postID).Title
					aboutMeBefore := ts.userRow(t, userID).AboutMe
					hideLength := func(r *http.Request) {
						if chunked {
							r.Body = io.NopCloser(r.Body)
							r.ContentLength = -1
						}
					}
					res := ts.callWith(t, ep.method, ep.path, body, bearer(ep.token), hideLength)
					if size <= ep.limit {
						wantStatus(t, name, res, ep.status)
						return
					}
					wantError(t, name, res, http.StatusRequestEntityTooLarge,
						fmt.Sprintf("must not be larger than %d bytes", ep.limit))
					for table, rows := range before {
						if got := ts.count(t, table); got != rows {
							t.Errorf("%s = %d rows after a 413, want %d", table, got, rows)
						}
					}
					if got := ts.postRow(t, postID).Title; got != titleBefore {
						t.Errorf("post %d title = %q after a 413, want %q", postID, got, titleBefore)
					}
					if got := ts.userRow(t, userID).AboutMe; got != aboutMeBefore {
						t.Errorf("user %d about_me = %v after a 413, want %v", userID, got, aboutMeBefore)
					}
				})
			}
		}
	}
}

// TestBodyLimitReadsNoFurther sends the headers of a body far over the cap
// and only the cap and one byte of it, then waits: the 413 must come
// without the server waiting for the rest.
func TestBodyLimitReadsNoFurther(t *testing.T) {
	ts := newTestServer(t)
	userID, token := ts.newUser(t, "muthoni")
	endpoints := []struct {
		method, path, token string
		limit               int
	}{
		{"POST", "/api/users", "", maxBodyBytes},
		{"PUT", fmt.Sprintf("/api/users/%d", userID), token, maxBodyBytes},
		{"POST", "/api/posts", token, maxPostBodyBytes},
	}
	for _, ep := range endpoints {
		what := ep.method + " " + ep.path
		t.Run(what, func(t *testing.T) {
			declared := ep.limit + 1<<20 // a MiB more than is sent
			header := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: tokenapi\r\nContent-Type: application/json\r\nContent-Length: %d\r\n",
				ep.method, ep.path, declared)
			if ep.token != "" {
				header += "Authorization: Bearer " + ep.token + "\r\n"
			}
			conn := dialRaw(t, ts.base)
			conn.send(t, header+"\r\n"+strings.Repeat(" ", ep.limit+1))
			res := conn.response(t, what+" with a body cut short")
			wantError(t, what, res, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("must not be larger than %d bytes", ep.limit))
		})
	}
}

// TestCreateTokenBody: the body of POST /api/tokens is optional, and one
// that is sent is checked like any other: a bad one is refused with its
// reason, and no token is issued.
func TestCreateTokenBody(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "muthoni", "muthoni-password")
	for _, bc := range []bodyCase{
		{name: "not JSON", contentType: "text/plain", body: "name=laptop", status: 415},
		{name: "malformed", body: `{"name": `, status: 400, message: "request body is malformed JSON"},
		{name: "name not text", body: `{"name": 7}`, status: 400, message: "field name must be a string"},
		{name: "empty name", body: `{"name": ""}`, status: 400, message: "field name is required"},
		{name: "long name", body: `{"name": "` + strings.Repeat("n", 65) + `"}`, status: 400, message: "field name must be 1 to 64 characters"},
		{name: "control character", body: `{"name": "a\u0007b"}`, status: 400, message: "field name must not contain control characters"},
		{name: "unknown scope", body: `{"scope": "admin"}`, status: 400, message: `field scope must be "read" or "write"`},
		{name: "too large", body: `{"name": "x"}` + strings.Repeat(" ", maxBodyBytes), status: 413},
	} {
		res := bc.sendWith(t, ts, "POST", "/api/tokens", basic("muthoni", "muthoni-password"))
		wantError(t, "POST /api/tokens, "+bc.name, res, bc.status, bc.message)
	}
	if n := ts.count(t, "tokens"); n != 0 {
		t.Errorf("tokens = %d rows after refused bodies, want 0", n)
	}
}

func TestHealth(t *testing.T) {
	ts := newTestServer(t)
	res := ts.call(t, "GET", "/healthz", "", "")
	wantStatus(t, "GET /healthz", res, 200)
	if got := res.object(t)["status"]; got != "ok" {
		t.Errorf("status = %v, want ok", got)
	}
	ts.db.read.Close() // the database stops answering
	wantError(t, "GET /healthz with the database closed", ts.call(t, "GET", "/healthz", "", ""), 503, "database")
}

// TestServerErrorsTellNothing checks that a 500 carries no internals to the
// client and is logged instead.
func TestServerErrorsTellNothing(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	ts.db.write.Close() // every write now fails inside the store
	res := ts.call(t, "POST", "/api/posts", token, `{"title": "t", "body": "b"}`)
	wantError(t, "POST /api/posts with the store broken", res, 500, "")
	if m := res.object(t); len(m) != 1 {
		t.Errorf("500 body = %s, want only the error field", res.body)
	}
	if !strings.Contains(ts.logs.String(), "internal error") {
		t.Errorf("the 500 was not logged; logs:\n%s", ts.logs)
	}
}

func TestPanicBecomesJSON500(t *testing.T) {
	ts := newTestServer(t)
	ts.srv.mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	wantError(t, "GET /panic", ts.call(t, "GET", "/panic", "", ""), 500, "")
	if !strings.Contains(ts.logs.String(), "boom") {
		t.Errorf("the panic was not logged")
	}
}

// TestUncleanPathRedirects checks the mux's own redirect of an unclean path
// still happens: only its 404 and 405 are turned into JSON.
func TestUncleanPathRedirects(t *testing.T) {
	ts := newTestServer(t)
	noFollow := client{base: ts.base, http: &http.Client{
		Transport:     ts.http.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	res := noFollow.call(t, "GET", "/api//users", "", "")
	if res.status/100 != 3 || res.header.Get("Location") != "/api/users" {
		t.Errorf("GET /api//users = %d Location %q, want a redirect to /api/users", res.status, res.header.Get("Location"))
	}
}
