package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests run the whole program, as an operator does: started with
// flags, stopped with SIGTERM, started again on the same file.

// TestTutorialWalkthrough is the tutorial's own session, against the whole
// program with its real password cost: create a user, fail without
// credentials, get a token, read a user with it, revoke it, see the 401.
func TestTutorialWalkthrough(t *testing.T) {
	p := startProgram(t, t.TempDir(), []string{"-addr", "127.0.0.1:0", "-db", testDB(t, "blog.db")})

	res := p.call(t, "POST", "/api/users", "", `{"username": "muthoni", "email": "muthoni@example.com", "password": "muthoni123"}`)
	wantStatus(t, "POST /api/users", res, http.StatusCreated)
	res = p.call(t, "POST", "/api/users", "", `{"username": "gitau", "email": "gitau@example.com", "password": "gitau12345"}`)
	wantStatus(t, "POST /api/users", res, http.StatusCreated)

	wantBasicChallenge(t, "POST /api/tokens without credentials", p.call(t, "POST", "/api/tokens", "", ""))

	const credentials = "bXV0aG9uaTptdXRob25pMTIz" // base64 of muthoni:muthoni123
	res = p.callWith(t, "POST", "/api/tokens", "", withHeader("Authorization", "Basic "+credentials))
	wantStatus(t, "POST /api/tokens", res, http.StatusOK)
	token, _ := res.object(t)["token"].(string)
	if token == "" {
		t.Fatalf("POST /api/tokens = %s, want a token", res.body)
	}

	res = p.call(t, "GET", "/api/users/2", token, "")
	wantStatus(t, "GET /api/users/2", res, http.StatusOK)
	gitau := res.object(t)
	if gitau["username"] != "gitau" {
		t.Fatalf("GET /api/users/2: username = %v, want gitau", gitau["username"])
	}
	if _, ok := gitau["email"]; ok {
		t.Errorf("GET /api/users/2 as muthoni shows gitau's email")
	}

	wantStatus(t, "DELETE /api/tokens", p.call(t, "DELETE", "/api/tokens", token, ""), http.StatusNoContent)
	wantError(t, "GET /api/users/2 with a revoked token", p.call(t, "GET", "/api/users/2", token, ""), http.StatusUnauthorized, "")

	p.stop(t)
	logs := p.stderr.String()
	for _, secret := range []string{"muthoni123", credentials, token} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log holds a secret %q", secret)
		}
	}
	if !strings.Contains(logs, "method=GET path=/api/users/2 status=200") || !strings.Contains(logs, "user_id=1") {
		t.Errorf("the log lacks the request line with user_id:\n%s", logs)
	}
}

// TestShutdownCheckpoints checks that after a stop the database file alone
// holds every write: the WAL was checkpointed and removed.
func TestShutdownCheckpoints(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "blog.db")
	p := startProgram(t, dir, []string{"-addr", "127.0.0.1:0", "-db", dbPath})
	p.createUser(t, "a", "password1")
	p.stop(t)
	if info, err := os.Stat(dbPath + "-wal"); err == nil && info.Size() > 0 {
		t.Errorf("%s-wal holds %d bytes after shutdown, want it checkpointed", dbPath, info.Size())
	}
	checkIntegrity(t, dbPath)
	var n int
	if err := openReadOnly(t, dbPath).QueryRow("SELECT COUNT(*) FROM users").Scan(&n); err != nil || n != 1 {
		t.Errorf("users after the stop = %d (%v), want 1", n, err)
	}
}

// TestReopenKeepsData checks that a second start on the same file keeps
// what the first wrote and does not try to create the schema again.
func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-addr", "127.0.0.1:0", "-db", "blog.db"}
	p := startProgram(t, dir, args, cheapPasswords)
	id := p.createUser(t, "a", "a-password")
	p.stop(t)

	p = startProgram(t, dir, args, cheapPasswords)
	token := p.login(t, "a", "a-password")
	wantStatus(t, "GET /api/users/1 after a restart", p.call(t, "GET", userPath(id), token, ""), http.StatusOK)
	p.stop(t)

	db := openReadOnly(t, filepath.Join(dir, "blog.db"))
	var version int
	if err := db.QueryRow("PRAGMA user_version").Scan(&version); err != nil || version != len(schemaSteps) {
		t.Errorf("user_version = %d (%v), want %d", version, err, len(schemaSteps))
	}
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
}

// TestServesTLS starts the program with a certificate: it serves HTTPS to
// a client that trusts the certificate (the program's client does, see
// programHTTPClient), every answer with Strict-Transport-Security, and
// nothing to plain HTTP. (TestSafetyHeaders checks that no answer over
// plain HTTP has Strict-Transport-Security.)
func TestServesTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeTestCert(t, dir)
	p := startProgram(t, dir, []string{"-addr", "127.0.0.1:0", "-db", "tls.db", "-tls-cert", certFile, "-tls-key", keyFile})
	if !strings.HasPrefix(p.base, "https://") {
		t.Errorf("with -tls-cert the program serves %s, want https", p.base)
	}
	for _, req := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/healthz", http.StatusOK},
		{"HEAD", "/healthz", http.StatusOK},
		{"GET", "/api/users", http.StatusUnauthorized},
		{"GET", "/nope", http.StatusNotFound},
		{"PUT", "/healthz", http.StatusMethodNotAllowed},
	} {
		what := req.method + " " + req.path + " over HTTPS"
		res := p.call(t, req.method, req.path, "", "")
		wantStatus(t, what, res, req.status)
		if got, want := res.header.Values("Strict-Transport-Security"), []string{"max-age=31536000"}; !slices.Equal(got, want) {
			t.Errorf("%s: Strict-Transport-Security = %q, want %q", what, got, want)
		}
	}
	// Go's TLS server answers plain HTTP with a 400 of its own.
	plain := client{base: "http://" + p.addr(), http: &http.Client{Timeout: time.Minute}}
	if res, err := plain.do("GET", "/healthz", ""); err == nil && res.status == http.StatusOK {
		t.Errorf("plain HTTP got a 200 from the TLS server")
	}
	p.stop(t)
}

// writeTestCert writes a self-signed certificate for 127.0.0.1.
func writeTestCert(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "tokenapi test"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return certFile, keyFile
}

// TestStartupFaults starts the real process with each bad start-up and
// checks that it fails in a way an operator can act on: exit code 1 and
// exactly one line on stderr, "tokenapi: " and the fault, never a panic or
// a goroutine dump. It must also leave the directory as it was: no new
// file, no -wal or -shm, no byte of an existing file changed.
func TestStartupFaults(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	junk := make([]byte, 4096)
	rand.Read(junk)

	// Root ignores permission bits, so as root the directory nobody may
	// create a file in is /proc.
	readOnlyName, readOnly, readOnlyErr := "read-only directory", []string{"-db", "ro/tokenapi.db"}, "database ro/tokenapi.db: permission denied"
	readOnlySetup := func(t *testing.T, dir string) {
		if err := os.Mkdir(filepath.Join(dir, "ro"), 0o555); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() == 0 {
		readOnlyName, readOnly, readOnlySetup = "read-only directory, as root: /proc", []string{"-db", "/proc/tokenapi.db"}, nil
		readOnlyErr = "database /proc/tokenapi.db: cannot create or open the file for writing"
	}

	tests := []struct {
		name    string
		setup   func(t *testing.T, dir string) // makes the files the case starts with
		args    []string                       // after -addr 127.0.0.1:0 -db tokenapi.db
		env     []string
		wantErr string
	}{
		{name: "missing directory", args: []string{"-db", "missing/tokenapi.db"}, wantErr: "database directory missing does not exist"},
		{name: "database is a directory", args: []string{"-db", "."}, wantErr: "database path . is a directory"},
		{name: readOnlyName, setup: readOnlySetup, args: readOnly, wantErr: readOnlyErr},
		{name: "random bytes", setup: writeFile("tokenapi.db", junk), wantErr: "database tokenapi.db: file is not a database"},
		{name: "text file", setup: writeFile("tokenapi.db", []byte("these are not the tables you are looking for\n")),
			wantErr: "database tokenapi.db: file is not a database"},
		{name: "newer schema", setup: func(t *testing.T, dir string) {
			makeDB(t, filepath.Join(dir, "tokenapi.db"), "PRAGMA journal_mode = WAL; PRAGMA user_version = 99")
		}, wantErr: fmt.Sprintf("schema version 99 is newer than this binary knows (%d)", len(schemaSteps))},
		{name: "another program's database", setup: func(t *testing.T, dir string) {
			makeDB(t, filepath.Join(dir, "tokenapi.db"), "PRAGMA journal_mode = WAL; CREATE TABLE notes (body TEXT)")
		}, wantErr: "the file holds tables but no tokenapi schema version"},
		{name: "address in use", args: []string{"-addr", busy.Addr().String()}, wantErr: "address already in use"},
		{name: "bad address", args: []string{"-addr", "nowhere:http:1"}, wantErr: "nowhere:http:1"},
		{name: "missing TLS certificate", args: []string{"-tls-cert", "c.pem", "-tls-key", "k.pem"}, wantErr: "load TLS key pair"},
		{name: "unknown flag", args: []string{"-port", "80"}, wantErr: "unknown flag -port; did you mean -addr?"},
		{name: "bad duration flag", args: []string{"-token-ttl=abc"}, wantErr: `-token-ttl: "abc" is not a duration`},
		{name: "bad duration variable", env: []string{"TOKENAPI_TOKEN_TTL=abc"}, wantErr: `TOKENAPI_TOKEN_TTL: "abc" is not a duration`},
		{name: "bad log format", args: []string{"-log-format", "xml"}, wantErr: `-log-format: "xml" is not a log format: text or json`},
		{name: "bad log format variable", env: []string{"TOKENAPI_LOG_FORMAT=yaml"}, wantErr: `TOKENAPI_LOG_FORMAT: "yaml" is not a log format`},
		{name: "admin on the public address", args: []string{"-addr", "127.0.0.1:5999", "-admin-addr", "127.0.0.1:5999"},
			wantErr: "-admin-addr 127.0.0.1:5999 is the public address"},
		{name: "admin address in use", args: []string{"-admin-addr", busy.Addr().String()}, wantErr: "admin listener: listen tcp " + busy.Addr().String()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			before := snapshotDir(t, dir)
			args := append([]string{"-addr", "127.0.0.1:0", "-db", "tokenapi.db"}, tt.args...)
			p := spawnProgram(t, dir, args, tt.env...)
			code := p.wait(t, time.Minute)
			stderr := p.stderr.String()
			if code != 1 {
				t.Errorf("tokenapi %s: exit code %d, want 1", strings.Join(args, " "), code)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.HasPrefix(stderr, "tokenapi: ") || !strings.Contains(stderr, tt.wantErr) ||
				strings.Contains(stderr, "panic") || strings.Contains(stderr, "goroutine ") {
				t.Errorf("tokenapi %s: stderr = %q, want one line \"tokenapi: ...\" containing %q", strings.Join(args, " "), stderr, tt.wantErr)
			}
			after := snapshotDir(t, dir)
			for name, data := range after {
				if old, ok := before[name]; !ok {
					t.Errorf("a failed start left %s behind", name)
				} else if old != data {
					t.Errorf("a failed start changed %s", name)
				}
			}
			for name := range before {
				if _, ok := after[name]; !ok {
					t.Errorf("a failed start removed %s", name)
				}
			}
		})
	}
}

// writeFile returns a setup that writes a file into the case's directory.
func writeFile(name string, data []byte) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshotDir returns every file and directory under dir, by path, with
// the contents of files.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			files[path] = "(directory)"
			return nil
		}
		data, err := os.ReadFile(path)
		files[path] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// makeDB makes a SQLite file and runs one statement in it.
func makeDB(t *testing.T, path, statement string) {
	t.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(statement); err != nil {
		t.Fatal(err)
	}
}

// These tests hold the whole program to the limits its HTTP server
// (newPublicServer) sets on what a client can take: the time to send the
// headers, their size, and connections left open.

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

// These tests run the whole program as an operator does, with the flags
// for operators: -log-format here, and -admin-addr in adminserver_test.go
// (TestAdminListener).

// TestLogFormats checks that each log format gives one parseable line per
// request, with the request's method, path and status, in text as
// key=value pairs, in JSON as one object a line.
func TestLogFormats(t *testing.T) {
	textLine := regexp.MustCompile(`^time=\S+ level=[A-Z]+ msg=("[^"]*"|\S+)( [a-z_]+=("[^"]*"|\S*))*$`)
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			p := startProgram(t, t.TempDir(), []string{"-addr", "127.0.0.1:0", "-db", "blog.db", "-log-format", format})
			wantError(t, "GET /api/users without a token", p.call(t, "GET", "/api/users", "", ""), http.StatusUnauthorized, "")
			p.stop(t)

			var requests []map[string]any
			for _, line := range strings.Split(strings.TrimSuffix(p.stderr.String(), "\n"), "\n") {
				if format == "text" {
					if !textLine.MatchString(line) {
						t.Errorf("log line %q is not key=value pairs", line)
					}
					if strings.Contains(line, " msg=request ") {
						requests = append(requests, map[string]any{"path": textValue(line, "path"), "status": textValue(line, "status")})
					}
					continue
				}
				var entry map[string]any
				if err := json.Unmarshal([]byte(line), &entry); err != nil {
					t.Errorf("log line %q is not a JSON object: %v", line, err)
					continue
				}
				if entry["time"] == nil || entry["level"] == nil {
					t.Errorf("log line %q has no time or level", line)
				}
				if entry["msg"] == "request" {
					requests = append(requests, map[string]any{"path": entry["path"], "status": entry["status"]})
				}
			}
			want := map[string]any{"path": "/api/users", "status": "401"}
			if format == "json" {
				want["status"] = 401.0 // a number
			}
			found := false
			for _, r := range requests {
				found = found || jsonText(t, r) == jsonText(t, want)
			}
			if !found {
				t.Errorf("no request line with %v among %v:\n%s", want, requests, p.stderr)
			}
		})
	}
}

// textValue is the value of key in a text log line.
func textValue(line, key string) string {
	_, after, _ := strings.Cut(line, " "+key+"=")
	value, _, _ := strings.Cut(after, " ")
	return value
}
