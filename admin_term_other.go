//go:build !linux

package main

import (
	"errors"
	"os"
)

// isTerminal reports whether f is a character device, which is as near to
// "a terminal" as the standard library can tell without the terminal's
// own calls.
func isTerminal(f *os.File) bool {
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// echoOff cannot turn the echo off here: only the Linux build speaks to
// the terminal (admin_term_linux.go).
func echoOff(*os.File) (restore func(), err error) {
	return nil, errors.New("echo cannot be turned off on this system")
}
