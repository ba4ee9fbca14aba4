package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/mail"
	"time"
)

// Password reset by mail, for a user who forgot the password: a request
// names an address and, if it is an account's, queues a mail (outbox.go)
// with a reset token; the token and a new password set the password and
// end every session. The token is 256 random bits in the tapi_ format
// with a prefix of its own, tapr_ (tokenformat.go); only its SHA-256 is
// stored, it lives resetTokenTTL, works once, and a newer one replaces it.

const (
	resetTokenTTL = 30 * time.Minute

	// The limits: a reset mail at most once a minute for one address
	// asked about (whether or not it is an account's, so that a 429 says
	// nothing about which are), ten requests an hour from one client
	// address (IPv6 by its /64, as the login throttle counts), and ten
	// confirmations with a wrong token an hour from one client address.
	resetEmailWindow  = time.Minute
	resetClientLimit  = 10
	resetClientWindow = time.Hour
	resetConfirmLimit = 10

	// mailRequestTTL is how long a counted request is kept: the longest window.
	mailRequestTTL = resetClientWindow
)

// resetAccepted is the one answer to every accepted reset request, with
// an account behind the address or not.
var resetAccepted = map[string]string{
	"message": "if an account has this email, a reset code is on its way to it; it is good for 30 minutes",
}

// errBadResetToken is the one message for a token that is unknown, used,
// expired or replaced: which of these it is helps nobody but a guesser.
const errBadResetToken = "field token is not a live reset token: it is unknown, used, expired or replaced by a newer one"

// mailNotConfigured answers a mail route on a server without -smtp-url,
// saying why the route cannot work: "so " why.
func (s *server) mailNotConfigured(w http.ResponseWriter, why string) bool {
	if s.mail != nil {
		return false
	}
	writeError(w, http.StatusNotImplemented, "mail is not configured on this server (-smtp-url), so "+why)
	return true
}

// noResetMail is why a reset cannot be done without mail.
const noResetMail = "it cannot send a reset code; an operator can set a password with tokenapi passwd"

// handleRequestPasswordReset answers 202 with the same body whether or
// not the address is an account's, after the same work, but the mail:
// one lookup and one transaction either way.
func (s *server) handleRequestPasswordReset(w http.ResponseWriter, r *http.Request) {
	if s.mailNotConfigured(w, noResetMail) {
		return
	}
	var req struct {
		Email string `json:"email"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if msg := checkEmail(req.Email); msg != "" {
		badRequest(w, msg)
		return
	}
	now := s.now()
	emailLimit := mailLimit{key: "reset-email:" + hashedKey(emailKey(req.Email)), limit: 1, window: resetEmailWindow}
	clientLimit := mailLimit{key: "reset-client:" + throttleAddr(clientAddr(r)), limit: resetClientLimit, window: resetClientWindow}
	if !s.withinLimits(w, r, now, "password reset requests", clientLimit, emailLimit) {
		return
	}
	reset := passwordReset{keys: []string{emailLimit.key, clientLimit.key}, at: now}
	u, err := s.store.userByEmail(r.Context(), req.Email)
	switch {
	case err == nil:
		s.prepareReset(&reset, u)
	case !errors.Is(err, errNotFound):
		s.handleError(w, r, err)
		return
	}
	if err := s.store.recordPasswordReset(r.Context(), reset); err != nil {
		s.handleError(w, r, err)
		return
	}
	if reset.userID != 0 {
		s.notifyMailQueued()
	}
	writeJSON(w, http.StatusAccepted, resetAccepted)
}

// prepareReset adds to reset a new token for u and the mail that carries it.
func (s *server) prepareReset(reset *passwordReset, u user) {
	random := make([]byte, 32)
	rand.Read(random)
	token := formatTokenWith(resetTokenPrefix, random)
	reset.userID, reset.hash, reset.expiresAt = u.ID, hashToken(token), reset.at.Add(resetTokenTTL)
	to := mail.Address{Name: u.Username, Address: u.Email}
	body := resetMailBody(u.Username, token, s.mail.resetURLTemplate, resetTokenTTL)
	// A code that no longer works is not worth sending: the mail is given
	// up with it, well within outboxGiveUpAfter.
	giveUp := reset.at.Add(outboxGiveUpAfter)
	if reset.expiresAt.Before(giveUp) {
		giveUp = reset.expiresAt
	}
	reset.mail = queuedMail{recipient: u.Email, at: reset.at, giveUpAt: giveUp,
		message: composeMail(s.mail.from, to, "Your password reset code", body, reset.at)}
}

// hashedKey keeps an address asked about out of the database in clear:
// most are not an account's.
func hashedKey(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// handleConfirmPasswordReset sets a new password with a reset token and
// ends every session of its user.
func (s *server) handleConfirmPasswordReset(w http.ResponseWriter, r *http.Request) {
	if s.mailNotConfigured(w, noResetMail) {
		return
	}
	now := s.now()
	failures := mailLimit{key: "reset-confirm:" + throttleAddr(clientAddr(r)), limit: resetConfirmLimit, window: resetClientWindow}
	if !s.withinLimits(w, r, now, "wrong reset tokens", failures) {
		return
	}
	var req struct {
		Token    string `json:"token"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if msg := firstProblem(checkResetToken(req.Token), checkNewPassword(req.Password)); msg != "" {
		badRequest(w, msg)
		return
	}
	hash := hashToken(req.Token)
	userID, err := s.store.passwordResetUser(r.Context(), hash, now)
	if err == nil {
		if !s.resetCode(w, r, userID) {
			return
		}
		err = s.resetPassword(r, userID, hash, now, req.Password)
	}
	if errors.Is(err, errNotFound) {
		if err := s.store.countMailRequest(r.Context(), failures.key, now); err != nil {
			s.handleError(w, r, err)
			return
		}
		badRequest(w, errBadResetToken)
		return
	}
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// resetCode is a reset's second step for a user with TOTP on: a code in
// X-OTP, checked as the user's current_password is, so that a mailbox
// alone does not give the account away. It is asked for only once the
// token was right (whether TOTP is on leaks to nobody without the mail),
// and the token is spent only after it. A user with TOTP off needs none.
// On a refusal it answers the client itself and returns false.
func (s *server) resetCode(w http.ResponseWriter, r *http.Request, userID int64) bool {
	t, err := s.totpState(r.Context(), userID)
	if err != nil {
		s.handleError(w, r, err)
		return false
	}
	if !t.enabled() {
		return true
	}
	return s.confirmStep(w, r, userID, func(context.Context) (verdict, error) {
		return s.codeStep(r, userID, t, r.Header.Get(otpHeader))
	})
}

// checkResetToken refuses a token that cannot be a reset token, without
// a lookup.
func checkResetToken(token string) string {
	switch {
	case token == "":
		return "field token is required"
	case !wellFormedTokenWith(resetTokenPrefix, token):
		return errBadResetToken
	}
	return ""
}

// resetPassword spends the token (errNotFound if another request spent it
// first), then sets the password, ends every session of the user and
// writes password.reset into the user's security log, in
// the order handleUpdateUser keeps: a login checked against the old
// password that lands after the sessions end stores no token.
func (s *server) resetPassword(r *http.Request, userID int64, hash tokenHash, now time.Time, password string) error {
	passwordHash, err := s.passwords.hash(r.Context(), clientAddr(r), password)
	if err != nil {
		return err
	}
	if err := s.store.usePasswordReset(r.Context(), hash, now); err != nil {
		return err
	}
	if err := s.store.updateUser(r.Context(), userID, userChanges{PasswordHash: &passwordHash}); err != nil {
		return err
	}
	if _, err := s.store.deleteSessionsOf(r.Context(), userID); err != nil {
		return err
	}
	return s.recordEvent(r, userID, eventPasswordReset, "")
}

// mailLimit is at most limit requests counted under key in window.
type mailLimit struct {
	key    string
	limit  int
	window time.Duration
}

// withinLimits answers 429 with Retry-After, and returns false, when a
// limit is reached.
func (s *server) withinLimits(w http.ResponseWriter, r *http.Request, now time.Time, what string, limits ...mailLimit) bool {
	wait, err := s.limitWait(r.Context(), now, limits...)
	if err != nil {
		s.handleError(w, r, err)
		return false
	}
	if wait > 0 {
		tooManyRequestsOf(w, wait, what)
		return false
	}
	return true
}

// limitWait returns how long until every one of limits lets one more
// request through at now: 0 when they all do.
func (s *server) limitWait(ctx context.Context, now time.Time, limits ...mailLimit) (time.Duration, error) {
	for _, l := range limits {
		n, oldest, err := s.store.mailRequests(ctx, l.key, now.Add(-l.window))
		if err != nil {
			return 0, err
		}
		if n >= l.limit {
			return oldest.Add(l.window).Sub(now), nil
		}
	}
	return 0, nil
}
