package main

import (
	"database/sql"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The test binary is also the server: started with childEnv=1 it runs as
// main does (see TestMain), so tests can kill it, signal it and read its
// exit code and stderr like those of the real binary.
const (
	childEnv = "TOKENAPI_TEST_CHILD"
	// childIterationsEnv lowers the PBKDF2 cost of a child, for tests that
	// create many users.
	childIterationsEnv = "TOKENAPI_PASSWORD_ITERATIONS"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child is the server running in a process of its own.
type child struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{} // closed when the process has ended
	state  *os.ProcessState
}

// startChild starts the server with args in the directory dir. env holds
// extra "NAME=value" variables; the test's own TOKENAPI_* variables are not
// passed on. The process is killed when the test ends, if it still runs.
func startChild(t *testing.T, dir string, args []string, env ...string) *child {
	t.Helper()
	self, err := os.Executable() // os.Args[0] may be relative to another directory
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TOKENAPI_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, childEnv+"=1")
	cmd.Env = append(cmd.Env, env...)
	c := &child{cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = c.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	go func() {
		cmd.Wait()
		c.state = cmd.ProcessState
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			cmd.Process.Kill()
			<-c.exited
		}
		// The child is the test binary, built with -race when the test is:
		// a race in the server shows up only here.
		if strings.Contains(c.stderr.String(), "WARNING: DATA RACE") {
			t.Errorf("the child reported a data race:\n%s", c.stderr)
		} else if t.Failed() {
			t.Logf("child %v stderr (last lines):\n%s", args, lastLines(c.stderr.String(), 40))
		}
	})
	return c
}

// listeningLine is the log line that gives the address the child serves on.
var listeningLine = regexp.MustCompile(`msg=listening url=(\S+)`)

// waitServing waits until the child logs its address and answers /healthz
// with 200, and returns its base URL.
func (c *child) waitServing(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	base := ""
	for {
		select {
		case <-c.exited:
			t.Fatalf("child exited with %v before serving:\n%s", c.state, c.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("child did not serve /healthz within 30s:\n%s", c.stderr)
		}
		if base == "" {
			if m := listeningLine.FindStringSubmatch(c.stderr.String()); m != nil {
				base = m[1]
			}
		}
		if base != "" {
			if res, err := http.Get(base + "/healthz"); err == nil {
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					return base
				}
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill ends the child with SIGKILL, as a crash or an OOM kill would, and
// waits until it is gone.
func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 child: %v", err)
	}
	<-c.exited
}

// signal sends sig to the child.
func (c *child) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to child: %v", sig, err)
	}
}

// wait waits for the child to end and returns its exit code. A child that
// is still running after timeout is killed and fails the test.
func (c *child) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(timeout):
		c.cmd.Process.Kill()
		<-c.exited
		t.Fatalf("child still running after %v; killed it. stderr:\n%s", timeout, lastLines(c.stderr.String(), 40))
	}
	return c.state.ExitCode()
}

// running reports whether the child has not ended yet.
func (c *child) running() bool {
	select {
	case <-c.exited:
		return false
	default:
		return true
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// checkIntegrity opens the database file of a server that is no longer
// running, read-only so that the test neither recovers nor checkpoints its
// WAL for the next server, and checks that SQLite finds it sound.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("PRAGMA integrity_check = %q (%v), want ok", check, err)
	}
	rows, err := db.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatalf("PRAGMA foreign_key_check: %v", err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Errorf("PRAGMA foreign_key_check finds rows that point nowhere")
	}
	if err := rows.Err(); err != nil {
		t.Errorf("PRAGMA foreign_key_check: %v", err)
	}
}

// api is a client of one child server.
type api struct {
	base   string
	client *http.Client
}

func newAPI(base string) *api {
	return &api{base: base, client: &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: 16},
		Timeout:   time.Minute,
	}}
}

// do sends a request and reads the whole answer. A non-empty body is sent
// as JSON; auth, when not nil, adds the credentials. The error is that of
// the transport: no answer, or only part of one.
func (a *api) do(method, path, body string, auth func(*http.Request)) (status int, data []byte, err error) {
	req, err := http.NewRequest(method, a.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != nil {
		auth(req)
	}
	res, err := a.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	data, err = io.ReadAll(res.Body)
	return res.StatusCode, data, err
}

// close drops the client's idle connections.
func (a *api) close() { a.client.CloseIdleConnections() }

func bearer(token string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func basic(username, password string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(username, password) }
}
