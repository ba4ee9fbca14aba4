package main

import "time"

// What cachingStore keeps, and how big a page it will keep.

// cachedSession is what a request needs of a token's session, as the
// database had it. It holds no pointers, so the garbage collector need not
// scan the cache.
type cachedSession struct {
	id, userID                   int64
	write                        bool  // scope
	created, expires, maxExpires int64 // Unix microseconds
}

func cacheSession(s session) cachedSession {
	return cachedSession{id: s.ID, userID: s.UserID, write: s.Scope == scopeWrite, created: s.CreatedAt.UnixMicro(),
		expires: s.ExpiresAt.UnixMicro(), maxExpires: s.MaxExpiresAt.UnixMicro()}
}

// user groups the token cache (newGroupedCache), so that a revoke forgets
// one user's tokens without walking everyone's.
func (cs cachedSession) user() int64 { return cs.userID }

// session is the cached session as the store gives it: the fields a
// request needs.
func (cs cachedSession) session() session {
	s := session{ID: cs.id, UserID: cs.userID, Scope: scopeRead, CreatedAt: time.UnixMicro(cs.created).UTC(),
		ExpiresAt: time.UnixMicro(cs.expires).UTC(), MaxExpiresAt: time.UnixMicro(cs.maxExpires).UTC()}
	if cs.write {
		s.Scope = scopeWrite
	}
	return s
}

// pageKey names a page of users, or of posts by one author (0 for all):
// by number or by cursor, each a page of its own. Cursor pages spread over
// more keys than numbered ones, but the caches hold maxCachedPages at most
// whatever the keys, and a write forgets them all.
type pageKey struct {
	author int64
	pageQuery
}

type userPage struct {
	users []user
	total int
}

type postPage struct {
	posts []post
	total int
}

func (p userPage) fits() bool {
	return pageFits(p.users, func(u user) int { return len(u.Username) + len(u.Email) + len(u.AboutMe) })
}

func (p postPage) fits() bool {
	return pageFits(p.posts, func(p post) int {
		return len(p.Title) + len(p.Body) + len(p.Author.Username) + len(p.Author.AboutMe)
	})
}

// pageItemOverhead is what a cached item costs besides its text: the
// struct, string headers and the rest, roughly.
const pageItemOverhead = 200

// pageFits reports whether a page of items, each costing its text plus
// pageItemOverhead, stays under maxCachedPageBytes.
func pageFits[T any](items []T, text func(T) int) bool {
	size := 0
	for _, item := range items {
		size += pageItemOverhead + text(item)
	}
	return size <= maxCachedPageBytes
}
