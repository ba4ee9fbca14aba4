package main

// The second step of a login. For a user with TOTP on, POST /api/tokens
// needs a right password and, in the X-OTP header, a code from the
// user's authenticator app or one of the user's recovery codes, as
// GitHub's API took a one-time code beside Basic credentials. The code is
// asked for only once the password was right, so a wrong password answers
// exactly as for a user without TOTP: whether TOTP is on leaks to nobody
// without the password. The code is checked under the same throttle as
// the password (throttle.go), and a wrong one counts as a wrong password.

import (
	"context"
	"errors"
	"net/http"
)

// otpHeader carries the code of the second step, in a login's request,
// and says "required" in the answer when one is needed.
const otpHeader = "X-OTP"

// loginCode is the second step of a login of userID whose password was
// right: verdictRight when the user has TOTP off or code is good (and now
// used up), verdictIncomplete when no code came, verdictWrong otherwise.
func (s *server) loginCode(r *http.Request, userID int64, code string) (verdict, error) {
	t, err := s.totpState(r.Context(), userID)
	if err != nil {
		return verdictWrong, err
	}
	return s.codeStep(r, userID, t, code)
}

// codeStep is loginCode for a user whose TOTP row, t, is read already.
func (s *server) codeStep(r *http.Request, userID int64, t totpRecord, code string) (verdict, error) {
	switch {
	case !t.enabled():
		return verdictRight, nil
	case code == "":
		return verdictIncomplete, nil
	}
	return codeVerdict(s.useCode(r, userID, t, code))
}

// useCode reports whether code is good for a user with TOTP on, t: a TOTP
// code of a time step later than any used before, or a recovery code not
// used yet. Either is used up by this check, so the same code cannot pass
// twice, even in two requests at once. A recovery code's use goes into the
// user's security log, as r shows it.
func (s *server) useCode(r *http.Request, userID int64, t totpRecord, code string) (bool, error) {
	ctx := r.Context()
	if len(code) > maxOTPLen {
		return false, nil
	}
	if isTOTPCode(code) {
		secret, err := s.secrets.open(t.Secret, totpPurpose(userID))
		if err != nil {
			return false, err // the key was checked at start-up: this is ours
		}
		step, ok := matchTOTP(secret, code, s.now())
		if !ok {
			return false, nil
		}
		return storeVerdict(s.store.useTOTPStep(ctx, userID, step))
	}
	normal := normalRecoveryCode(code)
	if normal == "" {
		return false, nil
	}
	ok, err := storeVerdict(s.store.useRecoveryCode(ctx, userID, hashRecoveryCode(normal)))
	if ok {
		err = s.recordEvent(r, userID, eventRecoveryCodeUsed, "")
	}
	return ok && err == nil, err
}

// storeVerdict reads a store's use of a code: errNotFound is a code used
// before (or never issued), not a failure of ours.
func storeVerdict(err error) (bool, error) {
	if errors.Is(err, errNotFound) {
		return false, nil
	}
	return err == nil, err
}

// accountCode is the second step of a request that a TOTP user's password
// alone must not be enough for (deleting the account): the code in the
// X-OTP header, checked as a login's is (loginCode). A user with TOTP off
// needs none.
func (s *server) accountCode(r *http.Request, userID int64) func(context.Context) (verdict, error) {
	return func(context.Context) (verdict, error) {
		return s.loginCode(r, userID, r.Header.Get(otpHeader))
	}
}

// otpRequiredMessage answers a request of a user with TOTP on that came
// without a code.
const otpRequiredMessage = "this account has two-step login on: send the code from your authenticator app, or a recovery code, in the X-OTP header"

// otpChallenge answers 401 to a login whose password was right and whose
// second step was not: the Basic challenge, and X-OTP: required, so that
// a client knows to ask its user for a code.
func otpChallenge(w http.ResponseWriter, v verdict) {
	w.Header().Set(otpHeader, "required")
	message := otpRequiredMessage
	if v == verdictWrong {
		message = "the code in the X-OTP header is wrong, expired or used already"
	}
	basicChallenge(w, message)
}

// confirmCode checks the code of a request to change the caller's TOTP
// (turn it off, replace the recovery codes) under the throttle, charged to
// the same count as the caller's current_password: a stolen token must
// not buy unlimited guesses at codes either. On a wrong code it answers
// the client itself and returns false.
func (s *server) confirmCode(w http.ResponseWriter, r *http.Request, userID int64, verify func(context.Context) (bool, error)) bool {
	return s.confirmStep(w, r, userID, func(ctx context.Context) (verdict, error) {
		return codeVerdict(verify(ctx))
	})
}

// confirmStep is confirmCode for a step that may find no code at all
// (accountCode), which it answers as refuseCode does.
func (s *server) confirmStep(w http.ResponseWriter, r *http.Request, userID int64, step func(context.Context) (verdict, error)) bool {
	check := passwordCheck{keys: s.throttle.currentPasswordKeys(userID), counts: &s.metrics.currentPassword}
	var v verdict
	passed, answered := s.throttled(w, r, check, func(ctx context.Context) (verdict, error) {
		var err error
		v, err = step(ctx)
		return v, err
	})
	if !passed && !answered {
		refuseCode(w, v)
	}
	return passed
}

// refuseCode answers a request whose code was refused: with X-OTP:
// required when none came, as a login is asked for one.
func refuseCode(w http.ResponseWriter, v verdict) {
	if v == verdictIncomplete {
		w.Header().Set(otpHeader, "required")
		badRequest(w, otpRequiredMessage)
		return
	}
	badRequest(w, codeWrongMessage)
}

const codeWrongMessage = "field code is wrong, expired or used already"

// codeVerdict is the verdict of a code's check that reported ok.
func codeVerdict(ok bool, err error) (verdict, error) {
	if err != nil || !ok {
		return verdictWrong, err
	}
	return verdictRight, nil
}
