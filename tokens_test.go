package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// tokensOf counts a user's rows in the tokens table.
func (ts *testServer) tokensOf(t testing.TB, userID int64) int {
	t.Helper()
	var n int
	if err := ts.db.read.QueryRow("SELECT COUNT(*) FROM tokens WHERE user_id = ?", userID).Scan(&n); err != nil {
		t.Fatalf("count tokens of user %d: %v", userID, err)
	}
	return n
}

func TestRevokeToken(t *testing.T) {
	ts := newTestServer(t)
	id, first := ts.newUser(t, "muthoni")
	second := ts.login(t, "muthoni", "muthoni-password")
	_, other := ts.newUser(t, "kamau")

	res := ts.call(t, "DELETE", "/api/tokens", first, "")
	wantStatus(t, "DELETE /api/tokens", res, http.StatusNoContent)
	if len(res.body) != 0 {
		t.Errorf("DELETE /api/tokens body = %q, want none", res.body)
	}
	wantBearerChallenge(t, "GET /api/users with the revoked token", ts.call(t, "GET", "/api/users", first, ""), true)
	wantBearerChallenge(t, "DELETE /api/tokens again", ts.call(t, "DELETE", "/api/tokens", first, ""), true)
	for name, token := range map[string]string{"the user's other token": second, "another user's token": other} {
		wantStatus(t, "GET /api/users with "+name, ts.call(t, "GET", "/api/users", token, ""), http.StatusOK)
	}
	if n := ts.tokensOf(t, id); n != 1 {
		t.Errorf("tokens of the user = %d, want 1", n)
	}
	if n := ts.count(t, "tokens"); n != 2 {
		t.Errorf("tokens = %d rows, want 2", n)
	}
}

func TestRevokeTokenRefused(t *testing.T) {
	ts := newTestServer(t)
	ts.newUser(t, "muthoni")
	tests := []struct {
		name          string
		authorization []string
		invalidToken  bool
	}{
		{name: "no header"},
		{name: "basic credentials", authorization: []string{"Basic " + b64("muthoni:muthoni-password")}},
		{name: "unknown token", authorization: []string{"Bearer " + newToken()}, invalidToken: true},
		{name: "malformed token", authorization: []string{"Bearer a b"}, invalidToken: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := ts.callWith(t, "DELETE", "/api/tokens", "", withHeader("Authorization", tc.authorization...))
			wantBearerChallenge(t, "DELETE /api/tokens", res, tc.invalidToken)
			if n := ts.count(t, "tokens"); n != 1 {
				t.Errorf("tokens = %d rows, want 1", n)
			}
		})
	}
}

func TestTokensPerUserBounded(t *testing.T) {
	ts := newTestServer(t)
	id, first := ts.newUser(t, "muthoni")
	otherID, other := ts.newUser(t, "kamau")
	tokens := []string{first}
	for len(tokens) < maxTokensPerUser {
		tokens = append(tokens, ts.login(t, "muthoni", "muthoni-password"))
	}
	// The oldest token is used while it is live, so that the server has it
	// cached when the next login retires it.
	wantStatus(t, "GET /api/users with the oldest token", ts.call(t, "GET", "/api/users", first, ""), http.StatusOK)
	for len(tokens) < maxTokensPerUser+1 {
		tokens = append(tokens, ts.login(t, "muthoni", "muthoni-password"))
	}
	if n := ts.tokensOf(t, id); n != maxTokensPerUser {
		t.Errorf("tokens of the user = %d, want %d", n, maxTokensPerUser)
	}
	wantBearerChallenge(t, "GET /api/users with the oldest token", ts.call(t, "GET", "/api/users", first, ""), true)
	for _, i := range []int{1, maxTokensPerUser / 2, maxTokensPerUser} {
		wantStatus(t, fmt.Sprintf("GET /api/users with token %d", i), ts.call(t, "GET", "/api/users", tokens[i], ""), http.StatusOK)
	}
	if n := ts.tokensOf(t, otherID); n != 1 {
		t.Errorf("tokens of another user = %d, want 1", n)
	}
	wantStatus(t, "GET /api/users with another user's token", ts.call(t, "GET", "/api/users", other, ""), http.StatusOK)
}

// secrets makes users, posts and tokens, and returns every password and
// token it used, and the Basic credentials it sent.
func secrets(t *testing.T, ts *testServer) []string {
	t.Helper()
	var out []string
	for _, name := range []string{"muthoni", "kamau", "wanjiru"} {
		password := name + "-password"
		ts.createUser(t, name, password)
		for i := 0; i < 3; i++ {
			token := ts.login(t, name, password)
			ts.createPost(t, token, "a post by "+name, "hello")
			out = append(out, token)
		}
		out = append(out, password, b64(name+":"+password))
	}
	revoked := ts.login(t, "muthoni", "muthoni-password")
	wantStatus(t, "DELETE /api/tokens", ts.call(t, "DELETE", "/api/tokens", revoked, ""), http.StatusNoContent)
	wantBearerChallenge(t, "GET /api/users with a revoked token", ts.call(t, "GET", "/api/users", revoked, ""), true)
	wantBasicChallenge(t, "POST /api/tokens with a wrong password", ts.callBasic(t, "POST", "/api/tokens", "kamau", "not-kamaus-password"))
	return append(out, revoked, "not-kamaus-password", b64("kamau:not-kamaus-password"))
}

func TestNoSecretsInDatabase(t *testing.T) {
	skipOnRqlite(t, "it reads the bytes of the database file, which the cluster's nodes own")
	ts := newTestServer(t)
	secret := secrets(t, ts)
	var data []byte
	for _, path := range []string{ts.dbPath, ts.dbPath + "-wal"} {
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) && path != ts.dbPath {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		data = append(data, b...)
	}
	if !bytes.Contains(data, []byte("muthoni@example.com")) {
		t.Fatal("the database files do not hold a user's email; is this the right file?")
	}
	for _, s := range secret {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("the database files hold %q in clear", s)
		}
	}

	// The stored form of a token is hex(sha256(token)).
	token := ts.login(t, "wanjiru", "wanjiru-password")
	sum := sha256.Sum256([]byte(token))
	var n int
	if err := ts.db.read.QueryRow("SELECT COUNT(*) FROM tokens WHERE hash = ?", hex.EncodeToString(sum[:])).Scan(&n); err != nil || n != 1 {
		t.Errorf("tokens with hash hex(sha256(token)) = %d, %v; want 1", n, err)
	}
}

func TestNoSecretsInLogs(t *testing.T) {
	ts := newTestServer(t)
	secret := secrets(t, ts)
	logs := ts.logs.String()
	if !strings.Contains(logs, "/api/tokens") {
		t.Fatalf("logs = %q, want request lines", logs)
	}
	for _, s := range append(secret, "Authorization", "authorization") {
		if strings.Contains(logs, s) {
			t.Errorf("logs hold %q:\n%s", s, logs)
		}
	}
}

// TestTokenNotIssuedOnChangedPassword covers a login that was checked
// against a password which changed before its token was stored: it must get
// a 401 and leave no token, or the token would outlive the change.
func TestTokenNotIssuedOnChangedPassword(t *testing.T) {
	ts := newTestServer(t)
	id := ts.createUser(t, "muthoni", "muthoni-password")
	checkedAgainst, err := ts.db.passwordHashByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	token := ts.login(t, "muthoni", "muthoni-password")
	res := ts.call(t, "PUT", userPath(id), token, passwordChange("muthoni-password", "new-password"))
	wantStatus(t, "PUT a new password", res, http.StatusOK)
	before := ts.count(t, "tokens")

	req := httptest.NewRequest("POST", "/api/tokens", nil)
	req = req.WithContext(withCaller(req.Context(), &caller{userID: id, passwordHash: checkedAgainst}))
	rec := httptest.NewRecorder()
	ts.srv.handleCreateToken(rec, req)
	if rec.Code != http.StatusUnauthorized {
		t.Errorf("token for a login checked against the old password = %d %s, want 401", rec.Code, rec.Body)
	}
	if got := ts.count(t, "tokens"); got != before {
		t.Errorf("tokens = %d, want %d: a token was stored", got, before)
	}
}

// A token deleted behind the server's back, by an operator or another
// process on the same file, stops working once the cached answer runs out
// of trust. (Found by review: the cache alone would have honoured it until
// the token expired.)
func TestTokenDeletedOutsideStopsWorking(t *testing.T) {
	ts := newTestServer(t)
	other := newTestServerAt(t, ts.dbPath)
	_, token := ts.newUser(t, "muthoni")
	wantStatus(t, "GET /api/users/1", ts.call(t, "GET", "/api/users/1", token, ""), http.StatusOK)
	wantStatus(t, "DELETE /api/tokens on another server", other.call(t, "DELETE", "/api/tokens", token, ""), http.StatusNoContent)

	ts.clock.Advance(cacheTrust)
	wantBearerChallenge(t, "GET /api/users/1 after another server revoked the token", ts.call(t, "GET", "/api/users/1", token, ""), true)

	_, token = ts.newUser(t, "kamau")
	wantStatus(t, "GET /api/users/2", ts.call(t, "GET", "/api/users/2", token, ""), http.StatusOK)
	if _, err := ts.db.write.Exec(`DELETE FROM tokens`); err != nil {
		t.Fatal(err)
	}
	ts.clock.Advance(cacheTrust)
	wantBearerChallenge(t, "GET /api/users/2 after the tokens were deleted by hand", ts.call(t, "GET", "/api/users/2", token, ""), true)
}

// A token the server has cached still stops working at its expiry: here
// the cap on its life, which no use moves.
func TestTokenExpiresWhileCached(t *testing.T) {
	ts := newTestServer(t, func(c *config) { c.tokenMaxAge = c.tokenTTL })
	_, token := ts.newUser(t, "muthoni")
	ts.clock.Advance(defaultTokenTTL - cacheTrust/2)
	wantStatus(t, "GET /api/users/1 just before expiry", ts.call(t, "GET", "/api/users/1", token, ""), http.StatusOK)
	ts.clock.Advance(cacheTrust / 2)
	wantBearerChallenge(t, "GET /api/users/1 at expiry, while cached", ts.call(t, "GET", "/api/users/1", token, ""), true)
}
