package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A server the tool starts runs as its own process, on a fresh database in
// a temporary directory and a free port, with its log in a file there (a
// pipe would make this process copy every log line during the run).

// benchDB is the database file of a started binary, in its directory.
const benchDB = "bench.db"

// stopTimeout is how long a server has to exit after SIGTERM before it is
// killed. tokenapi itself waits up to 10 s for requests in flight.
const stopTimeout = 15 * time.Second

// serverProcess is a server started by the tool.
type serverProcess struct {
	cmd     *exec.Cmd
	addr    string // host:port it listens on
	logPath string
	dbPath  string        // -db, for a binary
	exited  chan struct{} // closed when the process has exited
	waitErr error         // valid once exited is closed
	stopped bool
}

// startBinary runs a tokenapi-style binary in dir, with -addr set to a free
// port and -db to dbPath (benchDB in dir when empty); args are appended.
func startBinary(binary, dir, dbPath string, args []string) (*serverProcess, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	// An absolute path, because the server runs in dir, so that any file
	// it writes by default lands there too.
	if binary, err = filepath.Abs(binary); err != nil {
		return nil, err
	}
	if dbPath == "" {
		dbPath = filepath.Join(dir, benchDB)
	}
	argv := append([]string{"-addr", addr, "-db", dbPath}, args...)
	cmd := exec.Command(binary, argv...)
	cmd.Dir = dir
	s, err := startProcess(cmd, addr, dir)
	if err != nil {
		return nil, err
	}
	s.dbPath = dbPath
	return s, nil
}

// startShell runs a shell command line with {port}, {addr} and {dir}
// replaced, and PORT and BENCH_DIR in its environment.
func startShell(cmdline, dir string) (*serverProcess, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmdline = strings.NewReplacer("{port}", port, "{addr}", addr, "{dir}", dir).Replace(cmdline)
	cmd := exec.Command("sh", "-c", cmdline)
	cmd.Env = append(os.Environ(), "PORT="+port, "BENCH_DIR="+dir)
	return startProcess(cmd, addr, dir)
}

func startProcess(cmd *exec.Cmd, addr, dir string) (*serverProcess, error) {
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own copy
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, so that stopping it also stops whatever a
	// shell command line started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &serverProcess{cmd: cmd, addr: addr, logPath: logPath, exited: make(chan struct{})}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

func (s *serverProcess) pid() int { return s.cmd.Process.Pid }

// waitReady polls GET healthPath until the server answers with a status
// below 500. Any such answer means it is serving: a server without a health
// endpoint (the Flask tutorial) answers 404, which is enough.
func (s *serverProcess) waitReady(ctx context.Context, healthPath string, timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	url := "http://" + s.addr + healthPath
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("the server exited before it was ready (%v); its log:\n%s", s.waitErr, s.logTail())
		default:
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the server did not answer GET %s within %v; its log:\n%s", healthPath, timeout, s.logTail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM to the server's process group, waits, then kills.
// It fails if the server had exited on its own: a crash during the run.
// Stopping a stopped server does nothing.
func (s *serverProcess) stop() error {
	if s.stopped {
		return nil
	}
	s.stopped = true
	select {
	case <-s.exited:
		return fmt.Errorf("the server had already exited (%v); its log:\n%s", s.waitErr, s.logTail())
	default:
	}
	pgid := -s.pid()
	syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(stopTimeout):
		syscall.Kill(pgid, syscall.SIGKILL)
		<-s.exited
		return fmt.Errorf("the server did not exit within %v of SIGTERM and was killed", stopTimeout)
	}
}

// logTail is the end of the server's log, for error messages.
func (s *serverProcess) logTail() string {
	data, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return "  " + strings.Join(lines, "\n  ")
}

// freeAddr finds a free port on the loopback interface. The port is free
// when this returns; a server that starts right after almost always gets
// it, and a failure shows as the server exiting before it is ready.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// target is the server under load.
type target struct {
	baseURL string // http://host:port
	addr    string // host:port, to dial and for the Host header
	pid     int    // 0 when unknown
	desc    string
	proc    *serverProcess // nil for -url
}

func startTarget(ctx context.Context, o options, dir string) (*target, error) {
	if o.url != "" {
		u, err := url.Parse(o.url)
		if err != nil || u.Scheme != "http" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("-url %q: want http://host:port (the load client does not speak HTTPS)", o.url)
		}
		addr := u.Host
		if u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
		desc := o.url
		if o.pid != 0 {
			desc += " (pid " + strconv.Itoa(o.pid) + ")"
		}
		return &target{baseURL: "http://" + u.Host, addr: addr, pid: o.pid, desc: desc}, nil
	}

	var proc *serverProcess
	var err error
	desc := o.binary
	if o.binary != "" {
		proc, err = startBinary(o.binary, dir, o.db, o.serverArgs)
	} else {
		desc = "sh -c " + strconv.Quote(o.serverCmd)
		proc, err = startShell(o.serverCmd, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("start the server: %w", err)
	}
	if err := proc.waitReady(ctx, o.healthPath, o.readyTimeout); err != nil {
		proc.stop()
		return nil, err
	}
	return &target{
		baseURL: "http://" + proc.addr,
		addr:    proc.addr,
		pid:     proc.pid(),
		desc:    fmt.Sprintf("%s (pid %d) at http://%s", desc, proc.pid(), proc.addr),
		proc:    proc,
	}, nil
}
