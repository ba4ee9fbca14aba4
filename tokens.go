package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
)

// maxTokensPerUser bounds the stored tokens of one user, live or expired
// but not yet swept; a new token beyond it retires the oldest.
const maxTokensPerUser = 100

// newToken returns 256 random bits as a token that says what it is:
// "tapi_", the bits in base62 and a checksum (tokenformat.go).
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return formatToken(b)
}

// tokenHash is the SHA-256 of a token, the only form in which a token is
// kept: stored in hex, cached as bytes. A copy of the database therefore
// holds nothing a client could present.
type tokenHash [sha256.Size]byte

// hashToken is the form in which a token is stored and looked up. SHA-256
// without a salt is enough here: a token is 256 random bits, not a password
// that could be guessed from a list.
func hashToken(token string) tokenHash { return sha256.Sum256([]byte(token)) }

func (h tokenHash) String() string { return hex.EncodeToString(h[:]) }

type tokenResponse struct {
	Token     string  `json:"token"`
	ExpiresAt string  `json:"expires_at"`
	ID        int64   `json:"id"` // the session's, never the token
	Name      *string `json:"name"`
	Scope     string  `json:"scope"`
}

// tokenRequest is the optional body of POST /api/tokens.
type tokenRequest struct {
	Name  *string `json:"name"`
	Scope *string `json:"scope"`
}

func (req tokenRequest) problem() string {
	if req.Name != nil {
		if msg := checkText("name", *req.Name, 1, maxSessionNameLen, false); msg != "" {
			return msg
		}
	}
	if req.Scope != nil && *req.Scope != scopeRead && *req.Scope != scopeWrite {
		return `field scope must be "read" or "write"`
	}
	return ""
}

// handleCreateToken issues a new token to a caller who gave a right
// username and password (requireBasic checked them). Unlike the tutorial,
// which reuses one token column per user, every login gets its own token,
// a session of its own, so one device logging out does not log out the
// others. Only the token's hash is stored; the token itself is in this
// response and nowhere else.
func (s *server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if r.ContentLength != 0 && !readJSON(w, r, &req) { // the body is optional
		return
	}
	if msg := req.problem(); msg != "" {
		badRequest(w, msg)
		return
	}
	me := callerFrom(r.Context())
	if s.refuseUnverified(w, r, me.userID) { // -require-verified-email
		return
	}
	token := newToken()
	now := s.now()
	ses := session{UserID: me.userID, Scope: scopeWrite, UserAgent: cutRunes(r.UserAgent(), maxUserAgentLen),
		CreatedAt: now, ExpiresAt: now.Add(s.tokenTTL), MaxExpiresAt: now.Add(s.tokenMaxAge)}
	if req.Name != nil {
		ses.Name = *req.Name
	}
	if req.Scope != nil {
		ses.Scope = *req.Scope
	}
	id, err := s.store.insertSession(r.Context(), hashToken(token), me.passwordHash, ses)
	if errors.Is(err, errNotFound) {
		basicChallenge(w, "the password changed while it was being checked")
		return
	}
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	if _, err := s.store.retireOldSessions(r.Context(), me.userID, maxTokensPerUser); err != nil {
		s.handleError(w, r, err)
		return
	}
	login := s.eventOf(r, me.userID, eventLoginSucceeded, "")
	login.SessionID = id
	if err := s.store.addEvent(r.Context(), login); err != nil {
		s.handleError(w, r, err)
		return
	}
	if err := s.noteDevice(r, me.userID, id, now); err != nil { // a new one is told of (newdevice.go)
		s.handleError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{Token: token, ExpiresAt: formatTime(ses.ExpiresAt),
		ID: id, Name: optional(ses.Name), Scope: ses.Scope})
}

// handleRevokeToken ends the session the request came with, or with
// ?others=true every other session of the caller, or with ?all=true every
// one. A read session may end itself, and only itself.
func (s *server) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	me := callerFrom(r.Context())
	var err error
	endedBy := endedBySelf
	switch query := r.URL.RawQuery; {
	case query == "":
		err = s.store.deleteSessionByHash(r.Context(), me.tokenHash)
	case query == "others=true" || query == "all=true":
		if me.scope != scopeWrite {
			insufficientScope(w)
			return
		}
		if query == "others=true" {
			endedBy = endedByOthers
			err = s.store.deleteOtherSessions(r.Context(), me.userID, me.tokenHash)
		} else {
			endedBy = endedByAll
			_, err = s.store.deleteSessionsOf(r.Context(), me.userID)
		}
	default:
		badRequest(w, "the query may be others=true or all=true, or nothing")
		return
	}
	if err == nil {
		err = s.recordEvent(r, me.userID, eventSessionEnded, endedBy)
	}
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
