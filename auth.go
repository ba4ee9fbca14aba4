package main

import (
	"context"
	"errors"
	"net/http"
	"time"
)

// The two ways in. requireBasic guards POST /api/tokens: a username and
// password buy a token. requireToken guards everything else: the token is
// hashed and looked up by its hash, as it was stored. Both put the caller
// in the request's context for the handler.

// caller is the authenticated client of a request.
type caller struct {
	userID int64
	// sessionID and scope are those of the token the request came with;
	// zero when it came with a username and password.
	sessionID int64
	scope     string
	// tokenHash is the hash of the token the request came with; zero when
	// it came with a username and password.
	tokenHash tokenHash
	// passwordHash is the stored password hash a username and password were
	// checked against; empty when the request came with a token.
	passwordHash string
}

type contextKey int

const callerKey contextKey = 0

func withCaller(ctx context.Context, c *caller) context.Context {
	return context.WithValue(ctx, callerKey, c)
}

// callerFrom returns the caller that requireBasic or requireToken put in
// the context. Handlers behind those wrappers always have one.
func callerFrom(ctx context.Context) *caller {
	return ctx.Value(callerKey).(*caller)
}

// requireToken lets a request through to next only with a live bearer
// token.
func (s *server) requireToken(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, err := bearerToken(r)
		switch {
		case errors.Is(err, errNoToken):
			bearerChallenge(w, false, "send Authorization: Bearer <token>; get a token from POST /api/tokens with your username and password (Basic auth)")
			return
		case err != nil:
			bearerChallenge(w, true, "the token is malformed")
			return
		}
		hash := hashToken(token)
		now := s.now()
		ses, err := s.store.liveSession(r.Context(), hash, now)
		if errors.Is(err, errNotFound) {
			bearerChallenge(w, true, "the token is unknown, expired or revoked")
			return
		}
		if err != nil {
			s.handleError(w, r, err)
			return
		}
		s.sessionUsed(w, r, ses, now)
		next(w, r.WithContext(withCaller(r.Context(),
			&caller{userID: ses.UserID, tokenHash: hash, sessionID: ses.ID, scope: ses.Scope})))
	})
}

// requireBasic lets a request through to next only with a right username
// and password.
func (s *server) requireBasic(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header, _ := authorization(r)
		username, password, ok := parseBasic(header)
		if !ok {
			basicChallenge(w, "")
			return
		}
		userID, passwordHash, err := s.loginAccount(r.Context(), username)
		if err != nil {
			s.handleError(w, r, err)
			return
		}
		// Failed checks are counted and limited (throttle.go).
		check, err := s.loginCheck(r, userID, username)
		if err != nil {
			s.handleError(w, r, err)
			return
		}
		// A user with TOTP on needs a code too, asked for only once the
		// password was right (totplogin.go).
		second := verdictRight
		if userID != 0 {
			check.secondStep = func(context.Context) (verdict, error) {
				v, err := s.loginCode(r, userID, r.Header.Get(otpHeader))
				second = v
				return v, err
			}
		}
		matched, answered := s.checkPassword(w, r, check, passwordHash, password)
		switch {
		case answered:
			return
		case second != verdictRight:
			otpChallenge(w, second)
			return
		case !matched || userID == 0:
			basicChallenge(w, "")
			return
		}
		s.seen(w, r, userID, s.now())
		next(w, r.WithContext(withCaller(r.Context(), &caller{userID: userID, passwordHash: passwordHash})))
	})
}

// loginAccount returns the id and stored password hash of the user with
// this username, or, for a username nobody has, id 0 and a hash no password
// matches: an unknown username then costs a full hash too, so the time
// taken does not tell which usernames exist.
func (s *server) loginAccount(ctx context.Context, username string) (int64, string, error) {
	id, hash, err := s.store.passwordHashByUsername(ctx, username)
	if errors.Is(err, errNotFound) {
		return 0, s.passwords.unknownUserHash, nil
	}
	return id, hash, err
}

// sessionUsed records a use of a session: it slides the session's expiry
// to now + the token lifetime, never past its cap, and the user is seen.
// Like last_seen, it is bookkeeping: a failure is logged, not answered.
func (s *server) sessionUsed(w http.ResponseWriter, r *http.Request, ses session, now time.Time) {
	setLogUser(w, ses.UserID)
	expires := now.Add(s.tokenTTL)
	if expires.After(ses.MaxExpiresAt) {
		expires = ses.MaxExpiresAt
	}
	if err := s.store.sessionUsed(r.Context(), ses, now, expires); err != nil {
		s.log.WarnContext(r.Context(), "record a session's use", "session_id", ses.ID, "error", err)
	}
}

// seen records an authenticated request: the user's last_seen, and the
// user id on the request's log line. last_seen is a hint, so a failure to
// record it is logged, not answered.
func (s *server) seen(w http.ResponseWriter, r *http.Request, userID int64, now time.Time) {
	setLogUser(w, userID)
	if err := s.store.userSeen(r.Context(), userID, now); err != nil {
		s.log.WarnContext(r.Context(), "record last_seen", "user_id", userID, "error", err)
	}
}
