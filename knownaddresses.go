package main

import (
	"context"
	"net/http"
	"time"
)

// Known addresses: an account that logged in from an address before is
// known there, and failures counted against that address (a password
// sprayed over made-up names from behind the same NAT, proxy or IPv6 /64)
// do not lock it out. Its own limits still hold it: the account from that
// address, and the account from anywhere. So one person with curl in a
// loop can lock out of a shared address only the accounts that never
// logged in from it, and can learn, by being refused or not, which
// usernames did in the last knownAddressTTL; a guess at a known account's
// password from there is held by that account's own limits.

// knownAddressTTL is how long an address stays known to an account after
// its last login from it.
const knownAddressTTL = 30 * 24 * time.Hour

// loginCheck is the check of a login of userID (0 for a username nobody
// has) from r's client address: charged to loginKeys, which leave out the
// address's own count when the account is known there, and on success
// remembering the address for the account. A wrong password or a lockout
// of an account that exists goes into its security log.
func (s *server) loginCheck(r *http.Request, userID int64, username string) (passwordCheck, error) {
	addr := throttleAddr(clientAddr(r))
	known := false
	if userID != 0 {
		var err error
		known, err = s.store.isKnownAddress(r.Context(), userID, addr, s.now().Add(-knownAddressTTL))
		if err != nil {
			return passwordCheck{}, err
		}
	}
	check := passwordCheck{
		keys:   s.throttle.loginKeys(userID, username, addr, known),
		counts: &s.metrics.logins,
		remember: func(ctx context.Context) error {
			return s.store.rememberAddress(ctx, userID, addr, s.now())
		},
	}
	if userID != 0 {
		check.wrong = func(context.Context) error { return s.recordEvent(r, userID, eventLoginFailed, "") }
		check.locked = func(context.Context) error { return s.recordEvent(r, userID, eventLoginLocked, "") }
	}
	return check, nil
}
