package main

import (
	"crypto/rand"
	"encoding/base64"
	"hash/crc32"
	"math/big"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The token format (tokenformat.go): what newToken makes, a token with the
// prefix but a wrong checksum refused before any lookup, and a token from
// before the prefix still looked up.

// tokenPattern is the regular expression docs/token-format.md gives secret
// scanners, anchored.
var tokenPattern = regexp.MustCompile(`^tapi_[0-9A-Za-z]{49}$`)

// checksumOK is the check docs/token-format.md gives clients and scanners,
// written apart from tokenformat.go so that the tests hold the server to
// the document. Keep it the same as the document's.
func checksumOK(token string) bool {
	const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	if len(token) != 54 || !strings.HasPrefix(token, "tapi_") {
		return false
	}
	var sum uint64
	for i := 5; i < 54; i++ {
		d := strings.IndexByte(base62, token[i])
		if d < 0 {
			return false
		}
		if i >= 48 { // the last six characters: the checksum
			sum = sum*62 + uint64(d)
		}
	}
	return sum == uint64(crc32.ChecksumIEEE([]byte(token[:48])))
}

// changeChar returns token with its i-th character replaced by the next
// base62 digit.
func changeChar(token string, i int) string {
	next := base62Digits[(strings.IndexByte(base62Digits, token[i])+1)%len(base62Digits)]
	return token[:i] + string(next) + token[i+1:]
}

// withChecksum returns text with the checksum of text appended, whatever
// its characters.
func withChecksum(text string) string {
	sum := make([]byte, tokenChecksumLen)
	putTokenChecksum(sum, []byte(text))
	return text + string(sum)
}

// oldFormatToken returns a token as newToken made them before the prefix:
// 256 random bits in URL-safe base64, 43 characters.
func oldFormatToken() string {
	b := make([]byte, 32)
	for {
		rand.Read(b)
		// One in 2^30 starts with the prefix, and could not be used.
		if token := base64.RawURLEncoding.EncodeToString(b); !strings.HasPrefix(token, tokenPrefix) {
			return token
		}
	}
}

func TestNewTokenFormat(t *testing.T) {
	ts := newTestServer(t)
	_, issued := ts.newUser(t, "muthoni")
	if !tokenPattern.MatchString(issued) || !checksumOK(issued) {
		t.Errorf("POST /api/tokens token = %q, want tapi_, 49 base62 characters, and the checksum", issued)
	}
	seen := map[string]bool{}
	for range 1000 {
		token := newToken()
		switch {
		case !tokenPattern.MatchString(token):
			t.Fatalf("newToken() = %q, want it to match %s", token, tokenPattern)
		case !checksumOK(token):
			t.Fatalf("newToken() = %q, whose checksum does not verify", token)
		case !wellFormedToken(token):
			t.Fatalf("wellFormedToken(%q) = false, want true", token)
		case seen[token]:
			t.Fatalf("newToken() = %q twice", token)
		}
		seen[token] = true
	}
}

// The random part is the 32 random bytes as one base62 number, exactly as
// math/big writes it (whose digits have the letters' cases the other way
// round).
func TestTokenRandomPartIsBase62(t *testing.T) {
	swapCase := func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		case 'A' <= r && r <= 'Z':
			return r - 'A' + 'a'
		}
		return r
	}
	inputs := [][]byte{make([]byte, 32), []byte(strings.Repeat("\xff", 32))}
	for range 100 {
		b := make([]byte, 32)
		rand.Read(b)
		inputs = append(inputs, b)
	}
	for _, b := range inputs {
		text := new(big.Int).SetBytes(b).Text(62)
		want := strings.Repeat("0", tokenRandomLen-len(text)) + strings.Map(swapCase, text)
		token := formatToken(append([]byte(nil), b...))
		if got := token[len(tokenPrefix) : tokenLen-tokenChecksumLen]; got != want {
			t.Errorf("formatToken(%x) random part = %q, want %q", b, got, want)
		}
		if !checksumOK(token) {
			t.Errorf("formatToken(%x) = %q, whose checksum does not verify", b, token)
		}
	}
}

// unreachableStore stands in for the server's store where no request may
// reach it: any call of any of its methods, the cache's or the database's,
// panics, and the server answers 500.
type unreachableStore struct{ store }

// A token with the prefix but one character changed, or the wrong length
// or characters, is refused as malformed without a lookup: not in the
// cache, not in the database.
func TestMalformedTokenRefusedWithoutLookup(t *testing.T) {
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	other := newToken()
	checksumAt := tokenLen - tokenChecksumLen
	tests := []struct{ name, token string }{
		{"random part, first character changed", changeChar(token, len(tokenPrefix))},
		{"random part, a middle character changed", changeChar(token, len(tokenPrefix)+tokenRandomLen/2)},
		{"random part, last character changed", changeChar(token, checksumAt-1)},
		{"checksum, first character changed", changeChar(token, checksumAt)},
		{"checksum, last character changed", changeChar(token, tokenLen-1)},
		{"checksum of another token", token[:checksumAt] + other[checksumAt:]},
		{"one character short", token[:tokenLen-1]},
		{"one character long", token + "0"},
		{"padded", token + "="},
		{"prefix only", tokenPrefix},
		{"URL-safe character, with its checksum", withChecksum(tokenPrefix + "-" + token[len(tokenPrefix)+1:checksumAt])},
	}
	routes := []struct{ method, path string }{{"GET", "/api/users"}, {"GET", userPath(id)}, {"DELETE", "/api/tokens"}}
	realStore := ts.srv.store
	ts.srv.store = unreachableStore{}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, route := range routes {
				what := route.method + " " + route.path + " with " + tc.name
				res := ts.call(t, route.method, route.path, tc.token, "")
				wantBearerChallenge(t, what, res, true)
				wantError(t, what, res, http.StatusUnauthorized, "the token is malformed")
			}
		})
	}

	// The stand-in is noticed: a token in the format is looked up, and so
	// is one without the prefix.
	for name, looked := range map[string]string{"the token": token, "the prefix in upper case": "TAPI_" + token[len(tokenPrefix):]} {
		what := "GET /api/users with " + name + " and no store"
		wantStatus(t, what, ts.call(t, "GET", "/api/users", looked, ""), http.StatusInternalServerError)
	}
	ts.srv.store = realStore
	wantStatus(t, "GET /api/users with the token", ts.call(t, "GET", "/api/users", token, ""), http.StatusOK)
}

// insertOldToken stores a token as the server stored them before the
// prefix, in the columns the tokens table had then.
func (ts *testServer) insertOldToken(t testing.TB, token string, userID int64, expires time.Time) {
	t.Helper()
	_, err := ts.db.write.Exec(`INSERT INTO tokens (hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		hashToken(token).String(), userID, formatTime(ts.clock.Now()), formatTime(expires))
	if err != nil {
		t.Fatalf("insert an old-format token: %v", err)
	}
}

// A token issued before the prefix works until it expires or is revoked.
func TestOldFormatTokenAccepted(t *testing.T) {
	ts := newTestServer(t)
	id := ts.createUser(t, "muthoni", "muthoni-password")
	live, expired := oldFormatToken(), oldFormatToken()
	ts.insertOldToken(t, live, id, ts.clock.Now().Add(time.Hour))
	ts.insertOldToken(t, expired, id, ts.clock.Now())

	wantStatus(t, "GET /api/users with an old-format token", ts.call(t, "GET", "/api/users", live, ""), http.StatusOK)
	wantStatus(t, "GET /api/users/{id} with an old-format token", ts.call(t, "GET", userPath(id), live, ""), http.StatusOK)
	res := ts.call(t, "GET", "/api/users", expired, "")
	wantBearerChallenge(t, "GET /api/users with an expired old-format token", res, true)
	wantError(t, "GET /api/users with an expired old-format token", res, http.StatusUnauthorized, "unknown, expired or revoked")

	wantStatus(t, "DELETE /api/tokens with an old-format token", ts.call(t, "DELETE", "/api/tokens", live, ""), http.StatusNoContent)
	wantBearerChallenge(t, "GET /api/users with a revoked old-format token", ts.call(t, "GET", "/api/users", live, ""), true)
}

// BenchmarkTokenChecksum is the check that every request with a token now
// pays: length, characters and CRC32 of one token.
func BenchmarkTokenChecksum(b *testing.B) {
	token := newToken()
	b.ReportAllocs()
	for b.Loop() {
		if !wellFormedToken(token) {
			b.Fatalf("wellFormedToken(%q) = false", token)
		}
	}
}
