package main

import (
	"fmt"
	"net/http"
	"testing"
)

// A shared address (a NAT, a proxy, an IPv6 /64) does not lock out the
// accounts known there: after 100 failed logins for made-up names from
// it, an account that logged in from it before still logs in, held only by
// its own limits; one that never did gets 429.
func TestSharedAddressKeepsKnownAccounts(t *testing.T) {
	for _, tc := range []struct {
		name             string
		knownAt, floodAt string // in one counted address
	}{
		{"IPv4", "198.51.100.7", "198.51.100.7"},
		{"IPv6 /64", "2001:db8:1:2::10", "2001:db8:1:2:ffff::99"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := newTestServer(t)
			ts.createUser(t, "muthoni", "muthoni-password")
			ts.createUser(t, "gitau", "gitau-password")
			if got := loginFrom(ts, tc.knownAt, "muthoni", "muthoni-password"); got != http.StatusOK {
				t.Fatalf("muthoni's first login from %s = %d, want 200", tc.knownAt, got)
			}
			for i := range defaultAddressLimit {
				if got := loginFrom(ts, tc.floodAt, fmt.Sprintf("nobody%d", i), "wrong-password"); got != http.StatusUnauthorized {
					t.Fatalf("failed login %d for a made-up name from %s = %d, want 401", i+1, tc.floodAt, got)
				}
			}
			if got := loginFrom(ts, tc.floodAt, "nobody", "wrong-password"); got != http.StatusTooManyRequests {
				t.Errorf("a made-up name from %s after the flood = %d, want 429", tc.floodAt, got)
			}
			if got := loginFrom(ts, tc.floodAt, "gitau", "gitau-password"); got != http.StatusTooManyRequests {
				t.Errorf("gitau, never seen at %s, after the flood = %d, want 429", tc.floodAt, got)
			}
			if got := loginFrom(ts, tc.floodAt, "muthoni", "muthoni-password"); got != http.StatusOK {
				t.Errorf("muthoni, known at %s, after the flood = %d, want 200", tc.floodAt, got)
			}
			// Known is not free: her own limit from this address still holds.
			for i := range defaultThrottleLimit {
				if got := loginFrom(ts, tc.floodAt, "muthoni", "wrong-password"); got != http.StatusUnauthorized {
					t.Fatalf("muthoni's wrong password %d from %s = %d, want 401", i+1, tc.floodAt, got)
				}
			}
			if got := loginFrom(ts, tc.floodAt, "muthoni", "muthoni-password"); got != http.StatusTooManyRequests {
				t.Errorf("muthoni after %d wrong passwords from %s = %d, want 429", defaultThrottleLimit, tc.floodAt, got)
			}
		})
	}
}
