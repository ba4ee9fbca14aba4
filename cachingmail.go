package main

import (
	"context"
	"time"
)

// The caching store's side of password resets: nothing it caches is
// read or written here (a reset's new password and ended sessions go
// through updateUser and deleteSessionsOf, which forget what they change),
// so each method is the plain store's.

func (c *cachingStore) userByEmail(ctx context.Context, email string) (user, error) {
	return c.db.userByEmail(ctx, email)
}

func (c *cachingStore) mailRequests(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	return c.db.mailRequests(ctx, key, since)
}

func (c *cachingStore) countMailRequest(ctx context.Context, key string, at time.Time) error {
	return c.db.countMailRequest(ctx, key, at)
}

func (c *cachingStore) recordPasswordReset(ctx context.Context, r passwordReset) error {
	return c.db.recordPasswordReset(ctx, r)
}

func (c *cachingStore) passwordResetUser(ctx context.Context, hash tokenHash, now time.Time) (int64, error) {
	return c.db.passwordResetUser(ctx, hash, now)
}

func (c *cachingStore) usePasswordReset(ctx context.Context, hash tokenHash, now time.Time) error {
	return c.db.usePasswordReset(ctx, hash, now)
}

func (c *cachingStore) deleteStaleMailRecords(ctx context.Context, before, now time.Time) (int64, error) {
	return c.db.deleteStaleMailRecords(ctx, before, now)
}
