package main

import (
	"bytes"
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

// parsedHash is an encoded password hash taken apart.
type parsedHash struct {
	scheme     string
	iterations int
	salt, key  []byte
}

// parseHash reads "pbkdf2-sha256$<iter>$<salt>$<key>" independently of the
// code under test.
func parseHash(t testing.TB, encoded string) parsedHash {
	t.Helper()
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 {
		t.Fatalf("hash %q has %d parts, want 4", encoded, len(parts))
	}
	iterations, err := strconv.Atoi(parts[1])
	if err != nil {
		t.Fatalf("hash %q: iterations: %v", encoded, err)
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatalf("hash %q: salt: %v", encoded, err)
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[3])
	if err != nil {
		t.Fatalf("hash %q: key: %v", encoded, err)
	}
	return parsedHash{scheme: parts[0], iterations: iterations, salt: salt, key: key}
}

func TestPasswordIterations(t *testing.T) {
	if defaultPasswordIterations < 600_000 {
		t.Errorf("defaultPasswordIterations = %d, want at least 600000 (OWASP 2023)", defaultPasswordIterations)
	}
	if got := defaultConfig().passwordIterations; got != defaultPasswordIterations {
		t.Errorf("defaultConfig().passwordIterations = %d, want %d", got, defaultPasswordIterations)
	}
}

func TestPasswordHashFormat(t *testing.T) {
	ctx := context.Background()
	h := newPasswordHasher(testPasswordIterations, newHashSlots(2))
	const password = "correct horse battery staple"
	encoded, err := h.hash(ctx, "", password)
	if err != nil {
		t.Fatalf("hash: %v", err)
	}
	p := parseHash(t, encoded)
	switch {
	case p.scheme != "pbkdf2-sha256":
		t.Errorf("hash %q: scheme %q, want pbkdf2-sha256", encoded, p.scheme)
	case p.iterations != testPasswordIterations:
		t.Errorf("hash %q: iterations %d, want %d", encoded, p.iterations, testPasswordIterations)
	case len(p.salt) != 16:
		t.Errorf("hash %q: salt of %d bytes, want 16", encoded, len(p.salt))
	case len(p.key) != 32:
		t.Errorf("hash %q: key of %d bytes, want 32", encoded, len(p.key))
	}
	want, err := pbkdf2.Key(sha256.New, password, p.salt, p.iterations, 32)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(p.key, want) {
		t.Errorf("hash %q: key is not PBKDF2-HMAC-SHA256 of the password", encoded)
	}
	if strings.Contains(encoded, password) {
		t.Errorf("hash %q holds the password", encoded)
	}
}

// The hash a new user gets in the database has that format too, with the
// server's iteration count.
func TestPasswordHashStored(t *testing.T) {
	ts := newTestServer(t)
	id := ts.createUser(t, "muthoni", "muthoni-password")
	p := parseHash(t, ts.passwordHash(t, id))
	if p.scheme != "pbkdf2-sha256" || p.iterations != testPasswordIterations || len(p.salt) != 16 || len(p.key) != 32 {
		t.Errorf("stored hash = %s$%d$<%d bytes>$<%d bytes>, want pbkdf2-sha256$%d$<16 bytes>$<32 bytes>",
			p.scheme, p.iterations, len(p.salt), len(p.key), testPasswordIterations)
	}
}

func TestPasswordHashSalted(t *testing.T) {
	ctx := context.Background()
	h := newPasswordHasher(testPasswordIterations, newHashSlots(2))
	first, err1 := h.hash(ctx, "", "muthoni-password")
	second, err2 := h.hash(ctx, "", "muthoni-password")
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	if first == second {
		t.Errorf("two hashes of one password are both %q, want different salts", first)
	}
	if bytes.Equal(parseHash(t, first).salt, parseHash(t, second).salt) {
		t.Errorf("hashes %q and %q share a salt", first, second)
	}
}

func TestPasswordMatches(t *testing.T) {
	ctx := context.Background()
	h := newPasswordHasher(testPasswordIterations, newHashSlots(2))
	encoded, err := h.hash(ctx, "", "pässwörd ☃ 1")
	if err != nil {
		t.Fatal(err)
	}
	// A hash with another iteration count, as an older or newer binary
	// would have written it.
	older, err := newPasswordHasher(testPasswordIterations/2, newHashSlots(1)).hash(ctx, "", "pässwörd ☃ 1")
	if err != nil {
		t.Fatal(err)
	}
	p := parseHash(t, older)
	// The same salt and key with a count that is one off must not match:
	// the stored count is the one used.
	tampered := strings.Join([]string{p.scheme, strconv.Itoa(p.iterations + 1),
		base64.RawStdEncoding.EncodeToString(p.salt), base64.RawStdEncoding.EncodeToString(p.key)}, "$")
	tests := []struct {
		name     string
		encoded  string
		password string
		want     bool
	}{
		{name: "right password", encoded: encoded, password: "pässwörd ☃ 1", want: true},
		{name: "wrong password", encoded: encoded, password: "pässwörd ☃ 2", want: false},
		{name: "other case", encoded: encoded, password: "PÄSSWÖRD ☃ 1", want: false},
		{name: "prefix", encoded: encoded, password: "pässwörd ☃ ", want: false},
		{name: "longer", encoded: encoded, password: "pässwörd ☃ 12", want: false},
		{name: "empty", encoded: encoded, password: "", want: false},
		{name: "other iterations, right password", encoded: older, password: "pässwörd ☃ 1", want: true},
		{name: "other iterations, wrong password", encoded: older, password: "password", want: false},
		{name: "iterations tampered with", encoded: tampered, password: "pässwörd ☃ 1", want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.matches(ctx, tc.encoded, tc.password)
			if got != tc.want || err != nil {
				t.Errorf("matches(%q, %q) = %v, %v; want %v, nil", tc.encoded, tc.password, got, err, tc.want)
			}
		})
	}
}

func TestPasswordMatchesMalformed(t *testing.T) {
	ctx := context.Background()
	h := newPasswordHasher(testPasswordIterations, newHashSlots(2))
	good, err := h.hash(ctx, "", "muthoni-password")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	tests := []struct {
		name    string
		encoded string
	}{
		{name: "empty", encoded: ""},
		{name: "scheme only", encoded: "pbkdf2-sha256"},
		{name: "three parts", encoded: strings.Join(parts[:3], "$")},
		{name: "five parts", encoded: good + "$x"},
		{name: "separators only", encoded: "$$$"},
		{name: "other scheme", encoded: with(0, "pbkdf2-sha1")},
		{name: "scheme in other case", encoded: with(0, "PBKDF2-SHA256")},
		{name: "bcrypt", encoded: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{name: "iterations not a number", encoded: with(1, "many")},
		{name: "iterations empty", encoded: with(1, "")},
		{name: "iterations zero", encoded: with(1, "0")},
		{name: "iterations negative", encoded: with(1, "-1000")},
		{name: "iterations overflow", encoded: with(1, "99999999999999999999999")},
		{name: "salt not base64", encoded: with(2, "!!!!")},
		{name: "salt padded", encoded: with(2, parts[2]+"==")},
		{name: "key not base64", encoded: with(3, "****")},
		{name: "key empty", encoded: with(3, "")},
		{name: "key short", encoded: with(3, parts[3][:20])},
		{name: "key long", encoded: with(3, parts[3]+"AAAA")},
		{name: "NUL", encoded: good[:10] + "\x00" + good[10:]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := h.matches(ctx, tc.encoded, "muthoni-password")
			if ok || err == nil {
				t.Errorf("matches(%q) = %v, %v; want false and an error", tc.encoded, ok, err)
			}
		})
	}
}

func TestPasswordUnknownUserHash(t *testing.T) {
	ctx := context.Background()
	h := newPasswordHasher(testPasswordIterations, newHashSlots(2))
	p := parseHash(t, h.unknownUserHash)
	if p.scheme != "pbkdf2-sha256" || p.iterations != testPasswordIterations || len(p.salt) != 16 || len(p.key) != 32 {
		t.Errorf("unknownUserHash = %q, want pbkdf2-sha256$%d$<16 bytes>$<32 bytes>", h.unknownUserHash, testPasswordIterations)
	}
	if got := parseHash(t, newPasswordHasher(defaultPasswordIterations, newHashSlots(1)).unknownUserHash).iterations; got != defaultPasswordIterations {
		t.Errorf("unknownUserHash of a default hasher has %d iterations, want %d", got, defaultPasswordIterations)
	}
	for _, password := range []string{"", "muthoni-password", "\x00", strings.Repeat("A", 43)} {
		ok, err := h.matches(ctx, h.unknownUserHash, password)
		if ok || err != nil {
			t.Errorf("matches(unknownUserHash, %q) = %v, %v; want false, nil", password, ok, err)
		}
	}
}

// returnsWithin runs f and gives its error, failing the test if f has not
// returned after a generous bound: a wait that ignores its context would
// otherwise hang the test.
func returnsWithin(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s has not returned; it waits for a slot whatever its context says", what)
		return nil
	}
}

// With every slot taken, a hash waits no longer than its context allows.
func TestPasswordDeriveCanceled(t *testing.T) {
	h := newPasswordHasher(testPasswordIterations, newHashSlots(2))
	free := takeAllSlots(t, h.slots)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	expired, cancelExpired := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelExpired()
	waiting, cancelWaiting := context.WithCancel(context.Background())

	tests := []struct {
		name string
		call func() error
		want error
	}{
		{name: "derive, canceled", want: context.Canceled, call: func() error {
			_, err := h.derive(canceled, hashCheck, "", "pw", []byte("salt"), 1)
			return err
		}},
		{name: "derive, past the deadline", want: context.DeadlineExceeded, call: func() error {
			_, err := h.derive(expired, hashNew, "", "pw", []byte("salt"), 1)
			return err
		}},
		{name: "hash, canceled", want: context.Canceled, call: func() error {
			_, err := h.hash(canceled, "", "pw")
			return err
		}},
		{name: "matches, canceled", want: context.Canceled, call: func() error {
			ok, err := h.matches(canceled, h.unknownUserHash, "pw")
			if ok {
				return errors.New("matched")
			}
			return err
		}},
		{name: "derive, canceled while waiting", want: context.Canceled, call: func() error {
			// The context ends while derive may already be waiting.
			go cancelWaiting()
			_, err := h.derive(waiting, hashCheck, "", "pw", []byte("salt"), 1)
			return err
		}},
	}
	for _, tc := range tests {
		if err := returnsWithin(t, tc.name, tc.call); !errors.Is(err, tc.want) {
			t.Errorf("%s = %v, want %v", tc.name, err, tc.want)
		}
	}

	// The canceled calls took no slot: freeing them lets a hash through.
	free()
	if _, err := h.hash(context.Background(), "", "pw"); err != nil {
		t.Errorf("hash with free slots = %v, want nil", err)
	}
	if n := h.slots.taken(); n != 0 {
		t.Errorf("slots taken after a hash = %d, want 0", n)
	}
	if checks, news := h.slots.waiting(hashCheck), h.slots.waiting(hashNew); checks+news != 0 {
		t.Errorf("after the canceled calls, %d checks and %d new hashes wait, want none", checks, news)
	}
}

// TestDerivePassesCancellation checks a caller that gives up while waiting
// for a slot is let go at once.
func TestDerivePassesCancellation(t *testing.T) {
	h := newPasswordHasher(testPasswordIterations, newHashSlots(1))
	defer takeAllSlots(t, h.slots)()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := h.hash(ctx, "", "password1"); err != context.Canceled {
		t.Fatalf("hash with a canceled context and no free slot = %v, want context.Canceled", err)
	}
}
