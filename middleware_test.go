package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// Request framing (RFC 9112 §6.1). A request whose body a proxy in front
// of us could frame otherwise than we do is answered, and then its
// connection is closed, so that nothing after it on the connection is ever
// read as a request. These tests speak HTTP on a raw socket, as a smuggler
// would, because an HTTP client will not send such requests.

// rawConn is a TCP connection to a test server (at base, its URL), for
// writing requests by hand. Every read and write on it fails after 10 s,
// so that a server that keeps the connection open fails the test rather
// than hangs it.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, base string) *rawConn {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{Conn: conn, r: bufio.NewReader(conn)}
}

// send writes the requests, all at once.
func (c *rawConn) send(t *testing.T, requests ...string) {
	t.Helper()
	if _, err := io.WriteString(c, strings.Join(requests, "")); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// response reads the next response, whole.
func (c *rawConn) response(t *testing.T, what string) response {
	t.Helper()
	res, err := http.ReadResponse(c.r, nil)
	if err != nil {
		t.Fatalf("%s: read response: %v", what, err)
	}
	defer res.Body.Close()
	// ReadResponse takes "Connection: close" out of an HTTP/1.1 answer's
	// header and sets Close instead; put it back, for the tests to see
	// the header as it was sent.
	if res.Close && res.ProtoAtLeast(1, 1) {
		res.Header.Set("Connection", "close")
	}
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s: read body: %v", what, err)
	}
	return response{status: res.StatusCode, header: res.Header, body: body}
}

// wantClosed fails unless the server has closed the connection with
// nothing more to say.
func (c *rawConn) wantClosed(t *testing.T, what string) {
	t.Helper()
	if _, err := c.r.Peek(1); !errors.Is(err, io.EOF) {
		more, _ := c.r.Peek(c.r.Buffered())
		t.Errorf("%s: after the first answer, read %v %q; want the connection closed (EOF)", what, err, more)
	}
}

// chunked frames body as one chunk and the last chunk.
func chunked(body string) string {
	return fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
}

// healthCheck is the request pipelined after each test's first: if it is
// ever answered, the server read a second request from the connection.
const healthCheck = "GET /healthz HTTP/1.1\r\nHost: tokenapi\r\n\r\n"

func TestUnsureFramingClosesConnection(t *testing.T) {
	signUp := `{"username": "muthoni", "email": "muthoni@example.com", "password": "muthoni-password"}`
	// Go's net/http reads each of these in its own way; the comments say
	// how, and so why the answer is what it is. In each, a proxy that framed
	// the body by the other header would see different requests than we do.
	tests := []struct {
		name    string
		request string
		status  int
	}{
		{
			// The body is read as chunked; Content-Length is dropped.
			name: "HTTP/1.1 with Content-Length and Transfer-Encoding",
			request: "POST /api/users HTTP/1.1\r\nHost: tokenapi\r\nContent-Type: application/json\r\n" +
				"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked(signUp),
			status: http.StatusCreated,
		},
		{
			// Transfer-Encoding is dropped from HTTP/1.0, so the body is
			// empty, and the chunked bytes would be the next request.
			name: "HTTP/1.0 keep-alive with Transfer-Encoding",
			request: "POST /api/users HTTP/1.0\r\nHost: tokenapi\r\nConnection: keep-alive\r\nContent-Type: application/json\r\n" +
				"Transfer-Encoding: chunked\r\n\r\n" + chunked(signUp),
			status: http.StatusBadRequest,
		},
		{
			// Here the body is framed by Content-Length, chunk sizes and
			// all, which is not JSON.
			name: "HTTP/1.0 keep-alive with Transfer-Encoding and Content-Length",
			request: "POST /api/users HTTP/1.0\r\nHost: tokenapi\r\nConnection: keep-alive\r\nContent-Type: application/json\r\n" +
				fmt.Sprintf("Content-Length: %d\r\n", len(chunked(signUp))) +
				"Transfer-Encoding: chunked\r\n\r\n" + chunked(signUp),
			status: http.StatusBadRequest,
		},
		{
			// net/http hides the Content-Length of the first case from a
			// handler, so a chunked request alone is closed after too.
			name: "HTTP/1.1 chunked alone",
			request: "POST /api/users HTTP/1.1\r\nHost: tokenapi\r\nContent-Type: application/json\r\n" +
				"Transfer-Encoding: chunked\r\n\r\n" + chunked(signUp),
			status: http.StatusCreated,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t)
			conn := dialRaw(t, ts.base)
			conn.send(t, tt.request, healthCheck)
			res := conn.response(t, tt.name)
			wantStatus(t, tt.name, res, tt.status)
			if ct := res.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("%s: Content-Type = %q, want application/json: our answer, not net/http's", tt.name, ct)
			}
			if got := res.header.Get("Connection"); got != "close" {
				t.Errorf("%s: Connection = %q, want close", tt.name, got)
			}
			conn.wantClosed(t, tt.name)
		})
	}
}

// TestPipelinedRequestsKeepConnection is the control: requests framed one
// way only are all answered on one connection.
func TestPipelinedRequestsKeepConnection(t *testing.T) {
	ts := newTestServer(t)
	signUp := `{"username": "muthoni", "email": "muthoni@example.com", "password": "muthoni-password"}`
	conn := dialRaw(t, ts.base)
	conn.send(t,
		"POST /api/users HTTP/1.1\r\nHost: tokenapi\r\nContent-Type: application/json\r\n"+
			fmt.Sprintf("Content-Length: %d\r\n\r\n", len(signUp))+signUp,
		healthCheck)
	for _, want := range []struct {
		what   string
		status int
	}{
		{"POST /api/users", http.StatusCreated},
		{"GET /healthz after it", http.StatusOK},
	} {
		res := conn.response(t, want.what)
		wantStatus(t, want.what, res, want.status)
		if got := res.header.Get("Connection"); got != "" {
			t.Errorf("%s: Connection = %q, want none", want.what, got)
		}
	}
}

// TestSafetyHeaders sends requests to every route of routes(), with and
// without credentials, answered and refused, and to no route at all. Every
// answer, a 204 without a body and the mux's own redirect among them, must
// forbid framing and content sniffing; one to a request with an
// Authorization header, or one that shows an email, must forbid caching;
// no other may, and what is the same for everyone (/docs,
// /api/openapi.json) asks to be cached.
func TestSafetyHeaders(t *testing.T) {
	ts := newTestServer(t)
	// A redirect is an answer of its own, to be checked, not followed.
	ts.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
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
		{"DELETE", "/api/users/2", bearer(token), `{"current_password": "x"}`, 403, false},
		{"DELETE", "/api/users/1", nil, `{"current_password": "x"}`, 401, false},
		{"GET", "/api/users/1/my-posts", bearer(token), "", 200, false},
		{"GET", "/api/users/99/my-posts", bearer(token), "", 404, false},
		{"GET", "/api/users/1/my-posts", nil, "", 401, false},
		{"POST", "/api/users/1/totp", bearer(token), `{}`, 400, false},
		{"POST", "/api/users/1/totp", nil, `{}`, 401, false},
		{"POST", "/api/users/1/totp/confirm", bearer(token), `{"code": "123456"}`, 409, false},
		{"DELETE", "/api/users/1/totp", bearer(token), `{"current_password": "x", "code": "123456"}`, 409, false},
		{"POST", "/api/users/1/totp/recovery-codes", bearer(token), `{"code": "123456"}`, 409, false},
		{"GET", "/api/users/1/events", bearer(token), "", 200, false},
		{"GET", "/api/users/2/events", bearer(token), "", 404, false},
		{"GET", "/api/users/1/events", nil, "", 401, false},

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

		{"GET", "/api//users", nil, "", 307, false}, // the mux's redirect of an unclean path
		{"GET", "/api//users", bearer(token), "", 307, false},

		{"GET", "/nope", nil, "", 404, false},
		{"GET", "/nope", bearer(token), "", 404, false},
		{"PATCH", "/api/posts/1", bearer(token), "", 405, false},
		{"PUT", "/api/tokens", basic("muthoni", "muthoni-password"), "", 405, false},
		{"PUT", "/healthz", nil, "", 405, false},
		{"GET", "/panic", nil, "", 500, false},
		{"POST", "/api/password-reset", nil, `{"email": "muthoni@example.com"}`, 501, false}, // no mail here
		{"POST", "/api/password-reset/confirm", nil, `{"token": "x", "password": "y"}`, 501, false},
		{"POST", "/api/users/1/email-verification", bearer(token), "", 501, false},
		{"POST", "/api/email-verification/confirm", nil, `{"token": "x"}`, 501, false},
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
			{"X-Content-Type-Options", "nosniff"},
			{"Strict-Transport-Security", ""}, // plain HTTP; TestServesTLS checks HTTPS
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

// The request log shows the client's address as remote: behind a trusted
// proxy, the one it forwards for, with the proxy as the peer; otherwise
// the peer's, whatever a header claims.
func TestRequestLogShowsClient(t *testing.T) {
	tests := []struct {
		name    string
		proxies []netip.Prefix
		want    string // in the request's log line
	}{
		{"behind a trusted proxy", []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, " remote=203.0.113.7 peer=127.0.0.1\n"},
		{"no trusted proxy", nil, " remote=127.0.0.1\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, withProxies(tt.proxies...))
			res := ts.callWith(t, "GET", "/healthz", "", xForwardedFor("203.0.113.7"))
			wantStatus(t, "GET /healthz", res, http.StatusOK)
			var line string
			for _, l := range strings.SplitAfter(ts.logs.String(), "\n") {
				if strings.Contains(l, " path=/healthz ") {
					line = l
				}
			}
			if !strings.HasSuffix(line, tt.want) {
				t.Errorf("log line of GET /healthz = %q, want it to end %q", line, tt.want)
			}
		})
	}
}
