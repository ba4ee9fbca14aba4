package main

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

const maxAboutMeLen = 140

type userResponse struct {
	ID       int64  `json:"id"`
	Username string `json:"username"`
	Email    string `json:"email,omitempty"`
	// EmailVerified is shown with the email, to its owner alone.
	EmailVerified *bool     `json:"email_verified,omitempty"`
	AboutMe       *string   `json:"about_me"`
	LastSeen      string    `json:"last_seen"`
	PostCount     int       `json:"post_count"`
	Links         userLinks `json:"_links"`
	// TOTPEnabled is shown to the user themself alone, as the email is.
	TOTPEnabled *bool `json:"totp_enabled,omitempty"`
}

type userLinks struct {
	Self    string `json:"self"`
	MyPosts string `json:"my_posts"`
	Avatar  string `json:"avatar"`
}

func userPath(id int64) string { return "/api/users/" + strconv.FormatInt(id, 10) }

// userView is the JSON form of a user. The email is shown only to its
// owner; the avatar link, as in the tutorial, still carries its MD5, which
// can confirm a guessed address.
func userView(u user, withEmail bool) userResponse {
	self := userPath(u.ID)
	v := userResponse{
		ID:        u.ID,
		Username:  u.Username,
		AboutMe:   optional(u.AboutMe),
		LastSeen:  formatTime(u.LastSeen),
		PostCount: u.PostCount,
		Links: userLinks{
			Self:    self,
			MyPosts: self + "/my-posts",
			Avatar:  avatarURL(u.Email),
		},
	}
	if withEmail {
		v.Email = u.Email
		v.EmailVerified = &u.EmailVerified
	}
	return v
}

// optional returns nil for "", so that an unset text is null in JSON.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// avatarURL is the user's Gravatar identicon, as in the tutorial. The MD5
// is Gravatar's choice, not a security measure.
func avatarURL(email string) string {
	const prefix, suffix = "https://www.gravatar.com/avatar/", "?d=identicon&s=128"
	sum := md5.Sum([]byte(strings.ToLower(strings.TrimSpace(email))))
	// Built in one buffer: this runs for every user shown.
	var b [len(prefix) + 2*md5.Size + len(suffix)]byte
	copy(b[:], prefix)
	hex.Encode(b[len(prefix):], sum[:])
	copy(b[len(prefix)+2*md5.Size:], suffix)
	return string(b[:])
}

// handleCreateUser registers a user. It needs no token: this is how a
// client gets the username and password it will log in with.
func (s *server) handleCreateUser(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username string `json:"username"`
		Email    string `json:"email"`
		Password string `json:"password"`
		AboutMe  string `json:"about_me"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if msg := firstProblem(
		checkUsername(req.Username),
		checkEmail(req.Email),
		checkNewPassword(req.Password),
		checkText("about_me", req.AboutMe, 0, maxAboutMeLen, true),
	); msg != "" {
		badRequest(w, msg)
		return
	}
	hash, err := s.passwords.hash(r.Context(), clientAddr(r), req.Password)
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	u := user{Username: req.Username, Email: req.Email, AboutMe: req.AboutMe, LastSeen: s.now()}
	id, err := s.createUser(r.Context(), u, hash) // and the verification mail (verifyemail.go)
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	s.writeUser(w, r, http.StatusCreated, id, true)
}

func (s *server) handleGetUser(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	s.writeUser(w, r, http.StatusOK, id, id == callerFrom(r.Context()).userID)
}

func (s *server) handleListUsers(w http.ResponseWriter, r *http.Request) {
	p, ok := readPage(w, r)
	if !ok {
		return
	}
	users, total, err := s.store.listUsers(r.Context(), p.query())
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	me := callerFrom(r.Context())
	views := make([]userResponse, len(users))
	for i, u := range users {
		views[i] = userView(u, u.ID == me.userID)
	}
	writeJSON(w, http.StatusOK, newCollection(views, p, total, "/api/users"))
}

// userUpdate is the body of PUT /api/users/{id}. Nil is "not sent".
type userUpdate struct {
	Username        *string `json:"username"`
	Email           *string `json:"email"`
	AboutMe         *string `json:"about_me"`
	Password        *string `json:"password"`
	CurrentPassword *string `json:"current_password"`
}

// problem checks the fields that were sent, in field order. A new password
// needs the current one.
func (req userUpdate) problem() string {
	var problems []string
	if req.Username != nil {
		problems = append(problems, checkUsername(*req.Username))
	}
	if req.Email != nil {
		problems = append(problems, checkEmail(*req.Email))
	}
	if req.AboutMe != nil {
		problems = append(problems, checkText("about_me", *req.AboutMe, 0, maxAboutMeLen, true))
	}
	if req.Password != nil {
		problems = append(problems, checkNewPassword(*req.Password),
			currentPasswordProblem(req.CurrentPassword, "change the password"))
	}
	return firstProblem(problems...)
}

// currentPasswordProblem checks the current_password that an action
// needs: sent, and not too long to be anyone's, which is wrong without
// costing a hash.
func currentPasswordProblem(password *string, action string) string {
	switch {
	case password == nil:
		return "field current_password is required to " + action
	case len(*password) > maxPasswordLen*utf8.UTFMax:
		return "field current_password is wrong"
	}
	return ""
}

// handleUpdateUser changes the caller's own account. A new password needs
// the current one, so that a stolen token cannot take the account over; it
// then revokes the caller's other tokens, which is what a user who changes
// a password after a leak wants.
func (s *server) handleUpdateUser(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	me := callerFrom(r.Context())
	if id != me.userID {
		forbidden(w, "you may change only your own account")
		return
	}
	var req userUpdate
	if !readJSON(w, r, &req) {
		return
	}
	if msg := req.problem(); msg != "" {
		badRequest(w, msg)
		return
	}
	changes := userChanges{Username: req.Username, Email: req.Email, AboutMe: req.AboutMe}
	if req.Password != nil {
		if !s.confirmPassword(w, r, me.userID, *req.CurrentPassword) {
			return
		}
		hash, err := s.passwords.hash(r.Context(), clientAddr(r), *req.Password)
		if err != nil {
			s.handleError(w, r, err)
			return
		}
		changes.PasswordHash = &hash
	}
	if err := s.store.updateUser(r.Context(), id, changes); err != nil {
		s.handleError(w, r, err)
		return
	}
	// The password is written first and the old tokens revoked after it. A
	// login checked against the old password that lands after the revoke
	// stores no token (see insertSession), so none outlives the change. Two
	// statements, not a transaction, keep the SQL portable to rqlite; should
	// the second fail, the client gets a 500 and can repeat the change with
	// the new password as current_password.
	if changes.PasswordHash != nil {
		if err := s.store.deleteOtherSessions(r.Context(), me.userID, me.tokenHash); err != nil {
			s.handleError(w, r, err)
			return
		}
	}
	if err := s.recordUserChanges(r, id, changes); err != nil {
		s.handleError(w, r, err)
		return
	}
	if req.Email != nil && !s.verifyNewEmail(w, r, id) {
		return
	}
	s.writeUser(w, r, http.StatusOK, id, true)
}

// confirmPassword checks a user's current password under the throttle, so
// a stolen token cannot be used to guess the password behind it. On a
// wrong password it answers the client itself and returns false.
func (s *server) confirmPassword(w http.ResponseWriter, r *http.Request, userID int64, password string) bool {
	return s.confirmPasswordAndCode(w, r, userID, password, nil)
}

// confirmPasswordAndCode is confirmPassword with a second step checked
// after a right password (a one-time code: useCode, or accountCode), in
// the same check under the throttle: were they two checks, the right
// password would clear the count that the wrong codes add, and codes
// could be guessed without end. step nil checks the password alone. A
// step that found no code (verdictIncomplete) is answered with X-OTP:
// required, as a login is, and counts neither way.
func (s *server) confirmPasswordAndCode(w http.ResponseWriter, r *http.Request, userID int64, password string, step func(context.Context) (verdict, error)) bool {
	hash, err := s.store.passwordHashByID(r.Context(), userID)
	if err != nil {
		s.handleError(w, r, err)
		return false
	}
	check := passwordCheck{keys: s.throttle.currentPasswordKeys(userID), counts: &s.metrics.currentPassword}
	stepped, stepVerdict := false, verdictRight
	if step != nil {
		check.secondStep = func(ctx context.Context) (verdict, error) {
			v, err := step(ctx)
			stepped, stepVerdict = err == nil, v
			return v, err
		}
	}
	matched, answered := s.checkPassword(w, r, check, hash, password)
	switch {
	case matched || answered:
	case stepped:
		refuseCode(w, stepVerdict)
	default:
		badRequest(w, "field current_password is wrong")
	}
	return matched
}

// writeUser answers with the user as it is now.
func (s *server) writeUser(w http.ResponseWriter, r *http.Request, status int, id int64, withEmail bool) {
	u, err := s.store.userByID(r.Context(), id)
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	if status == http.StatusCreated {
		w.Header().Set("Location", userPath(id))
	}
	view := userView(u, withEmail)
	if withEmail {
		// An email is no cache's to keep, even from a sign-up, which
		// carries no credentials (safetyHeaders covers the rest).
		noStore(w)
	}
	// The user's own view says whether TOTP is on; a sign-up's cannot be.
	if withEmail && status != http.StatusCreated {
		view.TOTPEnabled = &u.TOTPEnabled
	}
	writeJSON(w, status, view)
}
