package main

import (
	"context"
	"crypto/rand"
	"errors"
	"net/http"
	"net/mail"
	"strconv"
	"time"
)

// Verified addresses: a new account's email, and every new email of an
// account, is unverified until a code mailed to it comes back through
// POST /api/email-verification/confirm. The code is the reset token's
// format with a prefix of its own, tapv_ (tokenformat.go): 256 random
// bits, only their SHA-256 stored, good once and for verifyTokenTTL, and a
// newer one replaces it. It is bound to the address it went to, so a code
// for an address the account has since left verifies nothing. Nothing
// depends on a verified address but what says so: the new-device alerts
// and the deletion mail go only to one (a mail to an address nobody proved
// is mail to a stranger), and -require-verified-email lets only such
// accounts log in.

const (
	verifyTokenTTL = 24 * time.Hour

	// The limits on codes sent, as on reset mails: one a minute for an
	// account, ten an hour to one address; and ten wrong codes an hour
	// from one client address.
	verifyAccountWindow = resetEmailWindow
	verifyEmailLimit    = resetClientLimit
	verifyEmailWindow   = resetClientWindow
	verifyConfirmLimit  = resetConfirmLimit
)

// errBadVerifyToken is the one message for a code that verifies nothing.
const errBadVerifyToken = "field token is not a live verification code: it is unknown, used, expired, replaced by a newer one, or for an address the account no longer has"

// noVerifyMail is why an address cannot be verified without mail.
const noVerifyMail = "it cannot send verification codes, and addresses stay unverified"

// verificationLimits are the limits on codes sent for u. A sign-up counts
// toward its address's limit only, as the account has no id yet: a user
// whose first mail went astray may ask for another at once.
func verificationLimits(u user) []mailLimit {
	limits := []mailLimit{{key: "verify-email:" + hashedKey(emailKey(u.Email)), limit: verifyEmailLimit, window: verifyEmailWindow}}
	if u.ID != 0 {
		limits = append(limits, mailLimit{key: "verify-account:" + strconv.FormatInt(u.ID, 10), limit: 1, window: verifyAccountWindow})
	}
	return limits
}

// newVerification is a new code for u's address and the mail that
// carries it, counted under limits.
func (s *server) newVerification(u user, now time.Time, limits []mailLimit) emailVerification {
	random := make([]byte, 32)
	rand.Read(random)
	token := formatTokenWith(verifyTokenPrefix, random)
	v := emailVerification{at: now, userID: u.ID, emailKey: emailKey(u.Email), hash: hashToken(token),
		expiresAt: now.Add(verifyTokenTTL), mail: s.mail.mailTo(u, "Your email verification code", verifyMailBody(u.Username, token, verifyTokenTTL), now)}
	for _, l := range limits {
		v.keys = append(v.keys, l.key)
	}
	return v
}

// mailTo is a mail from c's sender to u's address, tried for
// outboxGiveUpAfter.
func (c *mailConfig) mailTo(u user, subject, body string, at time.Time) queuedMail {
	return queuedMail{recipient: u.Email, at: at, giveUpAt: at.Add(outboxGiveUpAfter),
		message: composeMail(c.from, mail.Address{Name: u.Username, Address: u.Email}, subject, body, at)}
}

// verificationIfAllowed is a new code for u when mail is configured, the
// address is unverified and the limits let one more go; ok is false
// otherwise. A sign-up or a change of email is not refused for a limit:
// it goes through without the mail, and the user asks for one later.
func (s *server) verificationIfAllowed(ctx context.Context, u user, now time.Time) (v emailVerification, ok bool, err error) {
	if s.mail == nil || u.EmailVerified {
		return v, false, nil
	}
	limits := verificationLimits(u)
	wait, err := s.limitWait(ctx, now, limits...)
	if err != nil || wait > 0 {
		return v, false, err
	}
	return s.newVerification(u, now, limits), true, nil
}

// createUser creates u, and queues the code for its address in the same
// transaction when verificationIfAllowed gives one.
func (s *server) createUser(ctx context.Context, u user, passwordHash string) (int64, error) {
	v, ok, err := s.verificationIfAllowed(ctx, u, u.LastSeen)
	if err != nil {
		return 0, err
	}
	if !ok {
		return s.store.createUser(ctx, u, passwordHash)
	}
	id, err := s.store.createUserVerifying(ctx, u, passwordHash, v)
	if err == nil {
		s.notifyMailQueued()
	}
	return id, err
}

// sendVerification queues a code for u's address when
// verificationIfAllowed gives one, and reports whether it did.
func (s *server) sendVerification(ctx context.Context, u user) (bool, error) {
	v, ok, err := s.verificationIfAllowed(ctx, u, s.now())
	if err != nil || !ok {
		return false, err
	}
	return true, s.queueVerification(ctx, v)
}

// queueVerification writes v, its code and its mail, and wakes the sender.
func (s *server) queueVerification(ctx context.Context, v emailVerification) error {
	if err := s.store.recordEmailVerification(ctx, v); err != nil {
		return err
	}
	s.notifyMailQueued()
	return nil
}

// handleResendEmailVerification mails the caller a new code, within the
// limits (429 with Retry-After beyond them).
func (s *server) handleResendEmailVerification(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if id != callerFrom(r.Context()).userID {
		forbidden(w, "you may ask for a verification code for only your own account")
		return
	}
	if s.mailNotConfigured(w, noVerifyMail) {
		return
	}
	u, err := s.store.userByID(r.Context(), id)
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	if u.EmailVerified {
		badRequest(w, "your email is verified already: there is nothing to confirm")
		return
	}
	now := s.now()
	limits := verificationLimits(u)
	if !s.withinLimits(w, r, now, "verification codes", limits...) {
		return
	}
	if err := s.queueVerification(r.Context(), s.newVerification(u, now, limits)); err != nil {
		s.handleError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{
		"message": "a verification code is on its way to your email; it is good for 24 hours",
	})
}

// handleConfirmEmailVerification marks the address a code went to
// verified, if the account still has it.
func (s *server) handleConfirmEmailVerification(w http.ResponseWriter, r *http.Request) {
	if s.mailNotConfigured(w, noVerifyMail) {
		return
	}
	now := s.now()
	failures := mailLimit{key: "verify-confirm:" + throttleAddr(clientAddr(r)), limit: verifyConfirmLimit, window: verifyEmailWindow}
	if !s.withinLimits(w, r, now, "wrong verification codes", failures) {
		return
	}
	var req struct {
		Token string `json:"token"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	switch {
	case req.Token == "":
		badRequest(w, "field token is required")
		return
	case !wellFormedTokenWith(verifyTokenPrefix, req.Token):
		badRequest(w, errBadVerifyToken)
		return
	}
	hash := hashToken(req.Token)
	userID, key, err := s.store.emailVerificationOf(r.Context(), hash, now)
	if err == nil {
		err = s.store.verifyEmail(r.Context(), hash, userID, key, now)
	}
	if errors.Is(err, errNotFound) {
		err = s.store.countMailRequest(r.Context(), failures.key, now)
		if err == nil {
			badRequest(w, errBadVerifyToken)
			return
		}
	}
	if err == nil {
		err = s.recordEvent(r, userID, eventEmailVerified, "")
	}
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// refuseUnverified answers 403, and returns true, for a login of an
// account whose address is unverified on a server with
// -require-verified-email. It runs after the password proved right, and
// mails a new code (within the limits), since the user cannot ask for
// one without a session.
func (s *server) refuseUnverified(w http.ResponseWriter, r *http.Request, userID int64) bool {
	if s.mail == nil || !s.mail.requireVerified {
		return false
	}
	u, err := s.store.userByID(r.Context(), userID)
	if err == nil && u.EmailVerified {
		return false
	}
	sent := false
	if err == nil {
		sent, err = s.sendVerification(r.Context(), u)
	}
	if err != nil {
		s.handleError(w, r, err)
		return true
	}
	msg := "this server lets in only accounts with a verified email, and yours is not verified yet: "
	if sent {
		msg += "a new code is on its way to it; send it to POST /api/email-verification/confirm, then log in again"
	} else {
		msg += "send the code mailed to it to POST /api/email-verification/confirm, then log in again (a new code goes at most once a minute)"
	}
	forbidden(w, msg)
	return true
}

// verifyNewEmail mails a code after a change that sent an email: an
// address with a new email_key is unverified now (updateUser), and one
// sent again unchanged but unverified gets a new code too, within the
// limits. On a failure it answers the client and returns false.
func (s *server) verifyNewEmail(w http.ResponseWriter, r *http.Request, id int64) bool {
	u, err := s.store.userByID(r.Context(), id)
	if err == nil {
		_, err = s.sendVerification(r.Context(), u)
	}
	if err != nil {
		s.handleError(w, r, err)
		return false
	}
	return true
}
