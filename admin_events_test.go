package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// adminEventsJSON runs tokenapi events -json for username.
func adminEventsJSON(t *testing.T, dir, username string) []eventItem {
	t.Helper()
	var items []eventItem
	if err := json.Unmarshal([]byte(runOK(t, dir, "", "events", "-json", username)), &items); err != nil {
		t.Fatalf("events -json %s: %v", username, err)
	}
	return items
}

// tokenapi events prints a user's log, newest first, as a table and as
// JSON in the API's form, and logs that it was read. The operator's
// commands that end sessions or set the password log that too, with
// detail admin.
func TestAdminEvents(t *testing.T) {
	t.Parallel()
	p, dir := startAdminServer(t)
	p.createUser(t, "amara", "amara-password")
	const agent = "TeaApp/2.1 (Android 14)"
	token, session := loginSession(t, p, "amara", "amara-password", "", agent)
	wantStatus(t, "a wrong password", p.callWith(t, "POST", "/api/tokens", "", basic("amara", "wrong"),
		withHeader("User-Agent", agent)), http.StatusUnauthorized)

	rows := tableRows(t, runOK(t, dir, "", "events", "AMARA"), "ID AT TYPE DETAIL SESSION ADDRESS USER AGENT")
	want := [][]string{
		{eventEventsRead, "admin", "-", "-", "-"},
		{eventLoginFailed, "1", "-", "127.0.0.1", agent},
		{eventLoginSucceeded, "-", strconv.FormatInt(session, 10), "127.0.0.1", agent},
	}
	if len(rows) != len(want) {
		t.Fatalf("events printed rows %q, want %d", rows, len(want))
	}
	for i, row := range rows {
		if got := append(row[2:6:6], strings.Join(row[6:], " ")); strings.Join(got, "|") != strings.Join(want[i], "|") {
			t.Errorf("events row %d = %q; want type, detail, session, address and user agent %q", i, row, want[i])
		}
	}

	items := adminEventsJSON(t, dir, "amara")
	if len(items) != 4 || items[0].Type != eventEventsRead || items[1].Type != eventEventsRead ||
		items[3].Type != eventLoginSucceeded || items[3].SessionID == nil || *items[3].SessionID != session ||
		text(items[3].UserAgent) != agent || text(items[3].Address) != "127.0.0.1" {
		t.Errorf("events -json amara = %+v, want two reads, the failure and the login", items)
	}
	api, err := json.Marshal(p.call(t, "GET", "/api/users/1/events?per_page=100", token, "").object(t)["items"])
	if err != nil {
		t.Fatal(err)
	}
	var fromAPI []eventItem
	if err := json.Unmarshal(api, &fromAPI); err != nil {
		t.Fatal(err)
	}
	if got, want := jsonText(t, fromAPI), jsonText(t, items); got != want {
		t.Errorf("events -json:\n%s\nwant it as the API shows it:\n%s", want, got)
	}

	runOK(t, dir, "", "revoke", "-session", strconv.FormatInt(session, 10))
	runOK(t, dir, "", "revoke", "amara")
	runOK(t, dir, "a much longer passphrase\n", "passwd", "amara")
	items = adminEventsJSON(t, dir, "amara")
	wantTypes := []string{eventEventsRead, eventSessionEnded, eventPasswordChanged, eventSessionEnded, eventSessionEnded}
	if len(items) < len(wantTypes) {
		t.Fatalf("events -json amara = %+v, want at least %d", items, len(wantTypes))
	}
	for i, typ := range wantTypes {
		if e := items[i]; e.Type != typ || text(e.Detail) != byAdmin || e.Address != nil || e.UserAgent != nil {
			t.Errorf("event %d = %+v, want %s by admin, with no address or user agent", i, e, typ)
		}
	}
	if e := items[4]; e.SessionID == nil || *e.SessionID != session {
		t.Errorf("revoke -session %d logged %+v, want that session's id", session, e)
	}

	_, stderr, code := runProgram(t, dir, "", "-db", "tokenapi.db", "events", "nobody")
	if want := "tokenapi: no user named \"nobody\"\n"; code != 1 || stderr != want {
		t.Errorf("events nobody: exit code %d, stderr %q; want 1 and %q", code, stderr, want)
	}
}

// tokenapi events reads a page at a time (keysetPages): a log of more
// than one page comes out whole, newest first, each event once.
func TestAdminEventsPages(t *testing.T) {
	t.Parallel()
	p, dir := startAdminServer(t)
	id := p.createUser(t, "amara", "amara-password")
	st, err := openStore(context.Background(), filepath.Join(dir, "tokenapi.db"))
	if err != nil {
		t.Fatal(err)
	}
	const seeded = 2*adminUsersPage + 500
	seedRows(t, st, "events", "e-", id, seeded, time.Now())
	st.Close()
	items := adminEventsJSON(t, dir, "amara")
	if len(items) != seeded+1 || items[0].Type != eventEventsRead {
		t.Fatalf("events -json printed %d events, want the read and the %d seeded", len(items), seeded)
	}
	for i := 1; i < len(items); i++ {
		if items[i].ID >= items[i-1].ID {
			t.Fatalf("event %d has id %d after %d: want ids newest first, each once", i, items[i].ID, items[i-1].ID)
		}
	}
	if out := runOK(t, dir, "", "events", "amara"); strings.Count(out, "\n") != seeded+3 { // the header, two reads
		t.Errorf("events printed %d lines, want %d", strings.Count(out, "\n"), seeded+3)
	}
}
