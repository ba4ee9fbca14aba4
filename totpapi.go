package main

// The routes that turn a user's TOTP on and off (totp.go has the codes,
// totplogin.go the login's second step). Each is the user's own: another
// user's path answers 404, as another user's session does. Turning TOTP
// on takes two requests, so that a user whose app never got the secret is
// not locked out by it: enrol (the current password buys a secret, kept
// pending), then confirm with a code from the app.

import (
	"context"
	"errors"
	"net/http"
	"unicode/utf8"
)

// ownAccount reads the {id} of a path under the caller's own account,
// answering 404 when it names anyone else's.
func ownAccount(w http.ResponseWriter, r *http.Request) (*caller, bool) {
	id, ok := pathID(w, r)
	if !ok {
		return nil, false
	}
	me := callerFrom(r.Context())
	if id != me.userID {
		notFound(w)
		return nil, false
	}
	return me, true
}

// totpRequest is the body of the TOTP routes; each takes the fields it
// needs. Nil is "not sent".
type totpRequest struct {
	CurrentPassword *string `json:"current_password"`
	Code            *string `json:"code"`
}

// problem checks that the fields named are there. A current_password too
// long to be anyone's is wrong without costing a hash; a code too long to
// be one is wrong without costing a look.
func (req totpRequest) problem(wantPassword, wantCode bool) string {
	switch {
	case wantPassword && req.CurrentPassword == nil:
		return "field current_password is required"
	case wantPassword && len(*req.CurrentPassword) > maxPasswordLen*utf8.UTFMax:
		return "field current_password is wrong"
	case wantCode && (req.Code == nil || *req.Code == ""):
		return "field code is required: a code from your authenticator app, or a recovery code"
	case wantCode && len(*req.Code) > maxOTPLen:
		return codeWrongMessage
	}
	return ""
}

// readTOTPRequest reads and checks the body; on a bad one it answers the
// client itself and returns false.
func readTOTPRequest(w http.ResponseWriter, r *http.Request, wantPassword, wantCode bool) (totpRequest, bool) {
	var req totpRequest
	if !readJSON(w, r, &req) {
		return req, false
	}
	if msg := req.problem(wantPassword, wantCode); msg != "" {
		badRequest(w, msg)
		return req, false
	}
	return req, true
}

// totpState returns the caller's TOTP row, a zero one when the caller
// never enrolled.
func (s *server) totpState(ctx context.Context, userID int64) (totpRecord, error) {
	t, err := s.store.totpOf(ctx, userID)
	if errors.Is(err, errNotFound) {
		return totpRecord{}, nil
	}
	return t, err
}

func totpConflict(w http.ResponseWriter, message string) {
	writeError(w, http.StatusConflict, message)
}

const (
	totpOnMessage  = "TOTP is on already; turn it off first (DELETE this path, with current_password and code)"
	totpOffMessage = "TOTP is off for this account"
)

// handleEnrolTOTP makes a new secret for the caller, kept pending until a
// code confirms it; an enrolment not confirmed yet is replaced. The
// secret is in this answer and, sealed, in the database (secrets.go).
func (s *server) handleEnrolTOTP(w http.ResponseWriter, r *http.Request) {
	me, ok := ownAccount(w, r)
	if !ok {
		return
	}
	req, ok := readTOTPRequest(w, r, true, false)
	if !ok {
		return
	}
	t, err := s.totpState(r.Context(), me.userID)
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	if t.enabled() {
		totpConflict(w, totpOnMessage)
		return
	}
	if !s.confirmPassword(w, r, me.userID, *req.CurrentPassword) {
		return
	}
	u, err := s.store.userByID(r.Context(), me.userID)
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	secret := newTOTPSecret()
	err = s.store.setPendingTOTP(r.Context(), me.userID, s.secrets.seal(secret, totpPurpose(me.userID)))
	if errors.Is(err, errTOTPEnabled) {
		totpConflict(w, totpOnMessage)
		return
	}
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, struct {
		Secret     string `json:"secret"`
		OtpauthURI string `json:"otpauth_uri"`
	}{totpBase32.EncodeToString(secret), totpURI(u.Username, secret)})
}

// recoveryCodesResponse shows new recovery codes, this once.
type recoveryCodesResponse struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

// handleConfirmTOTP turns TOTP on with the pending secret, given a code
// the app made from it, and answers with the recovery codes.
func (s *server) handleConfirmTOTP(w http.ResponseWriter, r *http.Request) {
	me, ok := ownAccount(w, r)
	if !ok {
		return
	}
	req, ok := readTOTPRequest(w, r, false, true)
	if !ok {
		return
	}
	t, err := s.totpState(r.Context(), me.userID)
	switch {
	case err != nil:
		s.handleError(w, r, err)
		return
	case t.enabled():
		totpConflict(w, totpOnMessage)
		return
	case t.PendingSecret == "":
		totpConflict(w, "there is no enrolment to confirm; POST /api/users/{id}/totp with current_password first")
		return
	}
	secret, err := s.secrets.open(t.PendingSecret, totpPurpose(me.userID))
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	var step int64
	if !s.confirmCode(w, r, me.userID, func(context.Context) (ok bool, err error) {
		step, ok = matchTOTP(secret, *req.Code, s.now())
		return ok, nil
	}) {
		return
	}
	codes, hashes := newRecoveryCodes()
	err = s.store.enableTOTP(r.Context(), me.userID, t.PendingSecret, step, hashes)
	if errors.Is(err, errNotFound) {
		totpConflict(w, "the enrolment changed while it was being confirmed; enrol again")
		return
	}
	if err == nil {
		err = s.recordEvent(r, me.userID, eventTOTPEnabled, "")
	}
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, recoveryCodesResponse{codes})
}

// enabledTOTP reads the caller's TOTP row and answers 409 itself when
// TOTP is off.
func (s *server) enabledTOTP(w http.ResponseWriter, r *http.Request, userID int64) (totpRecord, bool) {
	t, err := s.totpState(r.Context(), userID)
	if err != nil {
		s.handleError(w, r, err)
		return t, false
	}
	if !t.enabled() {
		totpConflict(w, totpOffMessage)
		return t, false
	}
	return t, true
}

// handleDisableTOTP turns the caller's TOTP off: it takes the current
// password and a code (or recovery code), so that neither a stolen token
// nor a stolen password alone can take the second step away.
func (s *server) handleDisableTOTP(w http.ResponseWriter, r *http.Request) {
	me, ok := ownAccount(w, r)
	if !ok {
		return
	}
	req, ok := readTOTPRequest(w, r, true, true)
	if !ok {
		return
	}
	t, ok := s.enabledTOTP(w, r, me.userID)
	if !ok || !s.confirmPasswordAndCode(w, r, me.userID, *req.CurrentPassword, func(context.Context) (verdict, error) {
		return codeVerdict(s.useCode(r, me.userID, t, *req.Code))
	}) {
		return
	}
	err := s.store.disableTOTP(r.Context(), me.userID)
	if err == nil {
		err = s.recordEvent(r, me.userID, eventTOTPDisabled, "")
	}
	// errNotFound: another request turned it off meanwhile, and logged it.
	if err != nil && !errors.Is(err, errNotFound) {
		s.handleError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// handleReplaceRecoveryCodes gives the caller new recovery codes, given a
// code (or one of the old recovery codes); the old ones stop working.
func (s *server) handleReplaceRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	me, ok := ownAccount(w, r)
	if !ok {
		return
	}
	req, ok := readTOTPRequest(w, r, false, true)
	if !ok {
		return
	}
	t, ok := s.enabledTOTP(w, r, me.userID)
	if !ok || !s.confirmCode(w, r, me.userID, func(context.Context) (bool, error) {
		return s.useCode(r, me.userID, t, *req.Code)
	}) {
		return
	}
	codes, hashes := newRecoveryCodes()
	err := s.store.replaceRecoveryCodes(r.Context(), me.userID, hashes)
	if err == nil {
		err = s.recordEvent(r, me.userID, eventRecoveryCodesReplaced, "")
	}
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	noStore(w)
	writeJSON(w, http.StatusOK, recoveryCodesResponse{codes})
}
