package rqlite

// What the driver says when a request fails: ErrUnavailable when the
// caller may come back shortly, and a node's own text, cut and quoted.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ErrUnavailable says "come back shortly": the cluster had no leader
// within the request's deadline, or a write's outcome is unknown (the node
// went away after it was sent, or Raft failed after taking it), so it may
// or may not have been applied. Errors wrap it; test with errors.Is. A
// server may answer it with 503 and Retry-After; a client that retries a
// write it was told may have been applied decides for itself whether a
// twin is harmless.
var ErrUnavailable = errors.New("the database is unavailable for a moment")

// maxErrorText is how much of a node's error text goes into an error,
// and so into a log: whatever answers on a node's address may send
// megabytes.
const maxErrorText = 256

// notApplied reports whether rqlite's error text says that the node
// refused the request before applying any of it.
func notApplied(msg string) bool {
	for _, s := range []string{"leader not found", "not leader", "store not ready", "store not open", "stale read"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// sqlErrorText is the text of a statement's SQL error: SQLite's own, as
// go-sqlite3 gives it (callers match on it), cut to maxErrorText bytes.
func sqlErrorText(s string) string {
	text, more := cutText(s)
	if more > 0 {
		return fmt.Sprintf("%s... (%d bytes more)", text, more)
	}
	return text
}

// quoteText is a node's own text as an error shows it: cut, and quoted
// so that it cannot pass for a line of our own in a log.
func quoteText(s string) string {
	text, more := cutText(s)
	if more > 0 {
		return fmt.Sprintf("%q (%d bytes more)", text, more)
	}
	return strconv.Quote(text)
}

// cutText is s trimmed and cut to maxErrorText bytes, at the start of a
// character, and the number of bytes left off.
func cutText(s string) (string, int) {
	s = strings.TrimSpace(s)
	if len(s) <= maxErrorText {
		return s, 0
	}
	cut := maxErrorText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut], len(s) - cut
}
