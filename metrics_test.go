package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestMetricsKeys checks what requests are counted under: a route's
// pattern, or "unmatched" for what the mux gives as a pattern when no
// route took the request (nothing, or for a redirect the path it
// redirects to, which the client chose); a status the server does not
// answer with as "other"; and a latency in the first bucket it fits.
func TestMetricsKeys(t *testing.T) {
	m := newMetrics()
	m.observe("GET /api/users/{id}", http.StatusOK, 400*time.Microsecond)
	m.observe("GET /api/users/{id}", http.StatusOK, time.Millisecond)
	m.observe("GET /api/users/{id}", http.StatusTeapot, time.Hour)
	m.observe("", http.StatusNotFound, time.Millisecond)
	m.observe("/api/users/", http.StatusMovedPermanently, time.Millisecond)
	m.observe("GET /api/users/{id}", 999, time.Millisecond)

	got := m.requestStats()
	if len(got) != 2 {
		t.Errorf("requests counted under %d keys, want 2: %v", len(got), jsonText(t, got))
	}
	want := routeStats{Count: 4, ByStatus: map[string]int64{"200": 2, "other": 2},
		LatencyCumulative: []int64{1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4},
		SecondsTotal:      (time.Hour + 2400*time.Microsecond).Seconds()}
	wantJSON(t, "GET /api/users/{id}", got["GET /api/users/{id}"], want)
	wantJSON(t, "unmatched", got["unmatched"].ByStatus, map[string]int64{"301": 1, "404": 1})
}

// TestMetricsBounded checks that patterns from outside routes(), should
// there ever be any, cannot grow the counters without end.
func TestMetricsBounded(t *testing.T) {
	m := newMetrics()
	for i := range maxRoutes + 10 {
		m.observe(fmt.Sprintf("GET /route/%d", i), http.StatusOK, time.Millisecond)
	}
	got := m.requestStats()
	if len(got) != maxRoutes+1 || got["unmatched"].Count != 10 {
		t.Errorf("%d keys, %d unmatched; want %d keys, 10 unmatched", len(got), got["unmatched"].Count, maxRoutes+1)
	}
}

// TestMetricsAllocateNothing keeps counting off the allocator: it runs on
// every request.
func TestMetricsAllocateNothing(t *testing.T) {
	m := newMetrics()
	m.observe("GET /api/users/{id}", http.StatusOK, time.Millisecond) // the route's first request makes its counters
	if n := testing.AllocsPerRun(100, func() {
		m.observe("GET /api/users/{id}", http.StatusOK, time.Millisecond)
		m.observe("", http.StatusNotFound, time.Millisecond)
	}); n != 0 {
		t.Errorf("observe allocates %v times, want 0", n)
	}
}
