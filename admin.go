package main

// The operator's commands: tokenapi users, sessions, revoke, passwd and
// prune. Each opens the database file with the plain sqlStore, no cache,
// so it is safe beside a server running on the same file: SQLite's WAL
// and busy timeout let both at it, every change is one self-contained
// statement, as the server's are, and the server's caches trust what they
// hold for at most a second (cacheTrust), so it honours a revocation
// within a second.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"
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
// made: a path with no file behind it is a mistake, not a new database to
// create.
func (a *admin) open(ctx context.Context) (*sqlStore, error) {
	if _, err := os.Stat(a.opts.db); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("database %s does not exist", a.opts.db)
	}
	return openStore(ctx, a.opts.db)
}

// userID returns the id of the user with this name, in any case.
func userID(ctx context.Context, st *sqlStore, username string) (int64, error) {
	id, _, err := st.passwordHashByUsername(ctx, username)
	if errors.Is(err, errNotFound) {
		return 0, fmt.Errorf("no user named %q", username)
	}
	return id, err
}

// users lists the users.
func (a *admin) users(ctx context.Context, args []string) error {
	if _, err := a.parse(args); err != nil {
		return err
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	users, err := st.adminUsers(ctx, time.Now())
	if err != nil {
		return err
	}
	if a.json {
		type userJSON struct {
			ID           int64   `json:"id"`
			Username     string  `json:"username"`
			CreatedAt    *string `json:"created_at"`
			LastSeen     string  `json:"last_seen"`
			LiveSessions int     `json:"live_sessions"`
		}
		items := make([]userJSON, len(users))
		for i, u := range users {
			items[i] = userJSON{ID: u.ID, Username: u.Username, CreatedAt: optionalTime(u.CreatedAt),
				LastSeen: formatTime(u.LastSeen), LiveSessions: u.LiveSessions}
		}
		return a.writeJSON(items)
	}
	t := a.table("ID", "USERNAME", "CREATED", "LAST SEEN", "LIVE SESSIONS")
	for _, u := range users {
		t.row(u.ID, u.Username, textTime(u.CreatedAt), textTime(u.LastSeen), u.LiveSessions)
	}
	return t.flush()
}

// sessions lists a user's live sessions, newest first. It shows the
// stored last use and expiry, which a running server writes in batches:
// they may lag the real ones by up to maxSessionLag.
func (a *admin) sessions(ctx context.Context, args []string) error {
	args, err := a.parse(args, "USERNAME")
	if err != nil {
		return err
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	id, err := userID(ctx, st, args[0])
	if err != nil {
		return err
	}
	all, err := st.sessionsOf(ctx, id)
	if err != nil {
		return err
	}
	now := time.Now()
	live := all[:0]
	for _, s := range all {
		if s.ExpiresAt.After(now) {
			live = append(live, s)
		}
	}
	if a.json {
		type sessionJSON struct {
			ID         int64   `json:"id"`
			Name       *string `json:"name"`
			Scope      string  `json:"scope"`
			CreatedAt  string  `json:"created_at"`
			LastUsedAt *string `json:"last_used_at"`
			ExpiresAt  string  `json:"expires_at"`
			UserAgent  *string `json:"user_agent"`
		}
		items := make([]sessionJSON, len(live))
		for i, s := range live {
			items[i] = sessionJSON{ID: s.ID, Name: optional(s.Name), Scope: s.Scope, CreatedAt: formatTime(s.CreatedAt),
				LastUsedAt: optionalTime(s.LastUsedAt), ExpiresAt: formatTime(s.ExpiresAt), UserAgent: optional(s.UserAgent)}
		}
		return a.writeJSON(items)
	}
	t := a.table("ID", "NAME", "SCOPE", "CREATED", "LAST USED", "EXPIRES", "USER AGENT")
	for _, s := range live {
		t.row(s.ID, textCell(s.Name), s.Scope, textTime(s.CreatedAt), textTime(s.LastUsedAt), textTime(s.ExpiresAt),
			textCell(s.UserAgent))
	}
	return t.flush()
}

// revoke ends every session of a user, or with -session one session,
// whoever's it is.
func (a *admin) revoke(ctx context.Context, args []string) error {
	var sessionID int64
	a.flags.Func("session", "end the session with this `ID` (from tokenapi sessions), whoever's it is", func(s string) error {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return errors.New("not a session id")
		}
		sessionID = id
		return nil
	})
	args, err := a.parseFlags(args)
	if err != nil {
		return err
	}
	if sessionID != 0 {
		if len(args) > 0 {
			return usageErrorf("revoke takes a USERNAME or -session ID, not both")
		}
		return a.revokeSession(ctx, sessionID)
	}
	if err := a.wantArgs(args, "USERNAME"); err != nil {
		return err
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	id, err := userID(ctx, st, args[0])
	if err != nil {
		return err
	}
	n, err := st.deleteTokensOf(ctx, id)
	if err != nil {
		return err
	}
	if a.json {
		return a.writeJSON(struct {
			Username string `json:"username"`
			Ended    int64  `json:"ended"`
		}{args[0], n})
	}
	_, err = fmt.Fprintf(a.stdout, "ended %s of %s\n", plural(n, "session"), args[0])
	return err
}

func (a *admin) revokeSession(ctx context.Context, id int64) error {
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.deleteSessionByID(ctx, id); errors.Is(err, errNotFound) {
		return fmt.Errorf("no session with id %d", id)
	} else if err != nil {
		return err
	}
	if a.json {
		return a.writeJSON(struct {
			Session int64 `json:"session"`
			Ended   int64 `json:"ended"`
		}{id, 1})
	}
	_, err = fmt.Fprintf(a.stdout, "ended session %d\n", id)
	return err
}

// passwd sets a user's password and ends the user's sessions, as a change
// through the API does: the password is written first, and the sessions
// ended after it. A login checked against the old password that lands in
// between stores no token (see insertToken).
func (a *admin) passwd(ctx context.Context, args []string) error {
	args, err := a.parse(args, "USERNAME")
	if err != nil {
		return err
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	username := args[0]
	id, err := userID(ctx, st, username) // before asking for a password it cannot set
	if err != nil {
		return err
	}
	password, err := a.readNewPassword(ctx, username)
	if err != nil {
		return err
	}
	if msg := checkNewPassword(password); msg != "" {
		return errors.New(msg)
	}
	hash, err := newPasswordHasher(a.opts.passwordIterations, newHashSlots(runtime.GOMAXPROCS(0))).hash(ctx, password)
	if err != nil {
		return err
	}
	if err := st.updateUser(ctx, id, userChanges{PasswordHash: &hash}); errors.Is(err, errNotFound) {
		return fmt.Errorf("no user named %q", username)
	} else if err != nil {
		return err
	}
	n, err := st.deleteTokensOf(ctx, id)
	if err != nil {
		return fmt.Errorf("the password is changed, but ending the sessions failed (run tokenapi revoke %s): %w", username, err)
	}
	if a.json {
		return a.writeJSON(struct {
			Username string `json:"username"`
			Ended    int64  `json:"ended"`
		}{username, n})
	}
	_, err = fmt.Fprintf(a.stdout, "changed the password of %s and ended %s\n", username, plural(n, "session"))
	return err
}

// prune deletes the expired sessions. A running server may have moved a
// session's expiry on in memory up to maxSessionLag before writing it,
// and that lag is a minute at most whatever the server's -token-ttl: prune
// leaves that minute alone, as the server's own sweeper does.
func (a *admin) prune(ctx context.Context, args []string) error {
	if _, err := a.parse(args); err != nil {
		return err
	}
	st, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.deleteExpiredTokens(ctx, time.Now().Add(-time.Minute))
	if err != nil {
		return err
	}
	if a.json {
		return a.writeJSON(struct {
			Deleted int64 `json:"deleted"`
		}{n})
	}
	_, err = fmt.Fprintf(a.stdout, "deleted %s\n", plural(n, "expired session"))
	return err
}

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

// writeJSON prints v as indented JSON.
func (a *admin) writeJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// table prints aligned columns under a header.
type table struct{ w *tabwriter.Writer }

func (a *admin) table(header ...any) *table {
	t := &table{tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)}
	t.row(header...)
	return t
}

func (t *table) row(cells ...any) {
	for i, c := range cells {
		if i > 0 {
			fmt.Fprint(t.w, "\t")
		}
		fmt.Fprint(t.w, c)
	}
	fmt.Fprintln(t.w)
}

func (t *table) flush() error { return t.w.Flush() }

// textTime is a time as the tables show it, "-" for none.
func textTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// optionalTime is a time as the JSON shows it, null for none.
func optionalTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := formatTime(t)
	return &s
}

// textCell is a client's text, a session name or a User-Agent, as the
// tables show it: "-" for none, and no control character, which could
// move the cursor or break the columns.
func textCell(s string) string {
	if s == "" {
		return "-"
	}
	return cutRunes(s, utf8.RuneCountInString(s))
}

// plural is "1 session", "2 sessions".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.FormatInt(n, 10) + " " + noun + "s"
}
