package main

import (
	"context"
	"fmt"
	"time"
)

// deleteUser deletes a user and every row of theirs (sqlStore.deleteUser),
// for the operator of a user who cannot log in to do it. It says how many
// posts and live sessions went with the account, as they stood just
// before.
func (a *admin) deleteUser(ctx context.Context, args []string) error {
	st, id, _, err := a.parseUser(ctx, args)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.userByID(ctx, id)
	if err != nil {
		return err
	}
	sessions, err := st.sessionsOf(ctx, id)
	if err != nil {
		return err
	}
	// With the server's mail settings, the user's verified address gets
	// the mail the API sends; the server's sender sends it from the outbox.
	if err := st.deleteUser(ctx, id, farewellMail(a.opts.mailConfig(), u, time.Now())); err != nil {
		return err
	}
	if a.json {
		return a.writeJSON(struct {
			ID       int64  `json:"id"`
			Username string `json:"username"`
			Posts    int    `json:"posts"`
			Sessions int    `json:"sessions"`
		}{id, u.Username, u.PostCount, len(sessions)})
	}
	_, err = fmt.Fprintf(a.stdout, "deleted user %s (id %d) with %s and %s\n", u.Username, id,
		plural(int64(u.PostCount), "post"), plural(int64(len(sessions)), "live session"))
	return err
}
