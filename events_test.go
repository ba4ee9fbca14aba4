package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// The security log over HTTP: each type of event after the action that
// causes it, only for its user, a page at a time, failures bounded, and
// swept after 90 days.

// eventItem is an event as GET /api/users/{id}/events shows it.
type eventItem struct {
	ID        int64   `json:"id"`
	Type      string  `json:"type"`
	At        string  `json:"at"`
	Address   *string `json:"address"`
	UserAgent *string `json:"user_agent"`
	SessionID *int64  `json:"session_id"`
	Detail    *string `json:"detail"`
}

// eventsOf returns the first page of a user's log, newest first, up to
// 100 events, and checks that total_items counts them all.
func (ts *testServer) eventsOf(t testing.TB, userID int64, token string) []eventItem {
	t.Helper()
	path := fmt.Sprintf("/api/users/%d/events?per_page=100", userID)
	res := ts.call(t, "GET", path, token, "")
	wantStatus(t, "GET "+path, res, http.StatusOK)
	var page struct {
		Items []eventItem
		Meta  struct {
			TotalItems int `json:"total_items"`
		} `json:"_meta"`
	}
	if err := json.Unmarshal(res.body, &page); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if page.Meta.TotalItems != len(page.Items) {
		t.Errorf("GET %s: total_items = %d, items %d", path, page.Meta.TotalItems, len(page.Items))
	}
	return page.Items
}

// text is a nullable text field as the tests compare it, "" for null.
func text(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// wantEvent checks an event's type, detail ("" for null) and session id
// (0 for null), and that it carries the address and user agent the
// request came with (both "" for none).
func wantEvent(t *testing.T, what string, e eventItem, typ, detail string, session int64, address, agent string) {
	t.Helper()
	var gotSession int64
	if e.SessionID != nil {
		gotSession = *e.SessionID
	}
	if e.Type != typ || text(e.Detail) != detail || gotSession != session || text(e.Address) != address || text(e.UserAgent) != agent {
		t.Errorf("%s: event %s %q session %d from %q %q; want %s %q session %d from %q %q", what,
			e.Type, text(e.Detail), gotSession, text(e.Address), text(e.UserAgent), typ, detail, session, address, agent)
	}
}

// newest is the newest event of a user's log.
func (ts *testServer) newest(t *testing.T, userID int64, token string) eventItem {
	t.Helper()
	items := ts.eventsOf(t, userID, token)
	if len(items) == 0 {
		t.Fatalf("the log of user %d is empty", userID)
	}
	return items[0]
}

// Every type an API request causes appears in the log after it, with the
// client's address as the throttle sees it (behind a trusted proxy, the
// one it forwards for) and the request's User-Agent.
func TestSecurityLogRecordsEachType(t *testing.T) {
	ts := newTestServer(t, func(c *config) {
		c.trustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		c.throttleLimit = 3
	})
	const client, agent = "203.0.113.9", "TeaApp/2.1 (Android 14)"
	from := func(r *http.Request) {
		r.Header.Set("X-Forwarded-For", client)
		r.Header.Set("User-Agent", agent)
	}
	id := ts.createUser(t, "muthoni", "muthoni-password")
	password := "muthoni-password"
	login := func(password string) response {
		return ts.callWith(t, "POST", "/api/tokens", "", basic("muthoni", password), from)
	}
	session := func() (string, int64) {
		t.Helper()
		res := login(password)
		wantStatus(t, "POST /api/tokens", res, http.StatusOK)
		return res.object(t)["token"].(string), int64(res.object(t)["id"].(float64))
	}
	call := func(method, path, token, body string) {
		t.Helper()
		res := ts.callWith(t, method, path, body, bearer(token), from)
		if res.status != http.StatusOK && res.status != http.StatusNoContent {
			t.Fatalf("%s %s = %d %s, want success", method, path, res.status, res.body)
		}
	}

	token, mine := session()
	e := ts.newest(t, id, token)
	wantEvent(t, "after a login", e, eventLoginSucceeded, "", mine, client, agent)
	wantTimestamp(t, "at of the login", e.At, ts.clock.Now())

	wantStatus(t, "a wrong password", login("wrong-password"), http.StatusUnauthorized)
	wantEvent(t, "after a wrong password", ts.newest(t, id, token), eventLoginFailed, "1", 0, client, agent)
	login("wrong-password")
	login("wrong-password") // the third: locked from now on
	wantStatus(t, "the right password, locked out", login(password), http.StatusTooManyRequests)
	items := ts.eventsOf(t, id, token)
	wantEvent(t, "after a 429", items[0], eventLoginLocked, "1", 0, client, agent)
	wantEvent(t, "the failures of the minute", items[1], eventLoginFailed, "3", 0, client, agent)
	ts.clock.Advance(defaultThrottleWindow)

	call("PUT", userPath(id), token, `{"email": "wanjiru@example.com", "about_me": "Tea."}`)
	wantEvent(t, "after a change of account", ts.newest(t, id, token), eventUserUpdated, "email,about_me", mine, client, agent)
	call("PUT", userPath(id), token, `{"username": "muthoni-w"}`)
	wantEvent(t, "after a change of name", ts.newest(t, id, token), eventUserUpdated, "username", mine, client, agent)

	login = func(password string) response {
		return ts.callWith(t, "POST", "/api/tokens", "", basic("muthoni-w", password), from)
	}
	other, _ := session()
	call("PUT", userPath(id), token, `{"password": "a new passphrase", "current_password": "muthoni-password"}`)
	password = "a new passphrase"
	items = ts.eventsOf(t, id, token)
	wantEvent(t, "after a new password", items[0], eventSessionEnded, endedByPasswordChange, mine, client, agent)
	wantEvent(t, "after a new password", items[1], eventPasswordChanged, "", mine, client, agent)
	wantBearerChallenge(t, "the other session after the new password", ts.call(t, "GET", "/api/users", other, ""), true)

	// One session ended by its id: the event names that session.
	_, second := session()
	call("DELETE", fmt.Sprintf("/api/tokens/%d", second), token, "")
	wantEvent(t, "after DELETE /api/tokens/{id}", ts.newest(t, id, token), eventSessionEnded, endedBySelf, second, client, agent)
	// Many: the event names the session that asked.
	session()
	call("DELETE", "/api/tokens?others=true", token, "")
	wantEvent(t, "after DELETE /api/tokens?others=true", ts.newest(t, id, token), eventSessionEnded, endedByOthers, mine, client, agent)
	call("DELETE", "/api/tokens", token, "")
	fresh, freshID := session()
	items = ts.eventsOf(t, id, fresh)
	wantEvent(t, "after DELETE /api/tokens", items[1], eventSessionEnded, endedBySelf, mine, client, agent)
	call("DELETE", "/api/tokens?all=true", fresh, "")
	last, _ := session()
	items = ts.eventsOf(t, id, last)
	wantEvent(t, "after DELETE /api/tokens?all=true", items[1], eventSessionEnded, endedByAll, freshID, client, agent)

	seen := map[string]bool{}
	for _, e := range items {
		seen[e.Type] = true
	}
	for _, typ := range eventTypes {
		// TestAdminEvents reads the log; TestTOTPEvents turns TOTP on and off;
		// verifyemail_test.go verifies an address and resets a password,
		// which need mail.
		if !seen[typ] && typ != eventEventsRead && !strings.HasPrefix(typ, "totp.") && typ != eventEmailVerified && typ != eventPasswordReset {
			t.Errorf("no %s event in the log %+v", typ, items)
		}
	}
}

// A log is its user's alone: another user, or an id nobody has, is 404
// alike, the same answer byte for byte; a read session may read its own.
// Reading writes nothing.
func TestSecurityLogOnlyItsUser(t *testing.T) {
	ts := newTestServer(t)
	amina, token := ts.newUser(t, "amina")
	baraka, other := ts.newUser(t, "baraka")
	res := ts.callWith(t, "POST", "/api/tokens", `{"scope": "read"}`, basic("amina", "amina-password"))
	wantStatus(t, "a read login", res, http.StatusOK)
	reader := res.object(t)["token"].(string)
	before := ts.count(t, "events")

	if got := ts.eventsOf(t, amina, reader); len(got) != 2 {
		t.Errorf("amina's log read with a read session = %+v, want her 2 logins", got)
	}
	var bodies []string
	for _, tc := range []struct{ path, token string }{
		{userPath(baraka) + "/events", token},
		{userPath(amina) + "/events", other},
		{userPath(amina) + "/events?page=x", other}, // 404 before the page is read
		{"/api/users/999/events", token},
		{"/api/users/abc/events", token},
		{"/api/users/0/events", token},
	} {
		res := ts.call(t, "GET", tc.path, tc.token, "")
		wantError(t, "GET "+tc.path+" by another", res, http.StatusNotFound, "")
		bodies = append(bodies, string(res.body))
	}
	if distinct := slices.Compact(slices.Clone(bodies)); len(distinct) != 1 {
		t.Errorf("404 bodies differ: %q", bodies)
	}
	wantBearerChallenge(t, "GET the log without a token", ts.call(t, "GET", userPath(amina)+"/events", "", ""), false)
	wantError(t, "GET the log with a bad page", ts.call(t, "GET", userPath(amina)+"/events?per_page=0", token, ""),
		http.StatusBadRequest, "per_page must be a positive integer")
	wantError(t, "GET the log with a bad cursor", ts.call(t, "GET", userPath(amina)+"/events?after=-3", token, ""),
		http.StatusBadRequest, "after must be a positive integer")
	if got := ts.count(t, "events"); got != before {
		t.Errorf("events = %d rows after reading, want %d", got, before)
	}
}

// The log pages as the other collections do: newest first, next links
// with the after= cursor, page=N alike, and a total from the counter.
func TestSecurityLogPages(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "amina")
	ts.newUser(t, "baraka") // events of another user, between amina's
	for range 22 {
		ts.login(t, "amina", "amina-password")
		ts.login(t, "baraka", "baraka-password")
	}
	var want []int64
	rows, err := ts.db.read.Query(`SELECT id FROM events WHERE user_id = ? ORDER BY id DESC`, id)
	if err != nil {
		t.Fatal(err)
	}
	want, err = scanAll(rows, func(row scanner) (int64, error) {
		var id int64
		return id, row.Scan(&id)
	})
	if err != nil || len(want) != 23 {
		t.Fatalf("amina's events = %d, %v; want 23", len(want), err)
	}
	path := userPath(id) + "/events"
	first := ts.getPage(t, path+"?per_page=10", token)
	meta := ts.call(t, "GET", path+"?per_page=10", token, "").object(t)["_meta"].(map[string]any)
	if meta["total_items"] != 23.0 || meta["total_pages"] != 3.0 {
		t.Errorf("GET %s?per_page=10: _meta = %v, want 23 items in 3 pages", path, meta)
	}
	if first.Links.Next == nil || *first.Links.Next != fmt.Sprintf("%s?page=2&per_page=10&after=%d", path, want[9]) {
		t.Errorf("next = %v, want page 2 after %d", first.Links.Next, want[9])
	}
	wantJSON(t, "ids following next", ts.followNext(t, path+"?per_page=10", token, nil), want)
	wantJSON(t, "ids of page=1, 2, 3", ts.pageNumbersIDs(t, path, token, 10, nil), want)
	wantEventCountExact(t, "after the logins", ts)
}

// Wrong passwords for one account are one event a minute, its detail the
// count, however many come: the table grows by a row a minute, not a row
// a guess. So are the 429s once the account is locked. A wrong password
// for a username nobody has is in no log.
func TestFailedLoginsBounded(t *testing.T) {
	ts := newTestServer(t, func(c *config) {
		c.throttleLimit, c.accountLimit, c.addressLimit = 1000, 1000, 1000
	})
	id, token := ts.newUser(t, "amina")
	before := ts.count(t, "events")
	wrong := func(n int) {
		t.Helper()
		for range n {
			wantStatus(t, "a wrong password", ts.callBasic(t, "POST", "/api/tokens", "amina", "wrong"), http.StatusUnauthorized)
		}
	}
	wrong(50)
	ts.clock.Advance(59 * time.Second)
	wrong(5)
	if got := ts.count(t, "events"); got != before+1 {
		t.Fatalf("events = %d rows after 55 wrong passwords in a minute, want %d", got, before+1)
	}
	e := ts.newest(t, id, token)
	wantEvent(t, "55 wrong passwords", e, eventLoginFailed, "55", 0, "127.0.0.1", "Go-http-client/1.1")
	wantTimestamp(t, "at of the counted failures", e.At, ts.clock.Now().Add(-59*time.Second))
	ts.clock.Advance(time.Second) // a minute after the first: a new row
	wrong(3)
	items := ts.eventsOf(t, id, token)
	if len(items) != before+2 || text(items[0].Detail) != "3" || text(items[1].Detail) != "55" {
		t.Errorf("log after another minute's failures = %+v, want 3 then 55", items)
	}

	for range 20 {
		wantStatus(t, "a wrong password for nobody", ts.callBasic(t, "POST", "/api/tokens", "nobody", "wrong"), http.StatusUnauthorized)
	}
	if got := ts.count(t, "events"); got != before+2 {
		t.Errorf("events = %d rows after wrong passwords for nobody, want %d", got, before+2)
	}
}

// Once an account is locked, each refused login counts on one row of the
// minute too.
func TestLockedLoginsBounded(t *testing.T) {
	ts := newTestServer(t, func(c *config) { c.throttleLimit = 2 })
	id, token := ts.newUser(t, "amina")
	ts.callBasic(t, "POST", "/api/tokens", "amina", "wrong")
	ts.callBasic(t, "POST", "/api/tokens", "amina", "wrong")
	before := ts.count(t, "events")
	for range 30 {
		wantStatus(t, "a login while locked", ts.callBasic(t, "POST", "/api/tokens", "amina", "amina-password"), http.StatusTooManyRequests)
	}
	if got := ts.count(t, "events"); got != before+1 {
		t.Errorf("events = %d rows after 30 refused logins, want %d", got, before+1)
	}
	wantEvent(t, "30 refused logins", ts.newest(t, id, token), eventLoginLocked, "30", 0, "127.0.0.1", "Go-http-client/1.1")
}

// The types the code writes are the ones the document lists.
func TestEventTypesDocumented(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Event struct {
					Properties struct {
						Type struct {
							Enum []string `json:"enum"`
						} `json:"type"`
					} `json:"properties"`
				} `json:"Event"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Components.Schemas.Event.Properties.Type.Enum; !slices.Equal(got, eventTypes) {
		t.Errorf("openapi.json's Event type enum = %q, want eventTypes %q", got, eventTypes)
	}
}
