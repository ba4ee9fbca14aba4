package main

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// cachingStore is the store the server uses: the plain sqlStore with the
// hot reads of the API answered from memory, so that a busy reader usually
// costs no query. It caches the token behind every protected call, the
// user behind GET /api/users/{id} and the pages of both collections, and it
// keeps the writes of last_seen and of each session's last use off the
// request path (noteduses.go).
//
// Its write methods forget what they change, after the write and after a
// failed one too (a write that failed late may have committed), so a
// handler never needs to know that reads are cached. It implements every
// method of store itself rather than embedding sqlStore: a method added to
// store does not compile until this type decides what it must forget.
//
// Within this process every answer is exact (see cache for why a lookup
// racing a write cannot put back a stale answer); a change made by anyone
// else, such as an operator revoking tokens with the sqlite3 shell, is seen
// within cacheTrust.
type cachingStore struct {
	db     *sqlStore
	log    *slog.Logger
	now    func() time.Time
	maxLag time.Duration // how far a session's stored expiry may lag its uses

	tokens    *cache[tokenHash, cachedSession]
	users     *cache[int64, user]
	userPages *cache[pageKey, userPage]
	postPages *cache[pageKey, postPage]
	failures  *cache[string, failureRecord]

	lastSeen    *useRecorder[int64, time.Time]
	sessionUses *useRecorder[sessionKey, sessionUse]

	stopBackground func()
}

// Bounds on the caches. A token entry costs some 140 bytes in its map and
// 60 more for its place in its user's group (newGroupedCache), so 100,000
// cost about 20 MiB (measured: 19 to 21, by tokens per user). A user is at
// most about 1.5 KiB (a 120-character email and a 140-character about_me,
// 4 bytes a character at worst), so the user cache stays under 6 MiB. A
// page of the longest posts would be 4 MiB, so only pages under
// maxCachedPageBytes are cached: the pages cost 2 MiB at most, and a
// typical page of 10 short posts is a few KiB.
const (
	maxCachedTokens    = 100_000
	maxCachedUsers     = 4096
	maxCachedPages     = 32
	maxCachedPageBytes = 64 << 10
	maxCachedFailures  = 10_000
)

// untrustedSweepInterval is how often the caches drop the entries they no
// longer trust, which would otherwise stay until the cache is full.
const untrustedSweepInterval = time.Minute

// newCachingStore wraps db, and writes the uses it notes every flushEvery
// (noteduses.go) until Close. tokenTTL, the idle lifetime of a session,
// sets how far its stored expiry may lag (maxSessionLag).
func newCachingStore(db *sqlStore, log *slog.Logger, now func() time.Time, tokenTTL, flushEvery time.Duration) *cachingStore {
	c := &cachingStore{
		db:        db,
		log:       log,
		now:       now,
		maxLag:    maxSessionLag(tokenTTL),
		tokens:    newGroupedCache[tokenHash](maxCachedTokens, cachedSession.user),
		users:     newCache[int64, user](maxCachedUsers, nil),
		userPages: newCache[pageKey, userPage](maxCachedPages, userPage.fits),
		postPages: newCache[pageKey, postPage](maxCachedPages, postPage.fits),
		failures:  newCache[string, failureRecord](maxCachedFailures, nil),
		lastSeen:  newUseRecorder[int64](lastSeenInterval, func(t time.Time) time.Time { return t }),
		sessionUses: newUseRecorder[sessionKey](maxSessionLag(tokenTTL)/2,
			func(u sessionUse) time.Time { return u.at }),
	}
	c.stopBackground = c.startBackground(flushEvery)
	return c
}

// ---- reads: from the caches ----

// liveSession runs the plain store's query on a miss, and caches only
// tokens the database holds, so unknown tokens cannot fill the cache. A
// session's stored expiry may lag the uses noted here by up to maxLag, so
// the query asks for the sessions live maxLag ago, and the noted uses
// decide. The session it returns has the fields a request needs: ID,
// UserID, Scope, CreatedAt and MaxExpiresAt; its ExpiresAt may be the
// stored one, earlier than the real one, while that is still to come.
func (c *cachingStore) liveSession(ctx context.Context, hash tokenHash, now time.Time) (session, error) {
	cs, err := c.tokens.lookup(hash, now, func() (cachedSession, error) {
		s, err := c.db.liveSession(ctx, hash, now.Add(-c.maxLag))
		return cacheSession(s), err
	})
	if err != nil {
		return session{}, err
	}
	s := cs.session()
	// Only a session the database says has expired can have been kept
	// alive by uses not written yet: the others need no look at the notes.
	if cs.expires <= now.UnixMicro() {
		c.withNotedUse(&s)
		if !s.ExpiresAt.After(now) {
			return session{}, errNotFound
		}
	}
	return s, nil
}

// withNotedUse moves a session's last use and expiry to the newest use
// noted here, if that is newer than what the database said.
func (c *cachingStore) withNotedUse(s *session) {
	if u, ok := c.sessionUses.latest(keyOf(*s)); ok && u.at.After(s.LastUsedAt) {
		s.LastUsedAt = u.at
		if u.expires.After(s.ExpiresAt) {
			s.ExpiresAt = u.expires
		}
	}
}

// sessionsOf shows each session's newest use, written or not.
func (c *cachingStore) sessionsOf(ctx context.Context, userID int64) ([]session, error) {
	sessions, err := c.db.sessionsOf(ctx, userID)
	for i := range sessions {
		c.withNotedUse(&sessions[i])
	}
	return sessions, err
}

// sessionUsed only notes the use, and the user seen, in memory; the
// last-seen writer stores them.
func (c *cachingStore) sessionUsed(_ context.Context, s session, at, expires time.Time) error {
	c.sessionUses.note(keyOf(s), sessionUse{sessionKey: keyOf(s), at: at, expires: expires})
	c.lastSeen.note(s.UserID, at)
	return nil
}

// userByID shows last_seen as fresh as the newest note, written or not.
func (c *cachingStore) userByID(ctx context.Context, id int64) (user, error) {
	u, err := c.users.lookup(id, c.now(), func() (user, error) { return c.db.userByID(ctx, id) })
	if err != nil {
		return user{}, err
	}
	u.LastSeen = c.lastSeenOf(u)
	return u, nil
}

func (c *cachingStore) listUsers(ctx context.Context, q pageQuery) ([]user, int, error) {
	p, err := c.userPages.lookup(pageKey{0, q}, c.now(), func() (userPage, error) {
		users, total, err := c.db.listUsers(ctx, q)
		return userPage{users, total}, err
	})
	if err != nil {
		return nil, 0, err
	}
	// A copy with fresh last_seen times: the cached page is shared.
	users := make([]user, len(p.users))
	for i, u := range p.users {
		u.LastSeen = c.lastSeenOf(u)
		users[i] = u
	}
	return users, p.total, nil
}

func (c *cachingStore) listPosts(ctx context.Context, authorID int64, q pageQuery) ([]post, int, error) {
	p, err := c.postPages.lookup(pageKey{authorID, q}, c.now(), func() (postPage, error) {
		posts, total, err := c.db.listPosts(ctx, authorID, q)
		return postPage{posts, total}, err
	})
	return p.posts, p.total, err
}

// passwordFailures is read on every login, three keys at a time; a
// failure or a success in this process forgets what it changed, and one
// in another process is seen within cacheTrust.
func (c *cachingStore) passwordFailures(ctx context.Context, key string) (failureRecord, error) {
	return c.failures.lookup(key, c.now(), func() (failureRecord, error) { return c.db.passwordFailures(ctx, key) })
}

// lastSeenOf is a user's last_seen: the stored one or a newer noted one.
func (c *cachingStore) lastSeenOf(u user) time.Time {
	if t, ok := c.lastSeen.latest(u.ID); ok && t.After(u.LastSeen) {
		return t
	}
	return u.LastSeen
}

// userSeen only notes the time in memory; the last-seen writer stores it.
func (c *cachingStore) userSeen(_ context.Context, id int64, at time.Time) error {
	c.lastSeen.note(id, at)
	return nil
}

// ---- reads: straight through ----

func (c *cachingStore) postByID(ctx context.Context, id int64) (post, error) {
	return c.db.postByID(ctx, id)
}

func (c *cachingStore) passwordHashByUsername(ctx context.Context, username string) (int64, string, error) {
	return c.db.passwordHashByUsername(ctx, username)
}

func (c *cachingStore) passwordHashByID(ctx context.Context, id int64) (string, error) {
	return c.db.passwordHashByID(ctx, id)
}

func (c *cachingStore) isKnownAddress(ctx context.Context, userID int64, addr string, since time.Time) (bool, error) {
	return c.db.isKnownAddress(ctx, userID, addr, since)
}

func (c *cachingStore) ping(ctx context.Context) error { return c.db.ping(ctx) }

// cacheStats are the caches' counts, by cache, for /debug/vars.
func (c *cachingStore) cacheStats() map[string]cacheStats {
	return map[string]cacheStats{"tokens": c.tokens.stats(), "users": c.users.stats(),
		"user_pages": c.userPages.stats(), "post_pages": c.postPages.stats(), "login_failures": c.failures.stats()}
}

// dropUntrusted drops from every cache what it no longer trusts.
func (c *cachingStore) dropUntrusted() {
	now := c.now()
	c.tokens.sweep(now)
	c.users.sweep(now)
	c.userPages.sweep(now)
	c.postPages.sweep(now)
	c.failures.sweep(now)
}

// startBackground writes the noted uses every flushEvery and drops the
// untrusted entries of the caches every untrustedSweepInterval, until the
// function it returns is called.
func (c *cachingStore) startBackground(flushEvery time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		flush, sweep := time.NewTicker(flushEvery), time.NewTicker(untrustedSweepInterval)
		defer flush.Stop()
		defer sweep.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-flush.C:
				c.flushNotedUses(ctx)
			case <-sweep.C:
				c.dropUntrusted()
			}
		}
	}()
	return sync.OnceFunc(func() {
		cancel()
		<-done
	})
}

// Close stops the background work, writes the uses noted and not yet
// written, then closes the database.
func (c *cachingStore) Close() error {
	c.stopBackground()
	c.flushNotedUses(context.Background())
	return c.db.Close()
}
