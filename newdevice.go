package main

import (
	"net/http"
	"strconv"
	"time"
)

// New-device alerts: a login from an address (IPv6 by its /64, as the
// throttle counts it) and user agent that the account has not logged in
// from for knownAddressTTL mails its verified address when, from where,
// with which client, and how to end that session. An account with no
// device on record (its first login, or its first since version 13 of
// the schema or in 30 days) is not alerted: there is nothing to compare
// with, and a new account's first login is its owner's. At most one
// alert goes an hour to an account; a device that logs in while the
// limit holds is remembered all the same, and alerts nobody later.

// deviceAlertWindow is the least time between two alerts to one account.
const deviceAlertWindow = time.Hour

// noteDevice remembers the device of a login of userID that made session
// sessionID, and queues an alert with it when the device is new.
func (s *server) noteDevice(r *http.Request, userID, sessionID int64, now time.Time) error {
	d := deviceLogin{userID: userID, address: throttleAddr(clientAddr(r)),
		userAgent: cutRunes(r.UserAgent(), maxUserAgentLen), at: now}
	known, anyDevice, err := s.store.knownDevice(r.Context(), userID, d.address, d.userAgent, now.Add(-knownAddressTTL))
	if err != nil {
		return err
	}
	if !known && anyDevice && s.mail != nil {
		if err := s.prepareDeviceAlert(r, &d, sessionID); err != nil {
			return err
		}
	}
	if err := s.store.rememberDevice(r.Context(), d); err != nil {
		return err
	}
	if d.alert != nil {
		s.notifyMailQueued()
	}
	return nil
}

// prepareDeviceAlert adds to d the alert mail, if the account's address
// is verified and no alert went to it within deviceAlertWindow.
func (s *server) prepareDeviceAlert(r *http.Request, d *deviceLogin, sessionID int64) error {
	u, err := s.store.userByID(r.Context(), d.userID)
	if err != nil || !u.EmailVerified {
		return err
	}
	limit := mailLimit{key: "device-alert:" + strconv.FormatInt(d.userID, 10), limit: 1, window: deviceAlertWindow}
	wait, err := s.limitWait(r.Context(), d.at, limit)
	if err != nil || wait > 0 {
		return err
	}
	body := newDeviceMailBody(u.Username, d.at, clientAddr(r), d.userAgent, sessionID)
	m := s.mail.mailTo(u, "A new login to your account", body, d.at)
	d.alert, d.keys = &m, []string{limit.key}
	return nil
}
