package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
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
		release, err := h.acquire(context.Background(), hashCheck)
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

// waitFor polls until cond holds, failing the test after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("waited 5s for %s", what)
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
	before := h.waiting(class)
	done := make(chan error, 1)
	go func() {
		release, err := h.acquire(ctx, class)
		if err == nil {
			order <- name
			release()
		}
		done <- err
	}()
	waitFor(t, name+" to queue", func() bool { return h.waiting(class) > before })
	return done
}

// receive takes n names from order, failing the test if they are slow.
func receive(t *testing.T, order <-chan string, n int) []string {
	t.Helper()
	var got []string
	for range n {
		select {
		case name := <-order:
			got = append(got, name)
		case <-time.After(5 * time.Second):
			t.Fatalf("after %v, no slot for another waiter within 5s", got)
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

// As many new hashes may wait as the open slots get through in
// newHashWait, at the pace of the last hashes.
func TestHashSlotsNewHashBound(t *testing.T) {
	if got := newHashSlots(2).newWaitingBound(); got != math.MaxInt {
		t.Errorf("before any hash has ended, %d new hashes may wait, want any number", got)
	}
	tests := []struct {
		cores int
		quiet bool
		pace  time.Duration
		want  int
	}{
		{cores: 1, quiet: true, pace: 100 * time.Millisecond, want: 10},
		{cores: 2, quiet: true, pace: 100 * time.Millisecond, want: 20},
		{cores: 2, quiet: false, pace: 100 * time.Millisecond, want: 10}, // the spare slot closed
		{cores: 4, quiet: true, pace: 100 * time.Millisecond, want: 40},
		{cores: 2, quiet: true, pace: time.Millisecond, want: 2000},
		{cores: 2, quiet: true, pace: 3 * time.Second, want: 1},
	}
	for _, tc := range tests {
		h := withPace(newHashSlots(tc.cores), tc.pace)
		if !tc.quiet {
			h.noteOtherWork()
		}
		if got := h.newWaitingBound(); got != tc.want {
			t.Errorf("%d cores, quiet %v, hashes of %v: %d new hashes may wait, want %d", tc.cores, tc.quiet, tc.pace, got, tc.want)
		}
	}

	// The pace is the hashes' own time in their slots.
	h := newHashSlots(1)
	release, err := h.acquire(context.Background(), hashNew)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	release()
	if got := h.newWaitingBound(); got < 5 || got > 20 {
		t.Errorf("after a hash of 50 ms on one slot, %d new hashes may wait, want about 20", got)
	}
}

// Past the bound, a new hash is refused at once rather than after maxWait;
// a check still waits its turn, ahead of the new hashes.
func TestHashSlotsNewHashesBounded(t *testing.T) {
	h := withPace(newHashSlots(1), 100*time.Millisecond)
	free := takeAllSlots(t, h)
	bound := h.newWaitingBound()
	order := make(chan string, bound+1)
	var want []string
	for i := range bound {
		want = append(want, fmt.Sprintf("sign-up %d", i+1))
		startWaiting(t, context.Background(), h, hashNew, want[i], order)
	}

	start := time.Now()
	_, err := h.acquire(context.Background(), hashNew)
	if elapsed := time.Since(start); !errors.Is(err, errPasswordBusy) || elapsed > h.maxWait/10 {
		t.Errorf("new hash with %d waiting = %v after %v, want errPasswordBusy at once", bound, err, elapsed)
	}
	startWaiting(t, context.Background(), h, hashCheck, "login", order)

	free()
	want = append([]string{"login"}, want...)
	if got := receive(t, order, len(want)); !slices.Equal(got, want) {
		t.Errorf("slots went to %v, want %v", got, want)
	}
}

// A hash that gives up waiting leaves its place in the queue: it takes no
// slot, and no longer counts against the bound on new hashes.
func TestHashSlotsCancelLeavesQueue(t *testing.T) {
	h := withPace(newHashSlots(1), 500*time.Millisecond) // two new hashes may wait
	free := takeAllSlots(t, h)
	order := make(chan string, 3)
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := startWaiting(t, ctx, h, hashNew, "gives up", order)
	startWaiting(t, context.Background(), h, hashNew, "stays", order)
	if _, err := h.acquire(context.Background(), hashNew); !errors.Is(err, errPasswordBusy) {
		t.Fatalf("new hash with two waiting = %v, want errPasswordBusy", err)
	}

	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled wait = %v, want context.Canceled", err)
	}
	if n := h.waiting(hashNew); n != 1 {
		t.Errorf("after one of two gave up, %d new hashes wait, want 1", n)
	}
	startWaiting(t, context.Background(), h, hashNew, "comes later", order)

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

	first, err := h.acquire(ctx, hashCheck)
	if err != nil {
		t.Fatalf("first slot: %v", err)
	}
	second, err := h.acquire(ctx, hashCheck)
	if err != nil {
		t.Fatalf("second slot while nothing else runs: %v, want the spare slot", err)
	}
	second()

	h.noteOtherWork()
	if _, err := h.acquire(ctx, hashCheck); !errors.Is(err, errPasswordBusy) {
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
	release, err := h.acquire(context.Background(), hashCheck) // the regular slot, for the whole test
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
				release, err := h.acquire(ctx, hashClass(rand.IntN(2)))
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

// TestSignUpFloodSparesLogins has 200 clients sign up at once, each
// signing up again as soon as it is answered (after the second a 503's
// Retry-After asks for), and meanwhile logs in an existing user five times.
// A login waits for no more than the hashes already running and one new
// hash more: the five must take at most 6 hash times on average. Sign-ups
// past the bound must be refused at once. Measured with hashes of about
// 30 ms: the logins took 2.0 to 3.1 hash times on average (2.6 to 4.1 under
// the race detector: a hash, part of another while it waits for a slot,
// and the rest of the request on cores that the hashes keep busy), and
// about 130 sign-ups got a 503 within 0.16 s; when a freed slot went to
// whichever waiter won the race, the logins took 11 to 58 hash times and
// no sign-up got a 503.
func TestSignUpFloodSparesLogins(t *testing.T) {
	skipOnRqlite(t, "its bound is in hash times, and a login's round trips to the cluster are not hash time")
	ts := newTestServer(t, func(c *config) { c.passwordIterations = iterationsTaking(t, 30*time.Millisecond) })
	ts.createUser(t, "muthoni", "muthoni-password")
	hashTime := medianHashTime(t, ts.srv.passwords)

	const clients = 200
	// The flood's own client keeps a connection for each of its clients.
	flood := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	defer flood.CloseIdleConnections()
	ctx, cancel := context.WithCancel(context.Background())
	var (
		mu      sync.Mutex
		created int
		refused []time.Duration // how long each 503 took
		wg      sync.WaitGroup
	)
	stopFlood := sync.OnceFunc(func() {
		cancel()
		wg.Wait()
	})
	defer stopFlood() // before the server closes, should the test fail early
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; ctx.Err() == nil; round++ {
				start := time.Now()
				status, retryAfter, err := signUp(ctx, flood, ts.base, fmt.Sprintf("flood%d_%d", c, round))
				elapsed := time.Since(start)
				mu.Lock()
				switch {
				case ctx.Err() != nil: // the test is done with it
				case err != nil:
					t.Errorf("POST /api/users: %v", err)
				case status == http.StatusCreated:
					created++
				case status == http.StatusServiceUnavailable && retryAfter != "":
					refused = append(refused, elapsed)
				default:
					t.Errorf("POST /api/users in a flood = %d (Retry-After %q), want 201, or 503 with Retry-After", status, retryAfter)
				}
				mu.Unlock()
				if status == http.StatusServiceUnavailable {
					select {
					case <-ctx.Done():
					case <-time.After(time.Second):
					}
				}
			}
		}()
	}
	// By then the refused sign-ups have had their answer, and the rest
	// keep the slots busy and the queue full.
	time.Sleep(10 * hashTime)

	var logins []time.Duration
	var total time.Duration
	for range 5 {
		start := time.Now()
		res := ts.callBasic(t, "POST", "/api/tokens", "muthoni", "muthoni-password")
		elapsed := time.Since(start)
		logins = append(logins, elapsed)
		total += elapsed
		wantStatus(t, "POST /api/tokens during the flood", res, http.StatusOK)
	}
	waiting := ts.srv.passwords.slots.waiting(hashNew)
	stopFlood()

	slices.Sort(refused)
	login := total / time.Duration(len(logins))
	ratio := float64(login) / float64(hashTime)
	t.Logf("hash %v; logins during the flood %v, on average %.1f hash times; %d sign-ups created, %d refused (median %v, slowest %v), %d waiting",
		hashTime, logins, ratio, created, len(refused), median(refused), slowest(refused), waiting)
	if ratio > 6 {
		t.Errorf("a login during a flood of sign-ups took %v on average (%v), %.1f hash times of %v; want at most 6",
			login, logins, ratio, hashTime)
	}
	if len(refused) == 0 {
		t.Errorf("none of %d sign-ups at once got a 503 with Retry-After, want those past the bound to", clients)
	} else if slowest(refused) > maxHashWait/10 {
		t.Errorf("the slowest 503 to a sign-up took %v, want far less than maxHashWait (%v)", slowest(refused), maxHashWait)
	}
}

// signUp posts a new user with ctx, and gives the answer's status and
// Retry-After.
func signUp(ctx context.Context, c *http.Client, base, name string) (status int, retryAfter string, err error) {
	body := fmt.Sprintf(`{"username": %q, "email": "%s@example.com", "password": "%s-password"}`, name, name, name)
	req, err := http.NewRequestWithContext(ctx, "POST", base+"/api/users", strings.NewReader(body))
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

// iterationsTaking is a PBKDF2 cost at which one hash takes about d here,
// with or without the race detector (which slows PBKDF2 tenfold).
func iterationsTaking(t *testing.T, d time.Duration) int {
	t.Helper()
	const sample = 10_000
	start := time.Now()
	if _, err := newPasswordHasher(sample, newHashSlots(1)).hash(context.Background(), "password"); err != nil {
		t.Fatal(err)
	}
	return min(max(int(d*sample/time.Since(start)), 5_000), defaultPasswordIterations)
}

// medianHashTime is how long one hash of h takes here, the median of five.
func medianHashTime(t *testing.T, h *passwordHasher) time.Duration {
	t.Helper()
	var times []time.Duration
	for range 5 {
		start := time.Now()
		if _, err := h.hash(context.Background(), "password"); err != nil {
			t.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	return median(times)
}

// median and slowest are of sorted times, zero when there are none.
func median(sorted []time.Duration) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[len(sorted)/2]
}

func slowest(sorted []time.Duration) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[len(sorted)-1]
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
