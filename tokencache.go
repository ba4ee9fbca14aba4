package main

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
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

// tokenCacheTrust is how long a cached answer is believed. Within this
// process a revoke is seen at once (see tokenCache); this bounds how long a
// token deleted by anyone else, such as an operator with the sqlite3 shell
// after a leak, still works. Even a second saves all but one query a second
// for a busy token.
const tokenCacheTrust = time.Second

// maxCachedTokens bounds the token cache: about 60 bytes an entry, so a few
// MiB at most.
const maxCachedTokens = 100_000

// tokenCache remembers live tokens found in the database, so that an
// authenticated request usually costs no query for its token: the token is
// the hot path of every protected call.
//
// It never answers "live" for a token this process deleted: each code path
// that deletes tokens forgets them here after the delete has committed, and
// a lookup that read the database before such a delete cannot put its
// stale answer in afterwards, because every forget moves the generation
// on. A delete from outside the process is seen once the entry's trust runs
// out (tokenCacheTrust). Expiry is checked on every hit.
type tokenCache struct {
	mu         sync.Mutex
	entries    map[tokenHash]cachedToken
	generation uint64
}

// cachedToken holds no pointers, so the garbage collector need not scan
// the cache.
type cachedToken struct {
	userID  int64
	expires int64 // Unix microseconds
	trusted int64 // Unix microseconds: a hit before then needs no query
}

func newTokenCache() *tokenCache {
	return &tokenCache{entries: make(map[tokenHash]cachedToken)}
}

// owner returns the user of a cached token that is live at now, while
// the cached answer is still trusted.
func (c *tokenCache) owner(h tokenHash, now time.Time) (int64, bool) {
	c.mu.Lock()
	e, ok := c.entries[h]
	c.mu.Unlock()
	micros := now.UnixMicro()
	if !ok || e.expires <= micros || e.trusted <= micros {
		return 0, false
	}
	return e.userID, true
}

// startLookup returns the generation to pass to add once the database has
// answered.
func (c *tokenCache) startLookup() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.generation
}

// add caches a token the database said at now was live, unless a forget
// came in since the lookup started: the answer may then be stale. When the
// cache is full, an arbitrary eighth of it makes room; those tokens cost
// one query on their next use.
func (c *tokenCache) add(generation uint64, h tokenHash, userID int64, expires, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if generation != c.generation {
		return
	}
	if len(c.entries) >= maxCachedTokens {
		drop := maxCachedTokens / 8
		for k := range c.entries {
			delete(c.entries, k)
			if drop--; drop == 0 {
				break
			}
		}
	}
	c.entries[h] = cachedToken{userID: userID, expires: expires.UnixMicro(), trusted: now.Add(tokenCacheTrust).UnixMicro()}
}

// forget drops one token.
func (c *tokenCache) forget(h tokenHash) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	delete(c.entries, h)
}

// forgetUser drops every cached token of a user. It walks the whole cache,
// which is fine for what calls it: a password change, or a login beyond the
// per-user token limit.
func (c *tokenCache) forgetUser(userID int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	for h, e := range c.entries {
		if e.userID == userID {
			delete(c.entries, h)
		}
	}
}

// sweep drops the entries that expired or are no longer trusted at now.
func (c *tokenCache) sweep(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	micros := now.UnixMicro()
	for h, e := range c.entries {
		if e.expires <= micros || e.trusted <= micros {
			delete(c.entries, h)
		}
	}
}
