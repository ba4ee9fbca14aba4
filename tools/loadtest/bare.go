package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The baseline is the floor for a server on this machine: Go's net/http
// answering every request with the bytes the target answered GET
// /api/users/{id} with, no routing, auth or database. It runs as a separate
// process, as the target does, so that both compete with the load
// generator for the CPUs the same way; run in this process, it would share
// a Go scheduler and garbage collector with the client.

// bareCommand, as the first argument, turns this program into the
// baseline server. It is not in the help: only the tool starts it.
const bareCommand = "bare-baseline"

// bareServer is a running baseline process.
type bareServer struct {
	cmd    *exec.Cmd
	addr   string
	stdin  io.Closer
	exited chan struct{}
}

// startBare starts this program again as the baseline server, serving
// body as contentType. It returns once the server listens.
func startBare(body []byte, contentType, dir string) (*bareServer, error) {
	bodyPath := filepath.Join(dir, "baseline-body")
	if err := os.WriteFile(bodyPath, body, 0o600); err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, bareCommand, "-body", bodyPath, "-content-type", contentType)
	cmd.Stderr = os.Stderr
	// The server runs until its stdin closes: when stop closes it, or when
	// this process dies, so no baseline outlives the tool.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	b := &bareServer{cmd: cmd, stdin: stdin, exited: make(chan struct{})}
	// It reports the address it got on its first line of output. Wait
	// comes after the last read of stdout, as os/exec requires.
	lines := make(chan string, 1)
	go func() {
		br := bufio.NewReader(stdout)
		line, _ := br.ReadString('\n')
		lines <- line
		io.Copy(io.Discard, br)
		cmd.Wait()
		close(b.exited)
	}()
	select {
	case line := <-lines:
		addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
		if !ok {
			b.stop()
			return nil, fmt.Errorf("baseline server: unexpected first line %q", line)
		}
		b.addr = addr
		return b, nil
	case <-time.After(10 * time.Second):
		b.stop()
		return nil, errors.New("baseline server: no address within 10s")
	}
}

func (b *bareServer) pid() int { return b.cmd.Process.Pid }

func (b *bareServer) stop() {
	b.stdin.Close()
	select {
	case <-b.exited:
	case <-time.After(5 * time.Second):
		b.cmd.Process.Kill()
		<-b.exited
	}
}

// bareMain is the baseline server process: it serves until stdin closes.
func bareMain(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(bareCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	bodyPath := fs.String("body", "", "file holding the response body")
	contentType := fs.String("content-type", "application/json", "Content-Type of the response")
	if err := fs.Parse(args); err != nil {
		return err
	}
	body, err := os.ReadFile(*bodyPath)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler: bareHandler(body, *contentType),
		// tokenapi's timeouts: each makes net/http set a deadline per
		// request, which a fair floor should pay too.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	go srv.Serve(ln)
	fmt.Fprintf(stdout, "listening %s\n", ln.Addr())
	io.Copy(io.Discard, stdin)
	return srv.Close()
}

// bareHandler answers every request with body. The header values are
// built once: the floor should not pay for formatting a length.
func bareHandler(body []byte, contentType string) http.Handler {
	ct := []string{contentType}
	cl := []string{strconv.Itoa(len(body))}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = ct
		h["Content-Length"] = cl
		w.Write(body)
	})
}
