package main

import (
	"net/http"
	"strings"
	"time"
)

// The security log: what happened to an account, for its user to read
// (GET /api/users/{id}/events) and an operator to print (tokenapi
// events). An event is written in the request that causes it, right after
// the change: recordEvent, or eventOf and the store's addEvent when it
// needs more than the request shows. Events go after eventTTL.

// The types of event, the one list of them. A new type is a constant
// here, an entry in eventTypes, and the same word in the enum of the
// Event schema in openapi.json (TestEventTypesDocumented holds the two
// together) and in docs/security.md.
const (
	eventLoginSucceeded  = "login.succeeded"  // session_id: the new session
	eventLoginFailed     = "login.failed"     // a wrong password; coalesced, detail: the count
	eventLoginLocked     = "login.locked"     // a login refused with 429; coalesced, detail: the count
	eventSessionEnded    = "session.ended"    // detail: who ended it, one of the endedBy values
	eventPasswordChanged = "password.changed" // detail: admin when an operator set it
	eventUserUpdated     = "user.updated"     // detail: the fields changed, comma-separated
	eventEventsRead      = "events.read"      // an operator printed the log; detail: admin

	// The second step of a login (totpapi.go, totplogin.go).
	eventTOTPEnabled           = "totp.enabled"                 // a code confirmed an enrolment
	eventTOTPDisabled          = "totp.disabled"                // detail: admin when tokenapi totp-off did it
	eventRecoveryCodeUsed      = "totp.recovery_code_used"      // a login, a turning off or new codes took one
	eventRecoveryCodesReplaced = "totp.recovery_codes_replaced" // new codes; the old ones are dead

	// Verified addresses (verifyemail.go) and password reset (passwordreset.go).
	eventEmailVerified = "email.verified" // a verification code came back (verifyemail.go)
	eventPasswordReset = "password.reset" // a reset code set the password and ended every session
)

// eventTypes lists every type, in the order the documents give them.
var eventTypes = []string{
	eventLoginSucceeded, eventLoginFailed, eventLoginLocked, eventSessionEnded,
	eventPasswordChanged, eventUserUpdated, eventEventsRead,
	eventTOTPEnabled, eventTOTPDisabled, eventRecoveryCodeUsed, eventRecoveryCodesReplaced,
	eventEmailVerified, eventPasswordReset,
}

// coalescedEvent reports whether events of type typ are counted, one row
// a minute (eventCoalescing) for each account, rather than each written:
// whoever guesses passwords decides how many of them come, and the log
// must not grow with a flood of them.
func coalescedEvent(typ string) bool {
	return typ == eventLoginFailed || typ == eventLoginLocked
}

// Who ended a session, the detail of session.ended; admin is also the
// detail of any change an operator made (admin_commands.go).
const (
	endedBySelf           = "self"            // DELETE /api/tokens, or /api/tokens/{id}
	endedByOthers         = "others"          // DELETE /api/tokens?others=true
	endedByAll            = "all"             // DELETE /api/tokens?all=true
	endedByPasswordChange = "password_change" // PUT /api/users/{id} with a new password
	byAdmin               = "admin"
)

// eventTTL is how long an event is kept.
const eventTTL = 90 * 24 * time.Hour

// eventOf is an event of type typ in userID's log as the request r shows
// it: now, the client's address (clientAddr, the one the throttle counts),
// its User-Agent cut as a session's is, and the session r came with, if
// it came with a token.
func (s *server) eventOf(r *http.Request, userID int64, typ, detail string) event {
	e := event{UserID: userID, Type: typ, At: s.now(), Address: clientAddr(r),
		UserAgent: cutRunes(r.UserAgent(), maxUserAgentLen), Detail: detail}
	if c, ok := r.Context().Value(callerKey).(*caller); ok {
		e.SessionID = c.sessionID
	}
	return e
}

// recordEvent writes an event of type typ, with detail ("" for none),
// into userID's log, as the request r shows it (eventOf). The caller
// answers a failure, as of any write.
func (s *server) recordEvent(r *http.Request, userID int64, typ, detail string) error {
	return s.store.addEvent(r.Context(), s.eventOf(r, userID, typ, detail))
}

// recordUserChanges writes what a change of the account by its user
// (PUT /api/users/{id}) did: user.updated with the fields sent, and for a
// new password, password.changed and session.ended for the other sessions
// it ended.
func (s *server) recordUserChanges(r *http.Request, userID int64, c userChanges) error {
	var fields []string
	for _, f := range []struct {
		name string
		sent bool
	}{{"username", c.Username != nil}, {"email", c.Email != nil}, {"about_me", c.AboutMe != nil}} {
		if f.sent {
			fields = append(fields, f.name)
		}
	}
	if len(fields) > 0 {
		if err := s.recordEvent(r, userID, eventUserUpdated, strings.Join(fields, ",")); err != nil {
			return err
		}
	}
	if c.PasswordHash == nil {
		return nil
	}
	if err := s.recordEvent(r, userID, eventPasswordChanged, ""); err != nil {
		return err
	}
	return s.recordEvent(r, userID, eventSessionEnded, endedByPasswordChange)
}

type eventResponse struct {
	ID        int64   `json:"id"`
	Type      string  `json:"type"`
	At        string  `json:"at"`
	Address   *string `json:"address"`
	UserAgent *string `json:"user_agent"`
	SessionID *int64  `json:"session_id"`
	Detail    *string `json:"detail"`
}

func (r eventResponse) itemID() int64 { return r.ID }

func eventView(e event) eventResponse {
	v := eventResponse{ID: e.ID, Type: e.Type, At: formatTime(e.At), Address: optional(e.Address),
		UserAgent: optional(e.UserAgent), Detail: optional(e.Detail)}
	if e.SessionID != 0 {
		v.SessionID = &e.SessionID
	}
	return v
}

// handleListEvents answers a page of the caller's own log, newest first.
// Another user's log is 404, as another user's session is: the answer
// does not tell whether that user exists.
func (s *server) handleListEvents(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if id != callerFrom(r.Context()).userID {
		notFound(w)
		return
	}
	p, ok := readPage(w, r)
	if !ok {
		return
	}
	events, total, err := s.store.eventsOf(r.Context(), id, p.query())
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	views := make([]eventResponse, len(events))
	for i, e := range events {
		views[i] = eventView(e)
	}
	writeJSON(w, http.StatusOK, newCollection(views, p, total, userPath(id)+"/events"))
}
