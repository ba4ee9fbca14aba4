package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A copy of the database holds no TOTP secret and no recovery code in any
// form a client could present: secrets, pending or on, are sealed, and
// the codes hashed.
func TestTOTPSecretsNotInDatabaseFile(t *testing.T) {
	skipOnRqlite(t, "reads the bytes of the SQLite file")
	ts := newTestServer(t)
	id, token := ts.newUser(t, "muthoni")
	otherID, other := ts.newUser(t, "gitau")
	secret, codes := turnTOTPOn(t, ts, id, token, "muthoni-password")
	pending := enrolTOTP(t, ts, otherID, other, "gitau-password")
	var files []byte
	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(ts.dbPath + suffix)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		files = append(files, data...)
	}
	var forms [][]byte
	for _, s := range [][]byte{secret, pending} {
		encoded := totpBase32.EncodeToString(s)
		forms = append(forms, s, []byte(encoded), []byte(strings.ToLower(encoded)))
	}
	for _, c := range codes {
		forms = append(forms, []byte(c), []byte(strings.ReplaceAll(c, "-", "")))
	}
	for _, form := range forms {
		if bytes.Contains(files, form) {
			t.Errorf("the database file holds %q in clear", form)
		}
	}
}

// The first start makes the key file beside the database, for its owner
// alone; a start with another key, or without the file, is refused with
// an error naming the file, and the right key starts it again.
func TestSecretKeyFile(t *testing.T) {
	skipOnRqlite(t, "the key file is beside a SQLite file")
	dir := t.TempDir()
	args := []string{"-addr", "127.0.0.1:0", "-db", "tokenapi.db"}
	p := startProgram(t, dir, args, cheapPasswords)
	p.createUser(t, "muthoni", "muthoni-password")
	p.stop(t)
	keyPath := filepath.Join(dir, "tokenapi.db.key")
	info, err := os.Stat(keyPath)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v; want mode 0600", info, err)
	}
	key, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseSecretKey(string(key)); err != nil {
		t.Fatalf("key file holds %q: %v", key, err)
	}

	refused := func(what, wantErr string, env ...string) {
		t.Helper()
		p := spawnProgram(t, dir, args, append([]string{cheapPasswords}, env...)...)
		if code := p.wait(t, 30*time.Second); code != 1 || !strings.Contains(p.stderr.String(), wantErr) {
			t.Errorf("%s: exit code %d, stderr %q; want 1 and %q", what, code, p.stderr, wantErr)
		}
	}
	other := strings.Repeat("ab", secretKeyBytes) + "\n"
	if err := os.WriteFile(keyPath, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	refused("another key in the file", "secret key file tokenapi.db.key holds another key than the one this database's TOTP secrets were sealed with")
	refused("another key in TOKENAPI_SECRET_KEY", "TOKENAPI_SECRET_KEY holds another key", secretKeyEnv+"="+strings.TrimSpace(other))
	refused("a malformed TOKENAPI_SECRET_KEY", "TOKENAPI_SECRET_KEY: a secret key is 64 hex digits", secretKeyEnv+"=tea")
	if err := os.Remove(keyPath); err != nil {
		t.Fatal(err)
	}
	refused("no key file", "secret key file tokenapi.db.key is missing, and this database holds secrets sealed with it")
	if _, err := os.Stat(keyPath); err == nil {
		t.Error("a start refused for a missing key file made a new one")
	}
	if err := os.WriteFile(keyPath, key, 0o600); err != nil {
		t.Fatal(err)
	}
	p = startProgram(t, dir, args, cheapPasswords)
	p.login(t, "muthoni", "muthoni-password")
	p.stop(t)
	// The key may come from the environment instead, and -secret-key-file
	// may name another file.
	p = startProgram(t, dir, args, cheapPasswords, secretKeyEnv+"="+strings.TrimSpace(string(key)))
	p.stop(t)
	if err := os.Rename(keyPath, filepath.Join(dir, "elsewhere.key")); err != nil {
		t.Fatal(err)
	}
	p = startProgram(t, dir, append(args, "-secret-key-file", "elsewhere.key"), cheapPasswords)
	p.stop(t)
}

// On rqlite there is no file beside the database: the key must come from
// TOKENAPI_SECRET_KEY, and a start without it says so.
func TestSecretKeyRequiredWithRqlite(t *testing.T) {
	_, _, err := loadSecretKey("rqlite://127.0.0.1:4001", "", "", false)
	if err == nil || !strings.Contains(err.Error(), "TOKENAPI_SECRET_KEY is required with rqlite") {
		t.Errorf("loadSecretKey on rqlite without a key: %v", err)
	}
	key, source, err := loadSecretKey("rqlite://127.0.0.1:4001", "", testSecretKey, false)
	if err != nil || len(key) != secretKeyBytes || source != secretKeyEnv {
		t.Errorf("loadSecretKey on rqlite with a key: %d bytes from %q, %v", len(key), source, err)
	}
}

// A secret sealed for one user does not open for another, nor under
// another key.
func TestSecretBoxBindsPurposeAndKey(t *testing.T) {
	key, _ := parseSecretKey(testSecretKey)
	box, err := newSecretBox(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed := box.seal([]byte("secret"), totpPurpose(1))
	if plain, err := box.open(sealed, totpPurpose(1)); err != nil || string(plain) != "secret" {
		t.Fatalf("open = %q, %v", plain, err)
	}
	if _, err := box.open(sealed, totpPurpose(2)); err == nil {
		t.Error("a secret sealed for user 1 opened for user 2")
	}
	otherKey, _ := parseSecretKey(strings.Repeat("ab", secretKeyBytes))
	other, _ := newSecretBox(otherKey)
	if _, err := other.open(sealed, totpPurpose(1)); err == nil {
		t.Error("a secret opened under another key")
	}
	for _, bad := range []string{"", "!!", "AAAA"} {
		if _, err := box.open(bad, totpPurpose(1)); err == nil {
			t.Errorf("open(%q) did not fail", bad)
		}
	}
}
