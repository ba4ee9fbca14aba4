package main

import (
	"context"
	"expvar"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// The admin listener, opt-in with -admin-addr: the counts of metrics.go
// and more at /debug/vars, in expvar's JSON, the same in Prometheus's
// text format at /metrics (metrics_prom.go), and the profiler at
// /debug/pprof/. It is for the operator: a profile shows what the server
// is doing, the counts what it has done, so it listens on an address of
// its own, never the public one, and the public mux has neither path.
//
// Importing expvar and net/http/pprof registers their handlers on
// http.DefaultServeMux, which tokenapi never serves: the public server
// has its own mux (routes.go), and the admin listener registers the same
// handlers on another one, below.

// adminHandler is the admin listener's mux: vars at /debug/vars, metrics
// at /metrics (none if nil), and the profiler's pages at /debug/pprof/
// (profiles of at most a minute), for
// requests whose Host header names the listener by an address or the name
// -admin-addr gives (addr), and that no web page sent. Its answers carry
// the API's safety headers: a page must no more frame a profile, or read
// one as a script, than it may the API's answers.
func adminHandler(vars expvar.Var, metrics http.Handler, addr string) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /debug/vars", varsHandler(vars))
	if metrics != nil {
		mux.Handle("GET /metrics", metrics)
	}
	mux.Handle("/debug/pprof/", capSeconds(pprof.Index)) // also heap, goroutine, block, mutex, allocs, threadcreate
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.Handle("/debug/pprof/profile", capSeconds(pprof.Profile))
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.Handle("/debug/pprof/trace", capSeconds(pprof.Trace))
	return safetyHeaders(requireAdminHost(addr, refuseWebPages(mux)))
}

// refuseWebPages refuses, with 403, a request that a web page made the
// browser send: one with an Origin header, or with Sec-Fetch-Site other
// than none (the operator typed the address) or same-origin (a link on
// pprof's own index page, whose origin passed requireAdminHost). Neither
// header can be set by a page's script; go tool pprof and curl send
// neither.
//
// Why: the Host check stops a page that reads answers through DNS
// rebinding, not one that only sends. Any page the operator opens can
// point an <img> at http://127.0.0.1:6060/debug/pprof/profile, and the
// browser sends it as it is, Host and all: it cannot read the answer, but
// the server runs the profile. A browser too old to send Sec-Fetch-Site
// sends no Origin on such a GET either, and gets through; capSeconds then
// bounds what it can start.
func refuseWebPages(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, origin := r.Header["Origin"]
		site, fetched := r.Header["Sec-Fetch-Site"]
		if origin || fetched && (len(site) != 1 || site[0] != "none" && site[0] != "same-origin") {
			forbidden(w, "the admin listener answers no request a web page sent (Origin, Sec-Fetch-Site); use go tool pprof, curl or the address bar")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// maxProfileSeconds bounds how long a CPU profile, a trace or a delta
// profile (heap?seconds=N) may run.
const maxProfileSeconds = 60

// capSeconds refuses with 400 a profile or a trace asked to run for more
// than maxProfileSeconds.
//
// Why: pprof runs one for as long as it is asked, and only one CPU
// profile at a time, so one ?seconds=100000, by a slip or by anyone who
// reaches the listener, profiles the server (a few per cent of its CPU)
// for a day and refuses every other profile meanwhile. Refused, not
// clamped: an operator who asked for 300 seconds and silently got 60
// would read the profile as five minutes of load; the 400 says why, and
// several profiles in a row cover a longer time.
//
// It reads seconds as pprof does, with FormValue, so that a form body
// cannot carry past it a value pprof would then read; a value that is not
// a number is left to pprof, which refuses it or takes its default.
func capSeconds(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s := r.FormValue("seconds"); s != "" {
			// Written so that NaN and +Inf, which pprof's trace reads
			// as floats like any other, are refused too.
			if n, err := strconv.ParseFloat(s, 64); err == nil && !(n <= maxProfileSeconds) {
				badRequest(w, fmt.Sprintf("seconds is at most %d on the admin listener; take several profiles for a longer time", maxProfileSeconds))
				return
			}
		}
		next(w, r)
	})
}

// requireAdminHost refuses, with a JSON 421, a request whose Host is not
// an IP address, localhost, or the host of the listener's address addr
// (-admin-addr), with or without a port (see adminHost).
//
// Why: DNS rebinding. A web page the operator opens can make its own name
// resolve to 127.0.0.1; the browser then sends the page's requests to the
// admin listener, with the page's name in Host, and lets the page read the
// answers, as they come from its own origin: /debug/vars, or a CPU
// profile started at will. A page cannot choose an IP address or
// localhost as its own origin, so those are safe to accept.
func requireAdminHost(addr string, next http.Handler) http.Handler {
	named, _, _ := net.SplitHostPort(addr)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !adminHost(r.Host, named) {
			writeError(w, http.StatusMisdirectedRequest, "the admin listener answers only to an IP address, localhost or the host of -admin-addr in the Host header")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// adminHost reports whether the Host header hostport names the admin
// listener: an IPv4 address, an IPv6 address in brackets, localhost or
// named (-admin-addr's host, "" for none), each alone or with a port of
// digits. It is strict where net.SplitHostPort and netip.ParseAddr are
// lenient, since what they let by is not what a browser sends for an
// address: an IPv6 zone ("[::1%evil.com]", which ParseAddr takes as ::1),
// an IPv4 address in brackets, a port that is not a number
// ("localhost:evil").
func adminHost(hostport, named string) bool {
	if rest, ok := strings.CutPrefix(hostport, "["); ok {
		literal, port, ok := strings.Cut(rest, "]")
		ip, err := netip.ParseAddr(literal)
		return ok && err == nil && ip.Is6() && ip.Zone() == "" && optionalPort(port)
	}
	host, port, hasPort := strings.Cut(hostport, ":")
	if hasPort && !optionalPort(":"+port) {
		return false
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Is4()
	}
	return strings.EqualFold(host, "localhost") || named != "" && strings.EqualFold(host, named)
}

// optionalPort reports whether s is nothing, or a colon and a port
// number.
func optionalPort(s string) bool {
	if s == "" {
		return true
	}
	digits, ok := strings.CutPrefix(s, ":")
	_, err := strconv.ParseUint(digits, 10, 16) // no sign, no "_", not empty
	return ok && err == nil
}

// varsHandler serves what expvar.Handler does, the process's published
// vars (cmdline and memstats), and under "tokenapi" this server's own. Those
// are not published: expvar's registry is one per process, and a name
// published twice panics, while a test process runs many servers.
func varsHandler(vars expvar.Var) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		fmt.Fprint(w, "{\n")
		expvar.Do(func(kv expvar.KeyValue) {
			fmt.Fprintf(w, "%q: %s,\n", kv.Key, kv.Value)
		})
		fmt.Fprintf(w, "%q: %s\n}\n", "tokenapi", vars)
	})
}

// startAdmin serves the admin listener on ln (asked for as addr) in the
// background, until ctx ends or the function it returns is called.
func startAdmin(ctx context.Context, ln net.Listener, addr string, vars *expvar.Map, metrics http.Handler, log *slog.Logger) (stop func()) {
	log.Info("admin listening", "url", "http://"+ln.Addr().String()+"/debug/vars")
	if mayBePublic(addr) {
		log.Warn("the admin listener may be reachable from the internet; keep it on localhost or a private network",
			"addr", addr)
	}
	admin := newAdminServer(adminHandler(vars, metrics, addr), log)
	return serveInBackground(ctx, admin, ln, log.With("listener", "admin"))
}

// liveSessionsTimeout bounds the count of live sessions, which a read of
// /debug/vars asks the database for.
const liveSessionsTimeout = 2 * time.Second

// serverVars are the vars of srv, whose store st is db or wraps it, as
// /debug/vars shows them. Each is worked out when read: nothing here
// costs a request anything.
func serverVars(srv *server, st store, db *sqlStore) *expvar.Map {
	vars := new(expvar.Map).Init()
	m := srv.metrics
	vars.Set("version", expvar.Func(func() any { return buildVersion(readBuildInfo()) }))
	vars.Set("requests", expvar.Func(func() any { return m.requestStats() }))
	vars.Set("latency_bounds_seconds", expvar.Func(func() any { return latencyBoundsSeconds() }))
	vars.Set("logins", expvar.Func(func() any {
		return map[string]uint64{"ok": m.logins.ok.Load(), "failed": m.logins.failed.Load(), "throttled": m.logins.throttled.Load()}
	}))
	vars.Set("current_password", expvar.Func(func() any {
		return map[string]uint64{"failed": m.currentPassword.failed.Load(), "throttled": m.currentPassword.throttled.Load()}
	}))
	vars.Set("password_hashes", expvar.Func(func() any { return srv.passwords.slots.stats() }))
	if cached, ok := st.(*cachingStore); ok {
		vars.Set("caches", expvar.Func(func() any { return cached.cacheStats() }))
	}
	// Writes committed and the commits that held them (committer.go): how
	// many writes share each sync.
	vars.Set("writes", expvar.Func(func() any { writes, _ := db.writeCounts(); return writes }))
	vars.Set("commits", expvar.Func(func() any { _, commits := db.writeCounts(); return commits }))
	vars.Set("outbox", expvar.Func(func() any {
		ctx, cancel := context.WithTimeout(context.Background(), liveSessionsTimeout)
		defer cancel()
		c, err := db.outboxCounts(ctx)
		if err != nil {
			srv.log.Warn("count the outbox for /debug/vars", "error", err)
			return nil // null: unknown
		}
		return c
	}))
	vars.Set("sessions_live", expvar.Func(func() any {
		ctx, cancel := context.WithTimeout(context.Background(), liveSessionsTimeout)
		defer cancel()
		n, err := db.liveSessionCount(ctx, srv.now())
		if err != nil {
			srv.log.Warn("count live sessions for /debug/vars", "error", err)
			return nil // null: unknown
		}
		return n
	}))
	return vars
}

// newAdminServer is the admin listener's server. It has no write timeout,
// unlike the public one: a CPU profile or a trace takes as many seconds
// as asked for (30 by default), and pprof refuses one longer than the
// write timeout.
func newAdminServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// mayBePublic reports whether a listen address may take connections from
// the internet: every address, or one neither loopback nor private. A host
// name other than localhost may be either, so it counts.
func mayBePublic(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return true
	}
	if host == "localhost" {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err != nil || !ip.IsLoopback() && !ip.IsPrivate()
}
