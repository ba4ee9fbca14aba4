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
	Token     string `json:"token"`
	ExpiresAt string `json:"expires_at"`
}

// handleCreateToken issues a new token to a caller who gave a right
// username and password (requireBasic checked them). Unlike the tutorial,
// which reuses one token column per user, every login gets its own token,
// so one device logging out does not log out the others. Only the token's
// hash is stored; the token itself is in this response and nowhere else.
func (s *server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	me := callerFrom(r.Context())
	token := newToken()
	now := s.now()
	expires := now.Add(s.tokenTTL)
	err := s.store.insertToken(r.Context(), hashToken(token), me.userID, me.passwordHash, now, expires)
	if errors.Is(err, errNotFound) {
		basicChallenge(w, "the password changed while it was being checked")
		return
	}
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	if _, err := s.store.retireOldTokens(r.Context(), me.userID, maxTokensPerUser); err != nil {
		s.handleError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, tokenResponse{Token: token, ExpiresAt: formatTime(expires)})
}

// handleRevokeToken kills the token the request came with. The caller's
// other tokens live on.
func (s *server) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	if err := s.store.deleteToken(r.Context(), callerFrom(r.Context()).tokenHash); err != nil {
		s.handleError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
