package main

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Text that stays text: a client's text is shown to others and in an
// operator's terminal, so no field may carry characters that change how the
// text around them reads (see isUnsafeRune), while the joiners that emoji
// and scripts need go through.

// textField is a free-text field of the API, and how a test writes a value
// into it as the user muthoni.
type textField struct {
	name string // as the API's messages name it
	send func(t *testing.T, ts *testServer, token, value string) response
}

// textFields are every field a client writes free text into; a username is
// ASCII by its own rule (checkUsername).
var textFields = []textField{
	{"name", func(t *testing.T, ts *testServer, _, value string) response {
		return ts.callWith(t, "POST", "/api/tokens", `{"name": `+jsonText(t, value)+`}`,
			basic("muthoni", "muthoni-password"), withHeader("Content-Type", "application/json"))
	}},
	{"title", func(t *testing.T, ts *testServer, token, value string) response {
		return ts.call(t, "POST", "/api/posts", token, `{"title": `+jsonText(t, value)+`, "body": "tea"}`)
	}},
	{"body", func(t *testing.T, ts *testServer, token, value string) response {
		return ts.call(t, "POST", "/api/posts", token, `{"title": "tea", "body": `+jsonText(t, value)+`}`)
	}},
	{"about_me", func(t *testing.T, ts *testServer, token, value string) response {
		return ts.call(t, "PUT", "/api/users/1", token, `{"about_me": `+jsonText(t, value)+`}`)
	}},
	{"email", func(t *testing.T, ts *testServer, token, value string) response {
		return ts.call(t, "PUT", "/api/users/1", token, `{"email": `+jsonText(t, "m"+value+"@example.com")+`}`)
	}},
}

// TestFormatCharactersRefused: a format character that reorders or hides
// text is refused in every field with a message that names the field and
// the character, and nothing is stored.
func TestFormatCharactersRefused(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	for _, c := range []struct {
		name, char, code string
	}{
		{"right-to-left override", "\u202e", "U+202E"},
		{"left-to-right embedding", "\u202a", "U+202A"},
		{"first strong isolate", "\u2068", "U+2068"},
		{"pop directional isolate", "\u2069", "U+2069"},
		{"right-to-left mark", "\u200f", "U+200F"},
		{"zero-width space", "\u200b", "U+200B"},
		{"byte order mark", "\ufeff", "U+FEFF"},
		{"soft hyphen", "\u00ad", "U+00AD"},
		{"tag letter", "\U000e0041", "U+E0041"},
	} {
		for _, f := range textFields {
			res := f.send(t, ts, token, "gpj"+c.char+"exe")
			wantError(t, f.name+" with a "+c.name, res, http.StatusBadRequest,
				"field "+f.name+" must not contain the format character "+c.code)
		}
	}
	if n := ts.count(t, "tokens"); n != 1 {
		t.Errorf("tokens = %d rows after refused names, want only the login's 1", n)
	}
	if n := ts.count(t, "posts"); n != 0 {
		t.Errorf("posts = %d rows after refused titles and bodies, want 0", n)
	}
	if u := ts.userRow(t, 1); u.Email != "muthoni@example.com" || u.AboutMe.Valid {
		t.Errorf("user after refused changes: email %q, about_me %v; want muthoni@example.com and none", u.Email, u.AboutMe)
	}
}

// TestJoinersAccepted: the joiners (U+200D in emoji sequences, U+200C in
// Persian and the Indic scripts) and variation selectors go through in
// every field and come back as they were sent.
func TestJoinersAccepted(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	for _, value := range []string{
		"\U0001f469\u200d\U0001f4bb",                       // woman technologist: woman, ZWJ, laptop
		"\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", // Persian "I want", with a ZWNJ
		"\u2764\ufe0f", // red heart with the emoji variation selector
	} {
		for _, f := range textFields {
			res := f.send(t, ts, token, value)
			if res.status != http.StatusOK && res.status != http.StatusCreated {
				t.Fatalf("%s %q = %d %s, want it accepted", f.name, value, res.status, res.body)
			}
			want := value
			if f.name == "email" {
				want = "m" + value + "@example.com"
			}
			if got := res.object(t)[f.name]; got != want {
				t.Errorf("%s %q came back as %q", f.name, want, got)
			}
		}
	}
}

// TestUserAgentFormatCharacters: a User-Agent is not the client's choice of
// field, so it is not refused; a format character in it is stored as '?',
// as a control character is, and a joiner kept.
func TestUserAgentFormatCharacters(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "muthoni", "muthoni-password")
	token, _ := ts.loginWith(t, "muthoni", "", "Agent\u202egpj.exe\u2066/1\t\U0001f469\u200d\U0001f4bb")
	if got, want := ts.sessions(t, token)[0]["user_agent"], "Agent?gpj.exe?/1?\U0001f469\u200d\U0001f4bb"; got != want {
		t.Errorf("GET /api/tokens user_agent = %q, want %q", got, want)
	}
}

// TestAdminSessionsHideFormatCharacters: a row stored before format
// characters were refused may still hold them, so tokenapi sessions shows
// them as '?' in its table, as it does control characters.
func TestAdminSessionsHideFormatCharacters(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := openStore(context.Background(), filepath.Join(dir, "tokenapi.db"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	_, err = st.write.Exec(`INSERT INTO users (username, email, email_key, password_hash, last_seen)
		VALUES ('amara', 'amara@example.com', 'amara@example.com', 'x', ?)`, formatTime(now))
	if err == nil {
		_, err = st.write.Exec(`INSERT INTO tokens (hash, user_id, name, user_agent, created_at, expires_at, max_expires_at)
			VALUES ('old', 1, ?, ?, ?, ?, ?)`, "lap\u202etop", "curl\u2066/8\x1b[2J",
			formatTime(now), formatTime(now.Add(time.Hour)), formatTime(now.Add(time.Hour)))
	}
	if err := errors.Join(err, st.Close()); err != nil {
		t.Fatal(err)
	}
	rows := tableRows(t, runOK(t, dir, "", "sessions", "amara"), "ID NAME SCOPE CREATED LAST USED EXPIRES USER AGENT")
	if len(rows) != 1 || rows[0][1] != "lap?top" || strings.Join(rows[0][6:], " ") != "curl?/8?[2J" {
		t.Errorf("sessions amara printed %q, want the name lap?top and the agent curl?/8?[2J", rows)
	}
}
