package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
)

// unlock clears the records of failed password checks that hold back a
// user (logins from anywhere, and password changes), or with -address
// those counted against a client address, and prints what it cleared. A
// running server sees it within cacheTrust, as it sees revoke.
func (a *admin) unlock(ctx context.Context, args []string) error {
	var addr string
	a.flags.Func("address", "clear the failures counted against this client `ADDR` instead (IPv6 by its /64)", func(s string) error {
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return errors.New("want an IP address such as 192.0.2.7 or 2001:db8::1")
		}
		addr = throttleAddr(ip.String())
		return nil
	})
	args, err := a.parseFlags(args)
	if err != nil {
		return err
	}
	if addr != "" {
		if len(args) > 0 {
			return usageErrorf("unlock takes a USERNAME or -address ADDR, not both")
		}
		st, err := a.open(ctx)
		if err != nil {
			return err
		}
		defer st.Close()
		cleared, err := st.clearFailuresFrom(ctx, addr)
		return a.printCleared(addr, cleared, err)
	}
	if err := a.wantArgs(args, "USERNAME"); err != nil {
		return err
	}
	st, id, err := a.openUser(ctx, args[0])
	if err != nil {
		return err
	}
	defer st.Close()
	cleared, err := st.clearFailuresOfUser(ctx, id)
	return a.printCleared(args[0], cleared, err)
}

// printCleared prints the records unlock cleared for whom, or err.
func (a *admin) printCleared(whom string, cleared []keyedFailureRecord, err error) error {
	if err != nil {
		return err
	}
	if a.json {
		type recordJSON struct {
			Key         string  `json:"key"`
			Failures    int     `json:"failures"`
			LastFailure string  `json:"last_failure"`
			LockedUntil *string `json:"locked_until"`
		}
		items := make([]recordJSON, len(cleared))
		for i, r := range cleared {
			items[i] = recordJSON{r.key, r.failures, formatTime(r.lastFailure), optionalTime(r.lockedUntil)}
		}
		return a.writeJSON(struct {
			Cleared []recordJSON `json:"cleared"`
		}{items})
	}
	if len(cleared) == 0 {
		_, err := fmt.Fprintf(a.stdout, "cleared nothing for %s\n", whom)
		return err
	}
	fmt.Fprintf(a.stdout, "cleared %s of failed password checks for %s:\n", plural(int64(len(cleared)), "record"), whom)
	for _, r := range cleared {
		line := fmt.Sprintf("  %s: %s", r.key, plural(int64(r.failures), "failure"))
		if !r.lockedUntil.IsZero() {
			line += ", locked until " + textTime(r.lockedUntil)
		}
		if _, err := fmt.Fprintln(a.stdout, line); err != nil {
			return err
		}
	}
	return nil
}
