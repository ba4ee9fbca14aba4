package main

import (
	"encoding/json"
	"expvar"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The admin listener answers only to a Host header that names it by an
// address, localhost, or the host of -admin-addr, each with a port or
// none: a page whose own name was made to resolve to 127.0.0.1 (DNS
// rebinding) gets 421, not the vars or a profile. The Host is parsed
// strictly, as RFC 3986 writes it: an IPv6 address in brackets and
// without a zone, an IPv4 address bare, a port of digits.
func TestAdminListenerChecksHost(t *testing.T) {
	cases := []struct {
		adminAddr, host string
		want            int
	}{
		{"127.0.0.1:6060", "127.0.0.1:6060", http.StatusOK},
		{"127.0.0.1:6060", "127.0.0.1", http.StatusOK},
		{"127.0.0.1:6060", "127.0.0.1:80", http.StatusOK}, // behind a port forward
		{"127.0.0.1:6060", "[::1]:6060", http.StatusOK},
		{"127.0.0.1:6060", "[::1]", http.StatusOK},
		{"127.0.0.1:6060", "[::ffff:127.0.0.1]:6060", http.StatusOK}, // an IPv6 address still
		{"127.0.0.1:6060", "localhost:6060", http.StatusOK},
		{"127.0.0.1:6060", "LocalHost", http.StatusOK},
		{":6060", "10.0.0.5:6060", http.StatusOK},
		{"admin.internal:6060", "admin.internal:6060", http.StatusOK},
		{"admin.internal:6060", "Admin.Internal", http.StatusOK},
		{"[::1]:6060", "[::1]:6060", http.StatusOK},

		{"127.0.0.1:6060", "rebind.example:6060", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "rebind.example", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "localhost.rebind.example:6060", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "127.0.0.1.rebind.example", http.StatusMisdirectedRequest},
		{":6060", "box.example:6060", http.StatusMisdirectedRequest},
		{":6060", ":6060", http.StatusMisdirectedRequest}, // -admin-addr names no host
		{"admin.internal:6060", "other.internal:6060", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "[::1%evil.com]", http.StatusMisdirectedRequest}, // a zone is no part of a Host
		{"127.0.0.1:6060", "[::1%evil.com]:6060", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "[fe80::1%25eth0]:6060", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "[127.0.0.1]", http.StatusMisdirectedRequest}, // IPv4 goes bare
		{"127.0.0.1:6060", "[127.0.0.1]:6060", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "[localhost]", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "::1", http.StatusMisdirectedRequest}, // IPv6 goes in brackets
		{"127.0.0.1:6060", "[::1]evil.com", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "[::1", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "localhost:evil", http.StatusMisdirectedRequest}, // a port is digits
		{"127.0.0.1:6060", "localhost:", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "localhost:6060:6060", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "localhost:99999", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "127.0.0.1:-1", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "127.1", http.StatusMisdirectedRequest}, // not an IPv4 address as URLs write it
		{"127.0.0.1:6060", "localhost.", http.StatusMisdirectedRequest},
		{"admin.internal:6060", "admin.internal:evil", http.StatusMisdirectedRequest},
	}
	for _, tc := range cases {
		hs := httptest.NewServer(adminHandler(new(expvar.Map).Init(), nil, tc.adminAddr))
		for _, path := range []string{"/debug/vars", "/debug/pprof/cmdline"} {
			res := adminAsk(t, hs, path, tc.host)
			if res.status != tc.want {
				t.Errorf("-admin-addr %s: GET %s with Host %s = %d; want %d", tc.adminAddr, path, tc.host, res.status, tc.want)
			}
		}
		hs.Close()
	}
}

// A request a web page made the browser send is refused, whatever its
// Host: one with an Origin header, or with Sec-Fetch-Site other than none
// (the operator typed the address) or same-origin (a link on pprof's own
// index page). Above all, a page's <img src> cannot start a profile at
// http://127.0.0.1:6060, whose Host passes TestAdminListenerChecksHost.
// go tool pprof and curl send neither header.
func TestAdminListenerRefusesWebPages(t *testing.T) {
	hs := httptest.NewServer(adminHandler(new(expvar.Map).Init(), nil, "127.0.0.1:6060"))
	defer hs.Close()
	for _, tt := range []struct {
		header string // a header line; "" for none
		want   int
	}{
		{"", http.StatusOK},
		{"Sec-Fetch-Site: none", http.StatusOK},
		{"Sec-Fetch-Site: same-origin", http.StatusOK},
		{"Sec-Fetch-Site: same-site", http.StatusForbidden}, // another port of localhost
		{"Sec-Fetch-Site: cross-site", http.StatusForbidden},
		{"Sec-Fetch-Site: something-new", http.StatusForbidden},
		{"Origin: http://evil.example", http.StatusForbidden},
		{"Origin: null", http.StatusForbidden},
		{"Origin: http://127.0.0.1:6060", http.StatusForbidden},
	} {
		for _, target := range []string{"/debug/vars", "/debug/pprof/cmdline", "/debug/pprof/"} {
			what := fmt.Sprintf("GET %s with %q", target, tt.header)
			var lines []string
			if tt.header != "" {
				lines = append(lines, tt.header)
			}
			res := adminAsk(t, hs, target, "127.0.0.1:6060", lines...)
			if res.status != tt.want {
				t.Errorf("%s = %d, want %d", what, res.status, tt.want)
			}
		}
	}
	// The simple cross-site request of issue 17; 403, not the 400 of a
	// profile too long: nothing of the request is looked at.
	for _, header := range []string{"Sec-Fetch-Site: cross-site", "Origin: http://evil.example"} {
		res := adminAsk(t, hs, "/debug/pprof/profile?seconds=100000", "127.0.0.1:6060", header)
		wantError(t, "GET /debug/pprof/profile?seconds=100000 with "+header, res, http.StatusForbidden, "web page")
	}
}

// adminAsk sends one GET to the admin listener hs, with Host host and
// the extra header lines given ("Name: value"), on a connection of its
// own, written by hand: Go's client would tidy some of the Host headers
// the tests send (it sends "[127.0.0.1]:6060" as "127.0.0.1:6060").
func adminAsk(t *testing.T, hs *httptest.Server, target, host string, lines ...string) response {
	t.Helper()
	conn := dialRaw(t, hs.URL)
	var header strings.Builder
	for _, line := range lines {
		header.WriteString(line + "\r\n")
	}
	conn.send(t, "GET "+target+" HTTP/1.1\r\nHost: "+host+"\r\n"+header.String()+"Connection: close\r\n\r\n")
	return conn.response(t, "GET "+target+" with Host "+host)
}

// Every answer of the admin listener, net/http/pprof's pages and the
// listener's refusals among them, carries the safety headers of the API
// (safetyHeaders): none of its pages may be framed or sniffed into
// another type, so no page can show or run one of them as its own. Its
// refusals are JSON errors, as the API's are.
func TestAdminListenerSafetyHeaders(t *testing.T) {
	hs := httptest.NewServer(adminHandler(new(expvar.Map).Init(), nil, "127.0.0.1:6060"))
	defer hs.Close()
	for _, tt := range []struct {
		target, host string
		status       int
	}{
		{"/debug/vars", "127.0.0.1:6060", http.StatusOK},
		{"/debug/pprof/", "127.0.0.1:6060", http.StatusOK},
		{"/debug/pprof/cmdline", "127.0.0.1:6060", http.StatusOK},
		{"/debug/pprof/heap?debug=1", "127.0.0.1:6060", http.StatusOK},
		{"/debug/pprof/nothing", "127.0.0.1:6060", http.StatusNotFound}, // pprof's own
		{"/nowhere", "127.0.0.1:6060", http.StatusNotFound},             // the mux's own
		{"/debug/vars", "rebind.example", http.StatusMisdirectedRequest},
	} {
		what := fmt.Sprintf("GET %s with Host %s", tt.target, tt.host)
		res := adminAsk(t, hs, tt.target, tt.host)
		if res.status != tt.status {
			t.Errorf("%s = %d %q, want %d", what, res.status, res.body, tt.status)
		}
		for _, h := range []struct{ name, want string }{
			{"X-Frame-Options", "DENY"},
			{"Content-Security-Policy", "frame-ancestors 'none'"},
			{"X-Content-Type-Options", "nosniff"},
		} {
			if got := res.header.Values(h.name); !slices.Equal(got, []string{h.want}) {
				t.Errorf("%s = %d: %s = %q, want %q", what, res.status, h.name, got, h.want)
			}
		}
		if tt.status == http.StatusMisdirectedRequest {
			wantError(t, what, res, tt.status, "the admin listener answers only to")
		}
	}
}

// A CPU profile, a trace or a delta profile asked to run more than a
// minute is refused, whether seconds comes in the query or, as pprof also
// reads it, in a form body; one of a minute or less runs, and the
// profiles' other parameters are pprof's as before.
func TestAdminListenerCapsSeconds(t *testing.T) {
	hs := httptest.NewServer(adminHandler(new(expvar.Map).Init(), nil, "127.0.0.1:6060"))
	defer hs.Close()
	for _, tt := range []struct {
		target string
		status int
	}{
		{"/debug/pprof/profile?seconds=100000", http.StatusBadRequest},
		{"/debug/pprof/profile?seconds=61", http.StatusBadRequest},
		{"/debug/pprof/profile?seconds=60.5", http.StatusBadRequest},
		{"/debug/pprof/profile?seconds=1e9", http.StatusBadRequest},
		{"/debug/pprof/trace?seconds=100000", http.StatusBadRequest},
		{"/debug/pprof/trace?seconds=Inf", http.StatusBadRequest}, // pprof's trace reads a float
		{"/debug/pprof/trace?seconds=NaN", http.StatusBadRequest},
		{"/debug/pprof/heap?seconds=100000", http.StatusBadRequest}, // a delta profile sleeps as long
		{"/debug/pprof/goroutine?seconds=61&debug=1", http.StatusBadRequest},
		{"/debug/pprof/profile?seconds=61&seconds=1", http.StatusBadRequest}, // pprof reads the first

		{"/debug/pprof/trace?seconds=0.01", http.StatusOK},
		{"/debug/pprof/heap?gc=1", http.StatusOK},
		{"/debug/pprof/heap?debug=1&gc=1", http.StatusOK},
		{"/debug/pprof/goroutine?debug=2", http.StatusOK},
		{"/debug/pprof/allocs", http.StatusOK},
		{"/debug/pprof/heap?seconds=-1", http.StatusBadRequest}, // pprof's own refusal
	} {
		res := adminAsk(t, hs, tt.target, "127.0.0.1:6060")
		if res.status != tt.status {
			t.Errorf("GET %s = %d %q, want %d", tt.target, res.status, res.body, tt.status)
		}
	}
	wantError(t, "GET /debug/pprof/profile?seconds=100000", adminAsk(t, hs, "/debug/pprof/profile?seconds=100000", "127.0.0.1:6060"),
		http.StatusBadRequest, "seconds is at most 60")

	res, err := hs.Client().Post(hs.URL+"/debug/pprof/profile", "application/x-www-form-urlencoded", strings.NewReader("seconds=100000"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("POST /debug/pprof/profile with seconds=100000 in its body = %d, want %d", res.StatusCode, http.StatusBadRequest)
	}
}

// TestAdminListener starts the program with an admin listener and checks
// what /debug/vars counts after a sign-up, logins that succeed, fail and
// are throttled, and some reads; that the profiler answers there; that
// neither is on the public address nor answers to a stranger's Host; and
// that the admin listener stops with the program.
func TestAdminListener(t *testing.T) {
	p := startProgram(t, t.TempDir(), []string{"-addr", "127.0.0.1:0", "-db", "blog.db", "-admin-addr", "127.0.0.1:0"}, cheapPasswords)
	admin := &client{base: p.adminURL(t), http: p.http}
	if admin.base == p.base {
		t.Fatalf("the admin listener is on the public address %s", p.base)
	}

	sendCountedTraffic(t, p)

	res := admin.callWith(t, "GET", "/debug/vars", "")
	wantStatus(t, "GET /debug/vars on the admin listener", res, http.StatusOK)
	var vars struct {
		Cmdline  []string       `json:"cmdline"`
		Memstats map[string]any `json:"memstats"`
		Tokenapi struct {
			Version        string                `json:"version"`
			Requests       map[string]routeStats `json:"requests"`
			LatencyBounds  []float64             `json:"latency_bounds_seconds"`
			Logins         map[string]int        `json:"logins"`
			PasswordHashes hashSlotStats         `json:"password_hashes"`
			Caches         map[string]cacheStats `json:"caches"`
			SessionsLive   int                   `json:"sessions_live"`
			Writes         int                   `json:"writes"`
			Commits        int                   `json:"commits"`
		} `json:"tokenapi"`
	}
	if err := json.Unmarshal(res.body, &vars); err != nil {
		t.Fatalf("GET /debug/vars = %s: %v", res.body, err)
	}
	if len(vars.Cmdline) == 0 || vars.Memstats["HeapAlloc"] == nil {
		t.Errorf("GET /debug/vars lacks expvar's own cmdline and memstats")
	}
	got := vars.Tokenapi
	if got.Version != buildVersion(readBuildInfo()) {
		t.Errorf("version = %q, want %q", got.Version, buildVersion(readBuildInfo()))
	}
	wantJSON(t, "logins", got.Logins, map[string]int{"ok": 1, "failed": defaultThrottleLimit, "throttled": 1})
	wantJSON(t, "POST /api/tokens by status", got.Requests["POST /api/tokens"].ByStatus,
		map[string]int{"200": 1, "401": defaultThrottleLimit, "429": 1})
	wantJSON(t, "GET /api/users/{id} by status", got.Requests["GET /api/users/{id}"].ByStatus, map[string]int{"200": 3, "404": 1})
	wantJSON(t, "unmatched by status", got.Requests["unmatched"].ByStatus, map[string]int{"404": 2})
	// The sign-up, the login and its address, the failures counted: some
	// writes, each in a commit of its own or sharing one.
	if got.Writes < 3 || got.Commits < 1 || got.Commits > got.Writes {
		t.Errorf("writes = %d, commits = %d; want at least 3 writes in at least 1 commit, no more commits than writes", got.Writes, got.Commits)
	}
	for pattern, route := range got.Requests {
		if strings.Contains(pattern, "nowhere") || strings.Contains(pattern, "999") {
			t.Errorf("requests are counted under the path %q, not a route", pattern)
		}
		cumulative := route.LatencyCumulative
		if len(cumulative) != len(got.LatencyBounds)+1 || cumulative[len(cumulative)-1] != route.Count {
			t.Errorf("%s: latency_cumulative %v, want %d buckets ending with the count %d",
				pattern, cumulative, len(got.LatencyBounds)+1, route.Count)
		}
	}
	// The hashes: the sign-up, the login and the failed ones; the
	// throttled login was refused before its hash.
	if h := got.PasswordHashes; h.Granted != 2+defaultThrottleLimit || h.Running != 0 || h.QueuedChecks+h.QueuedNew != 0 || h.Slots < 1 {
		t.Errorf("password_hashes = %+v, want %d granted, none running or queued", h, 2+defaultThrottleLimit)
	}
	// The first read of the user looks the token and the user up; the two
	// reads after are answered from the caches.
	for _, name := range []string{"tokens", "users"} {
		if c := got.Caches[name]; c.Hits < 2 || c.HitRatio <= 0 || c.HitRatio > 1 {
			t.Errorf("caches[%s] = %+v, want at least 2 hits and their ratio", name, c)
		}
	}
	if got.SessionsLive != 1 {
		t.Errorf("sessions_live = %d, want 1", got.SessionsLive)
	}

	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap?debug=1", "/debug/pprof/cmdline"} {
		wantStatus(t, "GET "+path+" on the admin listener", admin.callWith(t, "GET", path, ""), http.StatusOK)
	}
	for _, path := range []string{"/debug/vars", "/debug/pprof/", "/debug/pprof/heap"} {
		wantError(t, "GET "+path+" on the public address", p.call(t, "GET", path, "", ""), http.StatusNotFound, "")
	}
	// A page whose name was made to resolve to this machine (DNS
	// rebinding) gets nothing: see TestAdminListenerChecksHost.
	rebound := admin.callWith(t, "GET", "/debug/vars", "", func(r *http.Request) { r.Host = "rebind.example" })
	wantStatus(t, "GET /debug/vars with Host rebind.example", rebound, http.StatusMisdirectedRequest)

	p.stop(t)
	if conn, err := net.DialTimeout("tcp", strings.TrimPrefix(admin.base, "http://"), time.Second); err == nil {
		conn.Close()
		t.Errorf("the admin listener still takes connections after the program stopped")
	}
}

// sendCountedTraffic sends p what TestAdminListener and
// TestMetricsEndpoint find counted: a sign-up of muthoni and a login (1
// session), defaultThrottleLimit logins with a wrong password, one then
// throttled, three reads of the user (200), one of a user that does not
// exist (404), and two requests no route takes (404).
func sendCountedTraffic(t *testing.T, p *program) {
	t.Helper()
	id := p.createUser(t, "muthoni", "muthoni-password")
	token := p.login(t, "muthoni", "muthoni-password")
	// defaultThrottleLimit failures of one account from one address lock
	// it: the next login is throttled, even with the right password.
	for range defaultThrottleLimit {
		wantBasicChallenge(t, "POST /api/tokens with a wrong password", p.callBasic(t, "POST", "/api/tokens", "muthoni", "wrong-password"))
	}
	wantError(t, "POST /api/tokens once locked", p.callBasic(t, "POST", "/api/tokens", "muthoni", "muthoni-password"), http.StatusTooManyRequests, "")
	for range 3 {
		wantStatus(t, "GET /api/users/{id}", p.call(t, "GET", userPath(id), token, ""), http.StatusOK)
	}
	wantError(t, "GET /api/users/999", p.call(t, "GET", "/api/users/999", token, ""), http.StatusNotFound, "")
	wantError(t, "GET /nowhere/1", p.call(t, "GET", "/nowhere/1", "", ""), http.StatusNotFound, "")
	wantError(t, "GET /nowhere/2", p.call(t, "GET", "/nowhere/2", "", ""), http.StatusNotFound, "")
}

// adminLine is the log line that gives the admin listener's address.
var adminLine = regexp.MustCompile(`msg="admin listening" url=(http://\S+)/debug/vars`)

// adminURL is the admin listener's URL, from the program's log, which
// logs it just after the public one.
func (p *program) adminURL(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := adminLine.FindStringSubmatch(p.stderr.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("the program logged no admin listener:\n%s", p.stderr)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
