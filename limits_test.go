package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests hold the whole program to the limits its HTTP server sets on
// what a client can take: the time to send the headers, their size, and
// connections left open.

// startFresh starts the program on a fresh database.
func startFresh(t *testing.T) *program {
	t.Helper()
	return startProgram(t, t.TempDir(), []string{"-addr", "127.0.0.1:0", "-db", "limits.db"})
}

// headerTimeout is the ReadHeaderTimeout run gives its server.
const headerTimeout = 5 * time.Second

// TestSlowHeadersCutOff: a client that sends part of a request and then
// stalls, or trickles it a byte at a time, must not hold its connection
// past the header timeout. Both cases wait the real 5 s, in parallel.
func TestSlowHeadersCutOff(t *testing.T) {
	t.Parallel()
	addr := startFresh(t).addr()
	const slack = 3 * time.Second // a noisy machine, not a property
	tests := []struct {
		name    string
		start   string // sent at once
		trickle bool   // then a byte of a header every 200 ms, or nothing
	}{
		{name: "stalls in the request line", start: "POST /api/tok"},
		{name: "stalls in the Authorization header", start: "POST /api/tokens HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "},
		{name: "trickles a header", start: "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", trickle: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetReadDeadline(start.Add(headerTimeout + slack))
			if _, err := io.WriteString(conn, tc.start); err != nil {
				t.Fatal(err)
			}
			stopTrickle := make(chan struct{})
			var trickling sync.WaitGroup
			if tc.trickle {
				trickling.Add(1)
				go func() {
					defer trickling.Done()
					tick := time.NewTicker(200 * time.Millisecond)
					defer tick.Stop()
					for {
						select {
						case <-stopTrickle:
							return
						case <-tick.C:
							if _, err := conn.Write([]byte("a")); err != nil {
								return
							}
						}
					}
				}()
			}
			// The server closes without an answer; read until it does.
			_, err = io.Copy(io.Discard, conn)
			elapsed := time.Since(start)
			close(stopTrickle)
			trickling.Wait()
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("connection still open %v after it began, want it closed by the %v header timeout", elapsed.Round(time.Millisecond), headerTimeout)
			}
			if elapsed < headerTimeout*9/10 {
				t.Errorf("connection closed after %v (%v), want it held for the %v header timeout", elapsed.Round(time.Millisecond), err, headerTimeout)
			}
			t.Logf("closed after %v", elapsed.Round(time.Millisecond))
		})
	}
}

// TestHeaderTooLarge: headers past the 16 KiB cap are refused with 431
// before any handler runs; headers within it are served. net/http lets 4 KiB
// more than MaxHeaderBytes through, so the over-limit cases are 32 KiB.
func TestHeaderTooLarge(t *testing.T) {
	p := startFresh(t)
	many := func(n, size int) http.Header {
		h := http.Header{}
		for i := range n {
			h.Set(fmt.Sprintf("X-Pad-%d", i), strings.Repeat("p", size))
		}
		return h
	}
	tests := []struct {
		name   string
		header http.Header
		want   int
	}{
		{name: "a 12 KiB header", header: http.Header{"X-Pad": {strings.Repeat("p", 12<<10)}}, want: http.StatusOK},
		{name: "a 32 KiB token", header: http.Header{"Authorization": {"Bearer " + strings.Repeat("t", 32<<10)}}, want: http.StatusRequestHeaderFieldsTooLarge},
		{name: "a 32 KiB header", header: http.Header{"X-Pad": {strings.Repeat("p", 32<<10)}}, want: http.StatusRequestHeaderFieldsTooLarge},
		{name: "512 headers of 64 bytes", header: many(512, 64), want: http.StatusRequestHeaderFieldsTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := p.callWith(t, "GET", "/healthz", "", func(r *http.Request) { r.Header = tc.header })
			if res.status != tc.want {
				t.Errorf("GET /healthz with %s = %d, want %d", tc.name, res.status, tc.want)
			}
		})
	}
}

// TestIdleConnectionsDoNotBlock opens 200 connections, sends one request on
// each and leaves it idle, kept alive. Each next client, and then a new one
// for a read and a write, must still be served. The 10 s bound is a
// liveness check, not a speed target. (Connections that send nothing at all
// are TestSlowHeadersCutOff's.)
func TestIdleConnectionsDoNotBlock(t *testing.T) {
	p := startFresh(t)
	addr := p.addr()
	const idle = 200
	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, conn := range conns {
			conn.Close()
		}
	}()
	for i := range idle {
		conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		conns = append(conns, conn)
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("connection %d, with %d idle: GET /healthz: %v", i+1, i, err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Close {
			t.Fatalf("connection %d: GET /healthz = %d (close %v), want 200 kept alive", i+1, res.StatusCode, res.Close)
		}
		conn.SetDeadline(time.Time{})
	}

	fresh := client{base: p.base, http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
	res, err := fresh.do("GET", "/healthz", "")
	if err != nil {
		t.Fatalf("GET /healthz with %d idle connections: %v", idle, err)
	}
	if res.status != http.StatusOK {
		t.Errorf("GET /healthz with %d idle connections = %d, want 200", idle, res.status)
	}
	res, err = fresh.do("POST", "/api/users", `{"username": "newcomer", "email": "newcomer@example.com", "password": "password1"}`)
	if err != nil {
		t.Fatalf("POST /api/users with %d idle connections: %v", idle, err)
	}
	if res.status != http.StatusCreated {
		t.Errorf("POST /api/users with %d idle connections = %d, want 201", idle, res.status)
	}
}
