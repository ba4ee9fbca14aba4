package main

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// schemaPath is tokenapi's schema, two directories up from this module.
const schemaPath = "../../schema.sql"

// newSchemaDB makes a SQLite file with tokenapi's schema, as the server
// creates it on its first start, and returns its path.
func newSchemaDB(t *testing.T) string {
	t.Helper()
	schema, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatalf("read the server's schema: %v", err)
	}
	path := filepath.Join(t.TempDir(), "seed.db")
	db, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(string(schema)); err != nil {
		t.Fatalf("apply %s: %v", schemaPath, err)
	}
	return path
}

func TestSeedDatabase(t *testing.T) {
	path := newSchemaDB(t)
	cfg := seedConfig{users: 50, posts: 200, tokens: 10, iterations: 1000}
	res, err := seedDatabase(context.Background(), path, cfg)
	if err != nil {
		t.Fatalf("seedDatabase = %v, want nil", err)
	}
	if res.firstUserID != 1 || res.users != 50 || res.posts != 200 || res.tokens != 10 {
		t.Errorf("seedDatabase = %+v, want users 1..50, 200 posts, 10 tokens", res)
	}

	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The triggers kept the counts as the server's own inserts do.
	for _, c := range []struct {
		query string
		want  int
	}{
		{`SELECT n FROM counts WHERE name = 'users'`, 50},
		{`SELECT n FROM counts WHERE name = 'posts'`, 200},
		{`SELECT COUNT(*) FROM users`, 50},
		{`SELECT COUNT(*) FROM posts`, 200},
		{`SELECT SUM(post_count) FROM users`, 200},
		{`SELECT COUNT(*) FROM users WHERE post_count != 4`, 0},
		{`SELECT COUNT(*) FROM users WHERE email_key != lower(email)`, 0},
		{`SELECT COUNT(*) FROM tokens WHERE expires_at < '2026'`, 5},
		{`SELECT COUNT(*) FROM posts WHERE length(timestamp) != length('2006-01-02T15:04:05.000000Z')`, 0},
	} {
		var got int
		if err := db.QueryRow(c.query).Scan(&got); err != nil {
			t.Fatalf("%s: %v", c.query, err)
		}
		if got != c.want {
			t.Errorf("%s = %d, want %d", c.query, got, c.want)
		}
	}

	// seed_1's stored hash is the server's format, and seedPassword
	// matches it, as passwords.go checks it.
	var hash string
	if err := db.QueryRow(`SELECT password_hash FROM users WHERE username = ?`, seedUsername(1)).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" || parts[1] != "1000" {
		t.Fatalf("password_hash = %q, want pbkdf2-sha256$1000$<salt>$<key>", hash)
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[2])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(salt) != 16 || len(want) != 32 {
		t.Fatalf("password_hash = %q: salt or key is not 16 or 32 bytes of unpadded base64", hash)
	}
	got, _ := pbkdf2.Key(sha256.New, seedPassword, salt, 1000, 32)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		t.Errorf("seedPassword does not match seed_1's password_hash")
	}
}

func TestSeedRefusesAFileWithoutTheSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.db")
	_, err := seedDatabase(context.Background(), path, seedConfig{users: 1, iterations: 1000})
	if err == nil || !strings.Contains(err.Error(), "no tokenapi schema") {
		t.Fatalf("seedDatabase(empty file) = %v, want an error saying the schema is missing", err)
	}
}

// With BENCH_TOKENAPI set to a built tokenapi binary, the tool's own
// seeding path runs against it: the server creates its schema, the seed
// goes in, and seed_1 logs in with seedPassword on the restarted server.
//
//	go build -o /tmp/tokenapi . && BENCH_TOKENAPI=/tmp/tokenapi go -C tools/loadtest test -run Seed .
func TestSeedServerDBLogsIn(t *testing.T) {
	binary := os.Getenv("BENCH_TOKENAPI")
	if binary == "" {
		t.Skip("BENCH_TOKENAPI is not set to a tokenapi binary")
	}
	ctx := context.Background()
	dir := t.TempDir()
	o := options{binary: binary, healthPath: "/healthz", readyTimeout: defaultReadyTimeout, seedUsers: 50, seedPosts: 200}
	res, err := seedServerDB(ctx, o, dir, "", t.Logf)
	if err != nil {
		t.Fatalf("seedServerDB = %v, want nil", err)
	}
	proc, err := startBinary(binary, dir, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer proc.stop()
	if err := proc.waitReady(ctx, "/healthz", defaultReadyTimeout); err != nil {
		t.Fatal(err)
	}
	api := newAPIClient("http://" + proc.addr)
	token, err := api.login(ctx, seedUsername(1), seedPassword)
	if err != nil {
		t.Fatalf("log in as %s: %v", seedUsername(1), err)
	}
	var page struct {
		Meta struct {
			TotalItems int `json:"total_items"`
		} `json:"_meta"`
	}
	if err := api.call(ctx, "GET", "/api/posts", "Bearer "+token, nil, http.StatusOK, &page); err != nil {
		t.Fatal(err)
	}
	if page.Meta.TotalItems != res.posts {
		t.Errorf("GET /api/posts total_items = %d, want %d", page.Meta.TotalItems, res.posts)
	}
	var u struct {
		PostCount int `json:"post_count"`
	}
	last := strconv.FormatInt(res.firstUserID+int64(res.users)-1, 10)
	if err := api.call(ctx, "GET", "/api/users/"+last, "Bearer "+token, nil, http.StatusOK, &u); err != nil {
		t.Fatal(err)
	}
	if u.PostCount != 4 {
		t.Errorf("GET /api/users/%s post_count = %d, want 4", last, u.PostCount)
	}
}
