package main

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"time"
)

// users lists the users.
func (a *admin) users(ctx context.Context, args []string) error {
	if _, err := a.parse(args); err != nil {
		return err
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	type userJSON struct {
		ID           int64   `json:"id"`
		Username     string  `json:"username"`
		CreatedAt    *string `json:"created_at"`
		LastSeen     string  `json:"last_seen"`
		LiveSessions int     `json:"live_sessions"`
	}
	l := a.listing("ID", "USERNAME", "CREATED", "LAST SEEN", "LIVE SESSIONS")
	for u, err := range st.adminUsers(ctx, time.Now()) {
		if err != nil {
			return err
		}
		item := userJSON{ID: u.ID, Username: u.Username, CreatedAt: optionalTime(u.CreatedAt),
			LastSeen: formatTime(u.LastSeen), LiveSessions: u.LiveSessions}
		if err := l.add(item, u.ID, u.Username, textTime(u.CreatedAt), textTime(u.LastSeen), u.LiveSessions); err != nil {
			return err
		}
	}
	return l.end()
}

// sessions lists a user's live sessions, newest first. It shows the
// stored last use and expiry, which a running server writes in batches:
// they may lag the real ones by up to maxSessionLag.
func (a *admin) sessions(ctx context.Context, args []string) error {
	st, id, _, err := a.parseUser(ctx, args)
	if err != nil {
		return err
	}
	defer st.Close()
	all, err := st.sessionsOf(ctx, id)
	if err != nil {
		return err
	}
	l := a.listing("ID", "NAME", "SCOPE", "CREATED", "LAST USED", "EXPIRES", "USER AGENT")
	for _, s := range liveOnly(all, time.Now()) {
		item := sessionView(s, false)
		item.Current = nil // no request here to be current
		if err := l.add(item, s.ID, textCell(s.Name), s.Scope, textTime(s.CreatedAt), textTime(s.LastUsedAt),
			textTime(s.ExpiresAt), textCell(s.UserAgent)); err != nil {
			return err
		}
	}
	return l.end()
}

// revoke ends every session of a user, or with -session one session,
// whoever's it is.
func (a *admin) revoke(ctx context.Context, args []string) error {
	var sessionID int64
	a.flags.Func("session", "end the session with this `ID` (from tokenapi sessions), whoever's it is", func(s string) error {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return errors.New("not a session id")
		}
		sessionID = id
		return nil
	})
	args, err := a.parseFlags(args)
	if err != nil {
		return err
	}
	if sessionID != 0 {
		if len(args) > 0 {
			return usageErrorf("revoke takes a USERNAME or -session ID, not both")
		}
		return a.revokeSession(ctx, sessionID)
	}
	if err := a.wantArgs(args, "USERNAME"); err != nil {
		return err
	}
	st, id, err := a.openUser(ctx, args[0])
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.deleteSessionsOf(ctx, id)
	if err != nil {
		return err
	}
	if err := recordAdminEvent(ctx, st, id, eventSessionEnded, 0); err != nil {
		return err
	}
	if a.json {
		return a.writeJSON(struct {
			Username string `json:"username"`
			Ended    int64  `json:"ended"`
		}{args[0], n})
	}
	_, err = fmt.Fprintf(a.stdout, "ended %s of %s\n", plural(n, "session"), args[0])
	return err
}

func (a *admin) revokeSession(ctx context.Context, id int64) error {
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	userID, err := st.deleteSessionByID(ctx, id)
	if errors.Is(err, errNotFound) {
		return fmt.Errorf("no session with id %d", id)
	} else if err != nil {
		return err
	}
	if err := recordAdminEvent(ctx, st, userID, eventSessionEnded, id); err != nil {
		return err
	}
	if a.json {
		return a.writeJSON(struct {
			Session int64 `json:"session"`
			Ended   int64 `json:"ended"`
		}{id, 1})
	}
	_, err = fmt.Fprintf(a.stdout, "ended session %d\n", id)
	return err
}

// passwd sets a user's password, ends the user's sessions, as a change
// through the API does, and clears the user's lockouts: the password is written first, and the sessions
// ended after it. A login checked against the old password that lands in
// between stores no token (see insertSession).
func (a *admin) passwd(ctx context.Context, args []string) error {
	st, id, username, err := a.parseUser(ctx, args) // before asking for a password it cannot set
	if err != nil {
		return err
	}
	defer st.Close()
	password, err := a.readNewPassword(ctx, username)
	if err != nil {
		return err
	}
	if msg := checkNewPassword(password); msg != "" {
		return errors.New(msg)
	}
	hash, err := newPasswordHasher(a.opts.passwordIterations, newHashSlots(runtime.GOMAXPROCS(0))).hash(ctx, "", password)
	if err != nil {
		return err
	}
	if err := st.updateUser(ctx, id, userChanges{PasswordHash: &hash}); errors.Is(err, errNotFound) {
		return fmt.Errorf("no user named %q", username)
	} else if err != nil {
		return err
	}
	n, err := st.deleteSessionsOf(ctx, id)
	if err != nil {
		return fmt.Errorf("the password is changed, but ending the sessions failed (run tokenapi revoke %s): %w", username, err)
	}
	// The lockouts were against guesses at the old password.
	if _, err := st.clearFailuresOfUser(ctx, id); err != nil {
		return fmt.Errorf("the password is changed, but clearing its lockouts failed (run tokenapi unlock %s): %w", username, err)
	}
	// Logged last, so that a failure here leaves nothing undone but the log.
	for _, typ := range []string{eventPasswordChanged, eventSessionEnded} {
		if err := recordAdminEvent(ctx, st, id, typ, 0); err != nil {
			return fmt.Errorf("the password is changed and the sessions ended, but writing that into the user's log failed: %w", err)
		}
	}
	if a.json {
		return a.writeJSON(struct {
			Username string `json:"username"`
			Ended    int64  `json:"ended"`
		}{username, n})
	}
	_, err = fmt.Fprintf(a.stdout, "changed the password of %s and ended %s\n", username, plural(n, "session"))
	return err
}

// prune deletes the expired sessions. A running server may have moved a
// session's expiry on in memory up to maxSessionLag before writing it,
// and that lag is a minute at most whatever the server's -token-ttl: prune
// leaves that minute alone, as the server's own sweeper does.
func (a *admin) prune(ctx context.Context, args []string) error {
	if _, err := a.parse(args); err != nil {
		return err
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.deleteExpiredSessions(ctx, time.Now().Add(-time.Minute))
	if err != nil {
		return err
	}
	if a.json {
		return a.writeJSON(struct {
			Deleted int64 `json:"deleted"`
		}{n})
	}
	_, err = fmt.Fprintf(a.stdout, "deleted %s\n", plural(n, "expired session"))
	return err
}
