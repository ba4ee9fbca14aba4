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
	"sync/atomic"
	"time"
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
// one core, so slots bound how many run at once: a burst of logins then
// waits its turn instead of starving every other request of CPU. One slot
// per core would still take every core from the other requests, which Go's
// scheduler only gets back to every 10 ms, so the last core's slot, spare,
// is open only while no token-authenticated request has come in lately (see
// noteOtherWork): logins alone use every core, logins beside the API's
// other calls leave those a core.
type passwordHasher struct {
	iterations int
	slots      chan struct{} // always open
	spare      chan struct{} // nil on one core
	maxWait    time.Duration // for a free slot
	// otherWork is when, in Unix nanoseconds, a token-authenticated
	// request last came in.
	otherWork atomic.Int64
	// unknownUserHash is a well-formed hash that no password matches. Checking
	// a password against it makes an unknown username cost the same time as
	// a wrong password, so timing does not tell which usernames exist.
	unknownUserHash string
}

// newPasswordHasher makes a hasher that runs at most concurrency hashes at
// once, one fewer while other requests are served.
func newPasswordHasher(iterations, concurrency int) *passwordHasher {
	h := &passwordHasher{
		iterations:      iterations,
		slots:           make(chan struct{}, max(1, concurrency-1)),
		maxWait:         maxHashWait,
		unknownUserHash: encodeHash(iterations, make([]byte, passwordSaltLen), make([]byte, passwordKeyLen)),
	}
	if concurrency > 1 {
		h.spare = make(chan struct{}, 1)
	}
	return h
}

// otherWorkQuiet is how long after the last other request the spare slot
// opens again.
const otherWorkQuiet = 100 * time.Millisecond

// noteOtherWork tells the hasher that a token-authenticated request came
// in (requireToken calls it). It writes the shared time only when it has aged, so that
// busy cores do not fight over it.
func (h *passwordHasher) noteOtherWork() {
	now := time.Now().UnixNano()
	if now-h.otherWork.Load() > int64(otherWorkQuiet/10) {
		h.otherWork.Store(now)
	}
}

func (h *passwordHasher) quiet() bool {
	return time.Now().UnixNano()-h.otherWork.Load() > int64(otherWorkQuiet)
}

// encodeHash is the stored form of a password hash,
// "pbkdf2-sha256$<iterations>$<salt>$<key>", salt and key in unpadded base64.
func encodeHash(iterations int, salt, key []byte) string {
	return fmt.Sprintf("%s$%d$%s$%s", passwordScheme, iterations,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// hash returns the encoded hash of a password with a new random salt.
func (h *passwordHasher) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, passwordSaltLen)
	rand.Read(salt)
	key, err := h.derive(ctx, password, salt, h.iterations)
	if err != nil {
		return "", err
	}
	return encodeHash(h.iterations, salt, key), nil
}

// matches reports whether password matches an encoded hash, comparing in
// constant time. An error means the hash is not one of ours or ctx ended.
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
	got, err := h.derive(ctx, password, salt, iterations)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// errPasswordBusy means every hash slot stayed taken for maxHashWait.
var errPasswordBusy = errors.New("too many password checks at once")

// maxHashWait bounds the wait for a hash slot, so that under a flood of
// logins a client hears "busy, come back" instead of waiting for minutes.
const maxHashWait = 10 * time.Second

// derive runs PBKDF2 in one of the hasher's slots.
func (h *passwordHasher) derive(ctx context.Context, password string, salt []byte, iterations int) ([]byte, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return pbkdf2.Key(sha256.New, password, salt, iterations, passwordKeyLen)
}

// acquire waits for a free slot, no longer than maxWait or ctx allows, and
// returns the function that frees it. It takes a regular slot when one is
// free, keeping the spare for when it is needed; the spare slot is a
// candidate only while quiet, which it looks at again every so often while
// it waits.
func (h *passwordHasher) acquire(ctx context.Context) (release func(), err error) {
	select {
	case h.slots <- struct{}{}:
		return func() { <-h.slots }, nil
	default:
	}
	deadline := time.NewTimer(h.maxWait)
	defer deadline.Stop()
	var recheck <-chan time.Time // nil, which never receives, without a spare slot
	if h.spare != nil {
		ticker := time.NewTicker(otherWorkQuiet / 4)
		defer ticker.Stop()
		recheck = ticker.C
	}
	for {
		var spare chan struct{} // nil, which never receives, unless quiet
		if h.quiet() {
			spare = h.spare
		}
		select {
		case h.slots <- struct{}{}:
			return func() { <-h.slots }, nil
		case spare <- struct{}{}:
			return func() { <-h.spare }, nil
		case <-recheck:
		case <-deadline.C:
			return nil, errPasswordBusy
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
