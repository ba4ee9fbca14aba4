package main

// The operator's commands: tokenapi users, sessions, revoke, passwd,
// unlock, prune, events, delete-user, totp-off, totp-code and backup
// (admin_backup.go, which alone opens the file read-only and never
// upgrades it). Each opens the database file with the plain sqlStore, no
// cache, so it is safe beside a server running on the same file: SQLite's
// WAL and busy timeout let both at it, every change is one self-contained
// statement, as the server's are, and the server's caches trust what they
// hold for at most a second (cacheTrust), so it honours a revocation
// within a second.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// usageError is a command line the program cannot run: an unknown
// command, a missing or extra argument, a bad flag of a command. main
// exits 2 on it, with a hint to run tokenapi help.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usageErrorf(format string, a ...any) error { return usageError{fmt.Sprintf(format, a...)} }

// adminCommand is one of the operator's commands.
type adminCommand struct {
	name    string
	args    string // what follows its flags, for the usage
	summary string
	run     func(a *admin, ctx context.Context, args []string) error
}

// adminCommands are the commands besides serve, in the order help lists
// them.
func adminCommands() []adminCommand {
	return []adminCommand{
		{"users", "", "list the users, each with its number of live sessions", (*admin).users},
		{"sessions", "USERNAME", "list a user's live sessions, newest first", (*admin).sessions},
		{"revoke", "USERNAME | -session ID", "end every session of a user, or one session, whoever's it is", (*admin).revoke},
		{"passwd", "USERNAME", "set a user's password, read from standard input, and end the user's sessions", (*admin).passwd},
		{"prune", "", "delete the expired sessions", (*admin).prune},
		{"unlock", "USERNAME | -address ADDR", "clear the lockouts of a user, or of a client address", (*admin).unlock},
		{"events", "USERNAME", "print a user's security log, newest first (and log that it was read)", (*admin).events},
		{"delete-user", "USERNAME", "delete a user with their posts and sessions, as DELETE /api/users/{id} does", (*admin).deleteUser},
		{"totp-off", "USERNAME", "turn a user's TOTP off and end the user's sessions", (*admin).totpOff},
		{"totp-code", "SECRET", "print the current TOTP code of a base32 secret, for scripts", (*admin).totpCode},
		{"backup", "FILE", "copy the database, consistent while a server writes, to a new file (SQLite's VACUUM INTO)", (*admin).backup},
	}
}

// admin is one run of a command: the options, where it reads and writes,
// and its flags, which the command adds to before it parses them.
type admin struct {
	opts           options
	cmd            adminCommand
	stdin          io.Reader
	stdout, stderr io.Writer
	flags          *flag.FlagSet
	json           bool // -json: print JSON, for scripts
}

// runCommand runs the command args[0] with the rest of args. "help NAME"
// is NAME -h.
func runCommand(ctx context.Context, opts options, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	name, args := args[0], args[1:]
	if name == "help" { // help alone and help serve are parseOptions's
		if len(args) > 1 {
			return usageErrorf("help takes one command name, not %d", len(args))
		}
		name, args = args[0], []string{"-h"}
	}
	var names []string
	for _, c := range adminCommands() {
		if c.name == name {
			a := &admin{opts: opts, cmd: c, stdin: stdin, stdout: stdout, stderr: stderr,
				flags: flag.NewFlagSet("tokenapi "+name, flag.ContinueOnError)}
			a.flags.SetOutput(io.Discard) // errors are returned as one line; -h prints usage
			a.flags.BoolVar(&a.json, "json", false, "print JSON, for scripts")
			if err := c.run(a, ctx, args); !errors.Is(err, flag.ErrHelp) {
				return err
			}
			return nil
		}
		names = append(names, c.name)
	}
	return usageErrorf("unknown command %q; the commands are serve, %s and help", name, strings.Join(names, ", "))
}

// parse parses the command's flags, which may come before, between and
// after its arguments, and checks that the arguments are those named in
// want. For -h it prints the command's usage and returns flag.ErrHelp.
func (a *admin) parse(args []string, want ...string) ([]string, error) {
	got, err := a.parseFlags(args)
	if err != nil {
		return nil, err
	}
	return got, a.wantArgs(got, want...)
}

func (a *admin) parseFlags(args []string) ([]string, error) {
	var got []string
	for {
		err := a.flags.Parse(args)
		switch {
		case errors.Is(err, flag.ErrHelp):
			fmt.Fprintf(a.stdout, "usage: %s\n%s.\n\n", strings.TrimSpace("tokenapi [flags] "+a.cmd.name+" [-json] "+a.cmd.args), a.cmd.summary)
			a.flags.SetOutput(a.stdout)
			a.flags.PrintDefaults()
			return nil, err
		case err != nil:
			return nil, a.flagError(err)
		}
		rest := a.flags.Args()
		if len(rest) == 0 {
			return got, nil
		}
		if parsed := len(args) - len(rest); parsed > 0 && args[parsed-1] == "--" {
			return append(got, rest...), nil // all that follows "--" is arguments
		}
		got, args = append(got, rest[0]), rest[1:]
	}
}

// flagError words the flag package's error for a command's flag. A flag
// of the whole program, such as -db, belongs before the command.
func (a *admin) flagError(err error) error {
	if name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -"); ok {
		name = strings.TrimPrefix(name, "-")
		for _, e := range envNames {
			if e.flag == name {
				return usageErrorf("-%s belongs before the command: tokenapi -%s ... %s", name, name, a.cmd.name)
			}
		}
		msg := strings.Replace(unknownFlag(err, a.flags).Error(), "tokenapi -h lists the flags", "tokenapi help "+a.cmd.name+" lists them", 1)
		return usageErrorf("%s: %s", a.cmd.name, msg)
	}
	return usageErrorf("%s: %v", a.cmd.name, err)
}

// wantArgs checks that got holds one argument for each name in want.
func (a *admin) wantArgs(got []string, want ...string) error {
	switch {
	case len(got) == len(want):
		return nil
	case len(want) == 0:
		return usageErrorf("%s takes no arguments, but got %q", a.cmd.name, got[0])
	case len(got) < len(want):
		return usageErrorf("%s needs a %s", a.cmd.name, want[len(got)])
	}
	return usageErrorf("%s takes only %s, but got %q too", a.cmd.name, strings.Join(want, " "), got[len(want)])
}

// open opens the database. A command works on a database that a server
// made: a path with no file behind it, an empty file or another
// program's database, on a file or a cluster, is a mistake, not a new
// database to create (see openExistingStore).
func (a *admin) open(ctx context.Context) (*sqlStore, error) {
	return openExistingStore(ctx, a.opts.db)
}

// parseUser is the start of a command that takes one USERNAME: it parses
// the command line, opens the database and finds the user (openUser).
// The caller closes the store.
func (a *admin) parseUser(ctx context.Context, args []string) (st *sqlStore, id int64, username string, err error) {
	args, err = a.parse(args, "USERNAME")
	if err != nil {
		return nil, 0, "", err
	}
	st, id, err = a.openUser(ctx, args[0])
	return st, id, args[0], err
}

// openUser opens the database and finds the user with this name, in any
// case. The caller closes the store.
func (a *admin) openUser(ctx context.Context, username string) (*sqlStore, int64, error) {
	st, err := a.open(ctx)
	if err != nil {
		return nil, 0, err
	}
	id, _, err := st.passwordHashByUsername(ctx, username)
	if errors.Is(err, errNotFound) {
		err = fmt.Errorf("no user named %q", username)
	}
	if err != nil {
		st.Close()
		return nil, 0, err
	}
	return st, id, nil
}
