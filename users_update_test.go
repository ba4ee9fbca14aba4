package main

import (
	"database/sql"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// PUT /api/users/{id}: a user changes its own account.

func TestUpdateUser(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		want   wantedUser
		logins string // the username that logs in afterwards
	}{
		{"nothing", `{}`,
			wantedUser{id: 1, username: "muthoni", email: "muthoni@example.com", avatar: avatarMuthoni}, "muthoni"},
		{"username", `{"username": "Muthoni_W"}`,
			wantedUser{id: 1, username: "Muthoni_W", email: "muthoni@example.com", avatar: avatarMuthoni}, "Muthoni_W"},
		{"username in other case", `{"username": "MUTHONI"}`,
			wantedUser{id: 1, username: "MUTHONI", email: "muthoni@example.com", avatar: avatarMuthoni}, "MUTHONI"},
		{"email", `{"email": "M.W@Example.org"}`,
			wantedUser{id: 1, username: "muthoni", email: "M.W@Example.org", avatar: avatarMDotW}, "muthoni"},
		{"about_me", `{"about_me": "Runs."}`,
			wantedUser{id: 1, username: "muthoni", email: "muthoni@example.com", avatar: avatarMuthoni, aboutMe: "Runs."}, "muthoni"},
		{"everything", `{"username": "mw", "email": "mw@example.com", "about_me": "Runs.", "id": 7, "post_count": 9, "last_seen": "2001-01-01T00:00:00Z"}`,
			wantedUser{id: 1, username: "mw", email: "mw@example.com", avatar: avatarMW, aboutMe: "Runs."}, "mw"},
		{"nulls change nothing", `{"username": null, "email": null, "about_me": null}`,
			wantedUser{id: 1, username: "muthoni", email: "muthoni@example.com", avatar: avatarMuthoni}, "muthoni"},
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
		wantedUser{id: 1, username: "muthoni", email: "muthoni@example.com", avatar: avatarMuthoni, aboutMe: "new"}, ts.clock.Now())
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
