package main

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

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
