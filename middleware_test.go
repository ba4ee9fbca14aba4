package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Request framing (RFC 9112 §6.1). A request whose body a proxy in front
// of us could frame otherwise than we do is answered, and then its
// connection is closed, so that nothing after it on the connection is ever
// read as a request. These tests speak HTTP on a raw socket, as a smuggler
// would, because an HTTP client will not send such requests.

// rawConn is a TCP connection to the test server, for writing requests by
// hand. Every read and write on it fails after 10 s, so that a server that
// keeps the connection open fails the test rather than hangs it.
type rawConn struct {
	net.Conn
	r *bufio.Reader
}

func dialRaw(t *testing.T, ts *testServer) *rawConn {
	t.Helper()
	u, err := url.Parse(ts.base)
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
			conn := dialRaw(t, ts)
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
	conn := dialRaw(t, ts)
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
