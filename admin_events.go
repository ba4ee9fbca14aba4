package main

import (
	"context"
	"strconv"
	"time"
)

// events prints a user's security log, newest first, as it is read, a
// page at a time (adminEvents). That an operator read it goes into the
// log first, as every operator's action on an account does: the user can
// see who has read their log, and a read that cannot be logged prints
// nothing.
func (a *admin) events(ctx context.Context, args []string) error {
	st, id, _, err := a.parseUser(ctx, args)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := recordAdminEvent(ctx, st, id, eventEventsRead, 0); err != nil {
		return err
	}
	l := a.listing("ID", "AT", "TYPE", "DETAIL", "SESSION", "ADDRESS", "USER AGENT")
	for e, err := range st.adminEvents(ctx, id) {
		if err != nil {
			return err
		}
		session := "-"
		if e.SessionID != 0 {
			session = strconv.FormatInt(e.SessionID, 10)
		}
		if err := l.add(eventView(e), e.ID, textTime(e.At), e.Type, textCell(e.Detail), session,
			textCell(e.Address), textCell(e.UserAgent)); err != nil {
			return err
		}
	}
	return l.end()
}

// recordAdminEvent writes an operator's action on a user's account into
// the user's log: detail admin, no address or user agent, and sessionID
// (0 for none) when it ended one session.
func recordAdminEvent(ctx context.Context, st *sqlStore, userID int64, typ string, sessionID int64) error {
	return st.addEvent(ctx, event{UserID: userID, Type: typ, At: time.Now(), SessionID: sessionID, Detail: byAdmin})
}
