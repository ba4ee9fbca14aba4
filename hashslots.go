package main

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// hashSlots bound how many password hashes run at once, and choose which
// waiting hash runs next, so that a burst of logins or sign-ups waits its
// turn instead of starving every other request of CPU, and a login is not
// stuck behind a flood of sign-ups.
//
//   - How many: one regular slot per core but one, and a spare slot for the
//     last core, open only while no request with a bearer token came in for
//     otherWorkQuiet: logins alone use every core, logins beside other
//     calls leave those a core (Go's scheduler would take it back only
//     every 10 ms or so).
//   - Who next: checks (a login or a current_password) and new hashes (a
//     sign-up or a new password) wait in two queues, first come first
//     served; a freed slot goes to the oldest check, and to the oldest new
//     hash when no check waits or after checksPerNewHash checks in a row.
//   - How long: no more new hashes wait than the open slots get through in
//     maxWait at the recent pace, and from one source (an IPv4 address, an
//     IPv6 /64) half of that; one more is refused at once (errPasswordBusy:
//     503, Retry-After) rather than after waiting in vain. A crowd behind
//     one address, a class behind its school's NAT, is served; a flood from
//     one address is refused past its half, and the other half stays open
//     to everyone else. Any other wait ends after maxWait.
//
// docs/performance.md has the measurements behind each choice.
type hashSlots struct {
	regular int           // slots, always open
	spare   bool          // whether there is a spare slot: not on one core
	maxWait time.Duration // in a queue

	mu           sync.Mutex
	regularTaken int
	spareTaken   bool
	pace         time.Duration // a hash's time in its slot lately; 0 before the first
	checksInARow int           // given a slot while new hashes waited
	// queues are the waiting hashes by class, oldest first.
	queues [2][]*hashWaiter
	waking bool // a timer will hand out the spare slot once quiet

	// otherWork is when, in Unix nanoseconds, untilQuiet last found that a
	// request with a bearer token had come in.
	otherWork atomic.Int64
	busy      atomic.Bool // a request with a bearer token came since untilQuiet looked

	// For the admin listener: hashes given a slot, their total wait for
	// it, hashes refused with errPasswordBusy, and how many of those were
	// refused at once, by a bound, rather than after maxWait.
	granted, waitedNanos, refused, refusedAtOnce atomic.Int64

	// onGrant, set by tests, hears of each slot given, in order. h.mu is held.
	onGrant func(hashClass)
}

// hashClass is what a hash is for, which says where it waits.
type hashClass int

const (
	hashCheck hashClass = iota // checks a password: a login or current_password
	hashNew                    // hashes a new password: a sign-up or a change
)

// hashWaiter is a hash waiting in a queue for a slot.
type hashWaiter struct {
	class   hashClass
	source  string        // a new hash's client address, as throttleAddr has it
	granted chan struct{} // closed once handOut has given it a slot
	spare   bool          // the slot given is the spare one
}

// otherWorkQuiet is how long after the last other request the spare slot
// opens again.
const otherWorkQuiet = 100 * time.Millisecond

// maxHashWait bounds the wait for a hash slot, so that under a flood of
// logins a client hears "busy, come back" instead of waiting for minutes.
const maxHashWait = 10 * time.Second

// checksPerNewHash is how many checks in a row may go ahead of a waiting
// new hash. Checks first keeps logins fast under a flood of sign-ups; the
// share kept for new hashes keeps sign-ups possible while logins saturate
// the slots, where they would otherwise all wait maxWait for a 503 (as the
// load tool's own sign-ups did, measuring reads beside saturating logins).
const checksPerNewHash = 4

// errPasswordBusy means every hash slot stayed taken for maxHashWait, or
// too many new passwords wait already, in all or from one source.
var errPasswordBusy = errors.New("too many password hashes at once")

// newHashSlots makes the slots for a machine with cores cores.
func newHashSlots(cores int) *hashSlots {
	return &hashSlots{regular: max(1, cores-1), spare: cores > 1, maxWait: maxHashWait}
}

// shareCores wraps the whole server: every request that carries a bearer
// token keeps the spare slot closed for a while.
func (h *hashSlots) shareCores(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hasBearer(r) {
			h.noteOtherWork()
		}
		next.ServeHTTP(w, r)
	})
}

// noteOtherWork closes the spare slot for otherWorkQuiet. It runs on every
// request with a bearer token, so it only raises a flag, written only when
// it was down: no clock read, and busy cores do not fight over a line that
// every request writes. untilQuiet dates the flag when it next looks, a
// little late at worst, which keeps the spare closed a little longer.
func (h *hashSlots) noteOtherWork() {
	if !h.busy.Load() {
		h.busy.Store(true)
	}
}

func (h *hashSlots) quiet() bool {
	return h.untilQuiet() < 0
}

// untilQuiet is how long the spare slot stays closed; negative once open.
func (h *hashSlots) untilQuiet() time.Duration {
	now := time.Now().UnixNano()
	if h.busy.Swap(false) {
		h.otherWork.Store(now)
	}
	return time.Duration(h.otherWork.Load() + int64(otherWorkQuiet) - now)
}

// acquire waits in class's queue for a slot, no longer than maxWait or ctx
// allows, and returns the function that frees it. A new hash is counted
// against source, the client address it came from ("" for none).
func (h *hashSlots) acquire(ctx context.Context, class hashClass, source string) (release func(), err error) {
	w := &hashWaiter{class: class, source: throttleAddr(source), granted: make(chan struct{})}
	h.mu.Lock()
	if class == hashNew && !h.roomFor(w.source) {
		h.mu.Unlock()
		h.refused.Add(1)
		h.refusedAtOnce.Add(1)
		return nil, errPasswordBusy
	}
	h.queues[class] = append(h.queues[class], w)
	h.handOut()
	h.mu.Unlock()

	select {
	case <-w.granted: // at once, without a timer
		h.granted.Add(1)
		return h.releaser(w.spare), nil
	default:
	}
	start := time.Now()
	deadline := time.NewTimer(h.maxWait)
	defer deadline.Stop()
	select {
	case <-w.granted:
		h.granted.Add(1)
		h.waitedNanos.Add(int64(time.Since(start)))
		return h.releaser(w.spare), nil
	case <-deadline.C:
		h.refused.Add(1)
		err = errPasswordBusy
	case <-ctx.Done():
		err = ctx.Err()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if i := slices.Index(h.queues[class], w); i >= 0 {
		h.queues[class] = slices.Delete(h.queues[class], i, i+1)
		return nil, err
	}
	// handOut gave it a slot just as it gave up: the slot goes on to the
	// next waiter.
	h.free(w.spare)
	return nil, err
}

// releaser is the function that frees a slot just taken, noting how long
// its hash took.
func (h *hashSlots) releaser(spare bool) func() {
	start := time.Now()
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.notePace(time.Since(start))
		h.free(spare)
	}
}

// notePace takes a hash's time into the pace, a moving average that
// follows the last eight or so. h.mu is held.
func (h *hashSlots) notePace(d time.Duration) {
	if h.pace == 0 {
		h.pace = d
		return
	}
	h.pace += (d - h.pace) / 8
}

// newHashBounds are how many new hashes may wait: in all, as many as the
// open slots get through in maxWait at the recent pace, and from one
// source half as many; at least one each. Before the first hash has
// ended, any number may. h.mu is held.
func (h *hashSlots) newHashBounds() (total, perSource int) {
	if h.pace <= 0 {
		return math.MaxInt, math.MaxInt
	}
	open := h.regular
	if h.spare && h.quiet() {
		open++
	}
	total = max(1, int(h.maxWait*time.Duration(open)/h.pace))
	return total, max(1, total/2)
}

// roomFor reports whether a new hash from source may wait. h.mu is held.
func (h *hashSlots) roomFor(source string) bool {
	total, perSource := h.newHashBounds()
	fromSource := 0
	for _, w := range h.queues[hashNew] {
		if w.source == source {
			fromSource++
		}
	}
	return len(h.queues[hashNew]) < total && fromSource < perSource
}

// free gives a slot back, to the next waiter if there is one. h.mu is
// held.
func (h *hashSlots) free(spare bool) {
	if spare {
		h.spareTaken = false
	} else {
		h.regularTaken--
	}
	h.handOut()
}

// handOut gives open slots to the oldest waiters, checks before new
// hashes but for one in checksPerNewHash+1, a regular slot before the spare
// one. h.mu is held.
func (h *hashSlots) handOut() {
	for len(h.queues[hashCheck])+len(h.queues[hashNew]) > 0 {
		spare := false
		switch {
		case h.regularTaken < h.regular:
			h.regularTaken++
		case h.spare && !h.spareTaken && h.quiet():
			h.spareTaken, spare = true, true
		default:
			h.wakeWhenQuiet()
			return
		}
		queue := &h.queues[hashCheck]
		switch {
		case len(h.queues[hashNew]) == 0:
			h.checksInARow = 0
		case len(*queue) == 0 || h.checksInARow >= checksPerNewHash:
			queue = &h.queues[hashNew]
			h.checksInARow = 0
		default:
			h.checksInARow++
		}
		w := (*queue)[0]
		*queue = (*queue)[1:]
		w.spare = spare
		if h.onGrant != nil {
			h.onGrant(w.class)
		}
		close(w.granted)
	}
}

// wakeWhenQuiet has handOut look again once the spare slot opens, should
// it be free but closed: nothing else would, were no slot freed meanwhile.
// h.mu is held.
func (h *hashSlots) wakeWhenQuiet() {
	if !h.spare || h.spareTaken || h.waking {
		return
	}
	h.waking = true
	// A bearer request meanwhile moves the time on: this looks again then.
	time.AfterFunc(h.untilQuiet()+time.Millisecond, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.waking = false
		h.handOut()
	})
}

// slots is how many hashes run at once, at most.
func (h *hashSlots) slots() int {
	if h.spare {
		return h.regular + 1
	}
	return h.regular
}

// hashSlotStats are the slots as /debug/vars shows them.
type hashSlotStats struct {
	Slots         int     `json:"slots"`
	Running       int     `json:"running"`
	QueuedChecks  int     `json:"queued_checks"`
	QueuedNew     int     `json:"queued_new"`
	Granted       int64   `json:"granted"`
	WaitedSeconds float64 `json:"waited_seconds_total"`
	Refused       int64   `json:"refused"`
	RefusedAtOnce int64   `json:"refused_at_once"` // of those refused, by a bound, without waiting
}

func (h *hashSlots) stats() hashSlotStats {
	return hashSlotStats{Slots: h.slots(), Running: h.taken(),
		QueuedChecks: h.waiting(hashCheck), QueuedNew: h.waiting(hashNew),
		Granted: h.granted.Load(), WaitedSeconds: time.Duration(h.waitedNanos.Load()).Seconds(),
		Refused: h.refused.Load(), RefusedAtOnce: h.refusedAtOnce.Load()}
}

// taken is how many slots run a hash, waiting how many hashes wait for
// one, and newWaitingBounds how many new hashes may, in all and from one
// source: for tests and stats.
func (h *hashSlots) taken() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.spareTaken {
		return h.regularTaken + 1
	}
	return h.regularTaken
}

func (h *hashSlots) waiting(class hashClass) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.queues[class])
}

func (h *hashSlots) newWaitingBounds() (total, perSource int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.newHashBounds()
}
