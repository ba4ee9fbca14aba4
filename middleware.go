package main

import (
	"log/slog"
	"net/http"
	"time"
)

// dispatch hands a request to the mux. For a path or method we have no route
// for, the mux would answer 404 or 405 in plain text; we answer in JSON like
// every other error, keeping the mux's status and Allow header. Anything
// else the mux does on its own, such as redirecting an unclean path, it
// does as usual.
func (s *server) dispatch(w http.ResponseWriter, r *http.Request) {
	if status, allow := s.unrouted(r); status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
		if allow != "" {
			w.Header().Set("Allow", allow)
		}
		writeError(w, status, "")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// unrouted is what the mux answers a request no route takes: its status
// and Allow header (the methods the path's routes take, on a 405). The
// status is 0 when a route takes r.
func (s *server) unrouted(r *http.Request) (status int, allow string) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		return 0, ""
	}
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	return rec.status, rec.header.Get("Allow")
}

// headerRecorder keeps the status and header a handler writes and drops
// its body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(status int)      { h.status = status }

// recoverPanics turns a panic in a handler into a logged 500, so the client
// gets a JSON answer rather than a dropped connection.
func (s *server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "panic", "method", r.Method, "path", r.URL.Path, "panic", v)
				writeError(w, http.StatusInternalServerError, "")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// safetyHeaders sets, before anything else can answer, the headers every
// response carries: none may be shown in a frame, which stops clickjacking
// of a browser client; none may be sniffed into another type than it
// says, so no answer, a 204 or the mux's redirect included, is ever run
// as a script or a page; and none answering a request with credentials may
// be kept by a cache, which could hand a token, or what a token let its
// holder see, to the next client. A response that shows an email without
// credentials (sign-up) calls noStore itself.
//
// An answer over TLS also tells the browser to use nothing but HTTPS for
// this host for a year (HSTS), so that a later http:// link or typed
// address cannot send a token in the clear for anyone on the path to
// read. Over plain HTTP a browser ignores it (RFC 6797 §8.1); a proxy
// that ends TLS in front of us is the one to send it there.
func safetyHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["X-Frame-Options"] = frameDeny
		h["Content-Security-Policy"] = noFrameAncestors
		h["X-Content-Type-Options"] = noSniff
		if r.TLS != nil {
			h["Strict-Transport-Security"] = httpsForAYear
		}
		if _, ok := r.Header["Authorization"]; ok {
			noStore(w)
		}
		next.ServeHTTP(w, r)
	})
}

// noStore asks every cache on the way to keep no copy of the response.
func noStore(w http.ResponseWriter) { w.Header()["Cache-Control"] = cacheNoStore }

// closeOnUnsureFraming closes the connection after a request whose body a
// proxy in front of us may have framed otherwise than we did: one sent
// with both Content-Length and Transfer-Encoding, or an HTTP/1.0 request
// with Transfer-Encoding (RFC 9112 §6.1 says to close after either). Were
// the connection kept, the bytes the two disagree on could be read as a
// second request the proxy never saw: request smuggling.
//
// net/http hides both from a handler: it drops Content-Length when the body
// is chunked, and drops Transfer-Encoding from an HTTP/1.0 request, framing
// its body by Content-Length or as empty. So this closes after every
// chunked request and every HTTP/1.0 request: rare from API clients, and
// neither costs more than a new connection. (Any other Transfer-Encoding
// net/http refuses with its own 501, and closes.)
func closeOnUnsureFraming(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 1 && (r.ProtoMinor == 0 || r.TransferEncoding != nil) {
			w.Header()["Connection"] = connectionClose
		}
		next.ServeHTTP(w, r)
	})
}

// The values of the headers above, shared rather than allocated per
// response, as writeJSON's are: net/http only reads them.
var (
	frameDeny        = []string{"DENY"}
	noFrameAncestors = []string{"frame-ancestors 'none'"}
	noSniff          = []string{"nosniff"}
	httpsForAYear    = []string{"max-age=31536000"}
	cacheNoStore     = []string{"no-store"}
	connectionClose  = []string{"close"}
)

// requestLog is what the log line of a request learns while it is served:
// the status sent (it wraps the ResponseWriter to see it) and the
// authenticated user. One allocation per request serves both.
type requestLog struct {
	http.ResponseWriter
	status int
	userID int64
}

// setLogUser records the authenticated user for the request's log line,
// through the ResponseWriter that logRequests handed down: a context value
// would cost every request a copy of itself.
func setLogUser(w http.ResponseWriter, userID int64) {
	if l, ok := w.(*requestLog); ok {
		l.userID = userID
	}
}

// logRequests writes one line per request, and counts it in s.metrics. It
// never logs headers or the query string: the Authorization header holds a
// password or a token. The remote address is the client's (clientaddr.go);
// when a trusted proxy forwarded the request, the proxy is the peer.
func (s *server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		l := &requestLog{ResponseWriter: w}
		next.ServeHTTP(l, r)
		status, took := l.statusOrOK(), time.Since(start)
		// The mux set r.Pattern on this very request when it routed it.
		s.metrics.observe(r.Pattern, status, took)
		remote, peer := clientAddr(r), peerAddr(r)
		attrs := [7]slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", status),
			slog.Duration("duration", took),
			slog.String("remote", remote),
		}
		n := 5
		if peer != remote {
			attrs[n] = slog.String("peer", peer) // the proxy that forwarded it
			n++
		}
		if l.userID != 0 {
			attrs[n] = slog.Int64("user_id", l.userID)
			n++
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs[:n]...)
	})
}

func (l *requestLog) WriteHeader(status int) {
	if l.status == 0 {
		l.status = status
	}
	l.ResponseWriter.WriteHeader(status)
}

func (l *requestLog) Write(b []byte) (int, error) {
	if l.status == 0 {
		l.status = http.StatusOK
	}
	return l.ResponseWriter.Write(b)
}

func (l *requestLog) statusOrOK() int {
	if l.status == 0 {
		return http.StatusOK
	}
	return l.status
}

// Unwrap lets http.ResponseController reach the real writer.
func (l *requestLog) Unwrap() http.ResponseWriter { return l.ResponseWriter }
