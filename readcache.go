package main

import "context"

// The reads behind GET /api/users/{id} and the two collections go through
// caches (see cache), so that a busy reader usually costs no query. Every
// handler that writes a user or a post calls changedUser after the write,
// which forgets all that the write may have changed; last_seen is not in
// their keeping (see userView).

// Bounds on the caches. A cached page holds at most maxPerPage items: a
// page of users is some 40 KiB at worst, a page of the longest posts 1 MiB,
// so the post pages are capped at 16 MiB.
const (
	maxCachedUsers = 10_000
	maxCachedPages = 16
)

type userPage struct {
	users []user
	total int
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
