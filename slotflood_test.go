package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

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
