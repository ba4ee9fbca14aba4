package main

import (
	"errors"
	"net/http"
	"time"
	"unicode/utf8"
)

// Sessions: every token is a session on some client, which its user can
// list (GET /api/tokens) and end (DELETE /api/tokens/{id}, or all but the
// current one, or all, with DELETE /api/tokens). A session is read or
// write; requireWrite refuses a read session everything but reading.

const (
	maxSessionNameLen = 64
	maxUserAgentLen   = 200
)

type sessionResponse struct {
	ID         int64   `json:"id"`
	Name       *string `json:"name"`
	Scope      string  `json:"scope"`
	CreatedAt  string  `json:"created_at"`
	LastUsedAt *string `json:"last_used_at"`
	ExpiresAt  string  `json:"expires_at"`
	UserAgent  *string `json:"user_agent"`
	Current    *bool   `json:"current,omitempty"` // always set by the API
}

func sessionView(s session, current bool) sessionResponse {
	v := sessionResponse{ID: s.ID, Name: optional(s.Name), Scope: s.Scope, CreatedAt: formatTime(s.CreatedAt),
		ExpiresAt: formatTime(s.ExpiresAt), UserAgent: optional(s.UserAgent), Current: &current}
	if !s.LastUsedAt.IsZero() {
		used := formatTime(s.LastUsedAt)
		v.LastUsedAt = &used
	}
	return v
}

// liveSessions returns the caller's sessions that are live at now, newest
// first.
func (s *server) liveSessions(r *http.Request, userID int64) ([]session, error) {
	all, err := s.store.sessionsOf(r.Context(), userID)
	if err != nil {
		return nil, err
	}
	return liveOnly(all, s.now()), nil
}

// liveOnly keeps the sessions that have not expired at now, in order.
func liveOnly(sessions []session, now time.Time) []session {
	live := sessions[:0]
	for _, ses := range sessions {
		if ses.ExpiresAt.After(now) {
			live = append(live, ses)
		}
	}
	return live
}

// handleListSessions lists the caller's live sessions, newest first.
func (s *server) handleListSessions(w http.ResponseWriter, r *http.Request) {
	me := callerFrom(r.Context())
	sessions, err := s.liveSessions(r, me.userID)
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	items := make([]sessionResponse, len(sessions))
	for i, ses := range sessions {
		items[i] = sessionView(ses, ses.ID == me.sessionID)
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": items})
}

// handleRevokeSession ends one of the caller's live sessions, the current
// one included. An id that is unknown, expired or another user's is 404
// alike: the answer does not tell them apart.
func (s *server) handleRevokeSession(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	me := callerFrom(r.Context())
	sessions, err := s.liveSessions(r, me.userID)
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	if !hasSession(sessions, id) {
		notFound(w)
		return
	}
	// Not found now is ended meanwhile, by another request that logged it.
	err = s.store.deleteSession(r.Context(), me.userID, id)
	if err == nil {
		ended := s.eventOf(r, me.userID, eventSessionEnded, endedBySelf)
		ended.SessionID = id // the session ended, not the one that ended it
		err = s.store.addEvent(r.Context(), ended)
	}
	if err != nil && !errors.Is(err, errNotFound) {
		s.handleError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func hasSession(sessions []session, id int64) bool {
	for _, ses := range sessions {
		if ses.ID == id {
			return true
		}
	}
	return false
}

// requireWrite lets through only a caller whose session may write; a read
// session gets 403 with the challenge of RFC 6750 §3.1.
func requireWrite(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if callerFrom(r.Context()).scope != scopeWrite {
			insufficientScope(w)
			return
		}
		next(w, r)
	}
}

// cutRunes cuts s to at most n characters, never inside one, with any
// character isUnsafeRune refuses, or invalid byte, made '?': a User-Agent
// is the client's text, shown to its user by GET /api/tokens and in a
// terminal by tokenapi sessions, but not a field the client chose to
// send, so it is mended rather than refused.
func cutRunes(s string, n int) string {
	out := make([]rune, 0, min(n, len(s)))
	for _, r := range s {
		if len(out) == n {
			break
		}
		if r == utf8.RuneError || isUnsafeRune(r) {
			r = '?'
		}
		out = append(out, r)
	}
	return string(out)
}
