package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// totpOff turns a user's TOTP off, for a user who lost the device and the
// recovery codes, and ends the user's sessions: whoever holds one may be
// the reason. TOTP goes first, the sessions after it, as passwd does; the
// user's log says both, with detail admin.
func (a *admin) totpOff(ctx context.Context, args []string) error {
	st, id, username, err := a.parseUser(ctx, args)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.disableTOTP(ctx, id); errors.Is(err, errNotFound) {
		return fmt.Errorf("TOTP is off for %s already", username)
	} else if err != nil {
		return err
	}
	n, err := st.deleteSessionsOf(ctx, id)
	if err != nil {
		return fmt.Errorf("TOTP is off, but ending the sessions failed (run tokenapi revoke %s): %w", username, err)
	}
	// Logged last, as passwd logs, so that a failure here leaves nothing
	// undone but the log.
	for _, typ := range []string{eventTOTPDisabled, eventSessionEnded} {
		if err := recordAdminEvent(ctx, st, id, typ, 0); err != nil {
			return fmt.Errorf("TOTP is off and the sessions ended, but writing that into the user's log failed: %w", err)
		}
	}
	if a.json {
		return a.writeJSON(struct {
			Username string `json:"username"`
			Ended    int64  `json:"ended"`
		}{username, n})
	}
	_, err = fmt.Fprintf(a.stdout, "turned TOTP off for %s and ended %s\n", username, plural(n, "session"))
	return err
}

// totpCode prints the code an authenticator app shows now for a base32
// secret, as POST /api/users/{id}/totp gave it: for scripts and tests that
// log in to an account with TOTP on. It needs no database.
//
// With -next it prints the code of the next 30-second step, which a
// server also takes (one step of skew): a script that confirmed TOTP with
// this step's code, which works only once, can then log in at once.
func (a *admin) totpCode(_ context.Context, args []string) error {
	next := a.flags.Bool("next", false, "print the code of the next 30-second step, not this one's")
	args, err := a.parse(args, "SECRET")
	if err != nil {
		return err
	}
	secret, err := totpBase32.DecodeString(strings.ToUpper(strings.TrimRight(strings.ReplaceAll(args[0], " ", ""), "=")))
	if err != nil || len(secret) == 0 {
		return usageErrorf("totp-code: %q is not a base32 secret", args[0])
	}
	at := time.Now()
	if *next {
		at = at.Add(totpPeriod * time.Second)
	}
	code := totpCode(secret, at)
	if a.json {
		return a.writeJSON(struct {
			Code string `json:"code"`
		}{code})
	}
	_, err = fmt.Fprintln(a.stdout, code)
	return err
}
