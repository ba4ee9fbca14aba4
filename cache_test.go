package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var cacheTestNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// load returns a load function for cached that answers v and counts its calls.
func load(v string, calls *int) func() (string, error) {
	return func() (string, error) {
		*calls++
		return v, nil
	}
}

// lookupStep is one lookup in TestCache and what it must give.
type lookupStep struct {
	what      string
	key       int
	at        time.Time
	loads     string // what the database holds: the answer if load is called
	want      string
	wantLoads int // calls of load so far
}

func TestCache(t *testing.T) {
	c := newCache[int, string](100, nil)
	calls := 0
	lookup := func(s lookupStep) {
		t.Helper()
		got, err := c.lookup(s.key, s.at, load(s.loads, &calls))
		if err != nil || got != s.want || calls != s.wantLoads {
			t.Errorf("%s: lookup(%d) = %q, %v after %d loads; want %q after %d", s.what, s.key, got, err, calls, s.want, s.wantLoads)
		}
	}
	later := cacheTestNow.Add(cacheTrust)
	lookup(lookupStep{what: "first lookup", key: 1, at: cacheTestNow, loads: "a", want: "a", wantLoads: 1})
	lookup(lookupStep{what: "within the trust", key: 1, at: cacheTestNow.Add(cacheTrust - time.Microsecond), loads: "b", want: "a", wantLoads: 1})
	lookup(lookupStep{what: "once the trust ran out", key: 1, at: later, loads: "b", want: "b", wantLoads: 2})

	c.forget(1)
	lookup(lookupStep{what: "after forget", key: 1, at: later, loads: "c", want: "c", wantLoads: 3})

	lookup(lookupStep{what: "another key", key: 2, at: later, loads: "x", want: "x", wantLoads: 4})

	if _, err := c.lookup(3, cacheTestNow, func() (string, error) { return "", errNotFound }); !errors.Is(err, errNotFound) {
		t.Errorf("lookup with a failing load = %v, want errNotFound", err)
	}
	if _, ok := c.get(3, cacheTestNow); ok {
		t.Error("a failed load was cached")
	}

	c.sweep(cacheTestNow.Add(time.Hour))
	if c.len() != 0 {
		t.Errorf("after a sweep past every trust: %d entries, want 0", c.len())
	}
}

// A lookup that read the database before a change must not put its answer
// in the cache after the change forgot the key.
func TestCacheRefusesStaleLookup(t *testing.T) {
	for _, forget := range []struct {
		name string
		do   func(c *cache[int, string])
	}{
		{"forget", func(c *cache[int, string]) { c.forget(1) }},
		{"forgetGroup", func(c *cache[int, string]) { c.forgetGroup(0, nil) }},
		{"forgetAll", func(c *cache[int, string]) { c.forgetAll() }},
	} {
		t.Run(forget.name, func(t *testing.T) {
			c := newGroupedCache[int](100, func(string) int64 { return 0 })
			c.lookup(1, cacheTestNow, func() (string, error) {
				forget.do(c) // the change commits while the lookup reads
				return "stale", nil
			})
			if v, ok := c.get(1, cacheTestNow); ok {
				t.Errorf("get = %q, true after a lookup older than a forget; want a miss", v)
			}
		})
	}
}

func TestCacheBounded(t *testing.T) {
	const max = 1000
	c := newCache[int, string](max, nil)
	for i := range 3 * max {
		c.testAdd(i, "v", cacheTestNow)
		if n := c.len(); n > max {
			t.Fatalf("after %d adds the cache holds %d entries, want at most %d", i+1, n, max)
		}
	}
	if _, ok := c.get(3*max-1, cacheTestNow); !ok {
		t.Error("the entry added last is not cached")
	}
	// When full, what is no longer trusted goes first.
	c.testAdd(-1, "new", cacheTestNow.Add(cacheTrust))
	if n := c.len(); n != 1 {
		t.Errorf("adding past the trust of all others left %d entries, want 1", n)
	}
}

func TestCacheSmallBounded(t *testing.T) {
	c := newCache[int, string](4, nil)
	for i := range 100 {
		c.testAdd(i, "v", cacheTestNow)
	}
	if n := c.len(); n > 4 {
		t.Errorf("a cache of at most 4 holds %d entries", n)
	}
}

func TestCacheKeepsOnlyWhatFits(t *testing.T) {
	c := newCache[int, string](100, func(v string) bool { return len(v) <= 3 })
	c.testAdd(1, "abc", cacheTestNow)
	c.testAdd(2, "abcd", cacheTestNow)
	if _, ok := c.get(1, cacheTestNow); !ok {
		t.Error("a value that fits was not kept")
	}
	if _, ok := c.get(2, cacheTestNow); ok {
		t.Error("a value that does not fit was kept")
	}
}

// BenchmarkRevokeWithCachedTokens is the cache's part of a revoke, with the
// token cache holding size entries of users holding tokensPerUser each: a
// user's revoke (DELETE /api/tokens?all=true, a password change) and one
// session's (DELETE /api/tokens/{id}). Each run puts the revoked entries
// back, so every run revokes the same number. The lock is held for the
// whole forget, so its cost is how long every token lookup waits; it must
// not grow with the cache.
func BenchmarkRevokeWithCachedTokens(b *testing.B) {
	const tokensPerUser = 10
	for _, size := range []int{1_000, 10_000, 100_000} {
		c := &cachingStore{tokens: newGroupedCache[tokenHash](maxCachedTokens, cachedSession.user)}
		sessions := make([]cachedSession, size)
		for i := range sessions {
			sessions[i] = cachedSession{id: int64(i + 1), userID: int64(i/tokensPerUser + 1), expires: cacheTestNow.Add(time.Hour).UnixMicro()}
			c.tokens.testAdd(benchTokenHash(i), sessions[i], cacheTestNow)
		}
		putBack := func(i int) { c.tokens.testAdd(benchTokenHash(i), sessions[i], cacheTestNow) }
		users := size / tokensPerUser
		b.Run(fmt.Sprintf("user/%d", size), func(b *testing.B) {
			for n := 0; b.Loop(); n++ {
				user := n%users + 1
				c.forgetTokensOf(int64(user))
				for i := (user - 1) * tokensPerUser; i < user*tokensPerUser; i++ {
					putBack(i)
				}
			}
		})
		b.Run(fmt.Sprintf("session/%d", size), func(b *testing.B) {
			for n := 0; b.Loop(); n++ {
				i := n % size
				c.tokens.forgetGroup(sessions[i].userID, func(s cachedSession) bool { return s.id == sessions[i].id })
				putBack(i)
			}
		})
		if n := c.tokens.len(); n != size {
			b.Fatalf("after the revokes the cache holds %d entries, want %d", n, size)
		}
	}
}

// benchTokenHash is a distinct token hash for each i.
func benchTokenHash(i int) tokenHash {
	var h tokenHash
	binary.BigEndian.PutUint64(h[:], uint64(i))
	return h
}

// TestCacheGroups: forgetting a user's group drops exactly that user's
// entries, and the groups hold exactly the cached keys however an entry
// leaves or changes: forgotten, replaced, swept or evicted when full.
func TestCacheGroups(t *testing.T) {
	const max, keys = 40, 100
	c := newGroupedCache[int](max, cachedSession.user)
	session := func(k int, user int64) cachedSession { return cachedSession{id: int64(k + 1), userID: user} }
	add := func(k int, user int64, at time.Time) { c.testAdd(k, session(k, user), at) }
	for k := range 30 {
		add(k, int64(k%3+1), cacheTestNow) // users 1, 2 and 3
	}
	wantGroups(t, "after the adds", c, keys)

	c.forgetGroup(2, nil)
	for k := range 30 {
		if _, ok := c.get(k, cacheTestNow); ok != (k%3+1 != 2) {
			t.Errorf("after forgetting user 2: key %d of user %d cached = %t", k, k%3+1, ok)
		}
	}
	wantGroups(t, "after forgetting user 2", c, keys)

	c.forgetGroup(1, func(s cachedSession) bool { return s.id == 4 }) // key 3
	if _, ok := c.get(3, cacheTestNow); ok || c.len() != 19 {
		t.Errorf("after forgetting session 4: key 3 cached = %t, %d entries; want false, 19", ok, c.len())
	}
	wantGroups(t, "after forgetting one session", c, keys)

	add(0, 3, cacheTestNow) // another user: key 0 moves from group 1 to 3
	add(6, 1, cacheTestNow) // the same user again: key 6 stays
	c.forget(9)
	wantGroups(t, "after replacing and forgetting keys", c, keys)

	later := cacheTestNow.Add(cacheTrust / 2)
	for k := 30; k < 35; k++ {
		add(k, int64(k%3+1), later)
	}
	c.sweep(cacheTestNow.Add(cacheTrust)) // drops all but the five added later
	if n := c.len(); n != 5 {
		t.Errorf("after the sweep: %d entries, want 5", n)
	}
	wantGroups(t, "after the sweep", c, keys)

	for k := 35; k < keys; k++ { // past max: makeRoomLocked drops an eighth at a time
		add(k, int64(k%5+1), later)
		wantGroups(t, fmt.Sprintf("after adding key %d", k), c, keys)
	}
	c.forgetAll()
	wantGroups(t, "after forgetAll", c, keys)
}

// wantGroups checks that each group of c holds, once each, exactly the
// keys below keys whose cached value is in it, and no other key.
func wantGroups(t *testing.T, what string, c *cache[int, cachedSession], keys int) {
	t.Helper()
	want := map[int64][]int{}
	for k := range keys {
		if s, ok := c.get(k, cacheTestNow); ok { // every entry is trusted at cacheTestNow
			want[s.userID] = append(want[s.userID], k)
		}
	}
	grouped := 0
	for user := range int64(6) {
		got := c.groupKeys(user)
		grouped += len(got)
		slices.Sort(got)
		if !slices.Equal(got, want[user]) {
			t.Errorf("%s: group %d holds keys %v, want %v", what, user, got, want[user])
		}
	}
	if n := c.len(); grouped != n {
		t.Errorf("%s: the groups hold %d keys, the cache %d entries", what, grouped, n)
	}
}

// testAdd caches v for k at at, as a lookup that loaded it would.
func (c *cache[K, V]) testAdd(k K, v V, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addLocked(c.generation, k, v, at)
}

// waitUntil polls until cond holds. It asserts nothing about time: a test
// that never gets there is stopped by go test's -timeout.
func waitUntil(cond func() bool) {
	for !cond() {
		time.Sleep(time.Millisecond)
	}
}

// Concurrent misses of one key run one load: the first misses and loads,
// the others wait for its answer. The load blocks until every lookup is
// either loading or waiting, so that all of them miss together. Before the
// single flight every miss loaded: this test failed with 8 loads, want 1.
func TestCacheSingleFlight(t *testing.T) {
	const lookups = 8
	c := newCache[int, string](100, nil)
	var loads atomic.Int64
	release := make(chan struct{})
	load := func() (string, error) {
		loads.Add(1)
		<-release
		return "v", nil
	}
	var wg sync.WaitGroup
	got := make([]string, lookups)
	for i := range lookups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.lookup(1, cacheTestNow, load)
			if err != nil {
				t.Errorf("lookup %d: %v", i, err)
			}
			got[i] = v
		}()
	}
	waitUntil(func() bool { return c.waiting()+int(loads.Load()) == lookups })
	close(release)
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Errorf("%d concurrent misses of one key ran %d loads, want 1", lookups, n)
	}
	for i, v := range got {
		if v != "v" {
			t.Errorf("lookup %d = %q, want %q", i, v, "v")
		}
	}
	if v, ok := c.get(1, cacheTestNow); !ok || v != "v" {
		t.Errorf("get after the flight = %q, %v; want %q, true", v, ok, "v")
	}
}

// A lookup that starts after a forget does not wait for a load that
// started before it: that load may have read what the change replaced.
// Those that joined the old load before the forget get its answer, as they
// would have read it themselves, but it is not cached. (This test guards
// the single flight's own rule; the code before it never waited.)
func TestCacheFlightAfterForget(t *testing.T) {
	c := newCache[int, string](100, nil)
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	old := make([]string, 2)
	for i := range old {
		wg.Add(1)
		go func() {
			defer wg.Done()
			old[i], _ = c.lookup(1, cacheTestNow, func() (string, error) {
				close(started)
				<-release
				return "old", nil
			})
		}()
	}
	waitUntil(func() bool { return c.waiting() == 1 })
	<-started // the other one is loading
	c.forget(1)
	var loads int
	result := make(chan string, 1)
	go func() {
		v, _ := c.lookup(1, cacheTestNow, load("new", &loads))
		result <- v
	}()
	var v string
	waitUntil(func() bool {
		select {
		case v = <-result:
			return true
		default:
			return c.waiting() == 2
		}
	})
	if v == "" {
		t.Errorf("a lookup after the forget waits for a load from before it")
		close(release)
		v = <-result
	} else {
		close(release)
	}
	if v != "new" || loads != 1 {
		t.Errorf("lookup after the forget = %q with %d loads, want %q with 1", v, loads, "new")
	}
	wg.Wait()
	if old[0] != "old" || old[1] != "old" {
		t.Errorf("the lookups from before the forget = %q, want both %q", old, "old")
	}
	if v, ok := c.get(1, cacheTestNow); !ok || v != "new" {
		t.Errorf("get = %q, %v; want %q, true: the load from before the forget was cached", v, ok, "new")
	}
}

// A waiter whose flight failed, or panicked, loads for itself: the error
// may be the first caller's own, such as its cancelled context.
func TestCacheFlightFailureLeavesWaitersTheirOwnLoad(t *testing.T) {
	for _, fail := range []struct {
		name string
		do   func() (string, error)
	}{
		{"error", func() (string, error) { return "", errors.New("context canceled") }},
		{"panic", func() (string, error) { panic("load") }},
	} {
		t.Run(fail.name, func(t *testing.T) {
			c := newCache[int, string](100, nil)
			started, release, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
			go func() {
				defer close(done)
				defer func() { recover() }()
				c.lookup(1, cacheTestNow, func() (string, error) {
					close(started)
					<-release
					return fail.do()
				})
			}()
			<-started
			var loads int
			var got string
			var err error
			waited := make(chan struct{})
			go func() {
				defer close(waited)
				got, err = c.lookup(1, cacheTestNow, load("mine", &loads))
			}()
			waitUntil(func() bool { return c.waiting() == 1 })
			close(release)
			<-done
			<-waited
			if got != "mine" || err != nil || loads != 1 {
				t.Errorf("waiter of a failed flight = %q, %v with %d loads of its own; want %q, nil with 1", got, err, loads, "mine")
			}
		})
	}
}
