package main

import "context"

// The reads behind GET /api/users/{id} and the two collections go through
// caches (see cache), so that a busy reader usually costs no query. Every
// handler that writes a user or a post calls changedUser after the write,
// which forgets all that the write may have changed; last_seen is not in
// their keeping (see userView).

// Bounds on the caches. A user is at most about 1.5 KiB (a 254-character
// email and a 140-character about_me, 4 bytes a character at worst), so the
// user cache stays under 6 MiB. A page of the longest posts would be 4 MiB,
// so only pages under maxCachedPageBytes are cached: the pages cost 2 MiB
// at most, and a typical page of 10 short posts is a few KiB.
const (
	maxCachedUsers     = 4096
	maxCachedPages     = 32
	maxCachedPageBytes = 64 << 10
)

// pageItemOverhead is what a cached item costs besides its text: the
// struct, string headers and the rest, roughly.
const pageItemOverhead = 200

type userPage struct {
	users []user
	total int
}

func (p userPage) fits() bool {
	return pageFits(p.users, func(u user) int { return len(u.Username) + len(u.Email) + len(u.AboutMe) })
}

// postPageKey names a page of everyone's posts (author 0) or one author's.
type postPageKey struct {
	author int64
	page   page
}

type postPage struct {
	posts []post
	total int
}

func (p postPage) fits() bool {
	return pageFits(p.posts, func(p post) int {
		return len(p.Title) + len(p.Body) + len(p.Author.Username) + len(p.Author.AboutMe)
	})
}

// pageFits reports whether a page of items, each costing its text plus
// pageItemOverhead, stays under maxCachedPageBytes.
func pageFits[T any](items []T, text func(T) int) bool {
	size := 0
	for _, item := range items {
		size += pageItemOverhead + text(item)
	}
	return size <= maxCachedPageBytes
}

// changedUser forgets what the caches hold about a user and every cached
// page, which may show the user's name, about_me or post count, or the
// posts.
func (s *server) changedUser(id int64) {
	s.users.forget(id)
	s.userPages.forgetAll()
	s.postPages.forgetAll()
}

// userByID returns a user, or errNotFound.
func (s *server) userByID(ctx context.Context, id int64) (user, error) {
	return cached(s.users, id, s.now(), func() (user, error) { return s.store.userByID(ctx, id) })
}

// listUsers returns one page of users and the number of users.
func (s *server) listUsers(ctx context.Context, p page) ([]user, int, error) {
	up, err := cached(s.userPages, p, s.now(), func() (userPage, error) {
		users, total, err := s.store.listUsers(ctx, p.PerPage, p.offset())
		return userPage{users, total}, err
	})
	return up.users, up.total, err
}

// listPosts returns one page of posts, of one author or (author 0) of all,
// and the number of them.
func (s *server) listPosts(ctx context.Context, author int64, p page) ([]post, int, error) {
	pp, err := cached(s.postPages, postPageKey{author, p}, s.now(), func() (postPage, error) {
		posts, total, err := s.store.listPosts(ctx, author, p.PerPage, p.offset())
		return postPage{posts, total}, err
	})
	return pp.posts, pp.total, err
}
