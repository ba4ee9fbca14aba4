package main

import (
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Signing up, reading users, and what a user looks like in JSON; then, at
// PUT /api/users/{id}, changing one. The lists are in pages_test.go.

// storedUser is a users row as SQLite holds it.
type storedUser struct {
	Username     string
	Email        string
	AboutMe      sql.NullString
	PasswordHash string
	LastSeen     string
}

// userRow reads a user straight from the database, bypassing the API.
func (ts *testServer) userRow(t testing.TB, id int64) storedUser {
	t.Helper()
	var u storedUser
	err := ts.db.read.QueryRow(
		`SELECT username, email, about_me, password_hash, last_seen FROM users WHERE id = ?`, id).
		Scan(&u.Username, &u.Email, &u.AboutMe, &u.PasswordHash, &u.LastSeen)
	if err != nil {
		t.Fatalf("read user %d: %v", id, err)
	}
	return u
}

// The avatar links of the emails the tests use: Gravatar's identicon of the
// MD5 of the trimmed, lower-case address, each worked out once by hand
// (printf %s muthoni@example.com | md5sum) rather than by the code under
// test.
const (
	avatarMuthoni = "https://www.gravatar.com/avatar/eef993aeceaea50203c803e816810712?d=identicon&s=128" // muthoni@example.com
	avatarWanjiru = "https://www.gravatar.com/avatar/2807d83951d90517abff47727bb5cd02?d=identicon&s=128" // wanjiru@example.com
	avatarMDotW   = "https://www.gravatar.com/avatar/ddda5896cd1273275b1e223558068f82?d=identicon&s=128" // m.w@example.org
	avatarMW      = "https://www.gravatar.com/avatar/1c523846ef799f43ad3ea3a488eac827?d=identicon&s=128" // mw@example.com
	avatarAmina   = "https://www.gravatar.com/avatar/c40d7ae2520a6522fbc8bd0f32751edf?d=identicon&s=128" // amina@example.com
	avatarBaraka  = "https://www.gravatar.com/avatar/ed6970c1f7ce0f667b8ad554f0c665c5?d=identicon&s=128" // baraka@example.com
	avatarChebet  = "https://www.gravatar.com/avatar/a8cb38f7092a2dea8c18d1f70f162418?d=identicon&s=128" // chebet@example.com
)

// wantedUser is the JSON a test wants for a user, but for last_seen, which
// wantUser checks as a time.
type wantedUser struct {
	id        int64
	username  string
	email     string // "" when the caller may not see it: the key must be absent
	verified  bool   // email_verified, shown with the email
	avatar    string // the whole link, written out
	aboutMe   string // "" is null
	postCount int
	// totp is totp_enabled, which the user's own GET and PUT show, and
	// nothing else: nil when the key must be absent.
	totp *bool
}

// totpOff is totp_enabled false, for wantedUser.totp.
var totpOff = false

func (u wantedUser) json() map[string]any {
	m := map[string]any{
		"id":         u.id,
		"username":   u.username,
		"about_me":   nil,
		"post_count": u.postCount,
		"_links": map[string]any{
			"self":     fmt.Sprintf("/api/users/%d", u.id),
			"my_posts": fmt.Sprintf("/api/users/%d/my-posts", u.id),
			"avatar":   u.avatar,
		},
	}
	if u.email != "" {
		m["email"] = u.email
		m["email_verified"] = u.verified
	}
	if u.aboutMe != "" {
		m["about_me"] = u.aboutMe
	}
	if u.totp != nil {
		m["totp_enabled"] = *u.totp
	}
	return m
}

// wantUser checks a user object: last_seen as a time, the rest exactly.
func wantUser(t testing.TB, what string, got map[string]any, want wantedUser, lastSeen time.Time) {
	t.Helper()
	wantTimestamp(t, what+": last_seen", got["last_seen"], lastSeen)
	rest := map[string]any{}
	for k, v := range got {
		if k != "last_seen" {
			rest[k] = v
		}
	}
	wantJSON(t, what, rest, want.json())
}

// wantNoSecret fails if a response carries secret anywhere.
func wantNoSecret(t testing.TB, what string, res response, secret string) {
	t.Helper()
	if strings.Contains(string(res.body), secret) || strings.Contains(fmt.Sprint(res.header), secret) {
		t.Errorf("%s: response holds the password %q: %s", what, secret, res.body)
	}
}

func TestCreateUser(t *testing.T) {
	ts := newTestServer(t)
	const password = "correct horse battery"
	res := ts.call(t, "POST", "/api/users", "",
		`{"username": "muthoni", "email": "muthoni@example.com", "password": "`+password+`"}`)
	wantStatus(t, "POST /api/users", res, http.StatusCreated)
	if got := res.header.Get("Location"); got != "/api/users/1" {
		t.Errorf("POST /api/users: Location = %q, want /api/users/1", got)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("POST /api/users: Content-Type = %q, want application/json", ct)
	}
	wantUser(t, "POST /api/users", res.object(t),
		wantedUser{id: 1, username: "muthoni", email: "muthoni@example.com", avatar: avatarMuthoni}, ts.clock.Now())
	wantNoSecret(t, "POST /api/users", res, password)

	row := ts.userRow(t, 1)
	if !strings.HasPrefix(row.PasswordHash, "pbkdf2-sha256$") {
		t.Errorf("stored password_hash = %q, want it to start with pbkdf2-sha256$", row.PasswordHash)
	}
	if strings.Contains(row.PasswordHash, password) {
		t.Errorf("stored password_hash %q holds the password", row.PasswordHash)
	}
	if n := ts.count(t, "users"); n != 1 {
		t.Errorf("users = %d rows, want 1", n)
	}

	// The password it was created with logs in; the user sees its own
	// email and never its password.
	token := ts.login(t, "muthoni", password)
	res = ts.call(t, "GET", "/api/users/1", token, "")
	wantStatus(t, "GET /api/users/1", res, http.StatusOK)
	wantNoSecret(t, "GET /api/users/1", res, password)
	res = ts.call(t, "GET", "/api/users", token, "")
	wantStatus(t, "GET /api/users", res, http.StatusOK)
	wantNoSecret(t, "GET /api/users", res, password)
}

func TestCreateUserWithAboutMe(t *testing.T) {
	ts := newTestServer(t)
	// A mixed-case email keeps its case, but its avatar is that of the
	// trimmed, lower-case address.
	res := ts.call(t, "POST", "/api/users", "",
		`{"username": "Wanjiru", "email": "Wanjiru@Example.COM", "password": "password123", "about_me": "Writes\nabout tea."}`)
	wantStatus(t, "POST /api/users", res, http.StatusCreated)
	want := wantedUser{id: 1, username: "Wanjiru", email: "Wanjiru@Example.COM", avatar: avatarWanjiru, aboutMe: "Writes\nabout tea."}
	wantUser(t, "POST /api/users", res.object(t), want, ts.clock.Now())
}

func TestCreateUserIgnoresServerFields(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "first", "first-password")
	res := ts.call(t, "POST", "/api/users", "", `{
		"id": 99,
		"username": "muthoni",
		"email": "muthoni@example.com",
		"password": "password123",
		"last_seen": "2001-01-01T00:00:00Z",
		"post_count": 7,
		"password_hash": "pbkdf2-sha256$1$AAAA$BBBB",
		"_links": {"self": "/elsewhere"},
		"is_admin": true
	}`)
	wantStatus(t, "POST /api/users", res, http.StatusCreated)
	wantUser(t, "POST /api/users", res.object(t),
		wantedUser{id: 2, username: "muthoni", email: "muthoni@example.com", avatar: avatarMuthoni}, ts.clock.Now())
	if got := res.header.Get("Location"); got != "/api/users/2" {
		t.Errorf("POST /api/users: Location = %q, want /api/users/2", got)
	}
	if n := ts.count(t, "users"); n != 2 {
		t.Errorf("users = %d rows, want 2", n)
	}
	if row := ts.userRow(t, 2); row.PasswordHash == "pbkdf2-sha256$1$AAAA$BBBB" {
		t.Errorf("stored password_hash is the client's %q", row.PasswordHash)
	}
	// The real password, not the sent hash, is what logs in.
	ts.login(t, "muthoni", "password123")
}

func TestCreateUserAcceptsLimits(t *testing.T) {
	email120 := strings.Repeat("e", 120-len("@example.com")) + "@example.com"
	// The avatar link of each email, worked out by hand as for avatarMuthoni.
	avatars := map[string]string{
		"a@example.com": "https://www.gravatar.com/avatar/b418773a2c51fb9777a1648346fa7394?d=identicon&s=128",
		"u@example.com": "https://www.gravatar.com/avatar/9357eac503877e7ede6f74eab9fac899?d=identicon&s=128",
		"m@example.com": "https://www.gravatar.com/avatar/0bc74af958460034621b0b7257bc178b?d=identicon&s=128",
		"a@b":           "https://www.gravatar.com/avatar/a1ca0ed6e42a23f4758e8a3f6b54de58?d=identicon&s=128",
		email120:        "https://www.gravatar.com/avatar/8349786340e645cb4e242de3d763b9e5?d=identicon&s=128",
	}
	tests := []struct {
		name     string
		username string
		email    string
		password string
		aboutMe  string
	}{
		{"one-letter username", "a", "a@example.com", "password1", ""},
		{"64-character username", strings.Repeat("u", 64), "u@example.com", "password1", ""},
		{"username with _ . -", "Mu_th.o-ni9", "m@example.com", "password1", ""},
		{"shortest email", "muthoni", "a@b", "password1", ""},
		{"120-character email", "muthoni", email120, "password1", ""},
		{"8-character password", "muthoni", "m@example.com", "12345678", ""},
		{"8 non-ASCII characters as password", "muthoni", "m@example.com", "éééééééé", ""},
		{"1024-character password", "muthoni", "m@example.com", strings.Repeat("p", 1024), ""},
		{"password with spaces and colons", "muthoni", "m@example.com", " a: b :c ", ""},
		{"140-character about_me", "muthoni", "m@example.com", "password1", strings.Repeat("é", 140)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			body := jsonText(t, map[string]string{
				"username": tt.username, "email": tt.email, "password": tt.password, "about_me": tt.aboutMe,
			})
			res := ts.call(t, "POST", "/api/users", "", body)
			wantStatus(t, "POST /api/users", res, http.StatusCreated)
			want := wantedUser{id: 1, username: tt.username, email: tt.email, avatar: avatars[tt.email], aboutMe: tt.aboutMe}
			wantUser(t, "POST /api/users", res.object(t), want, ts.clock.Now())
			ts.login(t, tt.username, tt.password)
		})
	}
}

func TestCreateUserInvalid(t *testing.T) {
	long := func(n int, suffix string) string { return strings.Repeat("x", n-len(suffix)) + suffix }
	tests := []bodyCase{
		{"no username", "", `{"email": "m@example.com", "password": "password1"}`, 400, "field username is required"},
		{"empty username", "", `{"username": "", "email": "m@example.com", "password": "password1"}`, 400, "field username is required"},
		{"null username", "", `{"username": null, "email": "m@example.com", "password": "password1"}`, 400, "field username is required"},
		{"65-character username", "", `{"username": "` + long(65, "") + `", "email": "m@example.com", "password": "password1"}`, 400, "field username must be at most 64"},
		{"username with a space", "", `{"username": "mu thoni", "email": "m@example.com", "password": "password1"}`, 400, "field username may hold only"},
		{"username with a non-ASCII letter", "", `{"username": "müthoni", "email": "m@example.com", "password": "password1"}`, 400, "field username may hold only"},
		{"username with a slash", "", `{"username": "a/b", "email": "m@example.com", "password": "password1"}`, 400, "field username may hold only"},
		{"username with an @", "", `{"username": "a@b", "email": "m@example.com", "password": "password1"}`, 400, "field username may hold only"},
		{"username a number", "", `{"username": 5, "email": "m@example.com", "password": "password1"}`, 400, "field username must be a string"},
		{"username an array", "", `{"username": ["a"], "email": "m@example.com", "password": "password1"}`, 400, "field username must be a string"},
		{"no email", "", `{"username": "muthoni", "password": "password1"}`, 400, "field email is required"},
		{"email without @", "", `{"username": "muthoni", "email": "muthoni.example.com", "password": "password1"}`, 400, "field email must be an address"},
		{"email with two @", "", `{"username": "muthoni", "email": "m@x@example.com", "password": "password1"}`, 400, "field email must be an address"},
		{"email without local part", "", `{"username": "muthoni", "email": "@example.com", "password": "password1"}`, 400, "field email must be an address"},
		{"email without domain", "", `{"username": "muthoni", "email": "muthoni@", "password": "password1"}`, 400, "field email must be an address"},
		{"email with a space", "", `{"username": "muthoni", "email": "mu thoni@example.com", "password": "password1"}`, 400, "field email must be an address"},
		{"email with a tab", "", `{"username": "muthoni", "email": "mu\tthoni@example.com", "password": "password1"}`, 400, "field email must not contain control characters"},
		{"121-character email", "", `{"username": "muthoni", "email": "` + long(121, "@example.com") + `", "password": "password1"}`, 400, "field email must be 3 to 120 characters"},
		{"email a number", "", `{"username": "muthoni", "email": 5, "password": "password1"}`, 400, "field email must be a string"},
		{"no password", "", `{"username": "muthoni", "email": "m@example.com"}`, 400, "field password is required"},
		{"7-character password", "", `{"username": "muthoni", "email": "m@example.com", "password": "1234567"}`, 400, "field password must be 8 to 1024 characters"},
		{"7 non-ASCII characters as password", "", `{"username": "muthoni", "email": "m@example.com", "password": "ééééééé"}`, 400, "field password must be 8 to 1024 characters"},
		{"1025-character password", "", `{"username": "muthoni", "email": "m@example.com", "password": "` + long(1025, "") + `"}`, 400, "field password must be 8 to 1024 characters"},
		{"password with a control character", "", `{"username": "muthoni", "email": "m@example.com", "password": "pass\u0007word"}`, 400, "field password must not contain control characters"},
		{"password a number", "", `{"username": "muthoni", "email": "m@example.com", "password": 12345678}`, 400, "field password must be a string"},
		{"141-character about_me", "", `{"username": "muthoni", "email": "m@example.com", "password": "password1", "about_me": "` + long(141, "") + `"}`, 400, "field about_me must be 0 to 140 characters"},
		{"about_me with a control character", "", `{"username": "muthoni", "email": "m@example.com", "password": "password1", "about_me": "a\u0000b"}`, 400, "field about_me must not contain control characters"},
		{"about_me a number", "", `{"username": "muthoni", "email": "m@example.com", "password": "password1", "about_me": 5}`, 400, "field about_me must be a string"},
		{"form body", "application/x-www-form-urlencoded", `username=muthoni&email=m@example.com&password=password1`, 415, "Content-Type must be application/json"},
		{"no Content-Type", "-", `{"username": "muthoni", "email": "m@example.com", "password": "password1"}`, 415, "Content-Type must be application/json"},
		{"malformed JSON", "", `{"username": "muthoni", "email": "m@example.com",`, 400, "request body is malformed JSON"},
		{"JSON array", "", `[{"username": "muthoni", "email": "m@example.com", "password": "password1"}]`, 400, "request body must be a JSON object"},
	}
	ts := newTestServer(t)
	ts.createUser(t, "existing", "existing-password")
	before := ts.userRow(t, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.send(t, ts, "POST", "/api/users", "")
			wantError(t, "POST /api/users", res, tt.status, tt.message)
			if n := ts.count(t, "users"); n != 1 {
				t.Errorf("after POST /api/users = %d: users = %d rows, want 1", res.status, n)
			}
			if got := ts.userRow(t, 1); got != before {
				t.Errorf("existing user changed: %+v, was %+v", got, before)
			}
		})
	}
}

func TestCreateUserDuplicate(t *testing.T) {
	tests := []struct {
		name     string
		username string
		email    string
		message  string
	}{
		{"same username", "muthoni", "other@example.com", "username is already taken"},
		{"username in other case", "MUTHONI", "other@example.com", "username is already taken"},
		{"username in mixed case", "Muthoni", "other@example.com", "username is already taken"},
		{"same email", "other", "muthoni@example.com", "email is already registered"},
		{"email in other case", "other", "Muthoni@EXAMPLE.com", "email is already registered"},
	}
	ts := newTestServer(t)
	ts.createUser(t, "muthoni", "muthoni-password")
	before := ts.userRow(t, 1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := jsonText(t, map[string]string{"username": tt.username, "email": tt.email, "password": "password1"})
			res := ts.call(t, "POST", "/api/users", "", body)
			wantError(t, "POST /api/users", res, http.StatusBadRequest, tt.message)
			if n := ts.count(t, "users"); n != 1 {
				t.Errorf("users = %d rows, want 1", n)
			}
			if got := ts.userRow(t, 1); got != before {
				t.Errorf("existing user changed: %+v, was %+v", got, before)
			}
		})
	}
	// The original account still logs in with its own password.
	ts.login(t, "muthoni", "muthoni-password")
}

// TestCreateUserDuplicateEmailNonASCIICase: SQLite's NOCASE folds ASCII
// letters alone, so two addresses that differ only in the case of a
// non-ASCII letter must still collide.
func TestCreateUserDuplicateEmailNonASCIICase(t *testing.T) {
	ts := newTestServer(t)
	res := ts.call(t, "POST", "/api/users", "", `{"username": "zoe", "email": "zoë@example.com", "password": "password1"}`)
	wantStatus(t, "POST /api/users", res, http.StatusCreated)
	res = ts.call(t, "POST", "/api/users", "", `{"username": "zoe2", "email": "ZOË@example.com", "password": "password1"}`)
	wantError(t, "POST /api/users with ZOË@example.com after zoë@example.com", res, http.StatusBadRequest, "email is already registered")
	if n := ts.count(t, "users"); n != 1 {
		t.Errorf("users = %d rows, want 1", n)
	}
}

// caseTwins are addresses that differ only in letters strings.ToLower
// leaves apart and Unicode case folding joins: long s, final sigma and the
// beta symbol.
var caseTwins = [][2]string{
	{"sam@x.org", "ſam@x.org"},
	{"σa@x.org", "ςa@x.org"},
	{"βa@x.org", "ϐa@x.org"},
}

// TestCreateUserDuplicateEmailCaseFolding: each of two case twins is
// refused once the other is registered, whichever came first.
func TestCreateUserDuplicateEmailCaseFolding(t *testing.T) {
	for _, pair := range caseTwins {
		for _, order := range [][2]string{{pair[0], pair[1]}, {pair[1], pair[0]}} {
			first, second := order[0], order[1]
			t.Run(first+" then "+second, func(t *testing.T) {
				ts := newTestServer(t)
				res := ts.call(t, "POST", "/api/users", "", jsonText(t, map[string]string{"username": "first", "email": first, "password": "password1"}))
				wantStatus(t, "POST /api/users with "+first, res, http.StatusCreated)
				before := ts.userRow(t, 1)
				res = ts.call(t, "POST", "/api/users", "", jsonText(t, map[string]string{"username": "second", "email": second, "password": "password1"}))
				wantError(t, "POST /api/users with "+second+" after "+first, res, http.StatusBadRequest, "email is already registered")
				if n := ts.count(t, "users"); n != 1 {
					t.Errorf("users = %d rows, want 1", n)
				}
				if got := ts.userRow(t, 1); got != before {
					t.Errorf("existing user changed: %+v, was %+v", got, before)
				}
			})
		}
	}
}

func TestGetUser(t *testing.T) {
	ts := newTestServer(t)
	muthoni, token := ts.newUser(t, "muthoni")
	wanjiru, _ := ts.newUser(t, "wanjiru")
	ts.createPost(t, token, "Tea", "About tea.")

	res := ts.call(t, "GET", fmt.Sprintf("/api/users/%d", muthoni), token, "")
	wantStatus(t, "GET /api/users/1 as its owner", res, http.StatusOK)
	wantUser(t, "GET /api/users/1 as its owner", res.object(t),
		wantedUser{id: muthoni, username: "muthoni", email: "muthoni@example.com", avatar: avatarMuthoni, postCount: 1, totp: &totpOff}, ts.clock.Now())

	// Another user's email is private: the key is absent, not empty.
	res = ts.call(t, "GET", fmt.Sprintf("/api/users/%d", wanjiru), token, "")
	wantStatus(t, "GET /api/users/2 as another user", res, http.StatusOK)
	got := res.object(t)
	if _, ok := got["email"]; ok {
		t.Errorf("GET /api/users/2 as another user: has email %v, want no email key", got["email"])
	}
	wantUser(t, "GET /api/users/2 as another user", got,
		wantedUser{id: wanjiru, username: "wanjiru", avatar: avatarWanjiru}, ts.clock.Now())
}

func TestGetUserNotFound(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	for _, id := range []string{"2", "999999", "abc", "0", "-1", "1.5", "1e3", "%201", "9999999999999999999999"} {
		t.Run(id, func(t *testing.T) {
			res := ts.call(t, "GET", "/api/users/"+id, token, "")
			wantError(t, "GET /api/users/"+id, res, http.StatusNotFound, "")
		})
	}
}

func TestUsersNeedToken(t *testing.T) {
	ts := newTestServer(t)
	id, _ := ts.newUser(t, "muthoni")
	before := ts.userRow(t, id)
	tests := []struct {
		name   string
		method string
		path   string
		body   string
	}{
		{"get user", "GET", "/api/users/1", ""},
		{"list users", "GET", "/api/users", ""},
		{"update user", "PUT", "/api/users/1", `{"about_me": "changed"}`},
		{"list user's posts", "GET", "/api/users/1/my-posts", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := ts.call(t, tt.method, tt.path, "", tt.body)
			what := tt.method + " " + tt.path + " without a token"
			wantError(t, what, res, http.StatusUnauthorized, "")
			if got := res.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
				t.Errorf("%s: WWW-Authenticate = %q, want a Bearer challenge", what, got)
			}
			if got := ts.userRow(t, id); got != before {
				t.Errorf("%s changed the user: %+v, was %+v", what, got, before)
			}
		})
	}
}

func TestListUsersShowsOnlyOwnEmail(t *testing.T) {
	ts := newTestServer(t)
	ts.newUser(t, "amina")
	_, token := ts.newUser(t, "baraka")
	ts.newUser(t, "chebet")
	res := ts.call(t, "GET", "/api/users", token, "")
	wantStatus(t, "GET /api/users", res, http.StatusOK)
	items := res.object(t)["items"].([]any)
	want := []wantedUser{
		wantedUser{id: 1, username: "amina", avatar: avatarAmina},
		wantedUser{id: 2, username: "baraka", email: "baraka@example.com", avatar: avatarBaraka},
		wantedUser{id: 3, username: "chebet", avatar: avatarChebet},
	}
	if len(items) != len(want) {
		t.Fatalf("GET /api/users: %d items, want %d", len(items), len(want))
	}
	for i, item := range items {
		wantUser(t, fmt.Sprintf("GET /api/users as user 2: item %d", i), item.(map[string]any), want[i], ts.clock.Now())
	}
}

// PUT /api/users/{id}: a user changes its own account.

func TestUpdateUser(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		want   wantedUser
		logins string // the username that logs in afterwards
	}{
		{"nothing", `{}`,
			wantedUser{id: 1, username: "muthoni", email: "muthoni@example.com", avatar: avatarMuthoni, totp: &totpOff}, "muthoni"},
		{"username", `{"username": "Muthoni_W"}`,
			wantedUser{id: 1, username: "Muthoni_W", email: "muthoni@example.com", avatar: avatarMuthoni, totp: &totpOff}, "Muthoni_W"},
		{"username in other case", `{"username": "MUTHONI"}`,
			wantedUser{id: 1, username: "MUTHONI", email: "muthoni@example.com", avatar: avatarMuthoni, totp: &totpOff}, "MUTHONI"},
		{"email", `{"email": "M.W@Example.org"}`,
			wantedUser{id: 1, username: "muthoni", email: "M.W@Example.org", avatar: avatarMDotW, totp: &totpOff}, "muthoni"},
		{"about_me", `{"about_me": "Runs."}`,
			wantedUser{id: 1, username: "muthoni", email: "muthoni@example.com", avatar: avatarMuthoni, aboutMe: "Runs.", totp: &totpOff}, "muthoni"},
		{"everything", `{"username": "mw", "email": "mw@example.com", "about_me": "Runs.", "id": 7, "post_count": 9, "last_seen": "2001-01-01T00:00:00Z"}`,
			wantedUser{id: 1, username: "mw", email: "mw@example.com", avatar: avatarMW, aboutMe: "Runs.", totp: &totpOff}, "mw"},
		{"nulls change nothing", `{"username": null, "email": null, "about_me": null}`,
			wantedUser{id: 1, username: "muthoni", email: "muthoni@example.com", avatar: avatarMuthoni, totp: &totpOff}, "muthoni"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			id, token := ts.newUser(t, "muthoni")
			hashBefore := ts.userRow(t, id).PasswordHash
			res := ts.call(t, "PUT", "/api/users/1", token, tt.body)
			wantStatus(t, "PUT /api/users/1", res, http.StatusOK)
			wantUser(t, "PUT /api/users/1", res.object(t), tt.want, ts.clock.Now())
			wantNoSecret(t, "PUT /api/users/1", res, "muthoni-password")

			res = ts.call(t, "GET", "/api/users/1", token, "")
			wantStatus(t, "GET /api/users/1", res, http.StatusOK)
			wantUser(t, "GET /api/users/1 after PUT", res.object(t), tt.want, ts.clock.Now())
			if got := ts.userRow(t, id).PasswordHash; got != hashBefore {
				t.Errorf("password_hash changed without a password in the PUT")
			}
			ts.login(t, tt.logins, "muthoni-password")
		})
	}
}

func TestUpdateUserClearsAboutMe(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	res := ts.call(t, "PUT", "/api/users/1", token, `{"about_me": "Runs."}`)
	wantStatus(t, "PUT /api/users/1", res, http.StatusOK)
	if got := ts.userRow(t, id).AboutMe; got != (sql.NullString{String: "Runs.", Valid: true}) {
		t.Fatalf("stored about_me = %+v, want Runs.", got)
	}
	res = ts.call(t, "PUT", "/api/users/1", token, `{"about_me": ""}`)
	wantStatus(t, "PUT /api/users/1", res, http.StatusOK)
	got := res.object(t)
	if v, ok := got["about_me"]; !ok || v != nil {
		t.Errorf(`PUT /api/users/1 {"about_me": ""}: about_me = %v (present %t), want null`, v, ok)
	}
	if row := ts.userRow(t, id); row.AboutMe.Valid {
		t.Errorf("stored about_me = %q, want NULL", row.AboutMe.String)
	}
}

func TestUpdateUserForbidden(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	other, _ := ts.newUser(t, "wanjiru")
	before := ts.userRow(t, other)
	for _, id := range []string{"2", "3", "999999"} {
		t.Run(id, func(t *testing.T) {
			res := ts.call(t, "PUT", "/api/users/"+id, token, `{"username": "taken", "about_me": "hacked"}`)
			wantError(t, "PUT /api/users/"+id+" as user 1", res, http.StatusForbidden, "only your own account")
			if got := ts.userRow(t, other); got != before {
				t.Errorf("user 2 changed: %+v, was %+v", got, before)
			}
			if got := ts.userRow(t, 1).Username; got != "muthoni" {
				t.Errorf("user 1 username = %q, want muthoni", got)
			}
			if n := ts.count(t, "users"); n != 2 {
				t.Errorf("users = %d rows, want 2", n)
			}
		})
	}
	res := ts.call(t, "PUT", "/api/users/abc", token, `{"about_me": "x"}`)
	wantError(t, "PUT /api/users/abc", res, http.StatusNotFound, "")
}

func TestUpdateUserInvalid(t *testing.T) {
	tests := []bodyCase{
		{"empty username", "", `{"username": ""}`, 400, "field username is required"},
		{"65-character username", "", `{"username": "` + strings.Repeat("u", 65) + `"}`, 400, "field username must be at most 64"},
		{"username with a space", "", `{"username": "mu thoni"}`, 400, "field username may hold only"},
		{"username a number", "", `{"username": 5}`, 400, "field username must be a string"},
		{"empty email", "", `{"email": ""}`, 400, "field email is required"},
		{"email without @", "", `{"email": "muthoni.example.com"}`, 400, "field email must be an address"},
		{"121-character email", "", `{"email": "` + strings.Repeat("e", 109) + `@example.com"}`, 400, "field email must be 3 to 120 characters"},
		{"email true", "", `{"email": true}`, 400, "field email must be a string"},
		{"141-character about_me", "", `{"about_me": "` + strings.Repeat("a", 141) + `"}`, 400, "field about_me must be 0 to 140 characters"},
		{"about_me an object", "", `{"about_me": {}}`, 400, "field about_me must be a string"},
		{"valid field with an invalid one", "", `{"about_me": "fine", "username": "no way"}`, 400, "field username may hold only"},
		{"password without current_password", "", `{"password": "new-password"}`, 400, "field current_password"},
		{"password with wrong current_password", "", `{"password": "new-password", "current_password": "wrong-password"}`, 400, "field current_password is wrong"},
		{"password with empty current_password", "", `{"password": "new-password", "current_password": ""}`, 400, "field current_password is wrong"},
		{"wrong current_password with other changes", "", `{"password": "new-password", "current_password": "wrong-password", "username": "mw", "about_me": "x"}`, 400, "field current_password is wrong"},
		{"short password", "", `{"password": "short", "current_password": "muthoni-password"}`, 400, "field password must be 8 to 1024 characters"},
		{"1025-character password", "", `{"password": "` + strings.Repeat("p", 1025) + `", "current_password": "muthoni-password"}`, 400, "field password must be 8 to 1024 characters"},
		{"password a number", "", `{"password": 12345678, "current_password": "muthoni-password"}`, 400, "field password must be a string"},
		{"text body", "text/plain", `{"about_me": "x"}`, 415, "Content-Type must be application/json"},
		{"malformed JSON", "", `{"about_me": "x"`, 400, "request body is malformed JSON"},
	}
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	other := ts.login(t, "muthoni", "muthoni-password")
	before := ts.userRow(t, id)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.send(t, ts, "PUT", "/api/users/1", token)
			wantError(t, "PUT /api/users/1", res, tt.status, tt.message)
			if got := ts.userRow(t, id); got != before {
				t.Errorf("user changed: %+v, was %+v", got, before)
			}
			// A refused password change revokes no token.
			res = ts.call(t, "GET", "/api/users/1", other, "")
			wantStatus(t, "GET /api/users/1 with the other token", res, http.StatusOK)
		})
	}
	ts.login(t, "muthoni", "muthoni-password")
}

func TestUpdateUserDuplicate(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		message string
	}{
		{"username", `{"username": "wanjiru"}`, "username is already taken"},
		{"username in other case", `{"username": "WanJiru"}`, "username is already taken"},
		{"email", `{"email": "wanjiru@example.com"}`, "email is already registered"},
		{"email in other case", `{"email": "WANJIRU@example.com"}`, "email is already registered"},
		{"username with other changes", `{"username": "wanjiru", "about_me": "x", "email": "new@example.com"}`, "username is already taken"},
		{"username with a password change", `{"username": "wanjiru", "password": "new-password", "current_password": "muthoni-password"}`, "username is already taken"},
	}
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	other, _ := ts.newUser(t, "wanjiru")
	before, otherBefore := ts.userRow(t, id), ts.userRow(t, other)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := ts.call(t, "PUT", "/api/users/1", token, tt.body)
			wantError(t, "PUT /api/users/1", res, http.StatusBadRequest, tt.message)
			if got := ts.userRow(t, id); got != before {
				t.Errorf("user 1 changed: %+v, was %+v", got, before)
			}
			if got := ts.userRow(t, other); got != otherBefore {
				t.Errorf("user 2 changed: %+v, was %+v", got, otherBefore)
			}
		})
	}
	ts.login(t, "muthoni", "muthoni-password")
}

// TestUpdateUserDuplicateEmailCaseFolding: a user cannot change its email
// to a case twin of another user's (caseTwins, in users_test.go), in
// either order.
func TestUpdateUserDuplicateEmailCaseFolding(t *testing.T) {
	for _, pair := range caseTwins {
		for _, order := range [][2]string{{pair[0], pair[1]}, {pair[1], pair[0]}} {
			taken, wanted := order[0], order[1]
			t.Run(wanted+" when "+taken+" is taken", func(t *testing.T) {
				ts := newTestServer(t)
				id, token := ts.newUser(t, "muthoni")
				res := ts.call(t, "POST", "/api/users", "", jsonText(t, map[string]string{"username": "wanjiru", "email": taken, "password": "password1"}))
				wantStatus(t, "POST /api/users with "+taken, res, http.StatusCreated)
				other := int64(res.object(t)["id"].(float64))
				before, otherBefore := ts.userRow(t, id), ts.userRow(t, other)
				res = ts.call(t, "PUT", fmt.Sprintf("/api/users/%d", id), token, jsonText(t, map[string]string{"email": wanted}))
				wantError(t, "PUT /api/users/1 with email "+wanted, res, http.StatusBadRequest, "email is already registered")
				if n := ts.count(t, "users"); n != 2 {
					t.Errorf("users = %d rows, want 2", n)
				}
				if got := ts.userRow(t, id); got != before {
					t.Errorf("user %d changed: %+v, was %+v", id, got, before)
				}
				if got := ts.userRow(t, other); got != otherBefore {
					t.Errorf("user %d changed: %+v, was %+v", other, got, otherBefore)
				}
			})
		}
	}
}

func TestUpdateUserPassword(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	otherToken := ts.login(t, "muthoni", "muthoni-password")
	thirdToken := ts.login(t, "muthoni", "muthoni-password")
	_, bystander := ts.newUser(t, "wanjiru")
	hashBefore := ts.userRow(t, id).PasswordHash
	if n := ts.count(t, "tokens"); n != 4 {
		t.Fatalf("tokens = %d rows, want 4", n)
	}
	// Each token is used once first, so that the server has it cached.
	for _, tok := range []string{token, otherToken, thirdToken, bystander} {
		wantStatus(t, "GET /api/users/1 before the change", ts.call(t, "GET", "/api/users/1", tok, ""), http.StatusOK)
	}

	const newPassword = "a much better password"
	res := ts.call(t, "PUT", "/api/users/1", token,
		`{"password": "`+newPassword+`", "current_password": "muthoni-password", "about_me": "new"}`)
	wantStatus(t, "PUT /api/users/1 with a new password", res, http.StatusOK)
	wantUser(t, "PUT /api/users/1", res.object(t),
		wantedUser{id: 1, username: "muthoni", email: "muthoni@example.com", avatar: avatarMuthoni, aboutMe: "new", totp: &totpOff}, ts.clock.Now())
	wantNoSecret(t, "PUT /api/users/1", res, newPassword)
	wantNoSecret(t, "PUT /api/users/1", res, "muthoni-password")

	hash := ts.userRow(t, id).PasswordHash
	if hash == hashBefore || !strings.HasPrefix(hash, "pbkdf2-sha256$") || strings.Contains(hash, newPassword) {
		t.Errorf("stored password_hash = %q (was %q), want a new pbkdf2-sha256$ hash", hash, hashBefore)
	}

	res = ts.callBasic(t, "POST", "/api/tokens", "muthoni", "muthoni-password")
	wantError(t, "POST /api/tokens with the old password", res, http.StatusUnauthorized, "")

	// The token that made the change lives on; the caller's others do not;
	// other users' tokens are untouched.
	res = ts.call(t, "GET", "/api/users/1", token, "")
	wantStatus(t, "GET /api/users/1 with the token that changed the password", res, http.StatusOK)
	for _, tok := range []string{otherToken, thirdToken} {
		res = ts.call(t, "GET", "/api/users/1", tok, "")
		wantError(t, "GET /api/users/1 with another token of the user", res, http.StatusUnauthorized, "")
	}
	res = ts.call(t, "GET", "/api/users/1", bystander, "")
	wantStatus(t, "GET /api/users/1 with another user's token", res, http.StatusOK)

	ts.login(t, "muthoni", newPassword)
}
