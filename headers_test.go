package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestSafetyHeaders sends requests to every route of routes(), with and
// without credentials, answered and refused, and to no route at all. Every
// answer must forbid framing; one to a request with an Authorization
// header, or one that shows an email, must forbid caching; no other may,
// and what is the same for everyone (/docs, /api/openapi.json) asks to be
// cached.
func TestSafetyHeaders(t *testing.T) {
	ts := newTestServer(t)
	ts.srv.mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	_, token := ts.newUser(t, "muthoni")
	_, otherToken := ts.newUser(t, "wanjiru")
	spareToken := ts.login(t, "muthoni", "muthoni-password")
	ts.createPost(t, token, "Tea", "About tea.")            // post 1
	ts.createPost(t, otherToken, "Coffee", "About coffee.") // post 2
	ts.createPost(t, token, "Doomed", "Soon gone.")         // post 3
	post := `{"title": "t", "body": "b"}`

	tests := []struct {
		method, path string
		creds        func(*http.Request) // nil: no Authorization header
		body         string
		status       int
		email        bool // the answer shows an email
	}{
		{"POST", "/api/tokens", basic("muthoni", "muthoni-password"), "", 200, false},
		{"POST", "/api/tokens", basic("muthoni", "wrong-password"), "", 401, false},
		{"POST", "/api/tokens", nil, "", 401, false},
		{"DELETE", "/api/tokens", bearer(spareToken), "", 204, false},
		{"DELETE", "/api/tokens", bearer("no-such-token"), "", 401, false},
		{"DELETE", "/api/tokens", nil, "", 401, false},
		{"GET", "/api/tokens", bearer(token), "", 200, false},
		{"GET", "/api/tokens", nil, "", 401, false},
		{"DELETE", "/api/tokens/999", bearer(token), "", 404, false},
		{"DELETE", "/api/tokens/999", nil, "", 401, false},

		{"POST", "/api/users", nil, `{"username": "amani", "email": "amani@example.com", "password": "amani-password"}`, 201, true},
		{"POST", "/api/users", nil, `{"username": "amani", "email": "amani2@example.com", "password": "amani-password"}`, 400, false},
		{"POST", "/api/users", bearer(token), `{"username": "baraka", "email": "baraka@example.com", "password": "baraka-password"}`, 201, true},
		{"GET", "/api/users", bearer(token), "", 200, true},
		{"GET", "/api/users", nil, "", 401, false},
		{"GET", "/api/users/1", bearer(token), "", 200, true},
		{"GET", "/api/users/2", bearer(token), "", 200, false},
		{"GET", "/api/users/abc", bearer(token), "", 404, false},
		{"GET", "/api/users/1", nil, "", 401, false},
		{"PUT", "/api/users/1", bearer(token), `{"about_me": "Runs."}`, 200, true},
		{"PUT", "/api/users/1", bearer(token), `{"about_me": 5}`, 400, false},
		{"PUT", "/api/users/2", bearer(token), `{"about_me": "Runs."}`, 403, false},
		{"PUT", "/api/users/1", nil, `{"about_me": "Runs."}`, 401, false},
		{"GET", "/api/users/1/my-posts", bearer(token), "", 200, false},
		{"GET", "/api/users/99/my-posts", bearer(token), "", 404, false},
		{"GET", "/api/users/1/my-posts", nil, "", 401, false},

		{"GET", "/api/posts", bearer(token), "", 200, false},
		{"GET", "/api/posts", nil, "", 401, false},
		{"GET", "/api/posts/1", bearer(token), "", 200, false},
		{"GET", "/api/posts/99", bearer(token), "", 404, false},
		{"GET", "/api/posts/1", nil, "", 401, false},
		{"POST", "/api/posts", bearer(token), post, 201, false},
		{"POST", "/api/posts", bearer(token), `{"title": "t"}`, 400, false},
		{"POST", "/api/posts", nil, post, 401, false},
		{"POST", "/api/posts/user/1", bearer(token), post, 201, false},
		{"POST", "/api/posts/user/2", bearer(token), post, 403, false},
		{"POST", "/api/posts/user/1", nil, post, 401, false},
		{"PUT", "/api/posts/1", bearer(token), `{"title": "Green tea"}`, 200, false},
		{"PUT", "/api/posts/2", bearer(token), `{"title": "Mine now"}`, 403, false},
		{"PUT", "/api/posts/1", nil, `{"title": "Green tea"}`, 401, false},
		{"DELETE", "/api/posts/3", bearer(token), "", 204, false},
		{"DELETE", "/api/posts/3", bearer(token), "", 404, false},
		{"DELETE", "/api/posts/2", bearer(token), "", 403, false},
		{"DELETE", "/api/posts/1", nil, "", 401, false},

		{"GET", "/healthz", nil, "", 200, false},
		{"HEAD", "/healthz", nil, "", 200, false},
		{"GET", "/healthz", withHeader("Authorization", "whatever"), "", 200, false},
		{"GET", "/api/openapi.json", nil, "", 200, false},
		{"GET", "/api/openapi.json", bearer(token), "", 200, false},

		{"GET", "/docs", nil, "", 200, false},
		{"GET", "/docs", bearer(token), "", 200, false},

		{"GET", "/nope", nil, "", 404, false},
		{"GET", "/nope", bearer(token), "", 404, false},
		{"PATCH", "/api/posts/1", bearer(token), "", 405, false},
		{"PUT", "/api/tokens", basic("muthoni", "muthoni-password"), "", 405, false},
		{"PUT", "/healthz", nil, "", 405, false},
		{"GET", "/panic", nil, "", 500, false},
	}
	docs, err := docsPage()
	if err != nil {
		t.Fatal(err)
	}
	docsPolicy := docs.CSP
	if !strings.Contains(docsPolicy, "frame-ancestors 'none'") {
		t.Errorf("the docs page's Content-Security-Policy %q allows framing", docsPolicy)
	}
	tested := map[string]bool{}
	for _, tt := range tests {
		what := fmt.Sprintf("%s %s", tt.method, tt.path)
		if tt.creds != nil {
			what += " with credentials"
		}
		_, pattern := ts.srv.mux.Handler(httptest.NewRequest(tt.method, tt.path, nil))
		if pattern != "" {
			tested[pattern] = true
		}
		creds := tt.creds
		if creds == nil {
			creds = func(*http.Request) {}
		}
		res := ts.callWith(t, tt.method, tt.path, tt.body, creds)
		wantStatus(t, what, res, tt.status)
		wantCacheControl, wantPolicy := "", "frame-ancestors 'none'"
		switch pattern { // the same for everyone
		case "GET /docs": // with a policy of its own
			wantCacheControl, wantPolicy = "public, max-age=3600", docsPolicy
		case "GET /api/openapi.json":
			wantCacheControl = "public, max-age=3600"
		}
		if tt.creds != nil || tt.email {
			wantCacheControl = "no-store"
		}
		for _, h := range []struct{ name, want string }{
			{"X-Frame-Options", "DENY"},
			{"Content-Security-Policy", wantPolicy},
			{"Cache-Control", wantCacheControl},
		} {
			var want []string // none
			if h.want != "" {
				want = []string{h.want}
			}
			if got := res.header.Values(h.name); !slices.Equal(got, want) {
				t.Errorf("%s = %d: %s = %q, want %q", what, res.status, h.name, got, want)
			}
		}
	}

	for _, pattern := range routePatterns(t) {
		if !tested[pattern] {
			t.Errorf("no request to %s, a route of routes(); add one", pattern)
		}
	}
}
