package main

import (
	"expvar"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// The admin listener answers only to a Host header that names it by an
// address, localhost, or the host of -admin-addr: a page whose own name
// was made to resolve to 127.0.0.1 (DNS rebinding) gets 421, not the vars
// or a profile.
func TestAdminListenerChecksHost(t *testing.T) {
	cases := []struct {
		adminAddr, host string
		want            int
	}{
		{"127.0.0.1:6060", "127.0.0.1:6060", http.StatusOK},
		{"127.0.0.1:6060", "127.0.0.1", http.StatusOK},
		{"127.0.0.1:6060", "[::1]:6060", http.StatusOK},
		{"127.0.0.1:6060", "[::1]", http.StatusOK},
		{"127.0.0.1:6060", "localhost:6060", http.StatusOK},
		{"127.0.0.1:6060", "LocalHost", http.StatusOK},
		{":6060", "10.0.0.5:6060", http.StatusOK},
		{"admin.internal:6060", "admin.internal:6060", http.StatusOK},
		{"admin.internal:6060", "Admin.Internal", http.StatusOK},
		{"127.0.0.1:6060", "rebind.example:6060", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "rebind.example", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "localhost.rebind.example:6060", http.StatusMisdirectedRequest},
		{"127.0.0.1:6060", "127.0.0.1.rebind.example", http.StatusMisdirectedRequest},
		{":6060", "box.example:6060", http.StatusMisdirectedRequest},
		{"admin.internal:6060", "other.internal:6060", http.StatusMisdirectedRequest},
	}
	for _, tc := range cases {
		hs := httptest.NewServer(adminHandler(new(expvar.Map).Init(), tc.adminAddr))
		for _, path := range []string{"/debug/vars", "/debug/pprof/cmdline"} {
			req, err := http.NewRequest("GET", hs.URL+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tc.host
			res, err := hs.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tc.want {
				t.Errorf("-admin-addr %s: GET %s with Host %s = %d %q; want %d", tc.adminAddr, path, tc.host, res.StatusCode, body, tc.want)
			}
		}
		hs.Close()
	}
}
