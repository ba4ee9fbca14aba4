package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testPasswordIterations keeps PBKDF2 cheap in tests; the cost is stored
// with each hash, so the code under test is the same.
const testPasswordIterations = 1000

// testServer is the real handler stack behind a real HTTP server, on a
// fresh SQLite file in a temporary directory, with a clock the test moves.
type testServer struct {
	*httptest.Server
	srv    *server
	db     *sqlStore     // for the test's own SQL
	cache  *cachingStore // the store the server uses, around db
	dbPath string
	clock  *testClock
	logs   *syncBuffer
}

func newTestServer(t testing.TB, options ...func(*config)) *testServer {
	t.Helper()
	return newTestServerAt(t, filepath.Join(t.TempDir(), "tokenapi.db"), options...)
}

// newTestServerAt is newTestServer on the database file at dbPath, which
// may exist already.
func newTestServerAt(t testing.TB, dbPath string, options ...func(*config)) *testServer {
	t.Helper()
	db, err := openStore(context.Background(), dbPath)
	if err != nil {
		t.Fatalf("openStore: %v", err)
	}
	clock := &testClock{now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	cfg := defaultConfig()
	cfg.passwordIterations = testPasswordIterations
	cfg.now = clock.Now
	for _, option := range options {
		option(&cfg)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	st := newCachingStore(db, log, cfg.now)
	srv := newServer(st, log, cfg)
	ts := &testServer{Server: httptest.NewServer(srv), srv: srv, db: db, cache: st, dbPath: dbPath, clock: clock, logs: logs}
	t.Cleanup(func() {
		ts.Close()
		st.Close()
	})
	return ts
}

// testClock is a clock that moves only when told to.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// response is what a test looks at of an HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// object decodes the body as a JSON object.
func (r response) object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// send sends req and reads the whole answer.
func (ts *testServer) send(t testing.TB, req *http.Request) response {
	t.Helper()
	res, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL.Path, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: body}
}

// newRequest builds a request to the test server. A non-empty body is sent
// as application/json.
func (ts *testServer) newRequest(t testing.TB, method, path, body string) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, ts.URL+path, rd)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, path, err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

// call sends a request with a bearer token (none when token is "") and a
// JSON body (none when body is "").
func (ts *testServer) call(t testing.TB, method, path, token, body string) response {
	t.Helper()
	req := ts.newRequest(t, method, path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return ts.send(t, req)
}

// callType sends a body with the given Content-Type ("" sends none), with a
// bearer token when token is not "".
func (ts *testServer) callType(t testing.TB, method, path, token, contentType, body string) response {
	t.Helper()
	req := ts.newRequest(t, method, path, body)
	req.Header.Del("Content-Type")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return ts.send(t, req)
}

// callBasic sends a request with a username and password.
func (ts *testServer) callBasic(t testing.TB, method, path, username, password string) response {
	t.Helper()
	req := ts.newRequest(t, method, path, "")
	req.SetBasicAuth(username, password)
	return ts.send(t, req)
}

// createUser registers a user with a derived email and returns its id.
func (ts *testServer) createUser(t testing.TB, username, password string) int64 {
	t.Helper()
	body := fmt.Sprintf(`{"username": %q, "email": %q, "password": %q}`, username, username+"@example.com", password)
	res := ts.call(t, "POST", "/api/users", "", body)
	if res.status != http.StatusCreated {
		t.Fatalf("POST /api/users = %d %s, want 201", res.status, res.body)
	}
	return int64(res.object(t)["id"].(float64))
}

// login gets a new token for a user.
func (ts *testServer) login(t testing.TB, username, password string) string {
	t.Helper()
	res := ts.callBasic(t, "POST", "/api/tokens", username, password)
	if res.status != http.StatusOK {
		t.Fatalf("POST /api/tokens as %s = %d %s, want 200", username, res.status, res.body)
	}
	return res.object(t)["token"].(string)
}

// newUser registers a user and logs it in, returning its id and a token.
func (ts *testServer) newUser(t testing.TB, username string) (int64, string) {
	t.Helper()
	id := ts.createUser(t, username, username+"-password")
	return id, ts.login(t, username, username+"-password")
}

// createPost makes a post as the token's owner and returns its id.
func (ts *testServer) createPost(t testing.TB, token, title, body string) int64 {
	t.Helper()
	res := ts.call(t, "POST", "/api/posts", token, fmt.Sprintf(`{"title": %q, "body": %q}`, title, body))
	if res.status != http.StatusCreated {
		t.Fatalf("POST /api/posts = %d %s, want 201", res.status, res.body)
	}
	return int64(res.object(t)["id"].(float64))
}

// wantStatus fails the test when a response has another status.
func wantStatus(t testing.TB, what string, res response, want int) {
	t.Helper()
	if res.status != want {
		t.Fatalf("%s = %d %s, want %d", what, res.status, res.body, want)
	}
}

// wantError checks a response is the JSON error for status, and that its
// message, if want is not empty, contains want.
func wantError(t testing.TB, what string, res response, status int, message string) {
	t.Helper()
	wantStatus(t, what, res, status)
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type = %q, want application/json", what, ct)
	}
	m := res.object(t)
	if m["error"] != http.StatusText(status) {
		t.Errorf("%s: error = %v, want %q", what, m["error"], http.StatusText(status))
	}
	if message != "" {
		if got, _ := m["message"].(string); !strings.Contains(got, message) {
			t.Errorf("%s: message = %q, want it to contain %q", what, got, message)
		}
	}
}

// count returns the number of rows of a table, read straight from SQLite.
func (ts *testServer) count(t testing.TB, table string) int {
	t.Helper()
	var n int
	// The table name is the test's own constant, not input.
	if err := ts.db.read.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

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

// bodyCase is a request body a write endpoint must refuse, and how.
type bodyCase struct {
	name        string
	contentType string // "" sends application/json, "-" no Content-Type
	body        string
	status      int
	message     string
}

// send sends the case's body with its Content-Type, and a bearer token when
// token is not "".
func (bc bodyCase) send(t testing.TB, ts *testServer, method, path, token string) response {
	t.Helper()
	switch bc.contentType {
	case "":
		return ts.callType(t, method, path, token, "application/json", bc.body)
	case "-":
		return ts.callType(t, method, path, token, "", bc.body)
	}
	return ts.callType(t, method, path, token, bc.contentType, bc.body)
}
