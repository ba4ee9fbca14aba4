package main

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// defaultPasswordIterations is OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
// Each hash records its own count, so raising this later leaves old
// passwords working.
const defaultPasswordIterations = 600_000

const (
	maxPasswordIterations = 100 * defaultPasswordIterations
	passwordScheme        = "pbkdf2-sha256"
	passwordSaltLen       = 16
	passwordKeyLen        = 32
)

// passwordHasher hashes and checks passwords. A hash takes about 100 ms of
// one core; its slots (hashslots.go) bound how many run at once.
type passwordHasher struct {
	iterations int
	slots      *hashSlots
	// unknownUserHash is a well-formed hash that no password matches. Checking
	// a password against it makes an unknown username cost the same time as
	// a wrong password, so timing does not tell which usernames exist.
	unknownUserHash string
}

// newPasswordHasher makes a hasher whose hashes take turns in slots.
func newPasswordHasher(iterations int, slots *hashSlots) *passwordHasher {
	return &passwordHasher{
		iterations:      iterations,
		slots:           slots,
		unknownUserHash: encodeHash(iterations, make([]byte, passwordSaltLen), make([]byte, passwordKeyLen)),
	}
}

// encodeHash is the stored form of a password hash,
// "pbkdf2-sha256$<iterations>$<salt>$<key>", salt and key in unpadded base64.
func encodeHash(iterations int, salt, key []byte) string {
	return fmt.Sprintf("%s$%d$%s$%s", passwordScheme, iterations,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// hash returns the encoded hash of a password with a new random salt. It
// waits as a new hash: behind every password check, and refused at once
// when too many wait already, in all or from source, the client address
// the password came from.
func (h *passwordHasher) hash(ctx context.Context, source, password string) (string, error) {
	salt := make([]byte, passwordSaltLen)
	rand.Read(salt)
	key, err := h.derive(ctx, hashNew, source, password, salt, h.iterations)
	if err != nil {
		return "", err
	}
	return encodeHash(h.iterations, salt, key), nil
}

// matches reports whether password matches an encoded hash, comparing in
// constant time. An error means the hash is not one of ours or ctx ended.
// It waits as a check, which goes before every new hash, from any source.
func (h *passwordHasher) matches(ctx context.Context, encoded, password string) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 || parts[0] != passwordScheme {
		return false, errors.New("password hash: unknown format")
	}
	// The bounds keep a damaged row from costing hours or checking nothing.
	iterations, err := strconv.Atoi(parts[1])
	if err != nil || iterations < 1 || iterations > maxPasswordIterations {
		return false, errors.New("password hash: bad iteration count")
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil || len(salt) < 8 {
		return false, errors.New("password hash: bad salt")
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[3])
	if err != nil || len(want) != passwordKeyLen {
		return false, errors.New("password hash: bad key")
	}
	got, err := h.derive(ctx, hashCheck, "", password, salt, iterations)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// derive runs PBKDF2 in one of the hasher's slots, waiting for it as a
// hash of class from source.
func (h *passwordHasher) derive(ctx context.Context, class hashClass, source, password string, salt []byte, iterations int) ([]byte, error) {
	release, err := h.slots.acquire(ctx, class, source)
	if err != nil {
		return nil, err
	}
	defer release()
	// PBKDF2 runs on a goroutine of its own, so that every hash starts from
	// the same place on a fresh stack. Run on the request's goroutine, its
	// speed followed the depth of the caller's stack: a login's hash took
	// 20 % longer than a sign-up's after an unrelated change to the login
	// path moved its frames (measured: 131 ms against 108 ms, the same
	// binary and cost), which took token issuance from 1.0 to 0.82 of the
	// bound.
	type result struct {
		key []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		key, err := pbkdf2.Key(sha256.New, password, salt, iterations, passwordKeyLen)
		done <- result{key, err}
	}()
	r := <-done
	return r.key, r.err
}
