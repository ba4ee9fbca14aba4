package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// holdNextGroup holds the committer when it next takes a write, until n
// more wait behind it, so that they all go into one commit: a commit in
// flight, as the committer sees it, while writes arrive. It returns what
// gives the number of writes of each commit since, and whether the hold
// has begun.
func holdNextGroup(t *testing.T, c *committer, n int) (sizes func() []int, held func() bool) {
	t.Helper()
	skipOnRqlite(t, "rqlite commits each write itself: there is no committer")
	var mu sync.Mutex
	var seen []int
	var holding atomic.Bool
	hold := func() {
		if c.beforeGroup.Swap(nil) == nil {
			return
		}
		holding.Store(true)
		waitForWaiting(t, c, n)
	}
	count := func(jobs int) {
		mu.Lock()
		seen = append(seen, jobs)
		mu.Unlock()
	}
	c.beforeGroup.Store(&hold)
	c.beforeCommit.Store(&count)
	t.Cleanup(func() { c.beforeGroup.Store(nil); c.beforeCommit.Store(nil) })
	return func() []int {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}, holding.Load
}

// waitForWaiting returns once n writes wait for the committer. It is a
// watchdog, not a measure: a test whose writes never come fails after a
// minute instead of hanging until the test binary's timeout.
func waitForWaiting(t *testing.T, c *committer, n int) {
	for give := time.Now().Add(time.Minute); c.waiting() < n; time.Sleep(50 * time.Microsecond) {
		if time.Now().After(give) {
			t.Errorf("%d writes wait for the committer, never %d", c.waiting(), n)
			return
		}
	}
}

// concurrently sends each request at once and returns the answers in the
// order of requests. A request that gets no answer fails the test.
func concurrently(t *testing.T, ts *testServer, requests []func() (response, error)) []response {
	t.Helper()
	answers := make([]response, len(requests))
	errs := make([]error, len(requests))
	var wg sync.WaitGroup
	for i, send := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = send()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return answers
}

// Writes that arrive while the committer is busy are committed together:
// 16 posts at once, with the committer held on the first until the other
// 15 wait, make one commit of 16 (or more, on the plain store, whose
// bearer requests write the session's use too), and every post is
// acknowledged and stored.
func TestConcurrentPostsShareOneCommit(t *testing.T) {
	const clients = 16
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	writes0, commits0 := ts.db.writeCounts()
	sizes, _ := holdNextGroup(t, ts.db.commits, clients-1)

	requests := make([]func() (response, error), clients)
	for i := range requests {
		body := fmt.Sprintf(`{"title": "post %d", "body": "b"}`, i)
		requests[i] = func() (response, error) { return ts.do("POST", "/api/posts", body, bearer(token)) }
	}
	ids := map[float64]bool{}
	for i, res := range concurrently(t, ts, requests) {
		wantStatus(t, fmt.Sprintf("POST /api/posts %d", i), res, http.StatusCreated)
		ids[res.object(t)["id"].(float64)] = true
	}
	if len(ids) != clients || ts.count(t, "posts") != clients {
		t.Errorf("%d distinct ids and %d posts stored, want %d of each", len(ids), ts.count(t, "posts"), clients)
	}

	writes, commits := ts.db.writeCounts()
	writes, commits = writes-writes0, commits-commits0
	if writes < clients || commits >= writes {
		t.Errorf("%d writes in %d commits, want at least %d writes in fewer commits", writes, commits, clients)
	}
	if got := sizes(); len(got) == 0 || got[0] < clients {
		t.Errorf("writes per commit = %v, want the first to hold at least %d", got, clients)
	}
}

// A write that fails fails only its own request: of two sign-ups with one
// username committed together, one gets 201 and the other 400, and the
// posts and sign-ups beside them in the same commit are stored.
func TestFailedWriteFailsOnlyItsRequest(t *testing.T) {
	const names, posts = 4, 4
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	sizes, _ := holdNextGroup(t, ts.db.commits, 2*names+posts-1)

	var requests []func() (response, error)
	for i := range 2 * names {
		body := fmt.Sprintf(`{"username": "user%d", "email": "user%d-%d@example.com", "password": "a long password"}`, i/2, i/2, i)
		requests = append(requests, func() (response, error) { return ts.do("POST", "/api/users", body, nil...) })
	}
	for i := range posts {
		body := fmt.Sprintf(`{"title": "post %d", "body": "b"}`, i)
		requests = append(requests, func() (response, error) { return ts.do("POST", "/api/posts", body, bearer(token)) })
	}
	answers := concurrently(t, ts, requests)
	for n := range names {
		first, second := answers[2*n], answers[2*n+1]
		if first.status != http.StatusCreated {
			first, second = second, first
		}
		wantStatus(t, fmt.Sprintf("one sign-up as user%d", n), first, http.StatusCreated)
		wantError(t, fmt.Sprintf("the other sign-up as user%d", n), second, http.StatusBadRequest, "username is already taken")
	}
	for i, res := range answers[2*names:] {
		wantStatus(t, fmt.Sprintf("POST /api/posts %d", i), res, http.StatusCreated)
	}
	if got := ts.count(t, "users"); got != 1+names {
		t.Errorf("users = %d, want %d", got, 1+names)
	}
	if got := ts.count(t, "posts"); got != posts {
		t.Errorf("posts = %d, want %d", got, posts)
	}
	// Each request's first write is in the first commit: the sign-ups,
	// refused and stored, all shared it.
	if got := sizes(); len(got) == 0 || got[0] < 2*names+posts {
		t.Errorf("writes per commit = %v, want the first to hold at least %d", got, 2*names+posts)
	}
}

// A job that fails (or panics) is undone to its savepoint, all of its
// statements, and answered with its own error; a job whose caller has
// gone is not run; the rest of the commit stands.
func TestFailedJobIsUndoneAlone(t *testing.T) {
	ts := newTestServer(t)
	c := ts.db.commits
	// Held on the first until the four others that are surely sent wait
	// (the caller gone may be refused before it is sent): one commit of
	// at least five.
	sizes, held := holdNextGroup(t, c, 4)
	emails := 0
	insert := func(name string) func(context.Context, execer) error {
		emails++
		email := fmt.Sprintf("user%d@example.com", emails)
		return func(ctx context.Context, db execer) error {
			_, err := db.ExecContext(ctx, `INSERT INTO users (username, email, email_key, password_hash, last_seen, created_at)
				VALUES (?, ?, ?, 'x', '', '')`, name, email, email)
			return uniqueViolation(err)
		}
	}
	errChanged := errors.New("changed its mind")
	ctx := context.Background()
	gone, cancel := context.WithCancel(ctx)
	cancel()
	ran := false
	jobs := []struct {
		ctx  context.Context
		name string
		run  func(context.Context, execer) error
		want error
	}{
		{ctx, "first", insert("first"), nil},
		{ctx, "a second first", insert("first"), errDuplicateUsername},
		{ctx, "two inserts, then an error", func(ctx context.Context, db execer) error {
			if err := insert("undone1")(ctx, db); err != nil {
				return err
			}
			if err := insert("undone2")(ctx, db); err != nil {
				return err
			}
			return errChanged
		}, errChanged},
		{ctx, "an insert, then a panic", func(ctx context.Context, db execer) error {
			if err := insert("panicked")(ctx, db); err != nil {
				return err
			}
			panic("a bug in a write")
		}, errWritePanicked},
		{ctx, "second", insert("second"), nil},
		{gone, "a caller gone", func(ctx context.Context, db execer) error { ran = true; return insert("gone")(ctx, db) }, context.Canceled},
	}
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, job := range jobs {
		for i == 1 && !held() {
			time.Sleep(50 * time.Microsecond) // until the first is taken, the others wait
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.do(job.ctx, job.run)
		}()
	}
	wg.Wait()
	for i, job := range jobs {
		if !errors.Is(errs[i], job.want) || (job.want == nil) != (errs[i] == nil) {
			t.Errorf("%s: %v, want %v", job.name, errs[i], job.want)
		}
	}
	if ran {
		t.Errorf("the job of a caller gone ran")
	}
	rows, err := ts.db.read.Query(`SELECT username FROM users ORDER BY username`)
	if err != nil {
		t.Fatal(err)
	}
	names, err := scanAll(rows, func(r scanner) (string, error) {
		var name string
		err := r.Scan(&name)
		return name, err
	})
	if err != nil {
		t.Fatal(err)
	}
	wantJSON(t, "users stored", names, []string{"first", "second"})
	if got := sizes(); len(got) == 0 || got[0] < 5 {
		t.Errorf("writes per commit = %v, want the first of at least 5", got)
	}
}

// Close lets every write handed over commit before it closes the file; a
// write after it is refused. Close comes while a commit is held and at
// least 8 writes wait behind it. Every write acknowledged is in the file
// when it is opened again, and none refused is.
func TestCloseCommitsTheWritesHandedOver(t *testing.T) {
	skipOnRqlite(t, "rqlite commits each write itself: there is no committer")
	const writers, waiting = 32, 8
	path := filepath.Join(t.TempDir(), "close.db")
	st, err := openStore(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	c := st.commits
	closed := make(chan error, 1)
	hook := func() {
		if c.beforeGroup.Swap(nil) == nil {
			return
		}
		waitForWaiting(t, c, waiting)
		go func() { closed <- st.Close() }()
		for refused := false; !refused; {
			c.mu.RLock()
			refused = c.closed
			c.mu.RUnlock()
		}
	}
	c.beforeGroup.Store(&hook)
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := user{Username: fmt.Sprintf("user%d", i), Email: fmt.Sprintf("user%d@example.com", i), LastSeen: time.Now()}
			_, errs[i] = st.createUser(context.Background(), u, "x")
		}()
	}
	wg.Wait()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, err := st.createPost(context.Background(), 1, "t", "b", time.Now()); !errors.Is(err, errStoreClosed) {
		t.Errorf("createPost after Close = %v, want %v", err, errStoreClosed)
	}

	st, err = openStore(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acknowledged := 0
	for i, err := range errs {
		_, _, lookup := st.passwordHashByUsername(context.Background(), fmt.Sprintf("user%d", i))
		switch {
		case err == nil && lookup != nil:
			t.Errorf("user%d: acknowledged, then not found: %v", i, lookup)
		case errors.Is(err, errStoreClosed) && !errors.Is(lookup, errNotFound):
			t.Errorf("user%d: refused, then found (%v)", i, lookup)
		case err != nil && !errors.Is(err, errStoreClosed):
			t.Errorf("user%d: %v, want nil or %v", i, err, errStoreClosed)
		case err == nil:
			acknowledged++
		}
	}
	if acknowledged < 1+waiting {
		t.Errorf("%d writes acknowledged, want at least %d: the held one and those waiting at Close", acknowledged, 1+waiting)
	}
	t.Logf("%d of %d writes acknowledged before Close", acknowledged, writers)
}
