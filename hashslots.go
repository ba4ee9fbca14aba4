package main

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"time"
)

// hashSlots bound how many password hashes run at once, so that a burst of
// logins waits its turn instead of starving every other request of CPU.
//
// The rule, in full: there is one regular slot per core but one, always
// open, and one spare slot for the last core, open only while no request
// with a bearer token has come in for otherWorkQuiet. Logins alone so use
// every core; logins beside the API's other calls leave those a core. One
// slot per core would take every core from the other requests, which Go's
// scheduler gets back to only every 10 ms or so: measured, reads then ran
// at 0.18 of their unloaded rate while logins saturated the slots.
type hashSlots struct {
	regular chan struct{}
	spare   chan struct{} // nil on one core
	maxWait time.Duration // for a free slot
	// otherWork is when, in Unix nanoseconds, a request with a bearer token
	// last came in.
	otherWork atomic.Int64
}

// otherWorkQuiet is how long after the last other request the spare slot
// opens again.
const otherWorkQuiet = 100 * time.Millisecond

// maxHashWait bounds the wait for a hash slot, so that under a flood of
// logins a client hears "busy, come back" instead of waiting for minutes.
const maxHashWait = 10 * time.Second

// errPasswordBusy means every hash slot stayed taken for maxHashWait.
var errPasswordBusy = errors.New("too many password checks at once")

// newHashSlots makes the slots for a machine with cores cores.
func newHashSlots(cores int) *hashSlots {
	h := &hashSlots{regular: make(chan struct{}, max(1, cores-1)), maxWait: maxHashWait}
	if cores > 1 {
		h.spare = make(chan struct{}, 1)
	}
	return h
}

// shareCores wraps the whole server: every request that carries a bearer
// token keeps the spare slot closed for a while.
func (h *hashSlots) shareCores(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header, _ := authorization(r)
		if _, isBearer := cutScheme(header, "Bearer"); isBearer {
			h.noteOtherWork()
		}
		next.ServeHTTP(w, r)
	})
}

// noteOtherWork closes the spare slot for otherWorkQuiet. It writes the
// shared time only when it has aged, so that busy cores do not fight over
// it.
func (h *hashSlots) noteOtherWork() {
	now := time.Now().UnixNano()
	if now-h.otherWork.Load() > int64(otherWorkQuiet/10) {
		h.otherWork.Store(now)
	}
}

func (h *hashSlots) quiet() bool {
	return time.Now().UnixNano()-h.otherWork.Load() > int64(otherWorkQuiet)
}

// acquire waits for a free slot, no longer than maxWait or ctx allows, and
// returns the function that frees it. It takes a regular slot when one is
// free, keeping the spare for when it is needed; the spare slot is a
// candidate only while quiet, which it looks at again every so often while
// it waits.
func (h *hashSlots) acquire(ctx context.Context) (release func(), err error) {
	select {
	case h.regular <- struct{}{}:
		return func() { <-h.regular }, nil
	default:
	}
	deadline := time.NewTimer(h.maxWait)
	defer deadline.Stop()
	var recheck <-chan time.Time // nil, which never receives, without a spare slot
	if h.spare != nil {
		ticker := time.NewTicker(otherWorkQuiet / 4)
		defer ticker.Stop()
		recheck = ticker.C
	}
	for {
		var spare chan struct{} // nil, which never receives, unless quiet
		if h.quiet() {
			spare = h.spare
		}
		select {
		case h.regular <- struct{}{}:
			return func() { <-h.regular }, nil
		case spare <- struct{}{}:
			return func() { <-h.spare }, nil
		case <-recheck:
		case <-deadline.C:
			return nil, errPasswordBusy
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}
