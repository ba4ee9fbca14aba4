package main

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// metrics counts what the server does, for the admin listener's
// /debug/vars (adminserver.go). Counting costs a request a map lookup and
// three atomic adds on its route's counters, which nothing else shares
// with other routes; nothing is allocated or locked once a route has been
// seen.
type metrics struct {
	// routes holds the counters by the mux's pattern of the route, as
	// "GET /api/users/{id}": never by the path asked for, whose count
	// of forms has no bound. It only grows, copied whole under mu, once
	// per pattern: readers load it without a lock.
	routes atomic.Pointer[map[string]*routeCounters]
	mu     sync.Mutex
	// unmatched counts the requests no route took: 404 and 405 from the
	// mux, and its redirects of unclean paths.
	unmatched routeCounters

	// Logins: POST /api/tokens with Basic credentials.
	logins checkCounts
	// current_password checks of a password change, which a stolen token
	// could use to guess the password behind it.
	currentPassword checkCounts
}

// checkCounts are the outcomes of one kind of password check.
type checkCounts struct {
	ok, failed, throttled atomic.Uint64
}

// routeCounters are one route's counts: by status, and by how long the
// request took.
type routeCounters struct {
	statuses [len(countedStatuses) + 1]atomic.Uint64 // the last: any other status
	latency  [len(latencyBounds) + 1]atomic.Uint64   // by bucket, not cumulative; the last: slower than every bound
	nanos    atomic.Int64                            // the total time taken
}

// countedStatuses are the statuses the server answers with; any other is
// counted as "other".
var countedStatuses = [...]int{200, 201, 204, 301, 304, 307, 308, 400, 401, 403, 404, 405, 409, 413, 415, 429, 431, 500, 501, 503}

// statusSlot finds a status's counter without a search: the index in
// countedStatuses of each status up to 599, len(countedStatuses) for
// others. It is never written after it is built.
var statusSlot = func() (slot [600]uint8) {
	for i := range slot {
		slot[i] = uint8(len(countedStatuses))
	}
	for i, status := range countedStatuses {
		slot[status] = uint8(i)
	}
	return slot
}()

// latencyBounds are the upper bounds of the latency buckets: from a
// cached read (well under a millisecond) to a login waiting for a hash
// slot (seconds).
var latencyBounds = [...]time.Duration{
	500 * time.Microsecond, time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond,
	250 * time.Millisecond, 500 * time.Millisecond, time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

func newMetrics() *metrics {
	m := &metrics{}
	m.routes.Store(&map[string]*routeCounters{})
	return m
}

// observe counts a request that the mux routed by pattern ("" if none)
// and answered with status in d.
func (m *metrics) observe(pattern string, status int, d time.Duration) {
	rc := (*m.routes.Load())[pattern]
	if rc == nil {
		rc = m.route(pattern)
	}
	slot := len(countedStatuses)
	if status >= 0 && status < len(statusSlot) {
		slot = int(statusSlot[status])
	}
	rc.statuses[slot].Add(1)
	bucket := 0
	for bucket < len(latencyBounds) && d > latencyBounds[bucket] {
		bucket++
	}
	rc.latency[bucket].Add(1)
	rc.nanos.Add(int64(d))
}

// maxRoutes bounds the routes counted, should a pattern ever come from
// outside routes().
const maxRoutes = 256

// route returns the counters of a pattern seen for the first time. A
// pattern of routes() starts with its method; the mux's other answers
// (no pattern, or for a redirect the path redirected to) are unmatched.
func (m *metrics) route(pattern string) *routeCounters {
	if pattern == "" || pattern[0] == '/' {
		return &m.unmatched
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.routes.Load()
	if rc := old[pattern]; rc != nil {
		return rc
	}
	if len(old) >= maxRoutes {
		return &m.unmatched
	}
	routes := make(map[string]*routeCounters, len(old)+1)
	for k, v := range old {
		routes[k] = v
	}
	rc := &routeCounters{}
	routes[pattern] = rc
	m.routes.Store(&routes)
	return rc
}

// routeStats is a route's counts as /debug/vars shows them.
type routeStats struct {
	Count    int64            `json:"count"`
	ByStatus map[string]int64 `json:"by_status"`
	// LatencyCumulative[i] is how many took at most
	// latency_bounds_seconds[i]; its last, how many in all.
	LatencyCumulative []int64 `json:"latency_cumulative"`
	SecondsTotal      float64 `json:"seconds_total"`
}

// requestStats returns every route's counts, by pattern, with the
// unmatched requests under "unmatched".
func (m *metrics) requestStats() map[string]routeStats {
	stats := map[string]routeStats{}
	for pattern, rc := range *m.routes.Load() {
		stats[pattern] = rc.stats()
	}
	if u := m.unmatched.stats(); u.Count > 0 {
		stats["unmatched"] = u
	}
	return stats
}

func (rc *routeCounters) stats() routeStats {
	s := routeStats{ByStatus: map[string]int64{}, LatencyCumulative: make([]int64, len(rc.latency))}
	for i := range rc.statuses {
		if n := int64(rc.statuses[i].Load()); n > 0 {
			name := "other"
			if i < len(countedStatuses) {
				name = strconv.Itoa(countedStatuses[i])
			}
			s.ByStatus[name] = n
		}
	}
	var below int64
	for i := range rc.latency {
		below += int64(rc.latency[i].Load())
		s.LatencyCumulative[i] = below
	}
	s.Count = below
	s.SecondsTotal = time.Duration(rc.nanos.Load()).Seconds()
	return s
}

// latencyBoundsSeconds are latencyBounds as /debug/vars shows them.
func latencyBoundsSeconds() []float64 {
	bounds := make([]float64, len(latencyBounds))
	for i, b := range latencyBounds {
		bounds[i] = b.Seconds()
	}
	return bounds
}
