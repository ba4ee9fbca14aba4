package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The tests build the real server from the repository root and run the
// generated client against it: what CI asks of the document is that a
// client generated from it works against the server it describes.

// startServer builds tokenapi from ../.. and starts it on a free loopback
// port with a fresh database; it is stopped when the test ends.
func startServer(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	binary := filepath.Join(dir, "tokenapi")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build of the server: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var log bytes.Buffer
	server := exec.Command(binary, "-addr", addr, "-db", filepath.Join(dir, "client.db"), "-password-iterations", "1000")
	server.Stdout, server.Stderr = &log, &log
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- server.Wait() }()
	t.Cleanup(func() {
		server.Process.Signal(os.Interrupt)
		<-exited
	})
	baseURL := "http://" + addr
	waitReady(t, baseURL, exited, &log)
	return baseURL
}

// waitReady polls /healthz until the server answers 200, failing at once
// if it exits first, and after a minute of polls if it never answers.
func waitReady(t *testing.T, baseURL string, exited chan error, log *bytes.Buffer) {
	t.Helper()
	for range 1200 {
		select {
		case err := <-exited:
			t.Fatalf("the server exited before it was ready (%v):\n%s", err, log)
		default:
		}
		if resp, err := http.Get(baseURL + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the server never answered GET /healthz with 200:\n%s", log)
}

func TestTutorialFlowAgainstBuiltServer(t *testing.T) {
	baseURL := startServer(t)
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"-url", baseURL, "-suffix="}, &out, &errOut); err != nil {
		t.Fatalf("run = %v, want the flow to pass; it printed:\n%s%s", err, out.String(), errOut.String())
	}
	for _, want := range []string{
		"signed up muthoni: user 1", "signed up gitau: user 2", "no credentials: 401",
		"read user 2 with Bearer: gitau", "listed 2 sessions", "logged out",
		"the revoked token: 401, the token is unknown, expired or revoked",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	// A second run, with its default fresh suffix, passes on the same
	// database; the same names again are taken, and that answer fails it.
	if err := run(context.Background(), []string{"-url", baseURL}, &out, &errOut); err != nil {
		t.Fatalf("second run = %v, want the flow to pass with fresh names", err)
	}
	err := run(context.Background(), []string{"-url", baseURL, "-suffix="}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "POST /api/users muthoni = 400, want 201") {
		t.Fatalf("a run with taken names = %v, want POST /api/users muthoni = 400, want 201", err)
	}
}
