package main

import (
	"context"
	"sync"
	"time"
)

// sweepInterval is how often expired sessions and stale records of failed
// password checks are cleared away. An expired token is refused whether or
// not it was swept: sweeping only keeps the tables small.
const sweepInterval = 5 * time.Minute

// startSweeper sweeps at once and then every interval, in the background.
// The function it returns stops the sweeper and waits for it, so the store
// can close after it.
func (s *server) startSweeper(interval time.Duration) (stop func()) {
	return runEvery(interval, s.sweep)
}

// runEvery calls f at once and then every interval, in a goroutine of its
// own, until the function it returns is called. That function cancels the
// context f was given, waits for f to return, and may be called again.
func runEvery(interval time.Duration, f func(ctx context.Context)) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ticker := time.NewTicker(interval)
		defer ticker.Stop()
		for {
			f(ctx)
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	}()
	return sync.OnceFunc(func() {
		cancel()
		<-done
	})
}

// sweep deletes expired sessions, the records of failed password checks
// that no longer hold anything back, the addresses no longer known and
// the events older than eventTTL, each a batch of rows at a time (store_sweeps.go): a write that comes
// during a sweep waits for one batch, not for the whole sweep.
func (s *server) sweep(ctx context.Context) {
	now := s.now()
	for _, sw := range []struct {
		what  string
		sweep func() (int64, error)
	}{
		// A session's stored expiry may lag its uses by maxSessionLag.
		{"expired sessions", func() (int64, error) {
			return s.store.deleteExpiredSessions(ctx, now.Add(-maxSessionLag(s.tokenTTL)))
		}},
		{"stale password failures", func() (int64, error) {
			return s.store.deleteStaleFailures(ctx, now, s.throttle.window)
		}},
		{"stale known addresses", func() (int64, error) {
			return s.store.forgetStaleAddresses(ctx, now.Add(-knownAddressTTL))
		}},
		{"old events", func() (int64, error) {
			return s.store.deleteOldEvents(ctx, now.Add(-eventTTL))
		}},
		{"stale mail limits and reset tokens", func() (int64, error) {
			return s.store.deleteStaleMailRecords(ctx, now.Add(-mailRequestTTL), now)
		}},
	} {
		n, err := sw.sweep()
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.Error("delete "+sw.what, "error", err)
		case n > 0:
			s.log.Info("deleted "+sw.what, "count", n)
		}
	}
}
