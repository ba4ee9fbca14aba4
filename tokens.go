package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"
)

// maxTokensPerUser bounds the stored tokens of one user, live or expired
// but not yet swept; a new token beyond it retires the oldest.
const maxTokensPerUser = 100

// newToken returns 256 random bits as URL-safe text (43 characters).
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

type tokenResponse struct {
	Token     string `json:"token"`
	ExpiresAt string `json:"expires_at"`
}

// handleCreateToken issues a new token to a caller who gave a right
// username and password. Unlike the tutorial, which reuses one token column
// per user, every login gets its own token, so one device logging out does
// not log out the others. Only the token's hash is stored.
func (s *server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	me := callerFrom(r.Context())
	token := newToken()
	now := s.now()
	expires := now.Add(s.tokenTTL)
	err := s.store.insertToken(r.Context(), hashToken(token).String(), me.userID, me.passwordHash, now, expires)
	if errors.Is(err, errNotFound) {
		basicChallenge(w, "the password changed while it was being checked")
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	retired, err := s.store.retireOldTokens(r.Context(), me.userID, maxTokensPerUser)
	if retired > 0 || err != nil { // after an error too: a write that failed late may have committed
		s.forgetTokensOf(me.userID)
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.lastSeen.note(me.userID, now)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenResponse{Token: token, ExpiresAt: formatTime(expires)})
}

// handleRevokeToken kills the token the request came with. The caller's
// other tokens live on.
func (s *server) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	hash := callerFrom(r.Context()).tokenHash
	err := s.store.deleteToken(r.Context(), hash.String())
	s.tokens.forget(hash) // after an error too: a write that failed late may have committed
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// startSweeper runs sweepEvery in the background. The function it returns
// stops the sweeper and waits for it, so the store can close after it.
func (s *server) startSweeper(interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.sweepEvery(ctx, interval)
	}()
	return sync.OnceFunc(func() {
		cancel()
		<-done
	})
}

// sweepEvery clears expired tokens, cache entries no longer trusted and
// stale throttle entries at once and then every interval, until ctx ends.
func (s *server) sweepEvery(ctx context.Context, interval time.Duration) {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		now := s.now()
		n, err := s.store.deleteExpiredTokens(ctx, now)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("delete expired tokens", "error", err)
		case n > 0:
			s.log.Info("deleted expired tokens", "count", n)
		}
		s.tokens.sweep(now)
		s.users.sweep(now)
		s.userPages.sweep(now)
		s.postPages.sweep(now)
		s.throttle.sweep()
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
