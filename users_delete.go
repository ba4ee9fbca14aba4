package main

import "net/http"

// handleDeleteUser deletes the caller's own account and everything of
// theirs: posts, sessions (this one too), failure records. It needs the
// current password, so that a stolen token cannot end the account.
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
	if !s.confirmPassword(w, r, me.userID, *req.CurrentPassword) {
		return
	}
	if err := s.store.deleteUser(r.Context(), id); err != nil {
		s.handleError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
