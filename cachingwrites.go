package main

import (
	"context"
	"time"
)

// The caching store's writes: each passes through to the plain store, then
// forgets what it changed, after the write and after a failed one too (a
// write that failed late may have committed).

func (c *cachingStore) createUser(ctx context.Context, u user, passwordHash string) (int64, error) {
	id, err := c.db.createUser(ctx, u, passwordHash)
	c.changedUser(id)
	return id, err
}

// updateUser forgets the user's tokens too when the password changed: the
// handler revokes them next, and none may outlive the change in a cache.
func (c *cachingStore) updateUser(ctx context.Context, id int64, changes userChanges) error {
	err := c.db.updateUser(ctx, id, changes)
	c.changedUser(id)
	if changes.PasswordHash != nil {
		c.forgetTokensOf(id)
	}
	return err
}

// deleteUser forgets the user, the pages, the user's tokens and the
// failure records the cache knows by the user's id alone. A record kept
// by address and id ages out within cacheTrust; the id is never given
// again (createUser), so it cannot stand for anyone else meanwhile.
func (c *cachingStore) deleteUser(ctx context.Context, id int64, farewell *queuedMail) error {
	err := c.db.deleteUser(ctx, id, farewell)
	c.changedUser(id)
	c.forgetTokensOf(id)
	c.failures.forget(accountKey(id))
	c.failures.forget(currentPasswordKey(id))
	return err
}

// insertSession needs no forget: only tokens the database holds are cached.
func (c *cachingStore) insertSession(ctx context.Context, hash tokenHash, passwordHash string, s session) (int64, error) {
	return c.db.insertSession(ctx, hash, passwordHash, s)
}

// deleteSession looks for the session's token among its user's cached
// tokens alone, about maxTokensPerUser at most, not among everyone's: the
// token cache is grouped by user, and a second index by session would cost
// every entry memory to save a walk that is short already.
func (c *cachingStore) deleteSession(ctx context.Context, userID, id int64) error {
	err := c.db.deleteSession(ctx, userID, id)
	c.tokens.forgetGroup(userID, func(s cachedSession) bool { return s.id == id })
	return err
}

func (c *cachingStore) deleteSessionsOf(ctx context.Context, userID int64) (int64, error) {
	n, err := c.db.deleteSessionsOf(ctx, userID)
	c.forgetTokensOf(userID)
	return n, err
}

func (c *cachingStore) deleteSessionByHash(ctx context.Context, hash tokenHash) error {
	err := c.db.deleteSessionByHash(ctx, hash)
	c.tokens.forget(hash)
	return err
}

func (c *cachingStore) deleteOtherSessions(ctx context.Context, userID int64, keep tokenHash) error {
	err := c.db.deleteOtherSessions(ctx, userID, keep)
	c.forgetTokensOf(userID)
	return err
}

func (c *cachingStore) retireOldSessions(ctx context.Context, userID int64, keep int) (int64, error) {
	n, err := c.db.retireOldSessions(ctx, userID, keep)
	if n > 0 || err != nil {
		c.forgetTokensOf(userID)
	}
	return n, err
}

// deleteExpiredSessions needs no forget: expiry is checked on every hit.
func (c *cachingStore) deleteExpiredSessions(ctx context.Context, before time.Time) (int64, error) {
	return c.db.deleteExpiredSessions(ctx, before)
}

func (c *cachingStore) recordPasswordFailure(ctx context.Context, keys []failureKey, now time.Time, window time.Duration) error {
	err := c.db.recordPasswordFailure(ctx, keys, now, window)
	for _, k := range keys {
		c.failures.forget(k.name)
	}
	return err
}

func (c *cachingStore) clearPasswordFailures(ctx context.Context, key string) error {
	err := c.db.clearPasswordFailures(ctx, key)
	c.failures.forget(key)
	return err
}

// deleteStaleFailures deletes only records that hold nothing back, which a
// cached copy says just as well: it needs no forget.
func (c *cachingStore) deleteStaleFailures(ctx context.Context, now time.Time, window time.Duration) (int64, error) {
	return c.db.deleteStaleFailures(ctx, now, window)
}

func (c *cachingStore) createPost(ctx context.Context, authorID int64, title, body string, at time.Time) (int64, error) {
	id, err := c.db.createPost(ctx, authorID, title, body, at)
	c.changedUser(authorID)
	return id, err
}

func (c *cachingStore) updatePost(ctx context.Context, id, authorID int64, title, body *string) error {
	err := c.db.updatePost(ctx, id, authorID, title, body)
	c.changedUser(authorID)
	return err
}

func (c *cachingStore) deletePost(ctx context.Context, id, authorID int64) error {
	err := c.db.deletePost(ctx, id, authorID)
	c.changedUser(authorID)
	return err
}

// changedUser forgets the user and every cached page, which may show the
// user's name, about_me or post count, or the posts.
func (c *cachingStore) changedUser(id int64) {
	c.users.forget(id)
	c.userPages.forgetAll()
	c.postPages.forgetAll()
}

func (c *cachingStore) forgetTokensOf(userID int64) {
	c.tokens.forgetGroup(userID, nil)
}

// rememberAddress and forgetStaleAddresses change nothing cached.
func (c *cachingStore) rememberAddress(ctx context.Context, userID int64, addr string, at time.Time) error {
	return c.db.rememberAddress(ctx, userID, addr, at)
}

func (c *cachingStore) forgetStaleAddresses(ctx context.Context, before time.Time) (int64, error) {
	return c.db.forgetStaleAddresses(ctx, before)
}

// The second step's reads and writes pass through: a login's check of a
// code must see the last step used, whoever wrote it, and none of it is
// in a cached answer (GET /api/users/{id} reads totp_enabled each time).
func (c *cachingStore) totpOf(ctx context.Context, userID int64) (totpRecord, error) {
	return c.db.totpOf(ctx, userID)
}

func (c *cachingStore) setPendingTOTP(ctx context.Context, userID int64, sealed string) error {
	return c.db.setPendingTOTP(ctx, userID, sealed)
}

// enableTOTP and disableTOTP forget the user, whose cached copy says
// whether TOTP is on.
func (c *cachingStore) enableTOTP(ctx context.Context, userID int64, pending string, step int64, codeHashes []string) error {
	err := c.db.enableTOTP(ctx, userID, pending, step, codeHashes)
	c.users.forget(userID)
	return err
}

func (c *cachingStore) replaceRecoveryCodes(ctx context.Context, userID int64, codeHashes []string) error {
	return c.db.replaceRecoveryCodes(ctx, userID, codeHashes)
}

func (c *cachingStore) useTOTPStep(ctx context.Context, userID, step int64) error {
	return c.db.useTOTPStep(ctx, userID, step)
}

func (c *cachingStore) useRecoveryCode(ctx context.Context, userID int64, hash string) error {
	return c.db.useRecoveryCode(ctx, userID, hash)
}

func (c *cachingStore) disableTOTP(ctx context.Context, userID int64) error {
	err := c.db.disableTOTP(ctx, userID)
	c.users.forget(userID)
	return err
}

// The security log is not cached: its writes forget nothing (the trigger
// that counts a user's events writes a column no cached user holds), and
// its reads go to the plain store.
func (c *cachingStore) addEvent(ctx context.Context, e event) error {
	return c.db.addEvent(ctx, e)
}

func (c *cachingStore) eventsOf(ctx context.Context, userID int64, q pageQuery) ([]event, int, error) {
	return c.db.eventsOf(ctx, userID, q)
}

func (c *cachingStore) deleteOldEvents(ctx context.Context, before time.Time) (int64, error) {
	return c.db.deleteOldEvents(ctx, before)
}
