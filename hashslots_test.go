package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// takeAllSlots occupies every slot of h, the spare one too, until the
// function it returns frees them. h must be quiet, as a new one is.
func takeAllSlots(t testing.TB, h *hashSlots) (free func()) {
	t.Helper()
	var releases []func()
	for range h.slots() {
		release, err := h.acquire(context.Background(), hashCheck, "")
		if err != nil {
			t.Fatalf("taking every slot: %v", err)
		}
		releases = append(releases, release)
	}
	return func() {
		for _, release := range releases {
			release()
		}
	}
}

// patience is how long a test waits for what must come before it fails:
// a bound on a hang, never a measure of speed.
const patience = 30 * time.Second

// waitFor polls until cond holds, failing the test after patience.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(patience); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", patience, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// startWaiting has a hash of class wait for a slot of h in a goroutine of
// its own, and returns once it is in the queue. Given a slot, the hash
// sends name to order and frees the slot at once; the channel returned
// gets acquire's error.
func startWaiting(t *testing.T, ctx context.Context, h *hashSlots, class hashClass, name string, order chan<- string) <-chan error {
	t.Helper()
	return startWaitingFrom(t, ctx, h, class, "", name, order)
}

// startWaitingFrom is startWaiting for a hash from the client address source.
func startWaitingFrom(t *testing.T, ctx context.Context, h *hashSlots, class hashClass, source, name string, order chan<- string) <-chan error {
	t.Helper()
	before := h.waiting(class)
	done := make(chan error, 1)
	go func() {
		release, err := h.acquire(ctx, class, source)
		if err == nil {
			order <- name
			release()
		}
		done <- err
	}()
	waitFor(t, name+" to queue", func() bool {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s did not queue: %v", name, err)
			}
			done <- err
		default:
		}
		return h.waiting(class) > before
	})
	return done
}

// receive takes n names from order, failing the test after patience.
func receive(t *testing.T, order <-chan string, n int) []string {
	t.Helper()
	var got []string
	for range n {
		select {
		case name := <-order:
			got = append(got, name)
		case <-time.After(patience):
			t.Fatalf("after %v, no slot for another waiter within %v", got, patience)
		}
	}
	return got
}

// Hashes that wait get the slots in the order they came, in each queue.
func TestHashSlotsFirstComeFirstServed(t *testing.T) {
	for _, class := range []hashClass{hashCheck, hashNew} {
		h := newHashSlots(1) // before any hash has ended, any number may wait
		free := takeAllSlots(t, h)
		order := make(chan string, 10)
		want := []string{"first", "second", "third", "fourth", "fifth"}
		for _, name := range want {
			startWaiting(t, context.Background(), h, class, name, order)
		}
		free()
		if got := receive(t, order, len(want)); !slices.Equal(got, want) {
			t.Errorf("class %d: slots went to %v, want %v", class, got, want)
		}
	}
}

// A login that comes after sign-ups still gets the next free slot.
func TestHashSlotsChecksFirst(t *testing.T) {
	h := newHashSlots(1)
	free := takeAllSlots(t, h)
	order := make(chan string, 3)
	startWaiting(t, context.Background(), h, hashNew, "sign-up 1", order)
	startWaiting(t, context.Background(), h, hashNew, "sign-up 2", order)
	startWaiting(t, context.Background(), h, hashCheck, "login", order)
	free()
	want := []string{"login", "sign-up 1", "sign-up 2"}
	if got := receive(t, order, len(want)); !slices.Equal(got, want) {
		t.Errorf("slots went to %v, want %v", got, want)
	}
}

// While checks keep coming, a waiting new hash still gets a slot once
// checksPerNewHash checks in a row have gone ahead of it.
func TestHashSlotsNewHashesGetTheirShare(t *testing.T) {
	h := newHashSlots(1)
	free := takeAllSlots(t, h)
	order := make(chan string, 2*checksPerNewHash+2)
	startWaiting(t, context.Background(), h, hashNew, "sign-up 1", order)
	startWaiting(t, context.Background(), h, hashNew, "sign-up 2", order)
	var want []string
	for i := range 2 * checksPerNewHash {
		name := fmt.Sprintf("login %d", i+1)
		startWaiting(t, context.Background(), h, hashCheck, name, order)
		want = append(want, name)
		if (i+1)%checksPerNewHash == 0 {
			want = append(want, fmt.Sprintf("sign-up %d", (i+1)/checksPerNewHash))
		}
	}
	free()
	if got := receive(t, order, len(want)); !slices.Equal(got, want) {
		t.Errorf("slots went to %v, want %v", got, want)
	}
}

// withPace makes h's recent hashes have taken d each, which sets how many
// new hashes may wait.
func withPace(h *hashSlots, d time.Duration) *hashSlots {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pace = d
	return h
}

// As many new hashes may wait as the open slots get through in maxWait at
// the pace of the last hashes, and half as many from one source.
func TestHashSlotsNewHashBounds(t *testing.T) {
	if total, perSource := newHashSlots(2).newWaitingBounds(); total != math.MaxInt || perSource != math.MaxInt {
		t.Errorf("before any hash has ended, %d new hashes may wait, %d from one source; want any number", total, perSource)
	}
	tests := []struct {
		cores            int
		quiet            bool
		pace             time.Duration
		total, perSource int
	}{
		{cores: 1, quiet: true, pace: 100 * time.Millisecond, total: 100, perSource: 50},
		{cores: 2, quiet: true, pace: 100 * time.Millisecond, total: 200, perSource: 100},
		{cores: 2, quiet: false, pace: 100 * time.Millisecond, total: 100, perSource: 50}, // the spare slot closed
		{cores: 4, quiet: true, pace: 100 * time.Millisecond, total: 400, perSource: 200},
		{cores: 2, quiet: true, pace: 150 * time.Millisecond, total: 133, perSource: 66},
		{cores: 2, quiet: true, pace: time.Millisecond, total: 20_000, perSource: 10_000},
		{cores: 2, quiet: true, pace: 15 * time.Second, total: 1, perSource: 1},
		{cores: 1, quiet: true, pace: time.Minute, total: 1, perSource: 1},
	}
	for _, tc := range tests {
		h := withPace(newHashSlots(tc.cores), tc.pace)
		if !tc.quiet {
			h.noteOtherWork()
		}
		if total, perSource := h.newWaitingBounds(); total != tc.total || perSource != tc.perSource {
			t.Errorf("%d cores, quiet %v, hashes of %v: %d new hashes may wait, %d from one source; want %d and %d",
				tc.cores, tc.quiet, tc.pace, total, perSource, tc.total, tc.perSource)
		}
	}

	// The pace is the hashes' own time in their slots: one held for at
	// least 50 ms leaves room for at most maxWait / 50 ms.
	h := newHashSlots(1)
	release, err := h.acquire(context.Background(), hashNew, "")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	release()
	if total, _ := h.newWaitingBounds(); total < 1 || total > int(maxHashWait/(50*time.Millisecond)) {
		t.Errorf("after a hash of 50 ms or more on one slot, %d new hashes may wait, want 1 to %d", total, maxHashWait/(50*time.Millisecond))
	}
}

// Past its source's bound, or past the bound in all, a new hash is refused
// at once, without waiting for a slot; a check still waits its turn, ahead
// of the new hashes. An IPv6 source is its /64.
func TestHashSlotsNewHashesBounded(t *testing.T) {
	h := withPace(newHashSlots(1), time.Second) // 10 may wait, 5 from one source
	free := takeAllSlots(t, h)
	total, perSource := h.newWaitingBounds()
	order := make(chan string, total+1)
	var want []string
	refuse := func(what, source string) {
		t.Helper()
		before, waiting := h.stats().RefusedAtOnce, h.waiting(hashNew)
		_, err := h.acquire(context.Background(), hashNew, source)
		if !errors.Is(err, errPasswordBusy) || h.stats().RefusedAtOnce != before+1 || h.waiting(hashNew) != waiting {
			t.Errorf("%s = %v, refused at once %d times more, %d waiting after; want errPasswordBusy at once, %d waiting",
				what, err, h.stats().RefusedAtOnce-before, h.waiting(hashNew), waiting)
		}
	}
	sources := []string{"192.0.2.1", "2001:db8::1"}
	for _, source := range sources {
		for i := range perSource {
			// 2001:db8::1, 2001:db8::2, ... are all one /64.
			if strings.Contains(source, ":") {
				source = fmt.Sprintf("2001:db8::%d", i+1)
			}
			want = append(want, fmt.Sprintf("sign-up %d from %s", i+1, source))
			startWaitingFrom(t, context.Background(), h, hashNew, source, want[len(want)-1], order)
		}
		refuse("one more new hash from "+source, source)
	}
	if n := h.waiting(hashNew); n != total {
		t.Fatalf("%d new hashes wait, want %d", n, total)
	}
	refuse("a new hash from a third source with the queue full", "198.51.100.1")
	startWaiting(t, context.Background(), h, hashCheck, "login", order)

	free()
	want = append([]string{"login"}, want...)
	if got := receive(t, order, len(want)); !slices.Equal(got, want) {
		t.Errorf("slots went to %v, want %v", got, want)
	}
}

// A hash that gives up waiting leaves its place in the queue: it takes no
// slot, and no longer counts against the bounds on new hashes.
func TestHashSlotsCancelLeavesQueue(t *testing.T) {
	h := withPace(newHashSlots(1), 5*time.Second) // two new hashes may wait, one from each source
	free := takeAllSlots(t, h)
	order := make(chan string, 3)
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := startWaitingFrom(t, ctx, h, hashNew, "192.0.2.1", "gives up", order)
	startWaitingFrom(t, context.Background(), h, hashNew, "192.0.2.2", "stays", order)
	if _, err := h.acquire(context.Background(), hashNew, "192.0.2.3"); !errors.Is(err, errPasswordBusy) {
		t.Fatalf("new hash with two waiting = %v, want errPasswordBusy", err)
	}

	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled wait = %v, want context.Canceled", err)
	}
	if n := h.waiting(hashNew); n != 1 {
		t.Errorf("after one of two gave up, %d new hashes wait, want 1", n)
	}
	startWaitingFrom(t, context.Background(), h, hashNew, "192.0.2.1", "comes later", order)

	free()
	want := []string{"stays", "comes later"}
	if got := receive(t, order, len(want)); !slices.Equal(got, want) {
		t.Errorf("slots went to %v, want %v", got, want)
	}
	waitFor(t, "every slot to be free", func() bool { return h.taken() == 0 })
}

// Hashes get every core while nothing else runs, and leave one core to the
// other requests while they come in.
func TestPasswordSpareSlot(t *testing.T) {
	h := newHashSlots(2)
	h.maxWait = 20 * time.Millisecond
	ctx := context.Background()

	first, err := h.acquire(ctx, hashCheck, "")
	if err != nil {
		t.Fatalf("first slot: %v", err)
	}
	second, err := h.acquire(ctx, hashCheck, "")
	if err != nil {
		t.Fatalf("second slot while nothing else runs: %v, want the spare slot", err)
	}
	second()

	h.noteOtherWork()
	if _, err := h.acquire(ctx, hashCheck, ""); !errors.Is(err, errPasswordBusy) {
		t.Fatalf("second slot right after another request = %v, want errPasswordBusy", err)
	}
	first()

	if one := newHashSlots(1); one.spare || one.regular != 1 {
		t.Errorf("on one core: %d slots and spare %v, want 1 and none", one.regular, one.spare)
	}
}

// A hash that queued while the spare slot was closed gets it once the
// other requests have stopped for otherWorkQuiet, and not before. (Timers
// never fire early, so the lower bound holds on any machine; how much
// later the slot opens is only logged.)
func TestHashSlotsSpareOpensForWaiter(t *testing.T) {
	h := newHashSlots(2)
	release, err := h.acquire(context.Background(), hashCheck, "") // the regular slot, for the whole test
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	h.noteOtherWork()
	order := make(chan string, 1)
	startWaiting(t, context.Background(), h, hashCheck, "login", order)
	// Another request with a token keeps the spare slot closed longer.
	time.Sleep(otherWorkQuiet / 2)
	h.noteOtherWork()
	lastOther := time.Now()

	receive(t, order, 1)
	waited := time.Since(lastOther)
	t.Logf("the spare slot opened %v after the last other request (otherWorkQuiet %v)", waited, otherWorkQuiet)
	if waited < otherWorkQuiet*9/10 {
		t.Errorf("the spare slot opened %v after the last other request, want no sooner than %v", waited, otherWorkQuiet)
	}
}

// Hashes that come and go, some giving up, never hold more than the slots
// and leave none taken.
func TestHashSlotsChurn(t *testing.T) {
	h := newHashSlots(3)
	h.maxWait = 3 * time.Millisecond
	var running, most atomic.Int64
	var wg sync.WaitGroup
	for range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(rand.IntN(3000))*time.Microsecond)
				release, err := h.acquire(ctx, hashClass(rand.IntN(2)), "")
				cancel()
				if err != nil {
					if !errors.Is(err, errPasswordBusy) && !errors.Is(err, context.DeadlineExceeded) {
						t.Errorf("acquire = %v", err)
					}
					continue
				}
				n := running.Add(1)
				for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
				}
				time.Sleep(100 * time.Microsecond)
				running.Add(-1)
				release()
			}
		}()
	}
	wg.Wait()
	if m := most.Load(); m > int64(h.slots()) {
		t.Errorf("%d hashes ran at once, want at most %d", m, h.slots())
	}
	if n, checks, news := h.taken(), h.waiting(hashCheck), h.waiting(hashNew); n+checks+news != 0 {
		t.Errorf("after every hash: %d slots taken, %d checks and %d new hashes waiting; want none", n, checks, news)
	}
}

// Only requests with a bearer token close the spare slot: logins and
// sign-ups are the hashes themselves.
func TestShareCoresNotesTokenRequests(t *testing.T) {
	tests := []struct {
		authorization string
		closes        bool
	}{
		{"", false},
		{"Basic " + b64("muthoni:secret"), false},
		{"Bearer abc", true},
		{"bearer abc", true},
	}
	for _, tc := range tests {
		h := newHashSlots(2)
		handler := h.shareCores(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		req := httptest.NewRequest("GET", "/api/users", nil)
		if tc.authorization != "" {
			req.Header.Set("Authorization", tc.authorization)
		}
		handler.ServeHTTP(httptest.NewRecorder(), req)
		if closed := !h.quiet(); closed != tc.closes {
			t.Errorf("after a request with Authorization %q: spare slot closed = %v, want %v", tc.authorization, closed, tc.closes)
		}
	}
}

// busyHashTime is what a hash at the default cost takes in each of two
// slots on the 2-core machine of docs/performance.md with another core's
// work beside it (about 100 ms alone). The tests below give the slots this
// pace, scaled to their number, so that the bounds on waiting sign-ups are
// the ones there, 133 in all and 66 from one address, while the tests'
// own hashes stay cheap.
const busyHashTime = 150 * time.Millisecond

// atBusyPace gives h the pace at which its bounds on new hashes are those
// of two open slots at busyHashTime.
func atBusyPace(h *hashSlots) {
	withPace(h, busyHashTime*time.Duration(h.slots())/2)
}

// holdAllSlots is takeAllSlots until the function it returns, or the end of
// the test, frees them: a test that fails with requests waiting does not
// leave the server to wait for them.
func holdAllSlots(t *testing.T, h *hashSlots) (free func()) {
	t.Helper()
	free = sync.OnceFunc(takeAllSlots(t, h))
	t.Cleanup(free)
	return free
}

// recordGrants has h note each slot it gives from now on; the function
// returned tells the classes of the hashes they went to, in order.
func recordGrants(h *hashSlots) (grants func() []hashClass) {
	var given []hashClass
	h.mu.Lock()
	defer h.mu.Unlock()
	h.onGrant = func(class hashClass) { given = append(given, class) }
	return func() []hashClass {
		h.mu.Lock()
		defer h.mu.Unlock()
		return slices.Clone(given)
	}
}

// signUpResult is the answer to one sign-up of a crowd.
type signUpResult struct {
	status     int
	retryAfter string
	err        error
}

// signUpCrowd sends n sign-ups at once, named prefix1, prefix2 and so on,
// all from the test's one address (127.0.0.1: a crowd behind one NAT), and
// returns once each of them waits for a hash slot or was refused at once.
// Their answers come on the channel as they come.
func signUpCrowd(t *testing.T, ts *testServer, prefix string, n int) <-chan signUpResult {
	t.Helper()
	h := ts.srv.passwords.slots
	waiting, refused := h.waiting(hashNew), h.stats().RefusedAtOnce
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	t.Cleanup(c.CloseIdleConnections)
	results := make(chan signUpResult, n)
	for i := range n {
		go func() {
			status, retryAfter, err := signUp(context.Background(), c, ts.base, fmt.Sprintf("%s%d", prefix, i+1))
			results <- signUpResult{status, retryAfter, err}
		}()
	}
	waitFor(t, fmt.Sprintf("%d sign-ups to wait or be refused", n), func() bool {
		return h.waiting(hashNew)-waiting+int(h.stats().RefusedAtOnce-refused) == n
	})
	return results
}

// collect takes n answers from results and counts them by status. Every
// 503 must carry Retry-After.
func collect(t *testing.T, results <-chan signUpResult, n int) map[int]int {
	t.Helper()
	statuses := map[int]int{}
	for range n {
		var r signUpResult
		select {
		case r = <-results:
		case <-time.After(patience):
			t.Fatalf("after %v, no answer to another sign-up within %v", statuses, patience)
		}
		switch {
		case r.err != nil:
			t.Errorf("POST /api/users: %v", r.err)
		case r.status == http.StatusServiceUnavailable && r.retryAfter == "":
			t.Errorf("POST /api/users = 503 without Retry-After")
		}
		statuses[r.status]++
	}
	return statuses
}

// signUpFrom sends a sign-up as if from addr, through the whole handler
// stack, and returns its status.
func signUpFrom(ts *testServer, addr, name string) int {
	req := httptest.NewRequest("POST", "/api/users", strings.NewReader(signUpBody(name)))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = net.JoinHostPort(addr, "40000")
	rec := httptest.NewRecorder()
	ts.srv.ServeHTTP(rec, req)
	return rec.Code
}

// A crowd signing up at once from one address, a class behind its
// school's NAT, is served: with the slots busy until the last of them has
// come, every one waits for a slot, and none is refused.
func TestSignUpCrowdServed(t *testing.T) {
	for _, n := range []int{16, 50} {
		t.Run(fmt.Sprintf("%d at once", n), func(t *testing.T) {
			ts := newTestServer(t)
			h := ts.srv.passwords.slots
			atBusyPace(h)
			total, perSource := h.newWaitingBounds()
			free := holdAllSlots(t, h)
			results := signUpCrowd(t, ts, "pupil", n)
			free()
			if got := collect(t, results, n); got[http.StatusCreated] != n {
				t.Errorf("%d sign-ups at once from one address: statuses %v, want %d × 201 (bounds %d in all, %d from one address)",
					n, got, n, total, perSource)
			}
		})
	}
}

// A flood of sign-ups from one address is refused past that address's
// bound, at once: every refusal comes back while all the slots are still
// taken, before any slot is given. Meanwhile a sign-up from another
// address finds room, and is served.
func TestSignUpFloodRefusedPerAddress(t *testing.T) {
	ts := newTestServer(t)
	h := ts.srv.passwords.slots
	atBusyPace(h)
	_, perSource := h.newWaitingBounds()
	free := holdAllSlots(t, h)
	grants := recordGrants(h)

	const flood = 200
	results := signUpCrowd(t, ts, "flood", flood)
	refused := int(h.stats().RefusedAtOnce)
	if refused != flood-perSource || h.waiting(hashNew) != perSource {
		t.Fatalf("%d sign-ups at once from one address: %d refused at once, %d waiting; want %d and %d",
			flood, refused, h.waiting(hashNew), flood-perSource, perSource)
	}
	if got := collect(t, results, refused); got[http.StatusServiceUnavailable] != refused {
		t.Errorf("the first %d answers to the flood, every slot still taken: %v, want %d × 503", refused, got, refused)
	}
	if g := grants(); len(g) != 0 {
		t.Errorf("while the flood was refused, %d slots were given, want none", len(g))
	}

	other := make(chan int, 1)
	go func() { other <- signUpFrom(ts, "192.0.2.7", "neighbour") }()
	waitFor(t, "the other address's sign-up to wait", func() bool {
		if len(other) > 0 {
			t.Fatalf("POST /api/users from another address during the flood = %d at once, want it to wait for a slot", <-other)
		}
		return h.waiting(hashNew) == perSource+1
	})
	free()
	if got := collect(t, results, perSource); got[http.StatusCreated] != perSource {
		t.Errorf("the flood's %d waiting sign-ups: %v, want all 201", perSource, got)
	}
	if status := <-other; status != http.StatusCreated {
		t.Errorf("POST /api/users from another address during the flood = %d, want 201", status)
	}
}

// TestSignUpFloodSparesLogins: logins that come while a flood of sign-ups
// waits for the slots go ahead of it, but for the share kept for new
// hashes, so each waits for the hashes running when it came and at most
// one new hash more. Five at once show the share: four logins, a sign-up,
// the fifth login. The timing is BenchmarkLoginDuringSignUpFlood's.
func TestSignUpFloodSparesLogins(t *testing.T) {
	ts := newTestServer(t)
	const logins = checksPerNewHash + 1
	for i := range logins {
		ts.createUser(t, fmt.Sprintf("reader%d", i+1), "reader-password")
	}
	h := ts.srv.passwords.slots
	atBusyPace(h)
	free := holdAllSlots(t, h)
	const flood = 200
	results := signUpCrowd(t, ts, "flood", flood)
	queued := h.waiting(hashNew)
	answers := make(chan string, logins)
	for i := range logins {
		go func() {
			res, err := ts.do("POST", "/api/tokens", "", basic(fmt.Sprintf("reader%d", i+1), "reader-password"))
			if err != nil || res.status != http.StatusOK {
				answers <- fmt.Sprintf("POST /api/tokens as reader%d during the flood = %d, %v; want 200", i+1, res.status, err)
				return
			}
			answers <- ""
		}()
	}
	waitFor(t, "the logins to wait", func() bool { return h.waiting(hashCheck) == logins })
	grants := recordGrants(h)
	free()
	for range logins {
		if problem := <-answers; problem != "" {
			t.Error(problem)
		}
	}
	if got := collect(t, results, flood); got[http.StatusCreated] != queued || got[http.StatusServiceUnavailable] != flood-queued {
		t.Errorf("the flood: %v, want %d × 201 and %d × 503", got, queued, flood-queued)
	}

	checks, newAhead := 0, 0
	for _, class := range grants() {
		if class == hashNew {
			newAhead++
			continue
		}
		checks++
		if newAhead > 1 {
			t.Errorf("login %d of %d was given a slot after %d of the %d waiting sign-ups, want at most 1", checks, logins, newAhead, queued)
		}
	}
	if checks != logins {
		t.Errorf("%d logins were given a slot, want %d", checks, logins)
	}
}

// signUp posts a new user with ctx, and gives the answer's status and
// Retry-After.
func signUp(ctx context.Context, c *http.Client, base, name string) (status int, retryAfter string, err error) {
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/users", strings.NewReader(signUpBody(name)))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	return res.StatusCode, res.Header.Get("Retry-After"), err
}

// signUpBody is the body of a sign-up as name.
func signUpBody(name string) string {
	return fmt.Sprintf(`{"username": %q, "email": "%s@example.com", "password": "%s-password"}`, name, name, name)
}

// TestPasswordSlotsBusy fills every hash slot and checks that a login then
// gets a 503 with Retry-After after the bounded wait, counts as no failed
// attempt, and logs no error.
func TestPasswordSlotsBusy(t *testing.T) {
	ts := newTestServer(t)
	ts.createUser(t, "muthoni", "muthoni123")
	ts.srv.passwords.slots.maxWait = 50 * time.Millisecond
	free := takeAllSlots(t, ts.srv.passwords.slots)
	for range defaultThrottleLimit + 1 {
		res := ts.callBasic(t, "POST", "/api/tokens", "muthoni", "wrong-password")
		wantError(t, "POST /api/tokens with every slot busy", res, http.StatusServiceUnavailable, "try again")
		if res.header.Get("Retry-After") == "" {
			t.Fatalf("503 without Retry-After")
		}
	}
	free()
	// None of the busy answers counted against the user.
	ts.login(t, "muthoni", "muthoni123")
	if strings.Contains(ts.logs.String(), "level=ERROR") {
		t.Errorf("a busy server logged an error:\n%s", ts.logs)
	}
}
