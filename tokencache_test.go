package main

import (
	"encoding/binary"
	"testing"
	"time"
)

func testHash(i int) tokenHash {
	var h tokenHash
	binary.BigEndian.PutUint64(h[:], uint64(i))
	return h
}

func TestTokenCache(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	c := newTokenCache()
	c.add(c.startLookup(), testHash(1), 7, now.Add(time.Hour), now)
	c.add(c.startLookup(), testHash(2), 7, now.Add(2*time.Hour), now)
	c.add(c.startLookup(), testHash(3), 8, now.Add(time.Hour), now)

	if id, ok := c.owner(testHash(1), now); !ok || id != 7 {
		t.Errorf("owner(1) = %d, %v; want 7, true", id, ok)
	}
	if _, ok := c.owner(testHash(1), now.Add(tokenCacheTrust)); ok {
		t.Error("owner(1) once its trust ran out = true, want false")
	}
	if _, ok := c.owner(testHash(4), now); ok {
		t.Error("owner of a token never added = true, want false")
	}
	soon := now.Add(tokenCacheTrust / 2)
	c.add(c.startLookup(), testHash(6), 7, soon, now)
	if _, ok := c.owner(testHash(6), soon.Add(-time.Microsecond)); !ok {
		t.Error("owner(6) just before it expires = false, want true")
	}
	if _, ok := c.owner(testHash(6), soon); ok {
		t.Error("owner(6) at its expiry = true, want false")
	}

	c.forget(testHash(1))
	if _, ok := c.owner(testHash(1), now); ok {
		t.Error("owner(1) after forget = true, want false")
	}
	c.forgetUser(7)
	if _, ok := c.owner(testHash(2), now); ok {
		t.Error("owner(2) after forgetUser(7) = true, want false")
	}
	if id, ok := c.owner(testHash(3), now); !ok || id != 8 {
		t.Errorf("owner(3) of another user after forgetUser(7) = %d, %v; want 8, true", id, ok)
	}

	c.add(c.startLookup(), testHash(5), 9, now.Add(time.Minute), now.Add(time.Second))
	c.sweep(now.Add(tokenCacheTrust))
	if _, ok := c.entries[testHash(5)]; len(c.entries) != 1 || !ok {
		t.Errorf("after sweep: %d entries, want only token 5, still trusted", len(c.entries))
	}
	c.sweep(now.Add(time.Minute))
	if len(c.entries) != 0 {
		t.Errorf("after a sweep at its expiry: %d entries, want 0", len(c.entries))
	}
}

// A lookup that read the database before a token was revoked must not put
// the token back in the cache after the revoke forgot it.
func TestTokenCacheRefusesStaleLookup(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	for _, forget := range []struct {
		name string
		do   func(c *tokenCache)
	}{
		{"forget", func(c *tokenCache) { c.forget(testHash(1)) }},
		{"forgetUser", func(c *tokenCache) { c.forgetUser(7) }},
	} {
		t.Run(forget.name, func(t *testing.T) {
			c := newTokenCache()
			generation := c.startLookup() // the lookup starts and reads the database
			forget.do(c)                  // the token is revoked meanwhile
			c.add(generation, testHash(1), 7, now.Add(time.Hour), now)
			if _, ok := c.owner(testHash(1), now); ok {
				t.Error("owner = true for a token added by a lookup older than its revoke, want false")
			}
		})
	}
}

func TestTokenCacheBounded(t *testing.T) {
	expires := time.Now().Add(time.Hour)
	c := newTokenCache()
	for i := range maxCachedTokens + 1000 {
		c.add(c.startLookup(), testHash(i), int64(i), expires, time.Now())
	}
	if n := len(c.entries); n > maxCachedTokens {
		t.Errorf("cache holds %d tokens, want at most %d", n, maxCachedTokens)
	}
	if _, ok := c.owner(testHash(maxCachedTokens+999), time.Now()); !ok {
		t.Error("the token added last is not cached")
	}
}
