package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The operator's commands, each run as a process of its own against the
// database of a server that is running, as an operator runs them.

// startAdminServer starts the program on a fresh database in a new
// directory, and returns the program and the directory.
func startAdminServer(t *testing.T) (*program, string) {
	t.Helper()
	dir := t.TempDir()
	return startProgram(t, dir, []string{"-addr", "127.0.0.1:0", "-db", "tokenapi.db"}, cheapPasswords), dir
}

// runProgram runs the program once with args in dir, with stdin as its
// standard input, and returns what it printed and its exit code. Like
// startProgram, it passes on none of the test's own TOKENAPI_* variables,
// and lowers the password cost.
func runProgram(t *testing.T, dir, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TOKENAPI_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, childEnv+"=1", cheapPasswords)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil && !errors.As(err, new(*exec.ExitError)) {
		t.Fatalf("tokenapi %s: %v", strings.Join(args, " "), err)
	}
	if strings.Contains(errOut.String(), "WARNING: DATA RACE") {
		t.Errorf("tokenapi %s reported a data race:\n%s", strings.Join(args, " "), errOut.String())
	}
	return out.String(), errOut.String(), cmd.ProcessState.ExitCode()
}

// runOK runs a command on dir's tokenapi.db that must succeed, and
// returns its output.
func runOK(t *testing.T, dir, stdin string, args ...string) string {
	t.Helper()
	args = append([]string{"-db", "tokenapi.db"}, args...)
	stdout, stderr, code := runProgram(t, dir, stdin, args...)
	if code != 0 || stderr != "" {
		t.Fatalf("tokenapi %s: exit code %d, stderr %q; want 0 and nothing", strings.Join(args, " "), code, stderr)
	}
	return stdout
}

// loginSession logs a user in with a body (a session's name and scope)
// and a User-Agent, and returns the token and its session's id.
func loginSession(t *testing.T, p *program, username, password, body, agent string) (string, int64) {
	t.Helper()
	res := p.callWith(t, "POST", "/api/tokens", body, basic(username, password), withHeader("User-Agent", agent))
	wantStatus(t, "POST /api/tokens as "+username, res, http.StatusOK)
	m := res.object(t)
	return m["token"].(string), int64(m["id"].(float64))
}

// insertSession stores a session of a user that expired ago, straight
// into the database the server is using.
func insertSession(t *testing.T, dir string, userID int64, ago time.Duration) {
	t.Helper()
	st, err := openStore(context.Background(), filepath.Join(dir, "tokenapi.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	expired := time.Now().Add(-ago)
	if _, err := st.write.Exec(
		`INSERT INTO tokens (hash, user_id, created_at, expires_at, max_expires_at) VALUES (?, ?, ?, ?, ?)`,
		hashToken(newToken()).String(), userID, formatTime(expired.Add(-time.Hour)), formatTime(expired), formatTime(expired)); err != nil {
		t.Fatal(err)
	}
}

// waitRefused waits for the server to refuse token, which it must within
// cacheTrust of a change made by another process; it allows twice that.
func waitRefused(t *testing.T, p *program, token, what string) {
	t.Helper()
	deadline := time.Now().Add(2 * cacheTrust)
	for {
		res := p.call(t, "GET", "/api/tokens", token, "")
		if res.status == http.StatusUnauthorized {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: GET /api/tokens still %d after %v, want 401", what, res.status, 2*cacheTrust)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// wantWorks checks that the server still takes token.
func wantWorks(t *testing.T, p *program, token, what string) {
	t.Helper()
	wantStatus(t, what+": GET /api/tokens", p.call(t, "GET", "/api/tokens", token, ""), http.StatusOK)
}

// tableRows returns the rows of a table the commands print, each cut into
// fields, after checking its header.
func tableRows(t *testing.T, out, header string) [][]string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if got := strings.Join(strings.Fields(lines[0]), " "); got != header {
		t.Fatalf("output %q has the header %q, want %q", out, got, header)
	}
	var rows [][]string
	for _, line := range lines[1:] {
		rows = append(rows, strings.Fields(line))
	}
	return rows
}

func TestAdminUsersAndSessions(t *testing.T) {
	t.Parallel()
	p, dir := startAdminServer(t)
	amara := p.createUser(t, "amara", "amara-password")
	kofi := p.createUser(t, "kofi", "kofi-password")
	_, laptop := loginSession(t, p, "amara", "amara-password", `{"name": "laptop"}`, "curl/8.5.0")
	_, phone := loginSession(t, p, "amara", "amara-password", `{"name": "phone", "scope": "read"}`, "TokenApp/2.1 (Android 14)")
	p.login(t, "kofi", "kofi-password")
	insertSession(t, dir, amara, time.Hour) // expired: neither counted nor listed

	rows := tableRows(t, runOK(t, dir, "", "users"), "ID USERNAME CREATED LAST SEEN LIVE SESSIONS")
	want := [][]string{{strconv.FormatInt(amara, 10), "amara", "2"}, {strconv.FormatInt(kofi, 10), "kofi", "1"}}
	if len(rows) != len(want) {
		t.Fatalf("users printed rows %q, want %d", rows, len(want))
	}
	for i, row := range rows {
		if got := []string{row[0], row[1], row[len(row)-1]}; !slices.Equal(got, want[i]) {
			t.Errorf("users row %d = %q; want id, username and live sessions %q", i, row, want[i])
		}
	}

	var users []struct {
		ID           int64   `json:"id"`
		Username     string  `json:"username"`
		CreatedAt    *string `json:"created_at"`
		LiveSessions int     `json:"live_sessions"`
	}
	if err := json.Unmarshal([]byte(runOK(t, dir, "", "users", "-json")), &users); err != nil {
		t.Fatalf("users -json: %v", err)
	}
	if len(users) != 2 || users[0].Username != "amara" || users[0].LiveSessions != 2 || users[0].CreatedAt == nil ||
		users[1].Username != "kofi" || users[1].LiveSessions != 1 {
		t.Errorf("users -json = %+v, want amara with 2 live sessions and kofi with 1, both with created_at", users)
	}

	// Newest first, whatever the case of the name.
	rows = tableRows(t, runOK(t, dir, "", "sessions", "AMARA"), "ID NAME SCOPE CREATED LAST USED EXPIRES USER AGENT")
	if len(rows) != 2 || rows[0][0] != strconv.FormatInt(phone, 10) || rows[0][1] != "phone" || rows[0][2] != "read" ||
		strings.Join(rows[0][6:], " ") != "TokenApp/2.1 (Android 14)" ||
		rows[1][0] != strconv.FormatInt(laptop, 10) || rows[1][1] != "laptop" || strings.Join(rows[1][6:], " ") != "curl/8.5.0" {
		t.Errorf("sessions amara printed %q, want phone (%d) then laptop (%d)", rows, phone, laptop)
	}
	var sessions []struct {
		ID         int64   `json:"id"`
		Name       string  `json:"name"`
		Scope      string  `json:"scope"`
		LastUsedAt *string `json:"last_used_at"`
		UserAgent  string  `json:"user_agent"`
	}
	if err := json.Unmarshal([]byte(runOK(t, dir, "", "sessions", "amara", "-json")), &sessions); err != nil {
		t.Fatalf("sessions -json: %v", err)
	}
	if len(sessions) != 2 || sessions[0].ID != phone || sessions[0].Scope != "read" || sessions[0].UserAgent != "TokenApp/2.1 (Android 14)" ||
		sessions[1].ID != laptop || sessions[1].Name != "laptop" {
		t.Errorf("sessions amara -json = %+v, want phone (%d) then laptop (%d)", sessions, phone, laptop)
	}
}

func TestAdminRevokeSession(t *testing.T) {
	t.Parallel()
	p, dir := startAdminServer(t)
	p.createUser(t, "amara", "amara-password")
	laptopToken, laptop := loginSession(t, p, "amara", "amara-password", `{"name": "laptop"}`, "curl/8.5.0")
	phoneToken, _ := loginSession(t, p, "amara", "amara-password", `{"name": "phone"}`, "curl/8.5.0")
	wantWorks(t, p, laptopToken, "before the revoke") // now in the server's cache

	if out := runOK(t, dir, "", "revoke", "-session", strconv.FormatInt(laptop, 10)); out != fmt.Sprintf("ended session %d\n", laptop) {
		t.Errorf("revoke -session %d printed %q", laptop, out)
	}
	waitRefused(t, p, laptopToken, "the revoked session")
	wantWorks(t, p, phoneToken, "the other session of the same user")

	_, stderr, code := runProgram(t, dir, "", "-db", "tokenapi.db", "revoke", "-session", strconv.FormatInt(laptop, 10))
	if want := fmt.Sprintf("tokenapi: no session with id %d\n", laptop); code != 1 || stderr != want {
		t.Errorf("revoke -session %d again: exit code %d, stderr %q; want 1 and %q", laptop, code, stderr, want)
	}
}

func TestAdminRevokeUser(t *testing.T) {
	t.Parallel()
	p, dir := startAdminServer(t)
	p.createUser(t, "amara", "amara-password")
	p.createUser(t, "kofi", "kofi-password")
	first, second := p.login(t, "amara", "amara-password"), p.login(t, "amara", "amara-password")
	other := p.login(t, "kofi", "kofi-password")
	wantWorks(t, p, first, "before the revoke")
	wantWorks(t, p, second, "before the revoke")

	if out := runOK(t, dir, "", "revoke", "amara"); out != "ended 2 sessions of amara\n" {
		t.Errorf("revoke amara printed %q, want \"ended 2 sessions of amara\\n\"", out)
	}
	waitRefused(t, p, first, "amara's first session")
	waitRefused(t, p, second, "amara's second session")
	wantWorks(t, p, other, "kofi's session")

	if out := runOK(t, dir, "", "revoke", "-json", "amara"); out != "{\n  \"username\": \"amara\",\n  \"ended\": 0\n}\n" {
		t.Errorf("revoke -json amara again printed %q, want 0 ended", out)
	}
}

func TestAdminPasswd(t *testing.T) {
	t.Parallel()
	p, dir := startAdminServer(t)
	id := p.createUser(t, "amara", "amara-password")
	token := p.login(t, "amara", "amara-password")

	// A password the API would refuse changes nothing.
	_, stderr, code := runProgram(t, dir, "short\n", "-db", "tokenapi.db", "passwd", "amara")
	if want := "tokenapi: field password must be 8 to 1024 characters\n"; code != 1 || stderr != want {
		t.Errorf("passwd amara with a short password: exit code %d, stderr %q; want 1 and %q", code, stderr, want)
	}
	wantWorks(t, p, token, "after a refused change")
	p.login(t, "amara", "amara-password")

	// One line is read, and the old password and sessions end with it.
	if out := runOK(t, dir, "a much longer passphrase\nignored\n", "passwd", "amara"); out != "changed the password of amara and ended 2 sessions\n" {
		t.Errorf("passwd amara printed %q", out)
	}
	wantError(t, "POST /api/tokens with the old password", p.callBasic(t, "POST", "/api/tokens", "amara", "amara-password"),
		http.StatusUnauthorized, "")
	waitRefused(t, p, token, "a session from before the change")
	wantWorks(t, p, p.login(t, "amara", "a much longer passphrase"), "a session with the new password")

	// The hash has the cost of TOKENAPI_PASSWORD_ITERATIONS, as the API's.
	st, err := openStore(context.Background(), filepath.Join(dir, "tokenapi.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hash, err := st.passwordHashByID(context.Background(), id)
	if want := fmt.Sprintf("%s$%d$", passwordScheme, testPasswordIterations); err != nil || !strings.HasPrefix(hash, want) {
		t.Errorf("stored hash = %q, %v; want one starting %q", hash, err, want)
	}
}

func TestAdminPrune(t *testing.T) {
	t.Parallel()
	p, dir := startAdminServer(t)
	id := p.createUser(t, "amara", "amara-password")
	token := p.login(t, "amara", "amara-password")
	insertSession(t, dir, id, time.Hour)
	insertSession(t, dir, id, 2*time.Hour)
	// Expired only just: a running server may still be about to write a
	// later use of it, so prune leaves it for now.
	insertSession(t, dir, id, time.Second)
	// And more than one batch of the sweeps' deletes, long expired.
	st, err := openStore(context.Background(), filepath.Join(dir, "tokenapi.db"))
	if err != nil {
		t.Fatal(err)
	}
	seedRows(t, st, "tokens", "old-", id, 2*sweepBatch+500, time.Now().Add(-24*time.Hour))
	st.Close()

	want := fmt.Sprintf("deleted %d expired sessions\n", 2+2*sweepBatch+500)
	if out := runOK(t, dir, "", "prune"); out != want {
		t.Errorf("prune printed %q, want %q", out, want)
	}
	if out := runOK(t, dir, "", "prune", "-json"); out != "{\n  \"deleted\": 0\n}\n" {
		t.Errorf("prune -json again printed %q, want 0 deleted", out)
	}
	wantWorks(t, p, token, "the live session")
	st, err = openStore(context.Background(), filepath.Join(dir, "tokenapi.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var left int
	if err := st.read.QueryRow(`SELECT COUNT(*) FROM tokens`).Scan(&left); err != nil || left != 2 {
		t.Errorf("tokens left after prune = %d, %v; want 2, the live one and the one just expired", left, err)
	}
}

// TestAdminFailures checks how each command fails: exit code 1 and one
// line for a fault, 2 and a hint to run tokenapi help for a command line
// it cannot run; and that help succeeds.
func TestAdminFailures(t *testing.T) {
	t.Parallel()
	p, dir := startAdminServer(t)
	p.createUser(t, "amara", "amara-password")
	tests := []struct {
		args     []string
		stdin    string
		code     int
		stderr   string // the first line, without "tokenapi: "
		stdout   []string
		noDBFile string // a file the command must not create
	}{
		{args: []string{"-db", "tokenapi.db", "sessions", "kamau"}, code: 1, stderr: `no user named "kamau"`},
		{args: []string{"-db", "tokenapi.db", "revoke", "kamau"}, code: 1, stderr: `no user named "kamau"`},
		{args: []string{"-db", "tokenapi.db", "passwd", "kamau"}, stdin: "a long enough one\n", code: 1, stderr: `no user named "kamau"`},
		{args: []string{"-db", "tokenapi.db", "passwd", "amara"}, code: 1, stderr: "no password on standard input"},
		{args: []string{"-db", "missing.db", "users"}, code: 1, stderr: "database missing.db does not exist", noDBFile: "missing.db"},
		{args: []string{"-db", "tokenapi.db", "frobnicate"}, code: 2,
			stderr: `unknown command "frobnicate"; the commands are serve, users, sessions, revoke, passwd, prune, unlock, events, delete-user, totp-off, totp-code, backup and help`},
		{args: []string{"-db", "tokenapi.db", "sessions"}, code: 2, stderr: "sessions needs a USERNAME"},
		{args: []string{"-db", "tokenapi.db", "users", "amara"}, code: 2, stderr: `users takes no arguments, but got "amara"`},
		{args: []string{"-db", "tokenapi.db", "revoke", "amara", "-session", "1"}, code: 2, stderr: "revoke takes a USERNAME or -session ID, not both"},
		{args: []string{"-db", "tokenapi.db", "revoke", "-session", "one"}, code: 2, stderr: `revoke: invalid value "one" for flag -session`},
		{args: []string{"-db", "tokenapi.db", "users", "-jsn"}, code: 2, stderr: "users: unknown flag -jsn; did you mean -json?"},
		{args: []string{"users", "-db", "tokenapi.db"}, code: 2, stderr: "-db belongs before the command"},
		{args: []string{"serve", "now"}, code: 2, stderr: `unexpected argument "now" after serve`},
		{args: []string{"help"}, stdout: []string{"serve", "users", "sessions USERNAME", "revoke USERNAME | -session ID",
			"passwd USERNAME", "prune", "-db string", "-addr string"}},
		{args: []string{"-h"}, stdout: []string{"revoke USERNAME | -session ID", "-token-ttl"}},
		{args: []string{"help", "revoke"}, stdout: []string{"usage: tokenapi [flags] revoke", "-session ID", "-json"}},
		{args: []string{"sessions", "-h"}, stdout: []string{"usage: tokenapi [flags] sessions [-json] USERNAME"}},
	}
	for _, tt := range tests {
		stdout, stderr, code := runProgram(t, dir, tt.stdin, tt.args...)
		what := "tokenapi " + strings.Join(tt.args, " ")
		if code != tt.code {
			t.Errorf("%s: exit code %d, want %d (stderr %q)", what, code, tt.code, stderr)
		}
		switch lines := strings.SplitAfter(stderr, "\n"); tt.code {
		case 0:
			if stderr != "" {
				t.Errorf("%s: stderr %q, want nothing", what, stderr)
			}
		case 1:
			if want := "tokenapi: " + tt.stderr + "\n"; stderr != want {
				t.Errorf("%s: stderr %q, want %q", what, stderr, want)
			}
		case 2:
			if len(lines) != 3 || !strings.HasPrefix(lines[0], "tokenapi: "+tt.stderr) || lines[1] != "Run 'tokenapi help' for usage.\n" {
				t.Errorf("%s: stderr %q, want \"tokenapi: %s...\" and a line pointing to tokenapi help", what, stderr, tt.stderr)
			}
		}
		for _, want := range tt.stdout {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s: stdout lacks %q:\n%s", what, want, stdout)
			}
		}
		if tt.code != 0 && stdout != "" {
			t.Errorf("%s: stdout %q, want nothing", what, stdout)
		}
		if tt.noDBFile != "" {
			if _, err := os.Stat(filepath.Join(dir, tt.noDBFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: %s exists (%v), want no file made", what, tt.noDBFile, err)
			}
		}
	}
}

// A command works on a database a server has made, and on nothing else:
// a file that is empty, not SQLite, or another program's SQLite
// database is refused, exit 1 and one line, and left as it was, every
// byte, with no -wal, -shm or -journal beside it. (openStore would make
// any of them a tokenapi database, which only a server's first start
// may do: TestReopenKeepsData and the rest start on a file that does not
// exist yet.)
func TestAdminRefusesFileWithoutSchema(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		setup  func(t *testing.T, dir string) // makes tokenapi.db
		stderr string
	}{
		{"empty file", writeFile("tokenapi.db", nil),
			"database tokenapi.db is empty, not a tokenapi database; a server makes one on its first start"},
		{"text file", writeFile("tokenapi.db", []byte("these are not the tables you are looking for\n")),
			"database tokenapi.db is not a SQLite database"},
		{"a SQLite database without tables", func(t *testing.T, dir string) {
			makeDB(t, filepath.Join(dir, "tokenapi.db"), "CREATE TABLE gone (x); DROP TABLE gone")
		}, "database tokenapi.db holds no tokenapi schema; a server makes one on its first start"},
		{"another program's database", func(t *testing.T, dir string) {
			makeDB(t, filepath.Join(dir, "tokenapi.db"), "CREATE TABLE notes (body TEXT)")
		}, "database tokenapi.db holds tables but no tokenapi schema version; is it another program's database?"},
		{"another program's database in WAL mode", func(t *testing.T, dir string) {
			makeDB(t, filepath.Join(dir, "tokenapi.db"), "PRAGMA journal_mode = WAL; CREATE TABLE notes (body TEXT)")
		}, "database tokenapi.db holds tables but no tokenapi schema version; is it another program's database?"},
	}
	commands := [][]string{{"users"}, {"sessions", "amara"}, {"revoke", "amara"}, {"revoke", "-session", "1"}, {"passwd", "amara"}, {"prune"}}
	for _, tt := range tests {
		dir := t.TempDir()
		tt.setup(t, dir)
		before := snapshotDir(t, dir)
		for _, command := range commands {
			args := append([]string{"-db", "tokenapi.db"}, command...)
			what := tt.name + ": tokenapi " + strings.Join(args, " ")
			stdout, stderr, code := runProgram(t, dir, "a long enough one\n", args...)
			if code != 1 || stdout != "" || stderr != "tokenapi: "+tt.stderr+"\n" {
				t.Errorf("%s: exit code %d, stdout %q, stderr %q; want 1, nothing and %q", what, code, stdout, stderr, "tokenapi: "+tt.stderr+"\n")
			}
			after := snapshotDir(t, dir)
			for name, data := range after {
				if old, ok := before[name]; !ok {
					t.Errorf("%s left %s behind", what, filepath.Base(name))
				} else if old != data {
					t.Errorf("%s changed %s (%d bytes, was %d)", what, filepath.Base(name), len(data), len(old))
				}
			}
			if len(after) != len(before) {
				t.Errorf("%s: %d files, want the %d there were", what, len(after), len(before))
			}
		}
	}

	// The control: a database a server made, and has stopped on, so that
	// it is whole in its file with no -wal beside it.
	p, dir := startAdminServer(t)
	p.createUser(t, "amara", "amara-password")
	p.stop(t)
	if _, err := os.Stat(filepath.Join(dir, "tokenapi.db-wal")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("tokenapi.db-wal after the server stopped: %v; want none", err)
	}
	if rows := tableRows(t, runOK(t, dir, "", "users"), "ID USERNAME CREATED LAST SEEN LIVE SESSIONS"); len(rows) != 1 || rows[0][1] != "amara" {
		t.Errorf("tokenapi users on a stopped server's database: %v, want amara", rows)
	}
}

// TestAdminServeStillServes starts the server through serve, with the
// flags before it and after it.
func TestAdminServeStillServes(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"-db", "x.db", "serve", "-addr", "127.0.0.1:0"},
		{"-addr", "127.0.0.1:0", "-db", "x.db", "serve"},
	} {
		p := startProgram(t, t.TempDir(), args, cheapPasswords)
		p.createUser(t, "amara", "amara-password")
		wantWorks(t, p, p.login(t, "amara", "amara-password"), "tokenapi "+strings.Join(args, " "))
		p.stop(t)
	}
}

// TestAdminUsersPages lists more users than one page of adminUsers holds:
// every user comes back once, in id order, with its live sessions counted.
// As the first user of each page arrives, the test deletes the user that
// would begin the next page. The store has not read that user yet if it
// holds one page at a time, so the user is not listed; a store that had
// read further ahead, or read every user before yielding the first, would
// list it.
func TestAdminUsersPages(t *testing.T) {
	db := filepath.Join(t.TempDir(), "tokenapi.db")
	if url := rqliteTestURL(); url != "" {
		db = cleanRqlite(t, url)
	}
	st, err := openStore(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	const users = 5 * adminUsersPage
	insertUsers(t, st, users, now)
	if _, err := st.write.ExecContext(ctx, `INSERT INTO tokens (hash, user_id, created_at, expires_at)
		VALUES ('live', ?, ?, ?)`, users, formatTime(now), formatTime(now.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	deleted := map[int64]bool{}
	var got []userSummary
	for u, err := range st.adminUsers(ctx, now) {
		if err != nil {
			t.Fatal(err)
		}
		if len(got)%adminUsersPage == 0 {
			next := u.ID + adminUsersPage
			res, err := st.write.ExecContext(ctx, `DELETE FROM users WHERE id = ?`, next)
			if err != nil {
				t.Fatal(err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				deleted[next] = true
			}
		}
		got = append(got, u)
	}
	var want []int64
	for id := int64(1); id <= users; id++ {
		if !deleted[id] {
			want = append(want, id)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("adminUsers gave %d users, want %d: all %d but the %d deleted as the pages before them were read",
			len(got), len(want), users, len(deleted))
	}
	for i, u := range got {
		if u.ID != want[i] || u.Username != fmt.Sprintf("user%d", want[i]) {
			t.Fatalf("user %d of the list is %d %q, want %d %q", i, u.ID, u.Username, want[i], fmt.Sprintf("user%d", want[i]))
		}
	}
	if last := got[len(got)-1]; last.LiveSessions != 1 || got[0].LiveSessions != 0 {
		t.Errorf("live sessions: first user %d, last %d; want 0 and 1", got[0].LiveSessions, last.LiveSessions)
	}
}

// insertUsers inserts n users, user1 to userN with ids 1 to n, in one
// statement.
func insertUsers(t *testing.T, st *sqlStore, n int, lastSeen time.Time) {
	t.Helper()
	if _, err := st.write.ExecContext(context.Background(), `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO users (username, email, email_key, password_hash, last_seen)
		SELECT 'user' || i, 'user' || i || '@example.com', 'user' || i || '@example.com', 'x', ? FROM n`,
		n, formatTime(lastSeen)); err != nil {
		t.Fatal(err)
	}
}

// TestAdminUsersMany runs tokenapi users on more users than a page of the
// store or of the table holds: every user is printed once, in id order,
// in the table and in the JSON.
func TestAdminUsersMany(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := openStore(context.Background(), filepath.Join(dir, "tokenapi.db"))
	if err != nil {
		t.Fatal(err)
	}
	const users = 5 * adminUsersPage
	insertUsers(t, st, users, time.Now())
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	rows := tableRows(t, runOK(t, dir, "", "users"), "ID USERNAME CREATED LAST SEEN LIVE SESSIONS")
	if len(rows) != users {
		t.Fatalf("users printed %d rows, want %d", len(rows), users)
	}
	for i, row := range rows {
		if id := strconv.Itoa(i + 1); row[0] != id || row[1] != "user"+id {
			t.Fatalf("users row %d = %q, want id %s and user%s", i, row, id, id)
		}
	}
	var list []struct {
		ID       int64  `json:"id"`
		Username string `json:"username"`
	}
	if err := json.Unmarshal([]byte(runOK(t, dir, "", "users", "-json")), &list); err != nil {
		t.Fatalf("users -json: %v", err)
	}
	if len(list) != users {
		t.Fatalf("users -json printed %d users, want %d", len(list), users)
	}
	for i, u := range list {
		if u.ID != int64(i+1) || u.Username != fmt.Sprintf("user%d", i+1) {
			t.Fatalf("users -json item %d = %+v, want id %d", i, u, i+1)
		}
	}
}
