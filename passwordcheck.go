package main

// The one way a secret is checked, a password or a one-time code: under
// the throttle (throttle.go), charged to its keys when wrong, clearing
// what a right one proves wrong, and counted.

import (
	"context"
	"net/http"
)

// passwordCheck is a password check under the throttle: the keys it is
// charged to, and where its outcome is counted.
type passwordCheck struct {
	keys   []failureKey
	counts *checkCounts
	// remember, when set, runs after a check that passed: a login
	// remembers the address it came from.
	remember func(ctx context.Context) error
	// secondStep, when set, runs after a right password, still under the
	// throttle: the login of a user with TOTP on needs a code too
	// (totplogin.go). A wrong code counts as a wrong password.
	secondStep func(ctx context.Context) (verdict, error)
	// wrong and locked, when set, run after a wrong password and before a
	// 429: a login writes them into the account's security log.
	wrong, locked func(ctx context.Context) error
}

// verdict is the outcome of a check under the throttle.
type verdict int

const (
	verdictRight verdict = iota
	verdictWrong
	// verdictIncomplete is a right password whose second step was not
	// tried (no code came): it counts neither way.
	verdictIncomplete
)

// checkPassword checks password against hash, the one way a password is
// checked: under the throttle (see throttled), then check's second step
// if it has one. matched reports whether both passed.
func (s *server) checkPassword(w http.ResponseWriter, r *http.Request, check passwordCheck, hash, password string) (matched, answered bool) {
	return s.throttled(w, r, check, func(ctx context.Context) (verdict, error) {
		matched, err := s.passwords.matches(ctx, hash, password)
		switch {
		case err != nil || !matched:
			return verdictWrong, err
		case check.secondStep != nil:
			return check.secondStep(ctx)
		}
		return verdictRight, nil
	})
}

// throttled runs verify, a check of a secret (a password, a one-time
// code), under the throttle: charged to check's keys when wrong and
// clearing what a right one proves wrong, and counted. passed reports the
// outcome. When the check cannot run (a key is locked out: 429; the
// hashes are busy or the database fails) it answers the client itself and
// returns answered.
func (s *server) throttled(w http.ResponseWriter, r *http.Request, check passwordCheck, verify func(context.Context) (verdict, error)) (passed, answered bool) {
	wait, err := s.throttle.enter(r.Context(), check.keys)
	switch {
	case err != nil:
		s.handleError(w, r, err)
		return false, true
	case wait > 0:
		check.counts.throttled.Add(1)
		if check.locked != nil {
			if err := check.locked(r.Context()); err != nil {
				s.handleError(w, r, err)
				return false, true
			}
		}
		tooManyRequests(w, wait)
		return false, true
	}
	v, err := verify(r.Context())
	switch {
	case err != nil, v == verdictIncomplete:
		s.throttle.abandoned(check.keys)
	case v == verdictRight:
		err = s.throttle.succeeded(r.Context(), check.keys)
		if err == nil && check.remember != nil {
			err = check.remember(r.Context())
		}
		check.counts.ok.Add(1)
	default:
		err = s.throttle.failed(r.Context(), check.keys)
		if err == nil && check.wrong != nil {
			err = check.wrong(r.Context())
		}
		check.counts.failed.Add(1)
	}
	if err != nil {
		s.handleError(w, r, err)
		return false, true
	}
	return v == verdictRight, false
}
