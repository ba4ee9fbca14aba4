package main

import (
	"errors"
	"slices"
	"sync"
	"time"
)

// cacheTrust is how long a cached answer is believed. Within this process a
// change is seen at once, since the code that makes it forgets what it
// changed; this bounds how long a change made by anyone else, such as an
// operator with the sqlite3 shell revoking tokens after a leak, goes
// unseen. Even a second saves all but one query a second for a busy key.
const cacheTrust = time.Second

// cache keeps answers read from the database for a short while, for
// cachingStore.
//
// It never gives a lookup an answer older than a change this process
// committed before the lookup began: each code path that changes what a
// cache holds forgets it after the change has committed, and a lookup that
// read the database before such a change cannot put its stale answer in
// afterwards, because every forget moves the generation on (see lookup).
// Concurrent misses of one key share one load. It is bounded: when full,
// it drops what is no longer trusted, then an arbitrary eighth; those keys
// cost one query on their next use.
//
// A grouped cache (newGroupedCache) also keeps its keys by a group drawn
// from each value, such as the user a token belongs to, so that forgetting
// a group touches that group alone: a walk of the whole cache under mu
// would stall every lookup while it ran.
type cache[K comparable, V any] struct {
	max   int
	fits  func(V) bool  // nil: every value is cached
	group func(V) int64 // nil: not grouped

	mu           sync.Mutex
	entries      map[K]cacheEntry[V]
	groups       map[int64][]K // when grouped: each group's keys, in no order
	generation   uint64
	flights      map[K]*cacheFlight[V] // the loads under way, by key (see lookup)
	waiters      int                   // lookups waiting for another's load, for tests
	hits, misses uint64                // of lookups, for the admin listener; a lookup that waits for another's load is a miss
}

type cacheEntry[V any] struct {
	value   V
	trusted int64 // Unix microseconds: the entry answers until then
	slot    int   // when grouped: the key's index in its group's keys
}

// newCache makes a cache of at most max entries. A value for which fits,
// when given, is false is not kept: it would cost too much memory.
func newCache[K comparable, V any](max int, fits func(V) bool) *cache[K, V] {
	return &cache[K, V]{max: max, fits: fits, entries: make(map[K]cacheEntry[V]), flights: make(map[K]*cacheFlight[V])}
}

// newGroupedCache makes a cache of at most max entries whose keys are also
// kept by group(value), for forgetGroup. A group is a slice, not a set: a
// key is taken out of it in constant time all the same, by moving the
// group's last key into its slot, and it costs a few words a key.
func newGroupedCache[K comparable, V any](max int, group func(V) int64) *cache[K, V] {
	c := newCache[K, V](max, nil)
	c.group, c.groups = group, make(map[int64][]K)
	return c
}

// lookup returns the value for k while it is trusted, and otherwise the
// value load reads from the database, which it then caches unless a forget
// came in meanwhile.
//
// Concurrent misses of one key share one load (a single flight): the first
// runs it, and those that miss while it runs wait for its answer rather
// than each sending the same query, which is what a popular page costs
// when its entry runs out of trust under load. A miss joins only a flight
// that started in the current generation: one that started before a
// forget may read what the change replaced, and a lookup that began after
// the change must see it. Those that joined before the forget take the
// older answer, which was true while their lookup ran (as one that read
// the database itself would have), but it is not cached. A waiter whose
// flight failed runs load itself: the error may be the first caller's own,
// such as its cancelled context.
func (c *cache[K, V]) lookup(k K, now time.Time, load func() (V, error)) (V, error) {
	c.mu.Lock()
	if v, ok := c.getLocked(k, now); ok {
		c.mu.Unlock()
		return v, nil
	}
	f, ok := c.flights[k]
	if ok && f.generation == c.generation {
		c.waiters++
		c.mu.Unlock()
		<-f.done
		c.mu.Lock()
		c.waiters--
		c.mu.Unlock()
		if f.err == nil {
			return f.value, nil
		}
		return load()
	}
	f = &cacheFlight[V]{generation: c.generation, done: make(chan struct{}), err: errLoadPanicked}
	c.flights[k] = f
	c.mu.Unlock()
	return c.fly(k, f, now, load)
}

// errLoadPanicked is what the waiters of a flight whose load panicked are
// told; each then runs its own load.
var errLoadPanicked = errors.New("cache: load panicked")

// cacheFlight is one load under way, for the lookups that wait for it.
type cacheFlight[V any] struct {
	generation uint64        // of the cache when the load started
	done       chan struct{} // closed once value and err are set
	value      V
	err        error
}

// fly runs the load of flight f and hands its answer to the waiters, even
// when load panics (a handler's panic is recovered by net/http; the
// waiters must not wait for ever).
func (c *cache[K, V]) fly(k K, f *cacheFlight[V], now time.Time, load func() (V, error)) (V, error) {
	defer func() {
		c.mu.Lock()
		if c.flights[k] == f { // a lookup after a forget may have started another
			delete(c.flights, k)
		}
		if f.err == nil {
			c.addLocked(f.generation, k, f.value, now)
		}
		c.mu.Unlock()
		close(f.done)
	}()
	f.value, f.err = load()
	return f.value, f.err
}

func (c *cache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.getLocked(k, now)
}

func (c *cache[K, V]) getLocked(k K, now time.Time) (V, bool) {
	e, ok := c.entries[k]
	if !ok || e.trusted <= now.UnixMicro() {
		c.misses++
		var zero V
		return zero, false
	}
	c.hits++
	return e.value, true
}

// addLocked caches what the database said at now, unless a forget came in
// since the lookup started at generation: the answer may be stale then.
func (c *cache[K, V]) addLocked(generation uint64, k K, v V, now time.Time) {
	if generation != c.generation || c.fits != nil && !c.fits(v) {
		return
	}
	if len(c.entries) >= c.max {
		c.makeRoomLocked(now)
	}
	c.putLocked(k, cacheEntry[V]{value: v, trusted: now.Add(cacheTrust).UnixMicro()})
}

func (c *cache[K, V]) makeRoomLocked(now time.Time) {
	c.sweepLocked(now)
	drop := max(1, c.max/8)
	for k := range c.entries {
		if len(c.entries) < c.max || drop == 0 {
			return
		}
		c.deleteLocked(k)
		drop--
	}
}

// putLocked stores e for k, and k in its value's group.
func (c *cache[K, V]) putLocked(k K, e cacheEntry[V]) {
	if c.group != nil {
		old, ok := c.entries[k]
		switch g := c.group(e.value); {
		case ok && c.group(old.value) == g:
			e.slot = old.slot
		default:
			if ok {
				c.ungroupLocked(old)
			}
			e.slot = len(c.groups[g])
			c.groups[g] = append(c.groups[g], k)
		}
	}
	c.entries[k] = e
}

// deleteLocked drops the entry for k, and k from its group. Every delete
// goes through here, so that the groups hold exactly the cached keys.
func (c *cache[K, V]) deleteLocked(k K) {
	e, ok := c.entries[k]
	if !ok {
		return
	}
	delete(c.entries, k)
	if c.group != nil {
		c.ungroupLocked(e)
	}
}

// ungroupLocked takes the key of e out of its group, moving the group's
// last key into its slot.
func (c *cache[K, V]) ungroupLocked(e cacheEntry[V]) {
	g := c.group(e.value)
	keys := c.groups[g]
	last := len(keys) - 1
	if e.slot != last {
		moved := c.entries[keys[last]]
		moved.slot = e.slot
		c.entries[keys[last]] = moved
		keys[e.slot] = keys[last]
	}
	var zero K
	keys[last] = zero
	if last == 0 {
		delete(c.groups, g)
	} else {
		c.groups[g] = keys[:last]
	}
}

// forget drops the entry for k.
func (c *cache[K, V]) forget(k K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	c.deleteLocked(k)
}

// forgetGroup drops the entries of group g whose value matches, or all of
// them when match is nil. It looks at that group's entries alone, however
// many others the cache holds.
func (c *cache[K, V]) forgetGroup(g int64, match func(V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	// Backwards, because deleting a key moves the group's last key, one
	// already seen, into the slot it frees.
	keys := c.groups[g]
	for i := len(keys) - 1; i >= 0; i-- {
		if k := keys[i]; match == nil || match(c.entries[k].value) {
			c.deleteLocked(k)
		}
	}
}

// forgetAll empties the cache.
func (c *cache[K, V]) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	clear(c.entries)
	clear(c.groups)
}

// sweep drops the entries no longer trusted at now.
func (c *cache[K, V]) sweep(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweepLocked(now)
}

func (c *cache[K, V]) sweepLocked(now time.Time) {
	micros := now.UnixMicro()
	for k, e := range c.entries {
		if e.trusted <= micros {
			c.deleteLocked(k)
		}
	}
}

// cacheStats are a cache's counts as /debug/vars shows them.
type cacheStats struct {
	Entries  int     `json:"entries"`
	Hits     uint64  `json:"hits"`
	Misses   uint64  `json:"misses"`
	HitRatio float64 `json:"hit_ratio"` // of every lookup since the start; 0 before the first
}

func (c *cache[K, V]) stats() cacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := cacheStats{Entries: len(c.entries), Hits: c.hits, Misses: c.misses}
	if total := c.hits + c.misses; total > 0 {
		st.HitRatio = float64(c.hits) / float64(total)
	}
	return st
}

// len returns the number of entries, trusted or not, for tests.
func (c *cache[K, V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// waiting returns how many lookups are waiting for another's load, for tests.
func (c *cache[K, V]) waiting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.waiters
}

// groupKeys returns a copy of group g's keys, in no order, for tests.
func (c *cache[K, V]) groupKeys(g int64) []K {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.groups[g])
}
