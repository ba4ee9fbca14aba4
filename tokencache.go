package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// tokenHash is the SHA-256 of a token, the only form in which a token is
// kept: stored in hex, cached as bytes.
type tokenHash [sha256.Size]byte

// hashToken is the form in which a token is stored and looked up. SHA-256
// without a salt is enough here: a token is 256 random bits, not a password
// that could be guessed from a list.
func hashToken(token string) tokenHash { return sha256.Sum256([]byte(token)) }

func (h tokenHash) String() string { return hex.EncodeToString(h[:]) }

// maxCachedTokens bounds the token cache: under 100 bytes an entry, so a
// few MiB at most.
const maxCachedTokens = 100_000

// cachedToken is a live token as the database had it. It holds no
// pointers, so the garbage collector need not scan the cache.
type cachedToken struct {
	userID  int64
	expires int64 // Unix microseconds
}

func newTokenCache() *cache[tokenHash, cachedToken] {
	return newCache[tokenHash, cachedToken](maxCachedTokens, nil)
}

// tokenOwner returns the user of a live token, from the cache when it can,
// or errNotFound. Only tokens the database holds are cached, so unknown
// tokens cannot fill the cache.
func (s *server) tokenOwner(ctx context.Context, hash tokenHash, now time.Time) (int64, error) {
	t, err := cached(s.tokens, hash, now, func() (cachedToken, error) {
		id, expires, err := s.store.tokenOwner(ctx, hash.String(), now)
		return cachedToken{userID: id, expires: expires.UnixMicro()}, err
	})
	if err != nil {
		return 0, err
	}
	if t.expires <= now.UnixMicro() {
		return 0, errNotFound
	}
	return t.userID, nil
}

// forgetTokensOf drops every cached token of a user, after its tokens were
// deleted.
func (s *server) forgetTokensOf(userID int64) {
	s.tokens.forgetWhere(func(t cachedToken) bool { return t.userID == userID })
}
