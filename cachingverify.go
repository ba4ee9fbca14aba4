package main

import (
	"context"
	"time"
)

// The caching store's side of verified addresses and known devices: a
// new account and a verified address change a cached user (email_verified),
// so those forget the user; the rest is the plain store's.

func (c *cachingStore) createUserVerifying(ctx context.Context, u user, passwordHash string, v emailVerification) (int64, error) {
	id, err := c.db.createUserVerifying(ctx, u, passwordHash, v)
	c.changedUser(id)
	return id, err
}

func (c *cachingStore) recordEmailVerification(ctx context.Context, v emailVerification) error {
	return c.db.recordEmailVerification(ctx, v)
}

func (c *cachingStore) emailVerificationOf(ctx context.Context, hash tokenHash, now time.Time) (int64, string, error) {
	return c.db.emailVerificationOf(ctx, hash, now)
}

func (c *cachingStore) verifyEmail(ctx context.Context, hash tokenHash, userID int64, emailKey string, now time.Time) error {
	err := c.db.verifyEmail(ctx, hash, userID, emailKey, now)
	c.changedUser(userID)
	return err
}

func (c *cachingStore) knownDevice(ctx context.Context, userID int64, address, userAgent string, since time.Time) (bool, bool, error) {
	return c.db.knownDevice(ctx, userID, address, userAgent, since)
}

func (c *cachingStore) rememberDevice(ctx context.Context, d deviceLogin) error {
	return c.db.rememberDevice(ctx, d)
}
