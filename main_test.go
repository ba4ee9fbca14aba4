package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startRun runs the whole program as main would, and waits until /healthz
// answers. The returned stop function ends it like SIGTERM and returns
// run's error.
func startRun(t *testing.T, client *http.Client, baseURL string, args []string, env map[string]string) (stop func() error, stderr *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr = &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, func(k string) string { return env[k] }, io.Discard, stderr) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := client.Get(baseURL + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("run ended before serving: %v\n%s", err, stderr)
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not answer /healthz within 10s:\n%s", stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var stopped bool
	var runErr error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			runErr = <-done
		}
		return runErr
	}
	t.Cleanup(func() { stop() })
	return stop, stderr
}

// TestTutorialWalkthrough is the tutorial's own session, against the whole
// program with its real password cost: create a user, fail without
// credentials, get a token, read a user with it, revoke it, see the 401.
func TestTutorialWalkthrough(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	base := "http://" + addr
	stop, stderr := startRun(t, http.DefaultClient, base, []string{"-addr", addr, "-db", filepath.Join(dir, "blog.db")}, nil)

	do := func(method, path, auth, body string) (*http.Response, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer res.Body.Close()
		data, _ := io.ReadAll(res.Body)
		var m map[string]any
		if len(data) > 0 {
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatalf("%s %s: body %q is not JSON", method, path, data)
			}
		}
		return res, m
	}

	res, _ := do("POST", "/api/users", "", `{"username": "muthoni", "email": "muthoni@example.com", "password": "muthoni123"}`)
	if res.StatusCode != 201 {
		t.Fatalf("POST /api/users = %d, want 201", res.StatusCode)
	}
	res, _ = do("POST", "/api/users", "", `{"username": "gitau", "email": "gitau@example.com", "password": "gitau12345"}`)
	if res.StatusCode != 201 {
		t.Fatalf("POST /api/users = %d, want 201", res.StatusCode)
	}

	res, body := do("POST", "/api/tokens", "", "")
	if res.StatusCode != 401 || body["error"] != "Unauthorized" ||
		res.Header.Get("WWW-Authenticate") != `Basic realm="Authentication Required"` {
		t.Fatalf("POST /api/tokens without credentials = %d %v %q, want the tutorial's 401",
			res.StatusCode, body, res.Header.Get("WWW-Authenticate"))
	}

	res, body = do("POST", "/api/tokens", "Basic bXV0aG9uaTptdXRob25pMTIz", "") // muthoni:muthoni123
	token, _ := body["token"].(string)
	if res.StatusCode != 200 || token == "" {
		t.Fatalf("POST /api/tokens = %d %v, want 200 and a token", res.StatusCode, body)
	}

	res, body = do("GET", "/api/users/2", "Bearer "+token, "")
	if res.StatusCode != 200 || body["username"] != "gitau" {
		t.Fatalf("GET /api/users/2 = %d %v, want 200 and gitau", res.StatusCode, body)
	}
	if _, ok := body["email"]; ok {
		t.Errorf("GET /api/users/2 as muthoni shows gitau's email")
	}

	if res, _ = do("DELETE", "/api/tokens", "Bearer "+token, ""); res.StatusCode != 204 {
		t.Fatalf("DELETE /api/tokens = %d, want 204", res.StatusCode)
	}
	res, body = do("GET", "/api/users/2", "Bearer "+token, "")
	if res.StatusCode != 401 || body["error"] != "Unauthorized" {
		t.Fatalf("GET /api/users/2 with a revoked token = %d %v, want 401", res.StatusCode, body)
	}

	if err := stop(); err != nil {
		t.Fatalf("run = %v, want nil after the signal", err)
	}
	logs := stderr.String()
	for _, secret := range []string{"muthoni123", "bXV0aG9uaTptdXRob25pMTIz", token} {
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
	addr := freeAddr(t)
	stop, _ := startRun(t, http.DefaultClient, "http://"+addr, []string{"-addr", addr, "-db", dbPath}, nil)
	res, err := http.Post("http://"+addr+"/api/users", "application/json",
		strings.NewReader(`{"username": "a", "email": "a@example.com", "password": "password1"}`))
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("POST /api/users = %v %v, want 201", res, err)
	}
	res.Body.Close()
	if err := stop(); err != nil {
		t.Fatalf("run = %v, want nil", err)
	}
	if info, err := os.Stat(dbPath + "-wal"); err == nil && info.Size() > 0 {
		t.Errorf("%s-wal holds %d bytes after shutdown, want it checkpointed", dbPath, info.Size())
	}
	db, err := sql.Open("sqlite3", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	var check string
	if err := db.QueryRow("SELECT COUNT(*) FROM users").Scan(&n); err != nil || n != 1 {
		t.Errorf("users after restart = %d (%v), want 1", n, err)
	}
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity_check = %q (%v), want ok", check, err)
	}
}

func TestServesTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := writeTestCert(t, dir)
	addr := freeAddr(t)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	stop, _ := startRun(t, client, "https://"+addr,
		[]string{"-addr", addr, "-db", filepath.Join(dir, "tls.db"), "-tls-cert", certFile, "-tls-key", keyFile}, nil)
	// Go's TLS server answers plain HTTP with a 400 of its own.
	if res, err := http.Get("http://" + addr + "/healthz"); err == nil && res.StatusCode == http.StatusOK {
		t.Errorf("plain HTTP got a 200 from the TLS server")
	}
	if err := stop(); err != nil {
		t.Fatalf("run = %v, want nil", err)
	}
}

// writeTestCert writes a self-signed certificate for 127.0.0.1.
func writeTestCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
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
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    options
		wantErr string
	}{
		{name: "defaults", want: options{addr: "localhost:5000", db: "tokenapi.db", tokenTTL: time.Hour, passwordIterations: 600_000}},
		{
			name: "environment",
			env: map[string]string{"TOKENAPI_ADDR": ":8080", "TOKENAPI_DB": "/tmp/x.db", "TOKENAPI_TOKEN_TTL": "30m",
				"TOKENAPI_PASSWORD_ITERATIONS": "1000"},
			want: options{addr: ":8080", db: "/tmp/x.db", tokenTTL: 30 * time.Minute, passwordIterations: 1000},
		},
		{
			name: "flags win over the environment",
			args: []string{"-addr", "127.0.0.1:9", "-db", "a.db", "-token-ttl", "90s", "-password-iterations", "2000"},
			env: map[string]string{"TOKENAPI_ADDR": ":8080", "TOKENAPI_DB": "/tmp/x.db", "TOKENAPI_TOKEN_TTL": "bad",
				"TOKENAPI_PASSWORD_ITERATIONS": "bad"},
			want: options{addr: "127.0.0.1:9", db: "a.db", tokenTTL: 90 * time.Second, passwordIterations: 2000},
		},
		{name: "TLS pair", args: []string{"-tls-cert", "c.pem", "-tls-key", "k.pem"},
			want: options{addr: "localhost:5000", db: "tokenapi.db", tokenTTL: time.Hour, passwordIterations: 600_000, tlsCert: "c.pem", tlsKey: "k.pem"}},
		{name: "bad duration flag", args: []string{"-token-ttl", "soon"}, wantErr: `-token-ttl: "soon" is not a duration such as 1h or 30m`},
		{name: "bad duration variable", env: map[string]string{"TOKENAPI_TOKEN_TTL": "1 hour"}, wantErr: `TOKENAPI_TOKEN_TTL: "1 hour" is not a duration such as 1h or 30m`},
		// The same mistake, a number without a unit, gets the same words
		// from the flag and from the variable, each naming its source.
		{name: "number without unit, flag", args: []string{"-token-ttl", "5"}, wantErr: `-token-ttl: "5" is not a duration such as 1h or 30m (a number needs a unit)`},
		{name: "number without unit, variable", env: map[string]string{"TOKENAPI_TOKEN_TTL": "5"}, wantErr: `TOKENAPI_TOKEN_TTL: "5" is not a duration such as 1h or 30m (a number needs a unit)`},
		{name: "zero TTL variable", env: map[string]string{"TOKENAPI_TOKEN_TTL": "0s"}, wantErr: "TOKENAPI_TOKEN_TTL: must be positive"},
		{name: "too few iterations", args: []string{"-password-iterations", "999"}, wantErr: `-password-iterations: "999" is not a whole number from 1000 to`},
		{name: "iterations variable", env: map[string]string{"TOKENAPI_PASSWORD_ITERATIONS": "lots"}, wantErr: `TOKENAPI_PASSWORD_ITERATIONS: "lots" is not a whole number`},
		{name: "zero TTL", args: []string{"-token-ttl", "0s"}, wantErr: "must be positive"},
		{name: "negative TTL", args: []string{"-token-ttl", "-1m"}, wantErr: "must be positive"},
		{name: "cert without key", args: []string{"-tls-cert", "c.pem"}, wantErr: "together"},
		{name: "key without cert", args: []string{"-tls-key", "k.pem"}, wantErr: "together"},
		{name: "unknown flag, a name from elsewhere", args: []string{"-port", "80"}, wantErr: "unknown flag -port; did you mean -addr?"},
		{name: "unknown flag, a typo", args: []string{"-tokn-ttl", "1h"}, wantErr: "unknown flag -tokn-ttl; did you mean -token-ttl?"},
		{name: "unknown flag, nothing near", args: []string{"-verbose"}, wantErr: "unknown flag -verbose (tokenapi -h lists the flags)"},
		{name: "stray argument", args: []string{"serve"}, wantErr: "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseOptions(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseOptions(%q) error = %v, want one containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseOptions(%q) error = %v", tt.args, err)
			}
			if got != tt.want {
				t.Errorf("parseOptions(%q) = %+v, want %+v", tt.args, got, tt.want)
			}
		})
	}
}

func TestHelpIsNotAnError(t *testing.T) {
	var stdout, stderr syncBuffer
	if err := run(context.Background(), []string{"-h"}, func(string) string { return "" }, &stdout, &stderr); err != nil {
		t.Fatalf("run -h = %v, want nil", err)
	}
	if !strings.Contains(stdout.String(), "-token-ttl") || stderr.String() != "" {
		t.Errorf("run -h printed %q to stdout and %q to stderr, want the flags on stdout", stdout.String(), stderr.String())
	}
	if _, err := parseOptions([]string{"-help"}, func(string) string { return "" }, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("parseOptions -help = %v, want flag.ErrHelp", err)
	}
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
			c := startChild(t, dir, args, tt.env...)
			code := c.wait(t, time.Minute)
			stderr := c.stderr.String()
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

// TestReopenKeepsData checks that a second start on the same file keeps
// what the first wrote and does not try to create the schema again.
func TestReopenKeepsData(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "blog.db")
	st, err := openStore(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.createUser(context.Background(), user{Username: "a", Email: "a@example.com", LastSeen: time.Now()}, "hash"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st, err = openStore(context.Background(), dbPath)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer st.Close()
	var version int
	st.read.QueryRow("PRAGMA user_version").Scan(&version)
	if version != len(schemaSteps) {
		t.Errorf("user_version = %d, want %d", version, len(schemaSteps))
	}
	if _, err := st.userByID(context.Background(), 1); err != nil {
		t.Errorf("user 1 after reopen: %v", err)
	}
	var mode string
	st.read.QueryRow("PRAGMA journal_mode").Scan(&mode)
	if mode != "wal" {
		t.Errorf("journal_mode = %q, want wal", mode)
	}
}
