package main

import (
	"errors"
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
	c.forgetWhere(func(v string) bool { return v == "c" })
	lookup(lookupStep{what: "after forgetWhere matched it", key: 1, at: later, loads: "d", want: "d", wantLoads: 5})
	lookup(lookupStep{what: "after forgetWhere did not match it", key: 2, at: later, loads: "y", want: "x", wantLoads: 5})

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
		{"forgetWhere", func(c *cache[int, string]) { c.forgetWhere(func(string) bool { return true }) }},
	} {
		t.Run(forget.name, func(t *testing.T) {
			c := newCache[int, string](100, nil)
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
		c.add(c.startLookup(), i, "v", cacheTestNow)
		if n := c.len(); n > max {
			t.Fatalf("after %d adds the cache holds %d entries, want at most %d", i+1, n, max)
		}
	}
	if _, ok := c.get(3*max-1, cacheTestNow); !ok {
		t.Error("the entry added last is not cached")
	}
	// When full, what is no longer trusted goes first.
	c.add(c.startLookup(), -1, "new", cacheTestNow.Add(cacheTrust))
	if n := c.len(); n != 1 {
		t.Errorf("adding past the trust of all others left %d entries, want 1", n)
	}
}

func TestCacheSmallBounded(t *testing.T) {
	c := newCache[int, string](4, nil)
	for i := range 100 {
		c.add(c.startLookup(), i, "v", cacheTestNow)
	}
	if n := c.len(); n > 4 {
		t.Errorf("a cache of at most 4 holds %d entries", n)
	}
}

func TestCacheKeepsOnlyWhatFits(t *testing.T) {
	c := newCache[int, string](100, func(v string) bool { return len(v) <= 3 })
	c.add(c.startLookup(), 1, "abc", cacheTestNow)
	c.add(c.startLookup(), 2, "abcd", cacheTestNow)
	if _, ok := c.get(1, cacheTestNow); !ok {
		t.Error("a value that fits was not kept")
	}
	if _, ok := c.get(2, cacheTestNow); ok {
		t.Error("a value that does not fit was kept")
	}
}
