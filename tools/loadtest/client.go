package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"time"
)

// The load client speaks just enough HTTP/1.1 to send prebuilt requests and
// read responses on a keep-alive connection. net/http's client allocates per
// request (headers map, Response, body reader) and runs a second goroutine
// per connection; on a 2-core machine shared with the server that cost shows
// up as a lower req/s for the server. Here a request is one Write of bytes
// built before the run, and a response is parsed in place in the bufio
// buffer and its body discarded, so the hot loop allocates nothing.

// readBufferSize bounds a status or header line, as the server's 16 KiB
// header limit bounds a request's.
const readBufferSize = 16 << 10

// dialTimeout bounds a TCP connect to the server under test.
const dialTimeout = 5 * time.Second

// errProtocol marks a response the parser cannot read; it is counted as its
// own kind of transport error.
var errProtocol = errors.New("malformed HTTP response")

// conn is one client connection. It is used by one goroutine at a time.
type conn struct {
	nc net.Conn
	br *bufio.Reader
}

func dial(addr string) (*conn, error) {
	nc, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return nil, err
	}
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, readBufferSize)}, nil
}

// roundTrip sends req and reads the response to its end. keepAlive is false
// when the connection cannot carry another request (the server said
// Connection: close, spoke HTTP/1.0 without keep-alive, or ended the body by
// closing); the caller then dials again.
func (c *conn) roundTrip(req []byte) (status int, keepAlive bool, err error) {
	if _, err := c.nc.Write(req); err != nil {
		return 0, false, err
	}
	return readResponse(c.br)
}

func (c *conn) close() { c.nc.Close() }

// readResponse reads one response from br: status line, headers, and the
// body (by Content-Length, chunked, or up to EOF), which it discards.
// Interim 1xx responses are skipped. It does not allocate.
func readResponse(br *bufio.Reader) (status int, keepAlive bool, err error) {
	for {
		status, keepAlive, err = readOne(br)
		if err != nil || status >= 200 {
			return status, keepAlive, err
		}
	}
}

func readOne(br *bufio.Reader) (status int, keepAlive bool, err error) {
	line, err := readLine(br)
	if err != nil {
		return 0, false, err
	}
	// "HTTP/1.1 200 OK": the reason phrase may be empty or missing.
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' ||
		(len(line) > 12 && line[12] != ' ') {
		return 0, false, errProtocol
	}
	keepAlive = line[7] != '0' // HTTP/1.0 closes unless it says keep-alive
	status, ok := atoi(line[9:12])
	if !ok || status < 100 {
		return 0, false, errProtocol
	}

	contentLength := -1
	transferEncoded, chunked := false, false
	for {
		line, err = readLine(br)
		if err != nil {
			return 0, false, err
		}
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return 0, false, errProtocol
		}
		name, value := line[:colon], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			n, ok := atoi(value)
			if !ok || (contentLength >= 0 && n != contentLength) {
				return 0, false, errProtocol
			}
			contentLength = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			// The body is chunked only if chunked is the last coding.
			transferEncoded = true
			chunked = hasSuffixFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if containsTokenFold(value, []byte("close")) {
				keepAlive = false
			} else if containsTokenFold(value, []byte("keep-alive")) {
				keepAlive = true
			}
		}
	}

	// Where the body ends, in the order of RFC 9112, section 6.3.
	switch {
	case status < 200 || status == 204 || status == 304:
		// No body, whatever the headers say.
	case chunked:
		err = discardChunked(br)
	case contentLength >= 0 && !transferEncoded:
		_, err = br.Discard(contentLength)
	default:
		// No length: the body runs until the server closes.
		_, err = io.Copy(io.Discard, br)
		keepAlive = false
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return status, keepAlive, err
}

// discardChunked reads a chunked body and its trailers.
func discardChunked(br *bufio.Reader) error {
	for {
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions are ignored
		}
		size, ok := hexToInt(bytes.TrimSpace(line))
		if !ok {
			return errProtocol
		}
		if size == 0 {
			break
		}
		if _, err := br.Discard(size); err != nil {
			return err
		}
		if line, err := readLine(br); err != nil {
			return err
		} else if len(line) != 0 {
			return errProtocol
		}
	}
	for { // trailers, up to the empty line
		line, err := readLine(br)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
	}
}

// readLine returns the next line without its CRLF (or bare LF). The slice
// points into br's buffer and is valid only until the next read.
func readLine(br *bufio.Reader) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, errProtocol
	}
	if err != nil {
		if err == io.EOF && len(line) > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// atoi parses a non-negative decimal without allocating; strconv.Atoi would
// need a string.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func hexToInt(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 12 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | int(c-'0')
		case 'a' <= c && c <= 'f':
			n = n<<4 | int(c-'a'+10)
		case 'A' <= c && c <= 'F':
			n = n<<4 | int(c-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}

func hasSuffixFold(s, suffix []byte) bool {
	return len(s) >= len(suffix) && bytes.EqualFold(s[len(s)-len(suffix):], suffix)
}

// containsTokenFold reports whether the comma-separated list s holds token.
func containsTokenFold(s, token []byte) bool {
	for len(s) > 0 {
		item := s
		if i := bytes.IndexByte(s, ','); i >= 0 {
			item, s = s[:i], s[i+1:]
		} else {
			s = nil
		}
		if bytes.EqualFold(bytes.TrimSpace(item), token) {
			return true
		}
	}
	return false
}

// errKind sorts transport errors for the report; the count of each kind and
// its first message are shown.
type errKind int

const (
	errConnect   errKind = iota // dial failed
	errClosed                   // the server closed or reset the connection
	errTimeout                  // no answer within -timeout after the run ended
	errMalformed                // a response the parser could not read
	errOther
	numErrKinds
)

func (k errKind) String() string {
	return [...]string{"connect", "closed", "timeout", "malformed", "other"}[k]
}

func classify(err error) errKind {
	var ne net.Error
	switch {
	case errors.Is(err, errProtocol):
		return errMalformed
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return errClosed
	}
	return errOther
}
