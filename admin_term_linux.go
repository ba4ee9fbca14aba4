//go:build linux

package main

import (
	"os"
	"syscall"
	"unsafe"
)

// The terminal, for tokenapi passwd, through the ioctls of termios(3):
// the standard library has no terminal package, and this is all passwd
// needs of one.

// isTerminal reports whether f is a terminal: only a terminal has
// terminal attributes to read.
func isTerminal(f *os.File) bool {
	_, err := termios(f)
	return err == nil
}

// echoOff stops the terminal f from echoing what is typed, leaving the
// line editing on, and returns how to turn it back on.
func echoOff(f *os.File) (restore func(), err error) {
	old, err := termios(f)
	if err != nil {
		return nil, err
	}
	quiet := old
	quiet.Lflag &^= syscall.ECHO
	quiet.Lflag |= syscall.ICANON | syscall.ISIG
	quiet.Iflag |= syscall.ICRNL
	if err := setTermios(f, &quiet); err != nil {
		return nil, err
	}
	return func() { setTermios(f, &old) }, nil
}

func termios(f *os.File) (syscall.Termios, error) {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	if errno != 0 {
		return t, errno
	}
	return t, nil
}

func setTermios(f *os.File, t *syscall.Termios) error {
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCSETS, uintptr(unsafe.Pointer(t)))
	if errno != 0 {
		return errno
	}
	return nil
}
