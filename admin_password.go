package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"
)

// readNewPassword reads a new password from stdin: from a terminal, asked
// for twice without echo; from anything else, one line.
func (a *admin) readNewPassword(ctx context.Context, username string) (string, error) {
	in := bufio.NewReader(a.stdin)
	tty, ok := a.stdin.(*os.File)
	if !ok || !isTerminal(tty) {
		return readLine(ctx, in)
	}
	password, err := readHidden(ctx, tty, in, a.stderr, "New password for "+username)
	if err != nil {
		return "", err
	}
	again, err := readHidden(ctx, tty, in, a.stderr, "Again")
	if err != nil {
		return "", err
	}
	if again != password {
		return "", errors.New("the two passwords differ; nothing changed")
	}
	return password, nil
}

// readHidden asks for a line from the terminal tty, read through in, with
// echo off where it can be turned off, and says so where it cannot.
func readHidden(ctx context.Context, tty *os.File, in *bufio.Reader, stderr io.Writer, prompt string) (string, error) {
	restore, err := echoOff(tty)
	if err != nil {
		fmt.Fprintf(stderr, "%s (it shows as you type: %v): ", prompt, err)
		return readLine(ctx, in)
	}
	fmt.Fprintf(stderr, "%s: ", prompt)
	defer func() {
		restore()
		fmt.Fprintln(stderr) // for the Enter that was not echoed
	}()
	return readLine(ctx, in)
}

// maxPasswordLine is the longest line readLine reads: the longest password
// the API takes, in bytes, and a line end.
const maxPasswordLine = maxPasswordLen*utf8.UTFMax + len("\r\n")

// readLine reads one line, without its line end. A line longer than
// maxPasswordLine is cut there, which leaves more characters than any
// password may have, so checkNewPassword refuses it. It returns when ctx
// ends, so that an interrupt restores the terminal: the read itself
// carries on until the process exits.
func readLine(ctx context.Context, in *bufio.Reader) (string, error) {
	type result struct {
		line string
		err  error
	}
	read := make(chan result, 1)
	go func() {
		var line []byte
		for len(line) <= maxPasswordLine {
			b, err := in.ReadByte()
			switch {
			case err == io.EOF && len(line) == 0:
				read <- result{err: errors.New("no password on standard input")}
				return
			case err == io.EOF || b == '\n':
				read <- result{line: strings.TrimSuffix(string(line), "\r")}
				return
			case err != nil:
				read <- result{err: fmt.Errorf("read standard input: %w", err)}
				return
			}
			line = append(line, b)
		}
		read <- result{line: string(line)}
	}()
	select {
	case r := <-read:
		return r.line, r.err
	case <-ctx.Done():
		return "", errors.New("interrupted; nothing changed")
	}
}
