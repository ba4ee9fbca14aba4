package main

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

// appOrigin is the browser app the CORS tests' servers list.
const appOrigin = "https://app.example.com"

// withCORS lists origins in a test server's -cors-origins.
func withCORS(origins ...string) func(*config) {
	return func(c *config) { c.corsOrigins = origins }
}

// preflight is what a browser sends before a cross-origin request with a
// token: OPTIONS, its origin and the method it means to use.
func preflight(origin, method string) func(*http.Request) {
	return func(r *http.Request) {
		r.Header.Set("Origin", origin)
		r.Header.Set("Access-Control-Request-Method", method)
		r.Header.Set("Access-Control-Request-Headers", "authorization")
	}
}

// corsHeaders are the Access-Control-* headers of an answer.
func corsHeaders(h http.Header) []string {
	var names []string
	for name := range h {
		if strings.HasPrefix(name, "Access-Control-") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// wantNoCORS fails the test when res carries any Access-Control-* header.
func wantNoCORS(t *testing.T, what string, res response) {
	t.Helper()
	if names := corsHeaders(res.header); len(names) > 0 {
		t.Errorf("%s carries %v, want no CORS header", what, names)
	}
}

// routeMethods is what a preflight must allow on each path of routes(),
// read from routes.go: the methods of its routes, and HEAD with GET, as
// the mux serves HEAD with a GET route. Path parameters become 1.
func routeMethods(t *testing.T) map[string][]string {
	t.Helper()
	methods := map[string][]string{}
	for _, p := range routePatterns(t) {
		method, path, _ := strings.Cut(p, " ")
		path = strings.NewReplacer("{id}", "1").Replace(path)
		methods[path] = append(methods[path], method)
		if method == "GET" {
			methods[path] = append(methods[path], "HEAD")
		}
	}
	for path := range methods {
		slices.Sort(methods[path])
	}
	return methods
}

// Without -cors-origins nothing changes: a preflight is a 405 like any
// OPTIONS, and no answer names an origin or varies by one.
func TestCORSOffByDefault(t *testing.T) {
	ts := newTestServer(t)
	_, token := ts.newUser(t, "muthoni")
	for path := range routeMethods(t) {
		res := ts.callWith(t, "OPTIONS", path, "", preflight(appOrigin, "GET"))
		wantStatus(t, "preflight OPTIONS "+path, res, http.StatusMethodNotAllowed)
		wantNoCORS(t, "preflight OPTIONS "+path, res)
	}
	res := ts.callWith(t, "GET", "/api/users/1", "", bearer(token), withHeader("Origin", appOrigin))
	wantStatus(t, "GET /api/users/1 from "+appOrigin, res, http.StatusOK)
	wantNoCORS(t, "GET /api/users/1 from "+appOrigin, res)
	if vary := res.header.Values("Vary"); len(vary) > 0 {
		t.Errorf("GET /api/users/1 without -cors-origins has Vary %q, want none", vary)
	}
}

// A listed origin's preflight, on every path of routes(), is a 204 that
// allows the methods the path's routes take and the headers an app sends.
func TestCORSPreflight(t *testing.T) {
	ts := newTestServer(t, withCORS("https://other.example.org", appOrigin))
	users := ts.count(t, "users")
	for path, methods := range routeMethods(t) {
		what := "preflight OPTIONS " + path
		res := ts.callWith(t, "OPTIONS", path, "", preflight(appOrigin, methods[0]))
		wantStatus(t, what, res, http.StatusNoContent)
		want := map[string]string{
			"Access-Control-Allow-Origin":  appOrigin,
			"Access-Control-Allow-Methods": strings.Join(methods, ", "),
			"Access-Control-Allow-Headers": "Authorization, Content-Type, X-OTP",
			"Access-Control-Max-Age":       "600",
			"Vary":                         "Origin",
		}
		for name, value := range want {
			if got := res.header.Values(name); len(got) != 1 || got[0] != value {
				t.Errorf("%s: %s = %q, want %q", what, name, got, value)
			}
		}
		if got := corsHeaders(res.header); len(got) != 4 {
			t.Errorf("%s carries %v, want the four above (no Allow-Credentials, no Expose-Headers)", what, got)
		}
		if len(res.body) != 0 {
			t.Errorf("%s has body %q, want none", what, res.body)
		}
	}
	// A preflight runs no handler: the sign-up route created nothing.
	if got := ts.count(t, "users"); got != users {
		t.Errorf("after the preflights, %d users, want %d", got, users)
	}
}

// An origin that is not listed, however near a listed one, gets no CORS
// header: its preflight is a 403 with the reason, and its requests are
// answered as any other, which its browser then keeps from its page.
func TestCORSUnlistedOrigin(t *testing.T) {
	ts := newTestServer(t, withCORS(appOrigin, "http://localhost:3000"))
	_, token := ts.newUser(t, "muthoni")
	users := ts.count(t, "users")
	for _, origin := range []string{
		"https://evil.example.com",
		"http://app.example.com",              // another scheme
		"https://app.example.com:8443",        // another port
		"https://app.example.com.evil.com",    // a listed origin as a prefix
		"https://APP.example.com",             // browsers send lower case
		"https://app.example.com/",            // nor a path
		"null",                                // a sandboxed page or file://
		"*",                                   // not an origin at all
		"http://localhost:3000, https://x.io", // two in one
	} {
		res := ts.callWith(t, "OPTIONS", "/api/users", "", preflight(origin, "POST"))
		wantError(t, "preflight from "+origin, res, http.StatusForbidden,
			"this origin may not call the API from a browser: the server's -cors-origins does not list it")
		wantNoCORS(t, "preflight from "+origin, res)

		res = ts.callWith(t, "GET", "/api/users/1", "", bearer(token), withHeader("Origin", origin))
		wantStatus(t, "GET /api/users/1 from "+origin, res, http.StatusOK)
		wantNoCORS(t, "GET /api/users/1 from "+origin, res)
		if got := res.header.Get("Vary"); got != "Origin" {
			t.Errorf("GET /api/users/1 from %s: Vary = %q, want Origin", origin, got)
		}
	}
	// Two Origin headers are no origin either.
	res := ts.callWith(t, "OPTIONS", "/api/users", "", preflight(appOrigin, "POST"), withHeader("Origin", appOrigin, appOrigin))
	wantStatus(t, "preflight with two Origin headers", res, http.StatusForbidden)
	wantNoCORS(t, "preflight with two Origin headers", res)
	if got := ts.count(t, "users"); got != users {
		t.Errorf("after the refused preflights, %d users, want %d", got, users)
	}
}

// A listed origin's requests are answered as usual, with the headers that
// let its page read the answer, errors and their challenges included.
func TestCORSListedOriginRequests(t *testing.T) {
	ts := newTestServer(t, withCORS(appOrigin))
	from := withHeader("Origin", appOrigin)
	res := ts.callWith(t, "POST", "/api/users", `{"username": "muthoni", "email": "muthoni@example.com", "password": "muthoni123"}`, from)
	wantCORSAnswer(t, "POST /api/users", res, http.StatusCreated)
	if res.header.Get("Location") != "/api/users/1" {
		t.Errorf("POST /api/users: Location = %q, want /api/users/1", res.header.Get("Location"))
	}
	token := ts.login(t, "muthoni", "muthoni123")
	wantCORSAnswer(t, "GET /api/users/1", ts.callWith(t, "GET", "/api/users/1", "", bearer(token), from), http.StatusOK)

	res = ts.callWith(t, "GET", "/api/users/1", "", bearer("not-a-token"), from)
	wantCORSAnswer(t, "GET /api/users/1 with a bad token", res, http.StatusUnauthorized)
	if !strings.Contains(res.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("GET /api/users/1 with a bad token: WWW-Authenticate = %q, want invalid_token", res.header.Get("WWW-Authenticate"))
	}
	// OPTIONS that is no preflight is a 405 as before, readable by the app.
	res = ts.callWith(t, "OPTIONS", "/api/users", "", from)
	wantCORSAnswer(t, "OPTIONS /api/users without Access-Control-Request-Method", res, http.StatusMethodNotAllowed)
	// A preflight for a path without routes is the usual 404.
	res = ts.callWith(t, "OPTIONS", "/api/nothing", "", preflight(appOrigin, "GET"))
	wantError(t, "preflight OPTIONS /api/nothing", res, http.StatusNotFound, "")
}

// wantCORSAnswer checks an answer to a listed origin: its status, and
// the headers that let the page read it, and no others.
func wantCORSAnswer(t *testing.T, what string, res response, status int) {
	t.Helper()
	wantStatus(t, what, res, status)
	want := map[string]string{
		"Access-Control-Allow-Origin":   appOrigin,
		"Access-Control-Expose-Headers": "Location, Retry-After, WWW-Authenticate, X-OTP",
		"Vary":                          "Origin",
	}
	for name, value := range want {
		if got := res.header.Values(name); len(got) != 1 || got[0] != value {
			t.Errorf("%s: %s = %q, want %q", what, name, got, value)
		}
	}
	if got := corsHeaders(res.header); len(got) != 2 {
		t.Errorf("%s carries %v, want only Allow-Origin and Expose-Headers", what, got)
	}
}

// -cors-origins keeps each origin as a browser sends it, and refuses what
// could never match an Origin header, saying why.
func TestCORSOriginsOption(t *testing.T) {
	parse := func(args []string, env map[string]string) ([]string, error) {
		o, _, err := parseOptions(args, func(k string) string { return env[k] }, io.Discard)
		return o.config().corsOrigins, err
	}
	good := []struct {
		in   string
		want []string
	}{
		{"https://app.example.com", []string{"https://app.example.com"}},
		{" https://app.example.com , http://localhost:3000 ", []string{"https://app.example.com", "http://localhost:3000"}},
		{"HTTPS://App.Example.COM:443,http://example.com:80", []string{"https://app.example.com", "http://example.com"}},
		{"http://[::1]:8080,https://[2001:DB8::1]", []string{"http://[::1]:8080", "https://[2001:db8::1]"}},
		{"http://127.0.0.1:443", []string{"http://127.0.0.1:443"}},
	}
	for _, tt := range good {
		got, err := parse([]string{"-cors-origins", tt.in}, nil)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("-cors-origins %q = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	got, err := parse(nil, map[string]string{"TOKENAPI_CORS_ORIGINS": "https://app.example.com"})
	if err != nil || !slices.Equal(got, []string{"https://app.example.com"}) {
		t.Errorf("TOKENAPI_CORS_ORIGINS = %q, %v; want [https://app.example.com]", got, err)
	}
	if got, err := parse(nil, nil); err != nil || got != nil {
		t.Errorf("no -cors-origins = %q, %v; want none", got, err)
	}
	bad := []struct{ in, wantErr string }{
		{"*", `-cors-origins: "*": no wildcards; list each origin, such as https://app.example.com`},
		{"https://*.example.com", `no wildcards`},
		{"app.example.com", `-cors-origins: "app.example.com" is not an origin such as https://app.example.com or http://localhost:3000`},
		{"https://app.example.com/", `-cors-origins: "https://app.example.com/": an origin is scheme://host[:port] with nothing after it, not even /: https://app.example.com`},
		{"https://app.example.com/spa", `with nothing after it`},
		{"https://app.example.com?x=1", `with nothing after it`},
		{"https://app.example.com#top", `with nothing after it`},
		{"https://app.example.com#", `with nothing after it`},
		{"ftp://app.example.com", `-cors-origins: "ftp://app.example.com": an origin's scheme is http or https, not "ftp"`},
		{"null", `is not an origin`},
		{"https://user:pw@app.example.com", `an origin has no user or password`},
		{"https://app.example.com:", `a port is missing after the colon`},
		{"https://app.example.com:0", `the port is not a number from 1 to 65535`},
		{"https://app.example.com:70000", `the port is not a number from 1 to 65535`},
		{"https://app example.com", `is not an origin`},
		{"https://", `is not an origin`},
		{"https://ok.example.com,https://bad.example.com/", `"https://bad.example.com/"`},
	}
	for _, tt := range bad {
		if _, err := parse([]string{"-cors-origins", tt.in}, nil); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("-cors-origins %q: error %v, want one containing %q", tt.in, err, tt.wantErr)
		}
	}
	_, err = parse(nil, map[string]string{"TOKENAPI_CORS_ORIGINS": "*"})
	if err == nil || !strings.HasPrefix(err.Error(), `TOKENAPI_CORS_ORIGINS: "*": no wildcards`) {
		t.Errorf("TOKENAPI_CORS_ORIGINS=*: error %v, want it named and refused", err)
	}
}
