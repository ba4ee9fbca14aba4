package main

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// next is a response that follows each good case's, so that a parser that
// reads too much or too little of a body fails on it.
const next = "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok"

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		status    int
		keepAlive bool
		err       error // nil, errProtocol or io.ErrUnexpectedEOF
		followed  bool  // whether next can be read after it
	}{
		{name: "content length",
			raw:    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"id\": 12345}",
			status: 200, keepAlive: true, followed: true},
		{name: "header names in any case, bare LF",
			raw:    "HTTP/1.1 201 Created\nconTENT-length: 3\nX-Other: a:b\n\nabc",
			status: 201, keepAlive: true, followed: true},
		{name: "no reason phrase",
			raw:    "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
			status: 200, keepAlive: true, followed: true},
		{name: "chunked, extensions and trailers",
			raw:    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: yes\r\n\r\n",
			status: 200, keepAlive: true, followed: true},
		{name: "chunked wins over Content-Length",
			raw:    "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			status: 200, keepAlive: true, followed: true},
		{name: "204 has no body whatever the headers say",
			raw:    "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
			status: 204, keepAlive: true, followed: true},
		{name: "304 has no body",
			raw:    "HTTP/1.1 304 Not Modified\r\n\r\n",
			status: 304, keepAlive: true, followed: true},
		{name: "interim 100 is skipped",
			raw:    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 401 Unauthorized\r\nContent-Length: 2\r\n\r\n{}",
			status: 401, keepAlive: true, followed: true},
		{name: "Connection: close",
			raw:    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
			status: 200, keepAlive: false, followed: true},
		{name: "HTTP/1.0 closes by default",
			raw:    "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
			status: 200, keepAlive: false, followed: true},
		{name: "HTTP/1.0 with keep-alive",
			raw:    "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok",
			status: 200, keepAlive: true, followed: true},
		{name: "no length: the body runs to EOF",
			raw:    "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\nthe rest of the stream",
			status: 200, keepAlive: false},
		{name: "truncated body", raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", err: io.ErrUnexpectedEOF},
		{name: "truncated chunk", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort", err: io.ErrUnexpectedEOF},
		{name: "truncated headers", raw: "HTTP/1.1 200 OK\r\nContent-Len", err: io.ErrUnexpectedEOF},
		{name: "closed before any byte", raw: "", err: io.EOF},
		{name: "not HTTP", raw: "SSH-2.0-OpenSSH\r\n\r\n", err: errProtocol},
		{name: "HTTP/2 status line", raw: "HTTP/2 200\r\n\r\n", err: errProtocol},
		{name: "status not a number", raw: "HTTP/1.1 2x0 OK\r\n\r\n", err: errProtocol},
		{name: "status glued to reason", raw: "HTTP/1.1 2000 OK\r\n\r\n", err: errProtocol},
		{name: "header without colon", raw: "HTTP/1.1 200 OK\r\nnonsense\r\n\r\n", err: errProtocol},
		{name: "bad Content-Length", raw: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", err: errProtocol},
		{name: "conflicting Content-Length", raw: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", err: errProtocol},
		{name: "bad chunk size", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", err: errProtocol},
		{name: "chunk longer than its size", raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", err: errProtocol},
		{name: "header line over the buffer", raw: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", readBufferSize) + "\r\n\r\n", err: errProtocol},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := tt.raw
			if tt.err == nil {
				input += next
			}
			br := bufio.NewReaderSize(strings.NewReader(input), readBufferSize)
			status, keepAlive, err := readResponse(br)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("readResponse(%q) error = %v, want %v", tt.raw, err, tt.err)
				}
				return
			}
			if err != nil || status != tt.status || keepAlive != tt.keepAlive {
				t.Fatalf("readResponse(%q) = %d, %v, %v; want %d, %v, nil", tt.raw, status, keepAlive, err, tt.status, tt.keepAlive)
			}
			status, _, err = readResponse(br)
			if tt.followed && (err != nil || status != 202) {
				t.Errorf("the response after it = %d, %v; want 202, nil (the body was not read exactly)", status, err)
			}
			if !tt.followed && err != io.EOF {
				t.Errorf("after a body read to EOF: %d, %v; want io.EOF", status, err)
			}
		})
	}
}

// The hot loop's promise: reading a response allocates nothing.
func TestReadResponseDoesNotAllocate(t *testing.T) {
	for _, raw := range []string{
		"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nDate: Sun, 29 Nov 2026 03:43:10 GMT\r\nContent-Length: 13\r\n\r\n{\"id\": 12345}",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	} {
		rd := strings.NewReader(raw)
		br := bufio.NewReaderSize(rd, readBufferSize)
		allocs := testing.AllocsPerRun(100, func() {
			rd.Reset(raw)
			br.Reset(rd)
			if status, _, err := readResponse(br); status != 200 || err != nil {
				t.Fatalf("readResponse = %d, %v; want 200, nil", status, err)
			}
		})
		if allocs != 0 {
			t.Errorf("readResponse(%q) allocates %v times per call, want 0", raw, allocs)
		}
	}
}

// Against Go's own server: many requests on one keep-alive connection,
// fixed-length and chunked bodies, and the server's Connection: close.
func TestRoundTripKeepAlive(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Write([]byte(strings.Repeat("x", 5000)))
			w.(http.Flusher).Flush() // a flush before the end forces chunking
			w.Write([]byte("end"))
		case "/close":
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusTeapot)
		default:
			w.Write([]byte(`{"ok":true}`))
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	c, err := dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	for i := range 50 {
		path := "/fixed"
		if i%2 == 1 {
			path = "/chunked"
		}
		status, keepAlive, err := c.roundTrip(requestBytes("GET", path, addr, "", ""))
		if err != nil || status != 200 || !keepAlive {
			t.Fatalf("request %d, GET %s = %d, %v, %v; want 200, true, nil", i, path, status, keepAlive, err)
		}
	}
	status, keepAlive, err := c.roundTrip(requestBytes("POST", "/close", addr, "", ""))
	if err != nil || status != http.StatusTeapot || keepAlive {
		t.Fatalf("POST /close = %d, %v, %v; want 418, false, nil", status, keepAlive, err)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want errKind
	}{
		{io.EOF, errClosed},
		{io.ErrUnexpectedEOF, errClosed},
		{errProtocol, errMalformed},
		{errors.New("something else"), errOther},
	}
	for _, tt := range tests {
		if got := classify(tt.err); got != tt.want {
			t.Errorf("classify(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
