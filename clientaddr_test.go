package main

import (
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// testProxies are the proxies the tests trust: the test server's peer, a
// private network of proxies and an IPv6 one.
var testProxies = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.1/32"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("2001:db8:ffff::/48"),
}

func TestForwardedClient(t *testing.T) {
	xff := func(lines ...string) http.Header { return http.Header{"X-Forwarded-For": lines} }
	fwd := func(lines ...string) http.Header { return http.Header{"Forwarded": lines} }
	longElement := `for=203.0.113.7;ext="` + strings.Repeat("x", maxForwardedBytes) + `"`
	tests := []struct {
		name   string
		peer   string // 127.0.0.1 if empty
		header http.Header
		want   string
	}{
		{name: "no header", header: http.Header{}, want: "127.0.0.1"},
		{name: "peer not trusted", peer: "198.51.100.2", header: xff("203.0.113.7"), want: "198.51.100.2"},
		{name: "peer not trusted, Forwarded", peer: "2001:db8::2", header: fwd("for=203.0.113.7"), want: "2001:db8::2"},

		// X-Forwarded-For
		{name: "one hop", header: xff("203.0.113.7"), want: "203.0.113.7"},
		{name: "spoofed leftmost entries ignored", header: xff("1.1.1.1, 192.0.2.9, 203.0.113.7"), want: "203.0.113.7"},
		{name: "trusted hops skipped", header: xff("198.51.100.1, 203.0.113.7, 10.0.0.2,10.1.2.3"), want: "203.0.113.7"},
		{name: "a spoofed trusted address left of the client", header: xff("10.0.0.9, 203.0.113.7, 10.0.0.2"), want: "203.0.113.7"},
		{name: "every hop trusted: the farthest", header: xff("10.0.0.5, 10.0.0.2"), want: "10.0.0.5"},
		{name: "several lines are one list", header: xff("1.1.1.1", "203.0.113.7, 10.0.0.2"), want: "203.0.113.7"},
		{name: "client on the first line", header: xff("1.1.1.1, 203.0.113.7", "10.0.0.2"), want: "203.0.113.7"},
		{name: "IPv4 with a port", header: xff("203.0.113.7:51234"), want: "203.0.113.7"},
		{name: "bare IPv6", header: xff("2001:db8::7"), want: "2001:db8::7"},
		{name: "IPv6 in brackets with a port", header: xff("[2001:db8::7]:443"), want: "2001:db8::7"},
		{name: "trusted IPv6 hop", header: xff("203.0.113.7, 2001:db8:ffff::1"), want: "203.0.113.7"},
		{name: "IPv4 mapped into IPv6", header: xff("::ffff:203.0.113.7"), want: "203.0.113.7"},
		{name: "empty elements skipped", header: xff("203.0.113.7,, ,"), want: "203.0.113.7"},
		{name: "empty header", header: xff(""), want: "127.0.0.1"},
		{name: "junk left of the client ignored", header: xff(`not an address, "quoted, 203.0.113.7`), want: "203.0.113.7"},
		{name: "junk last: the peer", header: xff("203.0.113.7, junk"), want: "127.0.0.1"},
		{name: "junk after a trusted hop: that hop", header: xff("203.0.113.7, nonsense, 10.0.0.2"), want: "10.0.0.2"},
		{name: "unknown: the peer", header: xff("unknown"), want: "127.0.0.1"},
		{name: "port without address", header: xff(":80"), want: "127.0.0.1"},
		{name: "empty port", header: xff("203.0.113.7:"), want: "127.0.0.1"},
		{name: "bad port", header: xff("203.0.113.7:http"), want: "127.0.0.1"},
		{name: "unclosed bracket", header: xff("[2001:db8::7"), want: "127.0.0.1"},
		{name: "a hostname", header: xff("client.example"), want: "127.0.0.1"},
		{name: "a hostile length before the client", header: xff(strings.Repeat("1.1.1.1, ", 5000) + "203.0.113.7"), want: "203.0.113.7"},
		{name: "more trusted hops than read", header: xff("203.0.113.7, " + strings.Repeat("10.0.0.9, ", maxForwardedHops) + "10.0.0.2"), want: "10.0.0.9"},
		{name: "X-Forwarded-For wins over Forwarded", header: http.Header{"X-Forwarded-For": {"203.0.113.7"}, "Forwarded": {"for=198.51.100.9"}}, want: "203.0.113.7"},

		// Forwarded (RFC 7239's own examples first)
		{name: "Forwarded with other parameters", header: fwd("for=192.0.2.60;proto=http;by=203.0.113.43"), want: "192.0.2.60"},
		{name: "quoted IPv6 with a port", header: fwd(`For="[2001:db8:cafe::17]:4711"`), want: "2001:db8:cafe::17"},
		{name: "several elements", header: fwd("for=192.0.2.43, for=198.51.100.17"), want: "198.51.100.17"},
		{name: "several elements, trusted hops skipped", header: fwd(`for=192.0.2.43, for="[2001:db8:ffff::3]";proto=https, for=10.0.0.2`), want: "192.0.2.43"},
		{name: "several lines", header: fwd("for=192.0.2.43", "for=10.0.0.2"), want: "192.0.2.43"},
		{name: "quoted IPv4 with an obfuscated port", header: fwd(`for="192.0.2.43:_p1"`), want: "192.0.2.43"},
		{name: "unquoted port", header: fwd("for=192.0.2.43:8080"), want: "192.0.2.43"},
		{name: "spaces around pairs", header: fwd("proto=https ; for=192.0.2.43 ;"), want: "192.0.2.43"},
		{name: "a quoted comma in the last element", header: fwd(`for=198.51.100.1, for=192.0.2.43;ext="a, b"`), want: "192.0.2.43"},
		{name: "escaped quotes", header: fwd(`for=198.51.100.1, for="192.0.2.43";ext="say \"hi, \\\" there"`), want: "192.0.2.43"},
		{name: "escape in the for value", header: fwd(`for="192.0.2.\43"`), want: "192.0.2.43"},
		{name: "unknown last: the peer", header: fwd("for=unknown"), want: "127.0.0.1"},
		{name: "unknown after a trusted hop: that hop", header: fwd("for=192.0.2.43, for=unknown, for=10.0.0.2"), want: "10.0.0.2"},
		{name: "obfuscated identifier", header: fwd("for=_hidden, for=_SEVKISEK"), want: "127.0.0.1"},
		{name: "no for parameter", header: fwd("proto=https;by=10.0.0.2"), want: "127.0.0.1"},
		{name: "two for parameters", header: fwd("for=192.0.2.43;for=198.51.100.17"), want: "127.0.0.1"},
		{name: "unbracketed IPv6 is all address", header: fwd("for=2001:db8::7:80"), want: "2001:db8::7:80"},
		{name: "unterminated quote", header: fwd(`for="192.0.2.43`), want: "127.0.0.1"},
		{name: "no value", header: fwd("for="), want: "127.0.0.1"},
		{name: "junk after a value", header: fwd(`for="192.0.2.43"x`), want: "127.0.0.1"},
		{name: "not a pair", header: fwd("192.0.2.43"), want: "127.0.0.1"},
		{name: "spoofed element with an open quote", header: fwd(`for="1.1.1.1, for=192.0.2.43`), want: "192.0.2.43"},
		{name: "element longer than read: the last hop", header: fwd(longElement, "for=10.0.0.2"), want: "10.0.0.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			peer := netip.MustParseAddr("127.0.0.1")
			if tt.peer != "" {
				peer = netip.MustParseAddr(tt.peer)
			}
			if got := forwardedClient(peer, tt.header, testProxies).String(); got != tt.want {
				t.Errorf("forwardedClient(%s, %q) = %s, want %s", peer, tt.header, got, tt.want)
			}
		})
	}
}

// withProxies trusts the given proxies.
func withProxies(prefixes ...netip.Prefix) func(*config) {
	return func(c *config) { c.trustedProxies = prefixes }
}

// xForwardedFor sends X-Forwarded-For: addr, as a proxy would.
func xForwardedFor(addr string) func(*http.Request) { return withHeader("X-Forwarded-For", addr) }

// failureAddrs are the addresses of the throttle's per-address counts.
func (ts *testServer) failureAddrs(t *testing.T) []string {
	t.Helper()
	rows, err := ts.db.read.Query(`SELECT key FROM password_failures WHERE key LIKE 'from %' ORDER BY key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var addrs []string
	for rows.Next() {
		var key string
		if err := rows.Scan(&key); err != nil {
			t.Fatal(err)
		}
		addrs = append(addrs, strings.TrimPrefix(key, "from "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return addrs
}

// Behind a trusted proxy, failed logins count against the address the
// proxy forwards for: one forwarded client locked out of an account leaves
// another free to log in. From a peer not trusted, the header changes
// nothing: every failure counts against the peer.
func TestThrottleByForwardedAddress(t *testing.T) {
	login := func(t *testing.T, ts *testServer, from, password string) int {
		t.Helper()
		return ts.callWith(t, "POST", "/api/tokens", "", basic("muthoni", password), xForwardedFor(from)).status
	}
	t.Run("trusted proxy", func(t *testing.T) {
		ts := newTestServer(t, withProxies(netip.MustParsePrefix("127.0.0.1/32")))
		ts.createUser(t, "muthoni", "muthoni-password")
		for i := range defaultThrottleLimit {
			if got := login(t, ts, "203.0.113.7", "wrong-password"); got != http.StatusUnauthorized {
				t.Fatalf("failed login %d for 203.0.113.7 = %d, want 401", i+1, got)
			}
		}
		if got, want := ts.failureAddrs(t), []string{"203.0.113.7"}; !slices.Equal(got, want) {
			t.Errorf("password_failures addresses = %q, want %q", got, want)
		}
		if got := login(t, ts, "203.0.113.7", "muthoni-password"); got != http.StatusTooManyRequests {
			t.Errorf("login for 203.0.113.7 after its lockout = %d, want 429", got)
		}
		if got := login(t, ts, "203.0.113.8", "muthoni-password"); got != http.StatusOK {
			t.Errorf("login for 203.0.113.8 = %d, want 200", got)
		}
	})
	t.Run("no trusted proxy", func(t *testing.T) {
		ts := newTestServer(t)
		ts.createUser(t, "muthoni", "muthoni-password")
		for i := range defaultThrottleLimit {
			if got := login(t, ts, "203.0.113.7", "wrong-password"); got != http.StatusUnauthorized {
				t.Fatalf("failed login %d claiming 203.0.113.7 = %d, want 401", i+1, got)
			}
		}
		if got, want := ts.failureAddrs(t), []string{"127.0.0.1"}; !slices.Equal(got, want) {
			t.Errorf("password_failures addresses = %q, want %q", got, want)
		}
		if got := login(t, ts, "203.0.113.8", "muthoni-password"); got != http.StatusTooManyRequests {
			t.Errorf("login claiming another address = %d, want 429: the peer is locked out", got)
		}
	})
}

// FuzzForwardedClient holds the walk to its promise: once it finds a client
// that is not a trusted proxy, nothing before that client's entry, which
// the client itself may have written, changes the answer.
func FuzzForwardedClient(f *testing.F) {
	f.Add("1.1.1.1", "203.0.113.7, 10.0.0.2", false)
	f.Add(`"x, 1.1.1.1`, "203.0.113.7", false)
	f.Add(`for="x`, `for="[2001:db8::7]:80";ext="a,b", for=10.0.0.2`, true)
	f.Add(`for=1.1.1.1;ext="\`, `for=192.0.2.43`, true)
	peer := netip.MustParseAddr("127.0.0.1")
	f.Fuzz(func(t *testing.T, spoofed, forwarded string, rfc7239 bool) {
		name := "X-Forwarded-For"
		if rfc7239 {
			name = "Forwarded"
		}
		client := forwardedClient(peer, http.Header{name: {forwarded}}, testProxies)
		if !client.IsValid() {
			t.Fatalf("%s: %q gives no address", name, forwarded)
		}
		if isTrusted(client, testProxies) {
			return // the walk may go on into what precedes
		}
		if got := forwardedClient(peer, http.Header{name: {spoofed, forwarded}}, testProxies); got != client {
			t.Errorf("%s: %q = %s, but after %q = %s", name, forwarded, client, spoofed, got)
		}
	})
}
