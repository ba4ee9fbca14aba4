package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
)

// errorResponse is the shape of every error this API returns, as in the
// tutorial: {"error": "Not Found"}, plus a message when there is something
// useful to say.
type errorResponse struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
}

// writeError is the one writer of error responses: every non-2xx answer of
// ours goes through it, so the error shape can change in one place.
func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, errorResponse{Error: http.StatusText(status), Message: message})
}

func badRequest(w http.ResponseWriter, message string) {
	writeError(w, http.StatusBadRequest, message)
}

func forbidden(w http.ResponseWriter, message string) {
	writeError(w, http.StatusForbidden, message)
}

func notFound(w http.ResponseWriter) {
	writeError(w, http.StatusNotFound, "")
}

// basicChallenge answers 401 on the endpoint that takes a username and
// password, with the header the tutorial's clients expect.
func basicChallenge(w http.ResponseWriter, message string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="Authentication Required"`)
	writeError(w, http.StatusUnauthorized, message)
}

// bearerChallenge answers 401 on the endpoints that take a token. When a
// token was sent but is unknown, expired or revoked, it says so in the
// header as RFC 6750 §3 asks, so a client knows to get a new one.
func bearerChallenge(w http.ResponseWriter, invalidToken bool, message string) {
	challenge := `Bearer realm="Authentication Required"`
	if invalidToken {
		challenge += `, error="invalid_token"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeError(w, http.StatusUnauthorized, message)
}

// insufficientScope answers 403 to a read session that tried to write,
// with the challenge RFC 6750 §3.1 gives for it.
func insufficientScope(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="Authentication Required", error="insufficient_scope", scope="write"`)
	writeError(w, http.StatusForbidden, "this token may only read; log in for a write token")
}

// tooManyRequests tells a throttled client when to come back, in whole
// seconds rounded up.
func tooManyRequests(w http.ResponseWriter, wait time.Duration) {
	tooManyRequestsOf(w, wait, "failed logins")
}

// tooManyRequestsOf is tooManyRequests for what, which was too many.
func tooManyRequestsOf(w http.ResponseWriter, wait time.Duration, what string) {
	seconds := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(seconds))
	writeError(w, http.StatusTooManyRequests,
		fmt.Sprintf("too many %s; try again in %d seconds", what, seconds))
}

// handleError answers an error that came from below a handler (the store,
// the password hasher, the throttle). The store's sentinels are the
// client's: 404, or 400 for a name or email taken. Three more are nobody's
// fault: every password slot busy (503, come back soon), a client that
// went away mid-request (nobody reads the answer; nothing to log), and a
// database cluster between leaders (503, come back soon). Anything else is
// ours: a 500 that logs the cause and tells the client nothing of it.
func (s *server) handleError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errNotFound):
		notFound(w)
	case errors.Is(err, errDuplicateUsername), errors.Is(err, errDuplicateEmail):
		badRequest(w, err.Error())
	case errors.Is(err, errPasswordBusy):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "the server is busy hashing passwords; try again shortly")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		writeError(w, http.StatusServiceUnavailable, "")
	case errors.Is(err, errStoreUnavailable):
		// A cluster between leaders, or a write whose answer was lost:
		// logged, as the operator may want to know how often.
		s.log.LogAttrs(r.Context(), slog.LevelWarn, "database unavailable",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("error", err))
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "the database is unavailable for a moment; try again shortly (a write may or may not have been applied)")
	default:
		s.log.LogAttrs(r.Context(), slog.LevelError, "internal error",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Any("error", err))
		writeError(w, http.StatusInternalServerError, "")
	}
}
