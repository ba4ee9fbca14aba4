package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Sessions: every token is one, which its user can list and end; a read
// session may only read; a session slides with use up to its cap.

// loginWith logs in with a JSON body and a User-Agent, and returns the
// token and the session's id.
func (ts *testServer) loginWith(t *testing.T, username, body, userAgent string) (string, int64) {
	t.Helper()
	with := []func(*http.Request){basic(username, username+"-password"), withHeader("User-Agent", userAgent)}
	if body != "" {
		with = append(with, withHeader("Content-Type", "application/json"))
	}
	res := ts.callWith(t, "POST", "/api/tokens", body, with...)
	wantStatus(t, "POST /api/tokens "+body, res, http.StatusOK)
	m := res.object(t)
	return m["token"].(string), int64(m["id"].(float64))
}

// sessions lists the caller's sessions.
func (ts *testServer) sessions(t *testing.T, token string) []map[string]any {
	t.Helper()
	res := ts.call(t, "GET", "/api/tokens", token, "")
	wantStatus(t, "GET /api/tokens", res, http.StatusOK)
	var body struct{ Items []map[string]any }
	if err := json.Unmarshal(res.body, &body); err != nil {
		t.Fatalf("GET /api/tokens body %s: %v", res.body, err)
	}
	return body.Items
}

func sessionIDs(items []map[string]any) []int64 {
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = int64(it["id"].(float64))
	}
	return ids
}

func TestIssueSessionWithNameAndScope(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "muthoni", "muthoni-password")
	res := ts.callWith(t, "POST", "/api/tokens", `{"name": "laptop", "scope": "read"}`,
		basic("muthoni", "muthoni-password"), withHeader("Content-Type", "application/json"))
	wantStatus(t, "POST /api/tokens with a name and scope", res, http.StatusOK)
	m := res.object(t)
	if m["name"] != "laptop" || m["scope"] != "read" || m["id"] != float64(1) || m["token"] == nil {
		t.Errorf("POST /api/tokens = %s, want id 1, name laptop, scope read and the token", res.body)
	}
}

func TestListSessions(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "muthoni", "muthoni-password")
	longAgent := strings.Repeat("ü", 250)
	// A read session, used once and then left idle past its lifetime.
	expiring, _ := ts.loginWith(t, "muthoni", `{"scope": "read"}`, "phone")
	ts.call(t, "GET", "/api/users", expiring, "")
	ts.clock.Advance(defaultTokenTTL - 30*time.Second)
	first, firstID := ts.loginWith(t, "muthoni", `{"name": "laptop"}`, longAgent)
	ts.clock.Advance(time.Second)
	_, secondID := ts.loginWith(t, "muthoni", "", "curl/8.5.0")
	_, otherToken := ts.newUser(t, "kamau")
	ts.clock.Advance(time.Minute)

	items := ts.sessions(t, first)
	if got, want := sessionIDs(items), []int64{secondID, firstID}; !slices.Equal(got, want) {
		// The second was created after the first; the read one expired.
		t.Fatalf("GET /api/tokens ids = %v, want %v (newest first, the expired one not listed)", got, want)
	}
	for _, it := range items {
		keys := make([]string, 0, len(it))
		for k := range it {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if want := []string{"created_at", "current", "expires_at", "id", "last_used_at", "name", "scope", "user_agent"}; !slices.Equal(keys, want) {
			t.Errorf("session fields = %v, want %v (never the token or its hash)", keys, want)
		}
	}
	laptop, curl := items[1], items[0]
	if laptop["current"] != true || curl["current"] != false {
		t.Errorf("current = %v, %v; want true for the session that asked", laptop["current"], curl["current"])
	}
	if laptop["name"] != "laptop" || curl["name"] != nil || laptop["scope"] != "write" {
		t.Errorf("names and scope = %v, %v, %v; want laptop, null, write", laptop["name"], curl["name"], laptop["scope"])
	}
	if got := laptop["user_agent"].(string); got != strings.Repeat("ü", 200) {
		t.Errorf("user_agent = %d characters, want the first 200", len([]rune(got)))
	}
	if curl["user_agent"] != "curl/8.5.0" || curl["last_used_at"] != nil {
		t.Errorf("unused session: user_agent %v, last_used_at %v; want curl/8.5.0 and null", curl["user_agent"], curl["last_used_at"])
	}
	wantTimestamp(t, "laptop last_used_at", laptop["last_used_at"], ts.clock.Now())
	wantTimestamp(t, "laptop expires_at", laptop["expires_at"], ts.clock.Now().Add(defaultTokenTTL))
	if got := len(ts.sessions(t, otherToken)); got != 1 {
		t.Errorf("another user's GET /api/tokens lists %d sessions, want only their own 1", got)
	}
}

func TestRevokeSession(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "muthoni", "muthoni-password")
	first, _ := ts.loginWith(t, "muthoni", "", "a")
	second, secondID := ts.loginWith(t, "muthoni", "", "b")
	_, otherToken := ts.newUser(t, "kamau")
	otherID := ts.sessions(t, otherToken)[0]["id"].(float64)
	expired, expiredID := ts.loginWith(t, "muthoni", "", "c")
	_ = expired
	ts.clock.Advance(defaultTokenTTL - time.Minute)
	for _, tok := range []string{first, second, otherToken} { // these live on, the third idles out
		ts.call(t, "GET", "/api/users", tok, "")
	}
	ts.clock.Advance(2 * time.Minute)

	for _, tc := range []struct {
		name string
		id   any
	}{{"unknown", 999}, {"expired", expiredID}, {"another user's", otherID}, {"not a number", "x"}} {
		res := ts.call(t, "DELETE", fmt.Sprintf("/api/tokens/%v", tc.id), first, "")
		wantError(t, "DELETE /api/tokens/{id}, "+tc.name, res, http.StatusNotFound, "")
		if string(res.body) != `{"error":"Not Found"}`+"\n" {
			t.Errorf("%s: body %q tells the cases apart", tc.name, res.body)
		}
	}
	if got := len(ts.sessions(t, otherToken)); got != 1 {
		t.Errorf("another user's sessions after the refused revoke = %d, want 1", got)
	}
	res := ts.call(t, "DELETE", fmt.Sprintf("/api/tokens/%d", secondID), first, "")
	wantStatus(t, "DELETE /api/tokens/{id} of another session of mine", res, http.StatusNoContent)
	wantBearerChallenge(t, "GET /api/users with the revoked session", ts.call(t, "GET", "/api/users", second, ""), true)
	firstID := int64(ts.sessions(t, first)[0]["id"].(float64))
	res = ts.call(t, "DELETE", fmt.Sprintf("/api/tokens/%d", firstID), first, "")
	wantStatus(t, "DELETE /api/tokens/{id} of the current session", res, http.StatusNoContent)
	wantBearerChallenge(t, "GET /api/users after revoking the current session", ts.call(t, "GET", "/api/users", first, ""), true)
}

func TestRevokeOthersAndAll(t *testing.T) {
	ts := newTestServer(t)
	_, mine := ts.newUser(t, "muthoni")
	a := ts.login(t, "muthoni", "muthoni-password")
	b := ts.login(t, "muthoni", "muthoni-password")
	_, other := ts.newUser(t, "kamau")

	for _, query := range []string{"others=false", "all=1", "others=true&all=true", "x=y", "others"} {
		res := ts.call(t, "DELETE", "/api/tokens?"+query, mine, "")
		wantError(t, "DELETE /api/tokens?"+query, res, http.StatusBadRequest, "others=true or all=true")
	}
	if got := len(ts.sessions(t, mine)); got != 3 {
		t.Fatalf("sessions after refused queries = %d, want 3", got)
	}
	wantStatus(t, "DELETE /api/tokens?others=true", ts.call(t, "DELETE", "/api/tokens?others=true", mine, ""), http.StatusNoContent)
	for _, tok := range []string{a, b} {
		wantBearerChallenge(t, "another session after others=true", ts.call(t, "GET", "/api/users", tok, ""), true)
	}
	if got := len(ts.sessions(t, mine)); got != 1 {
		t.Errorf("sessions after others=true = %d, want the presented one", got)
	}
	c := ts.login(t, "muthoni", "muthoni-password")
	wantStatus(t, "DELETE /api/tokens?all=true", ts.call(t, "DELETE", "/api/tokens?all=true", mine, ""), http.StatusNoContent)
	for _, tok := range []string{mine, c} {
		wantBearerChallenge(t, "a session after all=true", ts.call(t, "GET", "/api/users", tok, ""), true)
	}
	wantStatus(t, "another user's session after all=true", ts.call(t, "GET", "/api/users", other, ""), http.StatusOK)
}

// wantInsufficientScope checks the 403 a read session gets for a write.
func wantInsufficientScope(t *testing.T, what string, res response) {
	t.Helper()
	wantError(t, what, res, http.StatusForbidden, "only read")
	want := `Bearer realm="Authentication Required", error="insufficient_scope", scope="write"`
	if got := res.header.Get("WWW-Authenticate"); got != want {
		t.Errorf("%s: WWW-Authenticate = %q, want %q", what, got, want)
	}
}

// A read session may call every GET and log itself out; every other route
// that takes a token answers 403 with the insufficient_scope challenge.
func TestReadSessionMayOnlyRead(t *testing.T) {
	ts := newTestServer(t)
	id, writer := ts.newUser(t, "muthoni")
	postID := ts.createPost(t, writer, "Tea", "About tea.")
	reader, readerID := ts.loginWith(t, "muthoni", `{"scope": "read"}`, "reader")
	post := `{"title": "t", "body": "b"}`

	writes := []struct{ method, path, body string }{
		{"PUT", userPath(id), `{"about_me": "hi"}`},
		{"DELETE", userPath(id), `{"current_password": "muthoni-password"}`},
		{"POST", "/api/posts", post},
		{"POST", fmt.Sprintf("/api/posts/user/%d", id), post},
		{"PUT", postPath(postID), post},
		{"DELETE", postPath(postID), ""},
		{"DELETE", fmt.Sprintf("/api/tokens/%d", readerID), ""},
		{"DELETE", "/api/tokens?others=true", ""},
		{"DELETE", "/api/tokens?all=true", ""},
		{"POST", totpPath(id), `{"current_password": "muthoni-password"}`},
		{"POST", totpPath(id) + "/confirm", `{"code": "123456"}`},
		{"DELETE", totpPath(id), `{"current_password": "muthoni-password", "code": "123456"}`},
		{"POST", totpPath(id) + "/recovery-codes", `{"code": "123456"}`},
		{"POST", userPath(id) + "/email-verification", ""},
	}
	covered := map[string]bool{}
	for _, wr := range writes {
		if _, pattern := ts.srv.mux.Handler(httptest.NewRequest(wr.method, wr.path, nil)); pattern != "" {
			covered[pattern] = true
		}
		wantInsufficientScope(t, wr.method+" "+wr.path+" with a read token", ts.call(t, wr.method, wr.path, reader, wr.body))
	}
	// Every route that takes a token and is not a GET is refused above:
	// a new write route cannot forget its requireWrite unseen.
	for _, pattern := range routePatterns(t) {
		method, _, _ := strings.Cut(pattern, " ")
		if method != "GET" && !covered[pattern] && !slices.Contains(
			[]string{"POST /api/tokens", "POST /api/users", "DELETE /api/tokens",
				"POST /api/password-reset", "POST /api/password-reset/confirm",
				"POST /api/email-verification/confirm"}, pattern) { // no token: a mailed code instead
			t.Errorf("route %q is not tried with a read token", pattern)
		}
	}
	if got := ts.count(t, "posts"); got != 1 {
		t.Errorf("posts after the refused writes: %d rows, want 1", got)
	}
	for _, path := range []string{"/api/users", userPath(id), userPath(id) + "/my-posts", "/api/posts", postPath(postID), "/api/tokens"} {
		wantStatus(t, "GET "+path+" with a read token", ts.call(t, "GET", path, reader, ""), http.StatusOK)
	}
	wantStatus(t, "DELETE /api/tokens with the read token", ts.call(t, "DELETE", "/api/tokens", reader, ""), http.StatusNoContent)
	wantBearerChallenge(t, "GET /api/users after the read token logged out", ts.call(t, "GET", "/api/users", reader, ""), true)
	wantStatus(t, "GET /api/users with the write token", ts.call(t, "GET", "/api/users", writer, ""), http.StatusOK)
}

// A session lives the token lifetime after its last use, and no longer
// than its cap from its creation, however used.
func TestSessionSlidesUpToItsCap(t *testing.T) {
	ttl, maxAge := 10*time.Minute, 30*time.Minute
	ts := newTestServer(t, func(c *config) { c.tokenTTL, c.tokenMaxAge = ttl, maxAge })
	_, token := ts.newUser(t, "muthoni")
	for range 3 { // kept alive by use well beyond one lifetime
		ts.clock.Advance(9 * time.Minute)
		wantStatus(t, "GET /api/users, used every 9 minutes", ts.call(t, "GET", "/api/users", token, ""), http.StatusOK)
	}
	items := ts.sessions(t, token) // at 27 minutes
	wantTimestamp(t, "expires_at near the cap", items[0]["expires_at"], ts.clock.Now().Add(3*time.Minute))
	ts.clock.Advance(3*time.Minute - time.Second)
	wantStatus(t, "GET /api/users a second before the cap", ts.call(t, "GET", "/api/users", token, ""), http.StatusOK)
	ts.clock.Advance(time.Second)
	wantBearerChallenge(t, "GET /api/users at the cap, though used a second ago", ts.call(t, "GET", "/api/users", token, ""), true)

	// A session left idle dies a lifetime after its last use.
	idle := ts.login(t, "muthoni", "muthoni-password")
	ts.clock.Advance(ttl / 2)
	wantStatus(t, "GET /api/users half a lifetime in", ts.call(t, "GET", "/api/users", idle, ""), http.StatusOK)
	ts.clock.Advance(ttl - time.Second)
	wantStatus(t, "GET /api/users a second before a lifetime idle", ts.call(t, "GET", "/api/users", idle, ""), http.StatusOK)
	ts.clock.Advance(ttl)
	wantBearerChallenge(t, "GET /api/users a lifetime idle", ts.call(t, "GET", "/api/users", idle, ""), true)
}

// What is stored of a session's use lags its real use by at most
// maxSessionLag: a server that stops without writing what it noted (a
// crash) loses no more, so the session expires at most that much early,
// never late.
func TestSessionLagAcrossRestart(t *testing.T) {
	ttl := 10 * time.Minute
	lag := maxSessionLag(ttl)
	dbPath := filepath.Join(t.TempDir(), "tokenapi.db")
	ts := startTestServer(t, dbPath, true, func(c *config) { c.tokenTTL = ttl })
	_, token := ts.newUser(t, "muthoni")
	for range 40 { // a use every 5 s for 200 s; the writer flushes every second
		ts.clock.Advance(5 * time.Second)
		ts.call(t, "GET", "/api/users", token, "")
		ts.cache.flushNotedUses(context.Background())
	}
	lastUse := ts.clock.Now()
	var stored string
	if err := ts.db.read.QueryRow(`SELECT last_used_at FROM tokens`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	at, err := parseTime(stored)
	if err != nil {
		t.Fatal(err)
	}
	if behind := lastUse.Sub(at); behind < 0 || behind > lag {
		t.Fatalf("stored last use %v behind the real one, want at most %v", behind, lag)
	}

	// A restart without a final write: a new server on the same file.
	again := startTestServer(t, dbPath, true, func(c *config) { c.tokenTTL = ttl })
	again.clock.Advance(lastUse.Sub(again.clock.Now()) + ttl - lag - time.Second)
	wantStatus(t, "GET /api/users after a restart, within the lifetime less the lag", again.call(t, "GET", "/api/users", token, ""), http.StatusOK)
	third := startTestServer(t, dbPath, true, func(c *config) { c.tokenTTL = ttl })
	third.clock.Advance(lastUse.Sub(third.clock.Now()) + ttl)
	wantBearerChallenge(t, "GET /api/users a lifetime after the last use, after a restart", third.call(t, "GET", "/api/users", token, ""), true)
}
