package main

import (
	"net/http"
	"time"
)

// handleDeleteUser deletes the caller's own account and everything of
// theirs: posts, sessions (this one too), failure records; a verified
// address gets a mail that says so. It needs the current password, so
// that a stolen token cannot end the account, and for a user with TOTP on
// a code in X-OTP too, so that a stolen password cannot either.
func (s *server) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	me := callerFrom(r.Context())
	if id != me.userID {
		forbidden(w, "you may delete only your own account")
		return
	}
	var req struct {
		CurrentPassword *string `json:"current_password"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if msg := currentPasswordProblem(req.CurrentPassword, "delete the account"); msg != "" {
		badRequest(w, msg)
		return
	}
	if !s.confirmPasswordAndCode(w, r, me.userID, *req.CurrentPassword, s.accountCode(r, me.userID)) {
		return
	}
	u, err := s.store.userByID(r.Context(), id)
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	farewell := farewellMail(s.mail, u, s.now())
	if err := s.store.deleteUser(r.Context(), id, farewell); err != nil {
		s.handleError(w, r, err)
		return
	}
	if farewell != nil {
		s.notifyMailQueued()
	}
	w.WriteHeader(http.StatusNoContent)
}

// farewellMail is the mail that confirms u's account was deleted, queued
// with the delete (sqlStore.deleteUser), or nil: with no mail configured,
// or an address nobody proved is u's (verifyemail.go).
func farewellMail(cfg *mailConfig, u user, at time.Time) *queuedMail {
	if cfg == nil || !u.EmailVerified {
		return nil
	}
	m := cfg.mailTo(u, "Your account was deleted", farewellMailBody(u.Username), at)
	return &m
}
