package main

import (
	"context"
	"maps"
	"net/http"
	"runtime"
	"slices"
	"strconv"
)

// /metrics on the admin listener: the counts /debug/vars shows, in
// Prometheus's text format (promtext.go), for a Prometheus server to
// scrape. Every name starts with tokenapi_ and ends with its unit
// (_seconds, _bytes) or, for a counter, _total. Like /debug/vars, each
// value is read when scraped: nothing here costs a request anything.

// metricsHandler serves the metrics of srv, whose store st is db or wraps
// it. The counts that are queries (live sessions, the outbox) are read
// first, within liveSessionsTimeout: one that fails is left out, and
// logged, rather than shown as a zero that never happened.
func metricsHandler(srv *server, st store, db *sqlStore) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		counts := readStoreCounts(r.Context(), srv, db)
		w.Header().Set("Content-Type", promContentType)
		p := newPromWriter(w)
		p.family("tokenapi_build_info", promGauge, "Always 1; its label version is the running build's, as -version prints it.")
		p.sample("tokenapi_build_info", 1, "version", buildVersion(readBuildInfo()))
		writeRequestMetrics(p, srv.metrics)
		writeCheckMetrics(p, srv.metrics)
		writeHashMetrics(p, srv.passwords.slots.stats())
		if cached, ok := st.(*cachingStore); ok {
			writeCacheMetrics(p, cached.cacheStats())
		}
		counts.write(p)
		writeCommitMetrics(p, db)
		writeRuntimeMetrics(p)
		p.flush() // an error is the scraper gone: nothing to tell it
	})
}

// writeRequestMetrics writes the requests by route and status, and their
// latency by route, as metrics.go counts them. A route is its pattern in
// routes(), "unmatched" for what no route took; a status the server does
// not answer with is "other". Routes come in the order of their patterns.
func writeRequestMetrics(p *promWriter, m *metrics) {
	routes := *m.routes.Load()
	patterns := slices.Sorted(maps.Keys(routes))
	each := func(f func(route string, rc *routeCounters)) {
		for _, pattern := range patterns {
			f(pattern, routes[pattern])
		}
		f("unmatched", &m.unmatched)
	}

	p.family("tokenapi_http_requests_total", promCounter, "HTTP requests answered, by route pattern and status.")
	each(func(route string, rc *routeCounters) {
		for i := range rc.statuses {
			if n := rc.statuses[i].Load(); n > 0 {
				status := "other"
				if i < len(countedStatuses) {
					status = strconv.Itoa(countedStatuses[i])
				}
				p.sample("tokenapi_http_requests_total", float64(n), "route", route, "status", status)
			}
		}
	})

	p.family("tokenapi_http_request_duration_seconds", promHistogram, "Time from a request's arrival to its answer's last byte, by route pattern.")
	bounds := latencyBoundsSeconds()
	each(func(route string, rc *routeCounters) {
		counts := make([]uint64, len(rc.latency))
		for i := range rc.latency {
			counts[i] = rc.latency[i].Load()
		}
		p.histogram("tokenapi_http_request_duration_seconds", bounds, counts, secondsOf(rc.nanos.Load()), "route", route)
	})
}

// writeCheckMetrics writes the outcomes of the password checks that the
// throttle counts (throttle.go).
func writeCheckMetrics(p *promWriter, m *metrics) {
	for _, c := range []struct {
		name, help string
		counts     *checkCounts
	}{
		{"tokenapi_logins_total", "Logins (POST /api/tokens with Basic credentials), by outcome: ok, failed (a wrong username or password) or throttled (refused unchecked).", &m.logins},
		{"tokenapi_current_password_checks_total", "Checks of current_password in a password change, by outcome: ok, failed or throttled.", &m.currentPassword},
	} {
		p.family(c.name, promCounter, c.help)
		p.sample(c.name, float64(c.counts.ok.Load()), "outcome", "ok")
		p.sample(c.name, float64(c.counts.failed.Load()), "outcome", "failed")
		p.sample(c.name, float64(c.counts.throttled.Load()), "outcome", "throttled")
	}
}

// writeCommitMetrics writes the writes committed and the commits that
// held them (committer.go): their ratio is how many writes share each
// sync. Both stay 0 on rqlite, which commits each write itself.
func writeCommitMetrics(p *promWriter, db *sqlStore) {
	writes, commits := db.writeCounts()
	p.family("tokenapi_store_writes_total", promCounter, "Writes of the store committed, each a request's statements.")
	p.sample("tokenapi_store_writes_total", float64(writes))
	p.family("tokenapi_store_commits_total", promCounter, "Transactions committed by group commit, each one fsync for all of its writes.")
	p.sample("tokenapi_store_commits_total", float64(commits))
}

// writeHashMetrics writes the password-hash slots and their queue
// (hashslots.go).
func writeHashMetrics(p *promWriter, h hashSlotStats) {
	gauge := func(name, help string, v float64, labels ...string) {
		p.family(name, promGauge, help)
		p.sample(name, v, labels...)
	}
	counter := func(name, help string, v float64) {
		p.family(name, promCounter, help)
		p.sample(name, v)
	}
	gauge("tokenapi_password_hash_slots", "How many password hashes may run at once.", float64(h.Slots))
	gauge("tokenapi_password_hashes_running", "Password hashes running now.", float64(h.Running))
	p.family("tokenapi_password_hashes_queued", promGauge, "Password hashes waiting for a slot, by kind: check (a login or current_password) or new (a sign-up or a change).")
	p.sample("tokenapi_password_hashes_queued", float64(h.QueuedChecks), "kind", "check")
	p.sample("tokenapi_password_hashes_queued", float64(h.QueuedNew), "kind", "new")
	counter("tokenapi_password_hashes_granted_total", "Password hashes given a slot.", float64(h.Granted))
	counter("tokenapi_password_hash_wait_seconds_total", "Time the granted password hashes waited for their slot, in all.", h.WaitedSeconds)
	counter("tokenapi_password_hashes_refused_total", "Password hashes refused a slot (the request got 503).", float64(h.Refused))
	counter("tokenapi_password_hashes_refused_at_once_total", "Of the refused password hashes, those refused by a bound of the queue without waiting.", float64(h.RefusedAtOnce))
}

// writeCacheMetrics writes the caching store's caches, by name.
func writeCacheMetrics(p *promWriter, caches map[string]cacheStats) {
	names := slices.Sorted(maps.Keys(caches))
	for _, f := range []struct {
		name, typ, help string
		value           func(cacheStats) float64
	}{
		{"tokenapi_cache_entries", promGauge, "Entries a cache of the caching store holds, by cache.", func(c cacheStats) float64 { return float64(c.Entries) }},
		{"tokenapi_cache_hits_total", promCounter, "Lookups a cache answered, by cache.", func(c cacheStats) float64 { return float64(c.Hits) }},
		{"tokenapi_cache_misses_total", promCounter, "Lookups a cache sent to the database, by cache.", func(c cacheStats) float64 { return float64(c.Misses) }},
	} {
		p.family(f.name, f.typ, f.help)
		for _, name := range names {
			p.sample(f.name, f.value(caches[name]), "cache", name)
		}
	}
}

// storeCounts are the metrics read from the database: nil where the
// query failed.
type storeCounts struct {
	sessionsLive               *int64
	outboxQueued, outboxFailed *int64
}

// readStoreCounts reads the counts of the database, each within
// liveSessionsTimeout, as /debug/vars does.
func readStoreCounts(ctx context.Context, srv *server, db *sqlStore) storeCounts {
	ctx, cancel := context.WithTimeout(ctx, liveSessionsTimeout)
	defer cancel()
	var c storeCounts
	if n, err := db.liveSessionCount(ctx, srv.now()); err != nil {
		srv.log.Warn("count live sessions for /metrics", "error", err)
	} else {
		c.sessionsLive = &n
	}
	if o, err := db.outboxCounts(ctx); err != nil {
		srv.log.Warn("count the outbox for /metrics", "error", err)
	} else {
		c.outboxQueued, c.outboxFailed = &o.Queued, &o.Failed
	}
	return c
}

func (c storeCounts) write(p *promWriter) {
	for _, g := range []struct {
		name, help string
		value      *int64
	}{
		{"tokenapi_sessions_live", "Sessions (tokens) whose stored expiry is still to come.", c.sessionsLive},
		{"tokenapi_outbox_queued_mails", "Mails in the outbox, waiting to be sent.", c.outboxQueued},
		{"tokenapi_outbox_failed_mails", "Of the mails in the outbox, those whose last attempt failed, waiting to be tried again.", c.outboxFailed},
	} {
		if g.value != nil {
			p.family(g.name, promGauge, g.help)
			p.sample(g.name, float64(*g.value))
		}
	}
}

// writeRuntimeMetrics writes the Go runtime's basics. ReadMemStats stops
// the world for a few microseconds, once a scrape; expvar's memstats in
// /debug/vars does the same.
func writeRuntimeMetrics(p *promWriter) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	for _, f := range []struct {
		name, typ, help string
		value           float64
	}{
		{"tokenapi_go_goroutines", promGauge, "Goroutines that exist now.", float64(runtime.NumGoroutine())},
		{"tokenapi_go_heap_alloc_bytes", promGauge, "Bytes of the heap's allocated objects (runtime.MemStats.HeapAlloc).", float64(ms.HeapAlloc)},
		{"tokenapi_go_sys_bytes", promGauge, "Bytes of memory the Go runtime has from the operating system (runtime.MemStats.Sys).", float64(ms.Sys)},
		{"tokenapi_go_gc_cycles_total", promCounter, "Garbage collections completed.", float64(ms.NumGC)},
		{"tokenapi_go_gc_pause_seconds_total", promCounter, "Time the garbage collector stopped the world, in all.", secondsOf(int64(ms.PauseTotalNs))},
	} {
		p.family(f.name, f.typ, f.help)
		p.sample(f.name, f.value)
	}
}

// secondsOf is nanoseconds in seconds.
func secondsOf(nanos int64) float64 { return float64(nanos) / 1e9 }
